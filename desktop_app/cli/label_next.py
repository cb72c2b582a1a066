"""``classifier-studio label-next DATA --out NEXT.csv [--run RUN_DIR] [--labels A,B,...] [--count K]``.

DATA has a label column that is empty on the rows not labeled yet. NEXT.csv gets the K rows whose
labels would help most, best first, with the current suggestion and its confidence.
"""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("label-next", help="pick the unlabeled rows to label next (most useful first)")
    p.add_argument("data", metavar="DATA", help="file whose label column is empty on unlabeled rows")
    p.add_argument("--out", required=True, metavar="NEXT.csv")
    p.add_argument("--run", dest="run_dir", metavar="RUN_DIR", help="suggest with this trained model (default: from the "
                                                                   "category names and the rows labeled so far)")
    p.add_argument("--labels", metavar="A,B,...", help="the category names (needed while few rows are labeled)")
    p.add_argument("--count", type=int, default=20, metavar="K", help="how many rows to list (default 20)")
    p.add_argument("--text-column", metavar="C", help="column holding the text (default: guessed)")
    p.add_argument("--label-column", metavar="C", help="column holding the label (default: guessed, else 'label')")
    p.add_argument("--model", default="default", metavar="NAME_OR_PATH",
                   help="sentence model for suggestions without --run: the bundled default (all-MiniLM-L6-v2), a local "
                        "folder or a cached Hub id")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    p.set_defaults(run=run)


def run(args) -> int:
    from ..core.label_queue import label_next
    from .common import info

    info("Scoring the unlabeled rows ...")
    summary = label_next(args.data, args.out, run_dir=args.run_dir, labels=args.labels, count=args.count,
                         text_column=args.text_column, label_column=args.label_column, model=args.model, device=args.device)
    info(f"{summary['unlabeled']} rows unlabeled, {summary['labeled']} labeled; suggestions from {summary['source']}.")
    info(f"The {summary['rows']} rows to label next -> {summary['out']}")
    for item in summary["items"][:10]:
        text = item.text if len(item.text) <= 70 else item.text[:67] + "..."
        print(f"row {item.row_number}: {item.suggestion} ({100 * item.confidence:.0f}%)  {text}")
    return 0

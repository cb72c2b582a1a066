"""``classifier-studio evaluate RUN_DIR DATA``: metrics of a trained run on a labeled file."""

from __future__ import annotations

from .common import add_column_args


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="measure a trained run on a labeled file")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("data", metavar="DATA")
    add_column_args(p)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    p.add_argument("--json", action="store_true", help="print one JSON object with the metrics as the last line")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..core.evaluate import evaluate
    from ..core.inference import Classifier
    from .common import Progress, emit_json, load_labeled

    clf = Classifier.load(args.run_dir, device=args.device)
    data = load_labeled(args.data, args.text_column, args.label_column).data
    result = evaluate(clf, data, on_event=Progress())
    m = result.metrics
    if args.json:
        emit_json({"run_dir": args.run_dir, "data": args.data, **m})
        return 0
    print(f"Accuracy {m['accuracy']:.4f}   macro-F1 {m['macro_f1']:.4f}   n={m['n']}")
    print(f"{'label':30} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>8}")
    for label, row in m["per_class"].items():
        print(f"{label[:30]:30} {row['precision']:9.3f} {row['recall']:9.3f} {row['f1']:9.3f} {row['support']:8d}")
    return 0

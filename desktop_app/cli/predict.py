"""``classifier-studio predict RUN_DIR INPUT --out OUT.csv``: classify a file or a folder of .txt files."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help="classify a file (CSV, TSV, JSONL, XLSX, TXT) or a folder of .txt files")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("input", metavar="INPUT")
    p.add_argument("--out", required=True, metavar="OUT.csv")
    p.add_argument("--text-column", metavar="C", help="column holding the text (default: guessed)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    p.add_argument("--batch-size", type=int, default=64, metavar="N")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..core.inference import Classifier
    from ..core.predict import predict_file
    from .common import EXIT_INTERRUPTED, CommandFailed, Progress, info, interruptible
    from ..core.errors import TrainingCancelled

    clf = Classifier.load(args.run_dir, device=args.device)
    progress = Progress()
    with interruptible() as stop:
        try:
            summary = predict_file(clf, args.input, args.out, text_column=args.text_column, batch_size=args.batch_size,
                                   on_event=progress, should_stop=stop.is_set)
        except TrainingCancelled:
            raise CommandFailed(EXIT_INTERRUPTED, "Interrupted; no output was written.") from None
        finally:
            progress.close()
    info(f"Classified {summary['rows']} documents (text column '{summary['text_column']}') -> {summary['out']}")
    for label, n in summary["counts"].items():
        print(f"{label}: {n}")
    return 0

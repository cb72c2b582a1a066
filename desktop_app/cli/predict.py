"""``classifier-studio predict RUN_DIR INPUT --out OUT.csv|OUT.xlsx``: classify a file or a folder of .txt files."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help="classify a file (CSV, TSV, JSONL, XLSX, TXT) or a folder of .txt files")
    p.add_argument("run_dir", metavar="RUN_DIR", nargs="?", help="trained run (leave it out with --zero-shot)")
    p.add_argument("input", metavar="INPUT")
    p.add_argument("--out", required=True, metavar="OUT.csv",
                   help="where to save the results: .csv, or .xlsx for Excel (formulas are never written)")
    p.add_argument("--text-column", metavar="C", help="column holding the text (default: guessed)")
    p.add_argument("--sheet", metavar="NAME", help="the sheet to read from an Excel (.xlsx) input (default: the first with data)")
    p.add_argument("--zero-shot", metavar='"A,B,..."',
                   help='no trained run: classify from these category names alone ("Name: one-line description" also works)')
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    p.add_argument("--batch-size", type=int, default=64, metavar="N")
    p.add_argument("--long-documents", choices=["auto", "on", "off"], default="auto",
                   help="read texts longer than the max length in overlapping windows (auto: as the run was trained)")
    p.set_defaults(run=run)


def run(args) -> int:
    if args.zero_shot or not args.run_dir:
        from .zero_shot import run_zero_shot

        return run_zero_shot(args)
    from ..core.errors import TrainingCancelled
    from ..core.inference import Classifier
    from ..core.models import check_model_folder
    from ..core.outputs import check_not_inside, check_output_file, lock_output_file, run_own_files, table_kind
    from ..core.predict import predict_file
    from .common import EXIT_INTERRUPTED, CommandFailed, Progress, info, interruptible

    table_kind(args.out)
    check_not_inside(args.out, [args.input, *run_own_files(args.run_dir)])
    check_output_file(args.out)
    checked = check_model_folder(args.run_dir)
    for warning in checked.warnings:
        info(f"Warning: {warning}")
    clf = Classifier.load(args.run_dir, device=args.device)
    progress = Progress()
    with lock_output_file(args.out), interruptible() as stop:
        try:
            summary = predict_file(clf, args.input, args.out, text_column=args.text_column, batch_size=args.batch_size,
                                   on_event=progress, should_stop=stop.is_set, sheet=args.sheet,
                                   long_documents=args.long_documents)
        except TrainingCancelled:
            raise CommandFailed(EXIT_INTERRUPTED, "Interrupted; no output was written.") from None
        finally:
            progress.close()
    info(f"Classified {summary['rows']} documents (text column '{summary['text_column']}') -> {summary['out']}")
    if summary.get("truncated_cells"):
        info(f"Warning: {summary['truncated_cells']} texts were longer than an Excel cell holds (32,767 characters) "
             "and were cut; save as .csv to keep them whole.")
    for label, n in summary["counts"].items():
        print(f"{label}: {n}")
    return 0

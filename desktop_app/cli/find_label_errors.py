"""``classifier-studio find-label-errors DATA --out SUSPECTS.csv [--run RUN_DIR] [--method auto|logistic|knn|logistic+knn]``.

Every labeled row is scored by a model that did not see it (k folds); cleanlab then lists the rows whose
label disagrees with the rest of the data, most suspect first, each with the label the data suggests.
Ctrl-C stops at the next safe point and keeps the work done; the same command then continues it.
"""

from __future__ import annotations


def add_parser(sub) -> None:
    from ..core.label_errors import DEFAULT_FOLDS, METHODS
    from .common import add_column_args, add_multi_label_args, positive

    p = sub.add_parser("find-label-errors", help="list the rows whose labels look wrong (most suspect first)")
    p.add_argument("data", metavar="DATA", help="labeled file (CSV, TSV, JSONL or Excel)")
    p.add_argument("--out", required=True, metavar="SUSPECTS.csv", help="where to write the list (.csv or .xlsx)")
    p.add_argument("--run", dest="run_dir", metavar="RUN_DIR",
                   help="read the texts with this trained run's model (default: the bundled model)")
    p.add_argument("--method", default="auto", choices=list(METHODS),
                   help="how each row is scored by the other rows: logistic regression, nearest neighbours, or "
                        "their average (auto: whichever fits your data best, measured on it)")
    p.add_argument("--folds", type=positive(int), default=DEFAULT_FOLDS, metavar="K",
                   help=f"split the rows into K parts; each part is scored by a model of the others (default {DEFAULT_FOLDS})")
    p.add_argument("--model", default="default", metavar="NAME_OR_PATH",
                   help="model that reads the texts without --run (default: the bundled all-MiniLM-L6-v2)")
    add_column_args(p)
    p.add_argument("--sheet", metavar="NAME", help="the Excel sheet to read (default: the first with data)")
    add_multi_label_args(p, train=True)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    p.add_argument("--seed", type=int, default=0, help="which rows go into which part (default 0)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object on the last line")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..core.errors import TrainingCancelled
    from ..core.label_errors import find_label_errors
    from .common import EXIT_INTERRUPTED, CommandFailed, Progress, emit_json, info, interruptible, load_labeled

    loaded = load_labeled(args.data, args.text_column, args.label_column, args.sheet, multi_label=True if args.multi_label else None,
                          label_separator=args.label_separator, label_columns=args.label_columns)
    progress = Progress()
    try:
        with interruptible() as stop:
            report = find_label_errors(args.data, args.out, run_dir=args.run_dir, method=args.method, folds=args.folds,
                                       seed=args.seed, model=args.model, device=args.device, loaded=loaded,
                                       on_event=progress, should_stop=stop.is_set)
    except TrainingCancelled:
        progress.close()
        raise CommandFailed(EXIT_INTERRUPTED, "\nStopped. The work done so far is kept: run the same command again "
                                              "to continue where it stopped.") from None
    progress.close()
    info(report.headline())
    info(f"Scored with {report.method} on {report.features} features, {report.folds} folds; the rows' most likely "
         f"category matched their label for {report.out_of_fold_agreement:.0%} of them. {report.seconds:.0f} s.")
    info(f"The list -> {report.out}")
    for s in report.suspects[:10]:
        text = s.text if len(s.text) <= 60 else s.text[:57] + "..."
        print(f"row {s.row}: '{s.label}' -> '{s.suggested_label}' ({100 * s.suggestion_probability:.0f}%)  {text}")
    if args.json:
        emit_json(report.to_dict())
    return 0

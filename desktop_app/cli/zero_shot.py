"""``predict --zero-shot "A,B,C" INPUT --out OUT.csv``: classify from the category names alone.

cli/predict.py makes RUN_DIR optional (nargs="?"), adds --zero-shot, and hands over to
``run_zero_shot(args)`` when --zero-shot is given or RUN_DIR is missing; the output has predict's columns.
"""

from __future__ import annotations


def run_zero_shot(args) -> int:
    from ..core.errors import TrainingCancelled, UserInputError
    from ..core.zero_shot import ZeroShotClassifier, predict_file
    from .common import EXIT_INTERRUPTED, CommandFailed, Progress, info, interruptible

    given = getattr(args, "zero_shot", None)
    if given is not None and not given.strip() and not getattr(args, "run_dir", None):
        raise UserInputError("--zero-shot was given no category names (the quotes are empty).", where="--zero-shot",
                             fix='List at least two categories separated by commas, e.g. --zero-shot "Billing,Delivery,Login".')
    if not given or getattr(args, "run_dir", None):
        raise UserInputError("Give either a trained RUN_DIR or --zero-shot with the category names, not both." if getattr(args, "run_dir", None)
                             else "Nothing to classify with: no RUN_DIR and no --zero-shot categories.", where="predict",
                             fix='classifier-studio predict RUN_DIR INPUT --out OUT.csv, or '
                                 'classifier-studio predict --zero-shot "Billing,Delivery,Login" INPUT --out OUT.csv')
    clf = ZeroShotClassifier.load(args.zero_shot, device=getattr(args, "device", "auto"))
    progress = Progress()
    with interruptible() as stop:
        try:
            summary = predict_file(clf, args.input, args.out, text_column=getattr(args, "text_column", None),
                                   batch_size=getattr(args, "batch_size", 64), on_event=progress, should_stop=stop.is_set,
                                   sheet=getattr(args, "sheet", None))
        except TrainingCancelled:
            raise CommandFailed(EXIT_INTERRUPTED, "Interrupted; no output was written.") from None
        finally:
            progress.close()
    info(f"Classified {summary['rows']} documents from the category names alone (zero-shot; "
         f"text column '{summary['text_column']}') -> {summary['out']}")
    for label, n in summary["counts"].items():
        print(f"{label}: {n}")
    return 0

"""``predict --zero-shot "A,B,C" INPUT --out OUT.csv``: classify from the category names alone.

cli/predict.py hands over to ``run_zero_shot(args)`` when --zero-shot is given (RUN_DIR is then
not needed); the output has predict's columns.
"""

from __future__ import annotations


def run_zero_shot(args) -> int:
    from ..core.errors import TrainingCancelled
    from ..core.zero_shot import ZeroShotClassifier, predict_file
    from .common import EXIT_INTERRUPTED, CommandFailed, Progress, info, interruptible

    clf = ZeroShotClassifier.load(args.zero_shot, device=getattr(args, "device", "auto"))
    progress = Progress()
    with interruptible() as stop:
        try:
            summary = predict_file(clf, args.input, args.out, text_column=getattr(args, "text_column", None),
                                   batch_size=getattr(args, "batch_size", 64), on_event=progress, should_stop=stop.is_set)
        except TrainingCancelled:
            raise CommandFailed(EXIT_INTERRUPTED, "Interrupted; no output was written.") from None
        finally:
            progress.close()
    info(f"Classified {summary['rows']} documents from the category names alone (zero-shot; "
         f"text column '{summary['text_column']}') -> {summary['out']}")
    for label, n in summary["counts"].items():
        print(f"{label}: {n}")
    return 0

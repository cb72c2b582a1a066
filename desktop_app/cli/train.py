"""``classifier-studio train DATA --out RUN_DIR ...``: fine-tune a model on a labeled file."""

from __future__ import annotations

from .common import add_column_args, positive


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="fine-tune a model on a labeled file (CSV, TSV, JSONL, XLSX)")
    p.add_argument("data", metavar="DATA", help="labeled training file")
    p.add_argument("--out", required=True, metavar="RUN_DIR", help="run folder to write (model/ and run.json)")
    p.add_argument("--model", default="default", metavar="NAME_OR_PATH",
                   help="bundled default (all-MiniLM-L6-v2), a local folder, a cached Hub id or a run folder")
    add_column_args(p)
    v = p.add_mutually_exclusive_group()
    v.add_argument("--valid", metavar="FILE", help="separate labeled validation file")
    v.add_argument("--valid-split", type=float, default=0.1, metavar="F", help="share held out for validation (default 0.1)")
    p.add_argument("--epochs", type=positive(float), metavar="N", help="epochs (default: chosen from the data)")
    p.add_argument("--batch-size", type=positive(int), metavar="N")
    p.add_argument("--lr", type=positive(float), metavar="X", help="learning rate (default: chosen from the model size)")
    p.add_argument("--max-length", type=positive(int), metavar="N", help="max tokens per text (default: from the data)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    p.add_argument("--seed", type=int, default=42, metavar="N")
    p.add_argument("--random-batches", action="store_true",
                   help="draw training batches at random instead of grouping texts of similar length (slower)")
    p.add_argument("--time-budget", type=positive(float), metavar="MINUTES", help="plan the run to end within this time")
    p.add_argument("--early-stopping-patience", type=int, metavar="N",
                   help="stop after N epochs without a better validation macro-F1 (0: never; default: chosen)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in RUN_DIR")
    p.add_argument("--json", action="store_true", help="print one JSON object with the metrics as the last line")
    p.set_defaults(run=run)


def run(args) -> int:
    from pathlib import Path

    from ..core.data import load_labeled as _unused  # noqa: F401  (fail early if the engine is broken)
    from ..core.data import require_trainable, validate
    from ..core.errors import UserInputError
    from ..core.settings import TrainSettings
    from ..core.training import TrainJob, train
    from .common import EXIT_INTERRUPTED, CommandFailed, Progress, emit_json, info, interruptible, load_labeled

    if not 0 < args.valid_split < 1:
        raise UserInputError(f"--valid-split must be between 0 and 1, got {args.valid_split}.", where="--valid-split",
                             fix="Use for example --valid-split 0.1 for 10%.")
    out = Path(args.out)
    if out.exists() and any(out.iterdir()) and not args.resume and (out / "run.json").exists():
        raise UserInputError("The run folder already holds a run.", where=str(out),
                             fix="Choose a new --out folder, or add --resume to continue an interrupted run.")
    loaded = load_labeled(args.data, args.text_column, args.label_column)
    report = validate(loaded.data)
    for finding in report.warnings:
        info(f"Warning: {finding.message} ({finding.where}). {finding.fix}")
    require_trainable(report)
    valid = None
    if args.valid:
        valid = load_labeled(args.valid, loaded.text_column, loaded.label_column).data
    settings = TrainSettings(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
                             max_length=args.max_length, device=args.device, seed=args.seed,
                             time_budget_min=args.time_budget, valid_split=args.valid_split,
                             early_stopping_patience=args.early_stopping_patience,
                             group_by_length=not args.random_batches)
    progress = Progress()
    with interruptible() as stop:
        try:
            result = train(TrainJob(train=loaded.data, valid=valid, out_dir=out, model=args.model, settings=settings,
                                    resume=args.resume), progress, stop.is_set)
        finally:
            progress.close()
    if result.status == "cancelled":
        raise CommandFailed(EXIT_INTERRUPTED, f"Interrupted. Resume with: classifier-studio train {args.data} --out {out} --resume")
    m = result.final_metrics
    chosen = ", ".join(f"{k}={v['value']}" for k, v in result.reasons.items() if v["reason"] != "set by you")
    info(f"Settings chosen for you: {chosen}" if chosen else "All settings were set by you.")
    if args.json:
        emit_json({"run_dir": str(out), "status": result.status, "settings": result.settings, **m})
    else:
        print(f"Trained model saved in {out}/model")
        print(f"Validation accuracy {m.get('accuracy', 0):.4f}, macro-F1 {m.get('macro_f1', 0):.4f} "
              f"(n={m.get('n', 0)}, best epoch {m.get('best_epoch')})")
    return 0

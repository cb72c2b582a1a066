"""``classifier-studio distill RUN_DIR DATA --layers K --out RUN_DIR2``: a smaller, faster student of a run."""

from __future__ import annotations

from .common import add_column_args, add_multi_label_args, positive


def add_parser(sub) -> None:
    p = sub.add_parser("distill", help="distil a trained run into a student with fewer layers")
    p.add_argument("run_dir", metavar="RUN_DIR", help="the teacher: a run folder from `train`")
    p.add_argument("data", metavar="DATA", help="labeled file (the teacher's training file is best)")
    p.add_argument("--out", required=True, metavar="RUN_DIR2", help="run folder to write for the student")
    p.add_argument("--layers", type=positive(int), metavar="K", help="layers the student keeps (default: every other)")
    add_column_args(p)
    add_multi_label_args(p)
    p.add_argument("--epochs", type=positive(float), default=3, metavar="N", help="epochs (default 3)")
    p.add_argument("--alpha", type=float, default=0.5, metavar="A", help="weight of the distillation loss, 0-1 (default 0.5)")
    p.add_argument("--temperature", type=positive(float), default=2.0, metavar="T", help="softmax temperature (default 2)")
    p.add_argument("--batch-size", type=positive(int), metavar="N", help="default: the teacher's batch size")
    p.add_argument("--lr", type=positive(float), metavar="X", help="default: the teacher's learning rate")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    p.add_argument("--time-budget", type=positive(float), metavar="MINUTES", help="plan the run to end within this time")
    p.add_argument("--checkpoint-every", type=positive(float), default=10.0, metavar="MINUTES",
                   help="also save a checkpoint this often within long epochs (default 10)")
    r = p.add_mutually_exclusive_group()
    r.add_argument("--resume", action="store_true", help="continue the interrupted distillation in RUN_DIR2")
    r.add_argument("--restart", action="store_true", help="discard the unfinished distillation in RUN_DIR2 and start anew")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p.set_defaults(run=run)


def run(args) -> int:
    from pathlib import Path

    import shlex

    from ..core.distill import distill
    from ..core.errors import TrainingCancelled
    from ..core.export import model_dir_of
    from ..core.runs import has_checkpoint
    from .common import EXIT_INTERRUPTED, CommandFailed, Progress, emit_json, interruptible, load_labeled, run_is_multi_label

    model_dir = model_dir_of(args.run_dir)  # UserInputError (exit 2) before reading data
    # a multi-label teacher's file is read as label sets, as evaluate reads it
    loaded = load_labeled(args.data, args.text_column, None if args.label_columns else args.label_column,
                          multi_label=run_is_multi_label(model_dir), label_separator=args.label_separator,
                          label_columns=args.label_columns)
    progress = Progress()
    with interruptible() as stop:
        try:
            record = distill(Path(args.run_dir), loaded.data, layers=args.layers, out_dir=Path(args.out), epochs=args.epochs,
                             alpha=args.alpha, temperature=args.temperature, on_event=progress, should_stop=stop.is_set,
                             batch_size=args.batch_size, learning_rate=args.lr, device=args.device, resume=args.resume,
                             restart=args.restart, time_budget_min=args.time_budget, checkpoint_every_min=args.checkpoint_every)
        except TrainingCancelled:
            if has_checkpoint(args.out):
                again = " ".join(shlex.quote(str(a)) for a in ("classifier-studio", "distill", args.run_dir, args.data,
                                                              "--out", args.out, "--resume"))
                raise CommandFailed(EXIT_INTERRUPTED, f"Interrupted. Resume with: {again}") from None
            raise CommandFailed(EXIT_INTERRUPTED, "Interrupted before training began; nothing was saved. "
                                                  "Run the same command again to start.") from None
        finally:
            progress.close()
    d, m = record["distillation"], record["final_metrics"]
    if args.json:
        emit_json({"run_dir": args.out, "status": record["status"], "distillation": d, **m})
        return 0
    print(f"Student saved in {args.out}/model ({d['student_layers']} of {d['teacher_layers']} layers)")
    print(f"Accuracy: teacher {d['teacher_accuracy']:.4f}, student {d['student_accuracy']:.4f} ({d['retained']:.1%} retained)")
    print(f"CPU speed-up {d['speedup']:.2f}x; size {d['teacher_size_mb']:.1f} MB -> {d['student_size_mb']:.1f} MB")
    return 0

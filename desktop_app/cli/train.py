"""``classifier-studio train DATA --out RUN_DIR [--method auto|zero-shot|few-shot|fine-tune] ...``: train on a labeled file.

The method follows the labels per category unless --method says otherwise (core/methods.py):
zero-shot from the category names (no labels needed: --labels "A,B,C"), few-shot (contrastive,
SetFit-style) with a few labels per category, full fine-tuning with many. run.json records which and why."""

from __future__ import annotations

from .common import add_column_args, add_long_documents_arg, add_multi_label_args, positive


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a classifier on a labeled file (CSV, TSV, JSONL, XLSX), or from category names")
    p.add_argument("data", metavar="DATA", nargs="?",
                   help="labeled training file (with --resume it may be left out: the run record names it; "
                        "with --labels and zero-shot it is optional)")
    p.add_argument("--method", default="auto", choices=["auto", "zero-shot", "few-shot", "fine-tune"],
                   help="auto (default): chosen from the labels per category; zero-shot: from the category names alone; "
                        "few-shot: contrastive training for a few labels per category; fine-tune: full fine-tuning")
    p.add_argument("--labels", metavar='"A,B,..."',
                   help='category names for zero-shot ("Name: one-line description" also works); default: the labels in DATA')
    p.add_argument("--out", required=True, metavar="RUN_DIR", help="run folder to write (model/ and run.json)")
    p.add_argument("--model", default="default", metavar="NAME_OR_PATH",
                   help="bundled default (all-MiniLM-L6-v2), a local folder, a cached Hub id or a run folder")
    add_column_args(p)
    add_multi_label_args(p, train=True)
    add_long_documents_arg(p)
    p.add_argument("--sheet", metavar="NAME", help="the sheet to read from an Excel (.xlsx) file (default: the first with data)")
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
                   help="stop once N epochs in a row gain less than half a point of validation macro-F1 (0: never; default: chosen)")
    p.add_argument("--checkpoint-every", type=positive(float), default=10.0, metavar="MINUTES",
                   help="also save a checkpoint this often within long epochs (default 10)")
    r = p.add_mutually_exclusive_group()
    r.add_argument("--resume", action="store_true",
                   help="continue the interrupted run in RUN_DIR with its own model, data, validation and settings")
    r.add_argument("--restart", action="store_true", help="discard the unfinished run in RUN_DIR and start it anew")
    p.add_argument("--json", action="store_true", help="print one JSON object with the metrics as the last line")
    p.set_defaults(run=run)


def run(args) -> int:
    from pathlib import Path

    from ..core.errors import TrainingCancelled, UserInputError
    from ..core.runs import has_checkpoint, read_record
    from ..core.settings import TrainSettings
    from ..core.methods import train_with_method
    from ..core.training import FineTune, TrainJob
    from .common import EXIT_INTERRUPTED, CommandFailed, Progress, emit_json, info, interruptible, load_labeled

    if not 0 < args.valid_split < 1:
        raise UserInputError(f"--valid-split must be between 0 and 1, got {args.valid_split}.", where="--valid-split",
                             fix="Use for example --valid-split 0.1 for 10%.")
    if args.data is None and not args.resume and not (args.labels and args.method in ("auto", "zero-shot")):
        raise UserInputError("The training file (DATA) is missing.", where="DATA",
                             fix='Pass a labeled file, for example: classifier-studio train data.csv --out RUN_DIR; '
                                 'or, with no labels at all: classifier-studio train --labels "A,B,C" --out RUN_DIR')
    if args.labels and args.method not in ("auto", "zero-shot"):
        raise UserInputError("--labels names the categories for zero-shot only.", where="--labels",
                             fix="Leave out --labels, or use --method zero-shot.")
    out = Path(args.out)
    options = {"multi_label": True if args.multi_label else None, "label_separator": args.label_separator,
               "label_columns": args.label_columns}
    if args.resume and args.data and (out / "run.json").is_file():  # read DATA with the columns the run used
        from ..core.training import _label_options

        record = read_record(out)
        recorded = record.data
        args.text_column = args.text_column or recorded.get("text_column")
        args.label_column = args.label_column or recorded.get("label_column")
        options = _label_options(record)
    label_column = None if args.label_columns else args.label_column
    loaded = load_labeled(args.data, args.text_column, label_column, args.sheet, **options) if args.data else None
    if loaded is not None and loaded.data.multi_label_source:  # the validation file is read the same way
        how = loaded.data.multi_label_source
        options = ({"label_columns": how["label_columns"]} if how.get("label_columns")
                   else {"multi_label": True, "label_separator": how.get("separator")})
    elif loaded is not None:
        options = {"multi_label": False}
    valid = None
    if args.valid:
        valid = load_labeled(args.valid, loaded.text_column if loaded else args.text_column,
                             None if options.get("label_columns") else (loaded.label_column if loaded else args.label_column),
                             **options).data
    settings = TrainSettings(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
                             max_length=args.max_length, device=args.device, seed=args.seed,
                             time_budget_min=args.time_budget, valid_split=args.valid_split,
                             early_stopping_patience=args.early_stopping_patience,
                             group_by_length=not args.random_batches)
    job = TrainJob(train=loaded.data if loaded else None, valid=valid, out_dir=out, model=args.model, settings=settings,
                   resume=args.resume, restart=args.restart, text_column=loaded.text_column if loaded else None,
                   label_column=(None if loaded.data.multi_label_source and loaded.data.multi_label_source.get("label_columns")
                                 else loaded.label_column) if loaded else None, valid_path=args.valid,
                   checkpoint_every_min=args.checkpoint_every, long_documents=args.long_documents, keep_data=False)
    has_data = loaded is not None
    del loaded  # the table is not needed once the examples exist (a large file's memory goes back)
    progress = Progress()
    with interruptible() as stop:
        try:
            method = "zero-shot" if args.labels and args.method == "auto" and not has_data else args.method
            result = train_with_method(job, method, args.labels, progress, stop.is_set)
        except TrainingCancelled:
            if has_checkpoint(out):
                raise CommandFailed(EXIT_INTERRUPTED, f"Interrupted. Resume with: {FineTune().resume_command(out, None)}") from None
            raise CommandFailed(EXIT_INTERRUPTED, "Interrupted before training began; nothing was saved. "
                                                  "Run the same command again to start.") from None
        finally:
            progress.close()
    if result.status == "cancelled":
        raise CommandFailed(EXIT_INTERRUPTED, f"Interrupted. Resume with: {FineTune().resume_command(out, None)}")
    from ..core.distributed import env_rank

    if env_rank() != 0:  # under torchrun, rank 0 reports; the others only trained
        return 0
    m = result.final_metrics
    chosen = ", ".join(f"{k}={v['value']}" for k, v in result.reasons.items() if v["reason"] != "set by you")
    info(f"Settings chosen for you: {chosen}" if chosen else "All settings were set by you.")
    record = result.record
    method, reason = (record.method, record.method_reason) if record is not None else ("fine-tune", "")
    info(f"Method: {method}" + (f" ({reason})" if reason else ""))
    long = (record.long_documents if record else None) or {}
    if args.json:
        emit_json({"run_dir": str(out), "status": result.status, "method": method, "method_reason": reason,
                   "settings": result.settings, **m, "long_documents": long})
    elif method == "zero-shot":
        print(f"Zero-shot model saved in {out}/model (categories: {', '.join(record.labels)})")
        if m.get("n"):
            print(f"Accuracy on the {m['n']} labeled rows {m.get('accuracy', 0):.4f}, macro-F1 {m.get('macro_f1', 0):.4f} "
                  "(zero-shot learns nothing from them)")
    else:
        print(f"Trained model saved in {out}/model")
        if m.get("problem_type") == "multi_label_classification":
            print(f"Validation micro-F1 {m.get('micro_f1', 0):.4f}, macro-F1 {m.get('macro_f1', 0):.4f}, exact match "
                  f"{m.get('exact_match', 0):.4f} (n={m.get('n', 0)}, best epoch {m.get('best_epoch')}; {_thresholds_words(m)}); "
                  f"{m.get('labels_per_text', 0):.1f} labels given per text, {m.get('true_labels_per_text', 0):.1f} carried")
            from desktop_app.core.multilabel import advice

            for line in advice(m, record.history if record else ()):
                print(f"Advice: {line}")
        else:
            what = "Cross-validated accuracy on the training rows" if record and record.split.get("kind") == "training-rows" \
                else "Validation accuracy"
            print(f"{what} {m.get('accuracy', 0):.4f}, macro-F1 {m.get('macro_f1', 0):.4f} "
                  f"(n={m.get('n', 0)}, best epoch {m.get('best_epoch')})")
            if record and record.split.get("kind") == "training-rows":
                print("(This runs high: the text model learned from every one of these rows. For a true measure: "
                      "classifier-studio evaluate RUN_DIR LABELED_FILE on texts it has not seen.)")
        if long.get("mode") == "on":
            print(f"Long-document mode: windows of {long.get('window')} tokens, combined by {long.get('combine')}")
    return 0


def _thresholds_words(m: dict) -> str:
    """How the multi-label decision thresholds were set (multilabel.choose_thresholds), in words."""
    src = m.get("threshold_sources") or {}
    if not src:
        return "thresholds tuned per label"
    parts = [f"{src['own']} tuned per label" if src.get("own") else "",
             f"{src['shared']} sharing one threshold (too few validation texts each)" if src.get("shared") else "",
             f"{src['default']} at 0.5" if src.get("default") else ""]
    return "thresholds: " + ", ".join(p for p in parts if p)

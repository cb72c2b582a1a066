"""``classifier-studio compare DATA --models A,B --out DIR``: train several models on one split, rank them."""

from __future__ import annotations

from .common import add_column_args, positive


def add_parser(sub) -> None:
    p = sub.add_parser("compare", help="fine-tune several models on the same split; leaderboard of accuracy and CPU speed")
    p.add_argument("data", metavar="DATA", help="labeled file")
    p.add_argument("--models", required=True, metavar="A,B,...", help="comma-separated model names or folders")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the runs and leaderboard.json")
    add_column_args(p)
    p.add_argument("--epochs", type=positive(float), metavar="N", help="epochs per model (default: chosen from the data)")
    p.add_argument("--max-length", type=positive(int), metavar="N", help="max tokens per text (default: from the data)")
    p.add_argument("--valid-split", type=float, default=0.1, metavar="F", help="share held out for validation (default 0.1)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"], help="training device (speed is measured on the CPU)")
    p.add_argument("--seed", type=int, default=42, metavar="N")
    p.add_argument("--json", action="store_true", help="print one JSON object (rows, recommendations) as the last line")
    p.set_defaults(run=run)


def run(args) -> int:
    from pathlib import Path

    from ..core.compare import LEADERBOARD, compare
    from ..core.errors import TrainingCancelled, UserInputError
    from ..core.runs import read_json
    from ..core.settings import TrainSettings
    from .common import EXIT_INTERRUPTED, CommandFailed, Progress, emit_json, interruptible, load_labeled

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not models:
        raise UserInputError("No models given.", where="--models", fix="Pass for example --models default,/path/to/model.")
    if not 0 < args.valid_split < 1:
        raise UserInputError(f"--valid-split must be between 0 and 1, got {args.valid_split}.", where="--valid-split",
                             fix="Use for example --valid-split 0.1 for 10%.")
    loaded = load_labeled(args.data, args.text_column, args.label_column)
    settings = TrainSettings(epochs=args.epochs, max_length=args.max_length, device=args.device, seed=args.seed,
                             valid_split=args.valid_split)
    progress = Progress()
    out = Path(args.out)
    with interruptible() as stop:
        try:
            rows = compare(loaded.data, models, out, settings, progress, stop.is_set)
        except TrainingCancelled:
            raise CommandFailed(EXIT_INTERRUPTED, f"Interrupted; rows measured so far are in {out / LEADERBOARD}") from None
        finally:
            progress.close()
    board = read_json(out / LEADERBOARD)
    if args.json:
        emit_json({"out": str(out), "rows": rows, "recommendations": board["recommendations"]})
        return 0
    gpu = any(r.get("docs_per_s_gpu") for r in rows)
    print(f"{'MODEL':32} {'VARIANT':7} {'ACC':>7} {'MACRO-F1':>8} {'CPU DOC/S':>9}" + (f" {'GPU DOC/S':>9}" if gpu else "")
          + f" {'P50 MS':>7} {'P95 MS':>7} {'PARAMS':>8} {'MB':>7} {'TRAIN S':>7}")
    for r in rows:
        gpu_cell = (f" {r['docs_per_s_gpu']:9.1f}" if r.get("docs_per_s_gpu") else f" {'-':>9}") if gpu else ""
        print(f"{r['name'][-32:]:32} {r['variant']:7} {r['accuracy']:7.4f} {r['macro_f1']:8.4f} {r['docs_per_s_cpu']:9.1f}"
              + gpu_cell + f" {r['p50_ms']:7.2f} {r['p95_ms']:7.2f} {r['parameters'] / 1e6:7.1f}M {r['size_mb']:7.1f} {r['train_s']:7.1f}")
    for key, rec in board["recommendations"].items():
        print(f"{key.replace('_', ' ')}: {rec['name']} ({rec['variant']}): {rec['reason']}")
    print(f"Leaderboard: {out / LEADERBOARD}")
    return 0

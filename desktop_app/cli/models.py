"""``classifier-studio models [--json]``: what can be fine-tuned or used here, offline."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("models", help="list available models (bundled, local cache, earlier runs)")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p.add_argument("--runs-dir", metavar="DIR", help="where earlier runs are (default: the app's runs folder)")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..core.models import list_models
    from ..core.runs import default_runs_dir
    from .common import emit_json

    models = list_models(runs_dir=args.runs_dir or default_runs_dir())
    if args.json:
        emit_json({"models": [m.to_dict() for m in models]})
        return 0
    print(f"{'NAME':40} {'SOURCE':9} {'ARCH':11} {'PARAMS':>8} {'SIZE':>9} {'MAXLEN':>6}")
    for m in models:
        params = f"{m.parameters / 1e6:.1f}M" if m.parameters else "?"
        print(f"{m.name[:40]:40} {m.source:9} {m.architecture[:11]:11} {params:>8} {m.size_bytes / 2**20:>7.1f}MB {m.max_length or '?':>6}")
        print(f"    {m.path}")
    return 0

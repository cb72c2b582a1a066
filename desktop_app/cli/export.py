"""``classifier-studio export RUN_DIR --format hf|onnx|int8 --out DIR``: a folder to use the model elsewhere."""

from __future__ import annotations

from .common import add_column_args


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="export a run as a Hugging Face folder, ONNX or int8, with a model card and predict.py")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder from `train` or `distill`")
    p.add_argument("--format", required=True, choices=["hf", "onnx", "int8"], help="hf | onnx | int8")
    p.add_argument("--out", required=True, metavar="DIR", help="export folder to write (replaced whole)")
    p.add_argument("--data", metavar="FILE", help="labeled file: int8 measures the accuracy change and speed on it")
    add_column_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..core.export import export_run, model_dir_of
    from .common import emit_json, info, load_labeled

    model_dir_of(args.run_dir)  # UserInputError (exit 2) before anything else
    data = load_labeled(args.data, args.text_column, args.label_column).data if args.data else None
    summary = export_run(args.run_dir, args.format, args.out, data=data, on_event=lambda e: info(e.message) if e.kind == "status" else None)
    if args.json:
        emit_json(summary)
        return 0
    print(f"Exported {args.format} to {args.out} (README.md, predict.py)")
    if "onnx" in summary and summary["onnx"]["max_abs_diff"] is not None:
        o = summary["onnx"]
        print(f"ONNX matches PyTorch: max |logit difference| {o['max_abs_diff']:.2e} < {o['tolerance']:g}")
    if "int8" in summary:
        q = summary["int8"]
        print(f"int8: {q['fp32_size_mb']:.1f} MB -> {q['int8_size_mb']:.1f} MB, CPU speed-up {q['speedup']:.2f}x")
        if "accuracy_change" in q:
            print(f"accuracy {q['fp32_accuracy']:.4f} -> {q['int8_accuracy']:.4f} ({q['accuracy_change']:+.4f})")
    print(f"Use: cd {args.out} && python predict.py input.csv out.csv")
    return 0

"""``classifier-studio evaluate RUN_DIR DATA``: metrics of a trained run on a labeled file."""

from __future__ import annotations

from .common import add_column_args


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="measure a trained run on a labeled file")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("data", metavar="DATA")
    add_column_args(p)
    p.add_argument("--sheet", metavar="NAME", help="the sheet to read from an Excel (.xlsx) file (default: the first with data)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    p.add_argument("--json", action="store_true", help="print one JSON object with the metrics as the last line")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..core.data import load_labeled
    from ..core.evaluate import evaluate, known_label_rows
    from ..core.inference import Classifier
    from ..core.models import check_model_folder
    from .common import Progress, emit_json, info

    checked = check_model_folder(args.run_dir)
    loaded = load_labeled(args.data, args.text_column, args.label_column, sheet=args.sheet)
    data = loaded.data
    parts = [f"{len(v)} {k.replace('_', ' ')}" for k, v in data.skipped.items() if v]
    note = f" ({', '.join(parts)} skipped)" if parts else ""
    info(f"Read {len(data)} labeled rows from {args.data} [text: '{loaded.text_column}', label: '{loaded.label_column}']{note}")
    if data.skipped.get("placeholder_label"):
        info(f"Warning: {len(data.skipped['placeholder_label'])} rows have 'NaN', 'null', 'None' or 'N/A' as the label; "
             "they count as unlabeled and are left out.")
    for read_note in data.notes:
        info(f"Warning: {read_note.message}")
    for warning in checked.warnings:
        info(f"Warning: {warning}")
    if checked.labels:
        known_label_rows(checked.labels, data, args.data)  # no shared label: stop before loading the model
    clf = Classifier.load(args.run_dir, device=args.device)
    result = evaluate(clf, data, on_event=Progress())
    m = result.metrics
    if args.json:
        emit_json({"run_dir": args.run_dir, "data": args.data, **m, "warnings": checked.warnings + result.warnings,
                   "left_out": result.left_out})
        return 0
    print(f"Accuracy {m['accuracy']:.4f}   macro-F1 {m['macro_f1']:.4f}   n={m['n']}")
    print(f"{'label':30} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>8}")
    for label, row in m["per_class"].items():
        print(f"{label[:30]:30} {row['precision']:9.3f} {row['recall']:9.3f} {row['f1']:9.3f} {row['support']:8d}")
    return 0

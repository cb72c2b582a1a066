"""``classifier-studio evaluate RUN_DIR DATA``: metrics of a trained run on a labeled file."""

from __future__ import annotations

from .common import add_column_args, add_long_documents_arg, add_multi_label_args


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="measure a trained run on a labeled file")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("data", metavar="DATA")
    add_column_args(p)
    add_multi_label_args(p)
    add_long_documents_arg(p)
    p.add_argument("--sheet", metavar="NAME", help="the sheet to read from an Excel (.xlsx) file (default: the first with data)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    p.add_argument("--json", action="store_true", help="print one JSON object with the metrics as the last line")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..core.data import load_labeled
    from ..core.evaluate import evaluate, known_label_rows
    from ..core.inference import Classifier
    from ..core.models import check_model_folder
    from .common import Progress, emit_json, info, run_is_multi_label

    checked = check_model_folder(args.run_dir)
    multi = run_is_multi_label(checked.model_dir)
    options = {"multi_label": multi, "label_separator": args.label_separator, "label_columns": args.label_columns}
    loaded = load_labeled(args.data, args.text_column, None if args.label_columns else args.label_column, sheet=args.sheet,
                          **options)
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
    result = evaluate(clf, data, on_event=Progress(), long_documents=args.long_documents)
    m = result.metrics
    if args.json:
        emit_json({"run_dir": args.run_dir, "data": args.data, **m, "warnings": checked.warnings + result.warnings,
                   "left_out": result.left_out, "long_documents": result.long_documents})
        return 0
    if result.multi_label:
        print(f"micro-F1 {m['micro_f1']:.4f}   macro-F1 {m['macro_f1']:.4f}   exact match {m['exact_match']:.4f}   n={m['n']}")
        print(f"{'label':30} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>8} {'threshold':>9}")
        for label, row in m["per_label"].items():
            print(f"{label[:30]:30} {row['precision']:9.3f} {row['recall']:9.3f} {row['f1']:9.3f} {row['support']:8d} "
                  f"{m['thresholds'].get(label, 0.5):9.3f}")
        return 0
    print(f"Accuracy {m['accuracy']:.4f}   macro-F1 {m['macro_f1']:.4f}   n={m['n']}")
    print(f"{'label':30} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>8}")
    for label, row in m["per_class"].items():
        print(f"{label[:30]:30} {row['precision']:9.3f} {row['recall']:9.3f} {row['f1']:9.3f} {row['support']:8d}")
    return 0

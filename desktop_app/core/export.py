"""Export a trained run for use outside the app: a Hugging Face folder, ONNX, or int8 ONNX.

    export_run(run_dir, fmt, out_dir, data=None, on_event) -> dict   (summary, also in export.json)

Every export folder holds a README.md model card and a standalone ``predict.py``
(``python predict.py input.csv out.csv``) that needs only that folder and:

    hf    transformers + torch              (the standard Hugging Face model folder)
    onnx  onnxruntime + tokenizers + numpy  (model.onnx fp32, tokenizer.json, labels.json)
    int8  onnxruntime + tokenizers + numpy  (model.onnx int8: onnxruntime's dynamic quantization)

No format holds a pickle: the weights are safetensors (hf) or ONNX protobuf (onnx, int8). The ONNX
graphs are the run's cached ones (core.onnx_graph: exported once, fused, checked against PyTorch
to a max |logit difference| below 1e-3). Also the helpers shared by compare and distill:
``state_size_mb``, ``count_parameters``, ``classifier_size_mb``, ``cpu_classifier``.
"""

from __future__ import annotations

import io
import os
import shutil
import time
import warnings
from pathlib import Path
from typing import Sequence

import torch

from .data import LabeledData
from .errors import UserInputError
from .events import EventSink, StatusEvent, ignore
from .model_files import copy_model_files
from .outputs import check_not_inside, claim_output_dir, lock_run_dir
from .runs import MODEL_DIR, RUN_JSON, atomic_dir, read_json, write_json

FORMATS = ("hf", "onnx", "int8")
ONNX_FILE = "model.onnx"

SAMPLE_TEXTS = [
    "my invoice shows a double charge, please refund it",
    "the app crashes every time i open the settings page after the last update",
    "hi",
    "i cannot log in after resetting my password and the two factor code never arrives by email or sms",
    "where is my package? tracking has not changed for a week",
    "please add a dark mode",
]


# -- helpers shared with compare and distill ------------------------------------------------------
def state_size_mb(model: torch.nn.Module) -> float:
    """Size of the serialized state dict in MB (comparable between fp32 and int8 models)."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.save(model.state_dict(), buf)
    return len(buf.getvalue()) / 2**20


def classifier_size_mb(clf) -> float:
    """Size of the weights a Classifier runs: its ONNX graph file, or its PyTorch state dict."""
    if clf.onnx_path is not None:
        return clf.onnx_path.stat().st_size / 2**20
    return state_size_mb(clf.model)


def count_parameters(model: torch.nn.Module) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def cpu_classifier(model: torch.nn.Module, like):
    """A Classifier for ``model`` on the CPU in fp32, with the tokenizer/labels/max length of ``like``."""
    from .inference import Classifier

    return Classifier(model, like.tokenizer, like.labels, torch.device("cpu"), like.max_length, None)


def model_dir_of(run_dir: str | Path) -> Path:
    run_dir = Path(run_dir)
    for candidate in (run_dir / MODEL_DIR, run_dir):
        if (candidate / "config.json").is_file():
            return candidate
    raise UserInputError(
        "This is not a trained run folder (no model/config.json)." if run_dir.exists() else "The run folder does not exist.",
        where=str(run_dir),
        fix="Pass the RUN_DIR written by `classifier-studio train` (it holds model/ and run.json).",
    )


def run_record_of(run_dir: str | Path) -> dict:
    path = Path(run_dir) / RUN_JSON
    try:
        return read_json(path) if path.is_file() else {}
    except (OSError, ValueError):
        return {}


# -- export ---------------------------------------------------------------------------------------
def export_run(run_dir: str | Path, fmt: str, out_dir: str | Path, data: LabeledData | None = None,
               on_event: EventSink = ignore, *, speed_docs: int = 256, latency_docs: int = 32) -> dict:
    """Write ``out_dir`` (swapped in whole) with the model in ``fmt``, README.md and predict.py."""
    if fmt not in FORMATS:
        raise UserInputError(f"Unknown export format '{fmt}'.", where="--format", fix=f"Use one of: {', '.join(FORMATS)}.")
    run_dir = Path(run_dir)
    model_dir = model_dir_of(run_dir)
    out_dir = Path(out_dir)
    check_not_inside(out_dir, [run_dir, model_dir])
    claim_output_dir(out_dir, "export")  # new, empty or an earlier export: never the user's own folder
    with lock_run_dir(out_dir, beside=True):
        try:
            return _export(run_dir, model_dir, fmt, out_dir, data, on_event, speed_docs, latency_docs)
        except Exception as exc:
            if _is_disk_full(exc):
                raise _disk_full(out_dir, model_dir, fmt) from exc
            raise


def _is_disk_full(exc: BaseException | None) -> bool:
    import errno

    from .runs import as_os_error

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        err = as_os_error(exc, None)
        if isinstance(err, OSError) and err.errno == errno.ENOSPC:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _disk_full(out_dir: Path, model_dir: Path, fmt: str) -> UserInputError:
    """Exit 2 with the numbers: the space left, and about what the export needs. Measured with the bundled
    model (88 MB of model files): the hf export holds as much, the fp32 ONNX graph 1.03 times, the int8 one
    0.26 times (23 MB); the run's ONNX cache (RUN/onnx, both graphs) counts too when it is still to be
    made on the same disk."""
    from .model_files import allowed_model_file

    weights = sum(p.stat().st_size for p in model_dir.iterdir() if allowed_model_file(p.name) and p.is_file())
    factor = {"hf": 1.0, "onnx": 1.05, "int8": 0.3}[fmt]
    where = out_dir if out_dir.exists() else out_dir.parent
    cache = model_dir.parent / "onnx"
    try:
        same_disk = os.stat(where).st_dev == os.stat(model_dir).st_dev
    except OSError:
        same_disk = False
    if fmt != "hf" and same_disk and not (cache / ("model.int8.onnx" if fmt == "int8" else "model.onnx")).is_file():
        factor += 1.05 + (0.3 if fmt == "int8" else 0.0)
    need_mb = max(1, round(weights * factor / 2**20 + 0.5))
    try:
        free_mb = shutil.disk_usage(where).free // 2**20
    except OSError:
        free_mb = 0
    return UserInputError(f"The disk is full: {free_mb} MB free, about {need_mb} MB needed for the {fmt} export.",
                          where=str(out_dir), fix=f"Free at least {max(1, need_mb - free_mb)} MB (or choose an --out "
                          "folder on another disk), then export again; nothing was left half-written.")


def _export(run_dir: Path, model_dir: Path, fmt: str, out_dir: Path, data: LabeledData | None, on_event: EventSink,
            speed_docs: int, latency_docs: int) -> dict:
    from .inference import Classifier

    record = run_record_of(run_dir)
    on_event(StatusEvent("Loading the model"))
    status = lambda message: on_event(StatusEvent(message))  # noqa: E731
    # onnx and int8 need ONNX Runtime (UserInputError without it); hf only copies files
    clf = Classifier.load(run_dir, device="cpu", precision="fp32", engine="torch" if fmt == "hf" else "onnx", on_status=status)
    texts = list(data.texts) if data is not None and len(data) else list(SAMPLE_TEXTS)
    summary: dict = {"format": fmt, "run_dir": str(run_dir), "out_dir": str(out_dir), "labels": clf.labels,
                     "max_length": clf.max_length, "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
    if clf.recorded_long == "on":
        summary["long_documents"] = {"mode": "on", "combine": clf.combine_method}
    if clf.multi_label:
        summary["problem_type"] = "multi_label_classification"
        summary["thresholds"] = {l: float(t) for l, t in zip(clf.labels, clf.thresholds)}
    with atomic_dir(out_dir) as tmp:
        if fmt == "hf":
            on_event(StatusEvent("Copying the Hugging Face model folder"))
            # only what we wrote (model_files' allow-list, config.json without auto_map): stray code,
            # pickles or notes in the run folder never travel with an export
            copy_model_files(model_dir, tmp)
            summary["files"] = {"model": "config.json + model.safetensors + tokenizer files"}
        elif fmt == "onnx":
            summary.update(_export_onnx(clf, tmp))
        else:
            summary.update(_export_int8(run_dir, clf, tmp, data, texts, on_event, speed_docs, latency_docs))
        (tmp / "labels.json").write_text(_labels_json(clf), encoding="utf-8")
        (tmp / "predict.py").write_text(PREDICT_SCRIPTS[fmt], encoding="utf-8")
        (tmp / "README.md").write_text(model_card(record, summary), encoding="utf-8")
        write_json(tmp / "export.json", summary)
    on_event(StatusEvent(f"Exported {fmt} to {out_dir}"))
    return summary


def _labels_json(clf) -> str:
    import json

    from . import batching
    from . import long_documents as ld

    meta = {"labels": clf.labels, "max_length": clf.max_length, "pad_id": clf.pad_id,
            "special_tokens": list(batching.special_layout(clf.tokenizer))}
    if clf.recorded_long == "on":  # predict.py reads long texts in windows, as the app does
        meta["long_documents"] = {"mode": "on", "combine": clf.combine_method, "overlap": ld.OVERLAP,
                                  "max_windows": ld.MAX_WINDOWS}
    if clf.multi_label:  # predict.py applies a sigmoid per label and these thresholds
        meta.update({"problem_type": "multi_label_classification",
                     "thresholds": {l: float(t) for l, t in zip(clf.labels, clf.thresholds)}})
    return json.dumps(meta, indent=2)


def _copy_onnx(clf, tmp: Path) -> None:
    """The Classifier's ONNX graph and its fast tokenizer into the export folder."""
    shutil.copyfile(clf.onnx_path, tmp / ONNX_FILE)
    clf.tokenizer.save_pretrained(tmp)
    if not (tmp / "tokenizer.json").is_file():
        raise UserInputError("This model's tokenizer has no fast (tokenizer.json) version, which the ONNX predict.py needs.",
                             where=str(clf.model_dir), fix="Export with --format hf instead.")


def _export_onnx(clf, tmp: Path) -> dict:
    from .onnx_graph import OPSET, graph_record

    _copy_onnx(clf, tmp)
    made = graph_record(clf.onnx_path)
    import onnxruntime

    return {"onnx": {"opset": OPSET, "exporter": made.get("exporter", "torch.onnx.export(dynamo=False)"),
                     "fused_operators": made.get("fused", {}), "max_abs_diff": made.get("max_abs_diff"),
                     "tolerance": made.get("tolerance"), "verified_with": f"onnxruntime {onnxruntime.__version__}"},
            "files": {"model": f"{ONNX_FILE} (fp32)", "tokenizer": "tokenizer.json"}}


def _export_int8(run_dir: Path, clf, tmp: Path, data: LabeledData | None, texts: Sequence[str], on_event: EventSink,
                 speed_docs: int, latency_docs: int) -> dict:
    from . import speed
    from .evaluate import evaluate
    from .inference import Classifier
    from .onnx_graph import graph_record

    on_event(StatusEvent("Quantizing to int8"))
    qclf = Classifier.load(run_dir, device="cpu", precision="int8", engine="onnx",
                           on_status=lambda message: on_event(StatusEvent(message)))
    _copy_onnx(qclf, tmp)
    on_event(StatusEvent("Measuring speed (CPU, ONNX Runtime, batch 32)"))
    fp32_speed = speed.full_report(clf.predict_proba, texts, 32, speed_docs, latency_docs)
    int8_speed = speed.full_report(qclf.predict_proba, texts, 32, speed_docs, latency_docs)
    out = {
        "int8": {
            "quantization": graph_record(qclf.onnx_path).get("quantization", "onnxruntime quantize_dynamic (QInt8)"),
            "engine": "ONNX Runtime (fp32 and int8 graphs)",
            "fp32_speed": fp32_speed.to_dict(), "int8_speed": int8_speed.to_dict(),
            "speedup": int8_speed.docs_per_s / max(fp32_speed.docs_per_s, 1e-9),
            "fp32_size_mb": classifier_size_mb(clf), "int8_size_mb": classifier_size_mb(qclf),
            "speed_measured_on": f"{min(len(texts), speed_docs)} texts, CPU; p50/p95 over {min(len(texts), latency_docs)} at batch 1",
        },
        "files": {"model": f"{ONNX_FILE} (int8)", "tokenizer": "tokenizer.json"},
    }
    if data is not None and len(data):
        on_event(StatusEvent(f"Measuring accuracy on {len(data)} texts"))
        before = evaluate(clf, data).metrics
        after = evaluate(qclf, data).metrics
        out["int8"].update({"fp32_accuracy": before["accuracy"], "int8_accuracy": after["accuracy"],
                            "accuracy_change": after["accuracy"] - before["accuracy"],
                            "fp32_macro_f1": before["macro_f1"], "int8_macro_f1": after["macro_f1"],
                            "evaluated_on": data.source, "n": len(data)})
        out["metrics_int8"] = after
    return out


# -- model card -----------------------------------------------------------------------------------
def model_card(record: dict, summary: dict) -> str:
    fmt = summary["format"]
    m = summary.get("metrics_int8") or record.get("final_metrics") or {}
    data = record.get("data", {})
    model = record.get("model", {})
    lines = [f"# Text classifier ({fmt} export)", ""]
    lines += [f"Fine-tuned from `{model.get('name', '?')}` ({model.get('architecture', '?')}, "
              f"{_fmt_int(model.get('parameters'))} parameters, {model.get('layers', '?')} layers) with Classifier Studio.",
              f"Exported {summary['created']} from `{summary['run_dir']}`.", ""]
    if record.get("distillation"):
        d = record["distillation"]
        lines += [f"Distilled from teacher `{d.get('teacher_run_dir')}`: {d.get('student_layers')} of "
                  f"{d.get('teacher_layers')} layers, {d.get('retained', 0):.1%} of the teacher's accuracy retained, "
                  f"{d.get('speedup', 0):.2f}x faster.", ""]
    lines += ["## Labels", "", ", ".join(f"`{l}`" for l in summary["labels"]), ""]
    lines += ["## Training data", ""]
    if data:
        lines += [f"- Source: `{data.get('source', '?')}`",
                  f"- Training rows: {data.get('n_train', '?')}, validation rows: {data.get('n_valid', '?')} "
                  f"({data.get('valid_source', '?')})"]
        counts = data.get("class_counts") or {}
        if counts:
            lines.append("- Training rows per class: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    else:
        lines.append("- Not recorded (no run.json).")
    lines += ["", "## Metrics", ""]
    if m:
        where = "the given data, int8 model" if summary.get("metrics_int8") else m.get("evaluated_on", "validation")
        if m.get("problem_type") == "multi_label_classification":
            lines += [f"Multi-label: micro-F1 {m.get('micro_f1', 0):.4f}, macro-F1 {m.get('macro_f1', 0):.4f}, exact match "
                      f"{m.get('exact_match', 0):.4f} on {m.get('n', '?')} texts ({where}); a label is predicted when its "
                      "probability (sigmoid) reaches its threshold (labels.json, tuned on validation).", ""]
        lines += [f"Accuracy {m.get('accuracy', 0):.4f}, macro-F1 {m.get('macro_f1', 0):.4f} on {m.get('n', '?')} texts ({where}).", "",
                  "| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
        for label, row in (m.get("per_class") or {}).items():
            lines.append(f"| {label} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | {row['support']} |")
    else:
        lines.append("No metrics recorded.")
    if "int8" in summary:
        q = summary["int8"]
        lines += ["", "## int8 quantization", "",
                  f"- {q['quantization']}",
                  f"- Size: {q['fp32_size_mb']:.2f} MB (fp32) -> {q['int8_size_mb']:.2f} MB (int8)",
                  f"- Speed on the CPU (batch 32): {q['fp32_speed']['docs_per_s']:.1f} -> {q['int8_speed']['docs_per_s']:.1f} docs/s "
                  f"({q['speedup']:.2f}x); p50 at batch 1: {q['fp32_speed']['p50_ms']:.2f} -> {q['int8_speed']['p50_ms']:.2f} ms"]
        if "accuracy_change" in q:
            lines.append(f"- Accuracy on {q['n']} texts: {q['fp32_accuracy']:.4f} (fp32) -> {q['int8_accuracy']:.4f} (int8), "
                         f"change {q['accuracy_change']:+.4f}")
        else:
            lines.append("- Accuracy change not measured (export with --data FILE to measure it).")
    if "onnx" in summary:
        o = summary["onnx"]
        diff = "not checked (onnxruntime missing)" if o["max_abs_diff"] is None else f"{o['max_abs_diff']:.2e}"
        fused = ", ".join(f"{k} x{v}" for k, v in (o.get("fused_operators") or {}).items()) or "none"
        lines += ["", "## ONNX", "", f"- Exporter: {o['exporter']}, dynamic batch and sequence axes",
                  f"- Fused for ONNX Runtime: {fused}",
                  f"- Max |logit difference| vs. PyTorch on sample inputs: {diff} (tolerance {o['tolerance']:g}), "
                  f"checked with {o['verified_with']}"]
    settings = record.get("settings") or {}
    if settings:
        lines += ["", "## Training settings", ""]
        lines += [f"- {k}: {v}" for k, v in settings.items() if v is not None]
    device = record.get("device") or {}
    if device:
        hw = device.get("hardware", {})
        gpus = ", ".join(g.get("name", "?") for g in hw.get("gpus", [])) or "none"
        lines += ["", "## Hardware", "", f"- Trained on: {device.get('name', '?')} ({device.get('precision', '?')})",
                  f"- CPU threads: {hw.get('cpu_threads', '?')}, GPUs: {gpus}"]
    versions = record.get("versions") or {}
    if versions:
        lines.append("- Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    lines += ["", "## Use", "", "```", f"pip install {PACKAGES[fmt]}", "python predict.py input.csv out.csv", "```", "",
              "`input.csv` needs a `text` column (or pass `--text-column NAME`); `out.csv` gets the input columns plus",
              "`predicted_label`, `confidence` and one `prob_<label>` column per class.", "",
              "## Intended use", "",
              f"Sorting texts like the training data into the {len(summary['labels'])} classes above, with a person reviewing",
              "low-confidence predictions.", "",
              "## Limitations", "",
              "- It only knows the labels above; every text gets one of them, even if none fits.",
              "- Accuracy holds for texts like the training data (language, domain, length); measure it on your own data first.",
              (f"- Texts longer than {summary['max_length']} tokens are read in overlapping windows of that length, and the "
               f"windows' answers combined ({summary['long_documents']['combine']}), as the model was trained."
               if summary.get("long_documents") else f"- Texts longer than {summary['max_length']} tokens are cut off."),
              "- Validation metrics come from a small held-out share of the data and carry sampling error.",
              "- Biases in the training data carry over to the predictions.", ""]
    return "\n".join(lines)


def _fmt_int(value) -> str:
    return f"{value / 1e6:.1f}M" if isinstance(value, (int, float)) and value else "?"


PACKAGES = {"hf": "torch transformers", "int8": "onnxruntime tokenizers numpy", "onnx": "onnxruntime tokenizers numpy"}

_PREDICT_COMMON = r'''
import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
BATCH = 64
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """A leading apostrophe keeps Excel from running a cell that looks like a formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def read_rows(path, text_column):
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        fields = list(reader.fieldnames or [])
    if not fields:
        sys.exit(f"{path}: no header row")
    if text_column is None:
        text_column = "text" if "text" in fields else max(fields, key=lambda c: sum(len(r.get(c) or "") for r in rows))
    if text_column not in fields:
        sys.exit(f"{path}: no column '{text_column}' (columns: {', '.join(fields)})")
    return rows, fields, text_column


def cut(ids, window, prefix, suffix):
    """A text cut to ``window`` tokens as the tokenizer cuts it: the closing special tokens are kept."""
    if len(ids) <= window:
        return ids
    tail = suffix if window > prefix + suffix else 0
    return ids[:window - tail] + ids[len(ids) - tail:] if tail else ids[:window]


def windows_of(ids, window, prefix, suffix, overlap, max_windows):
    """Overlapping windows over a long text, each with the special tokens around it (as in training)."""
    if len(ids) <= window:
        return [ids]
    head, tail, content = ids[:prefix], ids[len(ids) - suffix:] if suffix else [], ids[prefix:len(ids) - suffix]
    body = max(1, window - prefix - suffix)
    step = max(1, body - int(body * overlap))
    starts = [0] if len(content) <= body else sorted(set(list(range(0, len(content) - body, step)) + [len(content) - body]))
    if len(starts) > max_windows:
        picks = np.linspace(0, len(starts) - 1, max_windows).round().astype(int)
        starts = [starts[i] for i in sorted(set(picks.tolist()))]
    return [head + content[s:s + body] + tail for s in starts]


def combine(rows, method, multi_label):
    """One document's logits from its windows' logits: the first window, mean, max, or weighted by each
    window's confidence."""
    rows = np.asarray(rows, dtype=np.float64)
    if method == "first":
        return rows[0]
    if len(rows) == 1 or method == "mean":
        return rows.mean(axis=0)
    if method == "max":
        return rows.max(axis=0)
    if multi_label or rows.shape[1] < 2:
        conf = np.abs(rows).max(axis=1)
    else:
        top = np.sort(rows, axis=1)
        conf = top[:, -1] - top[:, -2]
    weights = np.exp(conf - conf.max())
    return (rows * (weights / weights.sum())[:, None]).sum(axis=0)


def probabilities(logits, multi_label):
    logits = np.asarray(logits, dtype=np.float64)
    if multi_label:
        return 1.0 / (1.0 + np.exp(-logits))
    logits = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=-1, keepdims=True)


def classify(texts, encode, logits_of, meta):
    """Probabilities in input order. A text longer than max_length is read in overlapping windows when the
    model was trained so (labels.json "long_documents"), else cut; batches hold texts of similar length."""
    window = meta["max_length"]
    prefix, suffix = meta.get("special_tokens", [1, 1])
    long = meta.get("long_documents") or {}
    windowed = long.get("mode") == "on"
    multi = meta.get("problem_type") == "multi_label_classification"
    pieces, owner = [], []
    for start in range(0, len(texts), 1024):
        for i, ids in enumerate(encode(texts[start:start + 1024]), start):
            parts = (windows_of(ids, window, prefix, suffix, long.get("overlap", 0.25), long.get("max_windows", 64))
                     if windowed else [cut(ids, window, prefix, suffix)])
            pieces.extend(parts)
            owner.extend([i] * len(parts))
    order = sorted(range(len(pieces)), key=lambda k: len(pieces[k]))
    logits = [None] * len(pieces)
    for start in range(0, len(order), BATCH):
        batch = order[start:start + BATCH]
        for k, row in zip(batch, logits_of([pieces[k] for k in batch])):
            logits[k] = row
    by_doc = [[] for _ in texts]
    for k, i in enumerate(owner):
        by_doc[i].append(logits[k])
    method = long.get("combine", "mean")
    return [probabilities(combine(rows, method, multi), multi).tolist() for rows in by_doc]


def pad(batch, pad_id):
    """A batch of token-id lists padded to its longest: (input_ids, attention_mask) as int64 arrays."""
    width = max(len(ids) for ids in batch)
    input_ids = np.full((len(batch), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(batch), width), dtype=np.int64)
    for row, ids in enumerate(batch):
        input_ids[row, :len(ids)] = ids
        mask[row, :len(ids)] = 1
    return input_ids, mask


def write_rows(path, rows, fields, probs, labels, thresholds=None):
    if thresholds is not None:  # multi-label: every label at or above its threshold, joined by ";"
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields + ["predicted_labels"] + [f"prob_{l}" for l in labels])
            writer.writer.writerow([safe_cell(f) for f in writer.fieldnames])
            for row, p in zip(rows, probs):
                out = dict(row)
                out["predicted_labels"] = ";".join(l for i, l in enumerate(labels) if p[i] >= thresholds.get(l, 0.5))
                out.update({f"prob_{l}": f"{p[i]:.6f}" for i, l in enumerate(labels)})
                writer.writerow({k: safe_cell(v) for k, v in out.items()})
        return
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields + ["predicted_label", "confidence"] + [f"prob_{l}" for l in labels])
        writer.writer.writerow([safe_cell(f) for f in writer.fieldnames])  # the header too
        for row, p in zip(rows, probs):
            best = max(range(len(labels)), key=lambda i: p[i])
            out = dict(row)
            out.update({"predicted_label": labels[best], "confidence": f"{p[best]:.6f}"})
            out.update({f"prob_{l}": f"{p[i]:.6f}" for i, l in enumerate(labels)})
            writer.writerow({k: safe_cell(v) for k, v in out.items()})


def main():
    parser = argparse.ArgumentParser(description="Classify the texts of a CSV file.")
    parser.add_argument("input_csv")
    parser.add_argument("output_csv")
    parser.add_argument("--text-column", default=None)
    args = parser.parse_args()
    rows, fields, column = read_rows(args.input_csv, args.text_column)
    texts = [r.get(column) or "" for r in rows]
    meta = json.loads((HERE / "labels.json").read_text(encoding="utf-8"))
    encode, logits_of = load(meta)
    thresholds = meta.get("thresholds") if meta.get("problem_type") == "multi_label_classification" else None
    write_rows(args.output_csv, rows, fields, classify(texts, encode, logits_of, meta), meta["labels"], thresholds)
    print(f"Wrote {len(rows)} predictions to {args.output_csv}")
'''

_MAIN_GUARD = '''

if __name__ == "__main__":
    main()
'''

_TORCH_LOAD = r'''"""Standalone predictor for this {fmt} export. Needs: pip install torch transformers

Usage: python predict.py input.csv out.csv [--text-column NAME]
"""


def load(meta):
    """(encode, logits_of): whole texts to token ids (special tokens included, nothing cut); padded
    batches of token ids to logits."""
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(HERE, trust_remote_code=False)  # never run code from a folder
{build}
    model.eval()

    def encode(texts):
        return tokenizer(list(texts), truncation=False, verbose=False)["input_ids"]

    def logits_of(batch):
        input_ids, mask = pad(batch, meta["pad_id"])
        with torch.inference_mode():
            return model(input_ids=torch.from_numpy(input_ids), attention_mask=torch.from_numpy(mask)).logits.float().numpy()

    return encode, logits_of
'''

_HF_BUILD = "    model = AutoModelForSequenceClassification.from_pretrained(HERE, trust_remote_code=False, use_safetensors=True)"
_ONNX_LOAD = r'''"""Standalone predictor for this {fmt} export. Needs: pip install onnxruntime tokenizers numpy
(no torch, no transformers)

Usage: python predict.py input.csv out.csv [--text-column NAME]
"""


def load(meta):
    """(encode, logits_of): whole texts to token ids (special tokens included, nothing cut); padded
    batches of token ids to logits."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(HERE / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    session = ort.InferenceSession(str(HERE / "model.onnx"), providers=["CPUExecutionProvider"])

    def encode(texts):
        return [e.ids for e in tokenizer.encode_batch(list(texts))]

    def logits_of(batch):
        input_ids, mask = pad(batch, meta["pad_id"])
        return session.run(["logits"], {"input_ids": input_ids, "attention_mask": mask})[0]

    return encode, logits_of
'''


def _script(head: str) -> str:
    doc_end = head.index('"""', 3) + 3
    return head[:doc_end] + "\n" + _PREDICT_COMMON + head[doc_end:].rstrip() + "\n" + _MAIN_GUARD


PREDICT_SCRIPTS = {
    "hf": _script(_TORCH_LOAD.replace("{fmt}", "Hugging Face").replace("{build}", _HF_BUILD)),
    "onnx": _script(_ONNX_LOAD.replace("{fmt}", "ONNX")),
    "int8": _script(_ONNX_LOAD.replace("{fmt}", "int8 ONNX")),
}

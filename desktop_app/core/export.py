"""Export a trained run for use outside the app: a Hugging Face folder, ONNX, or int8 PyTorch.

    export_run(run_dir, fmt, out_dir, data=None, on_event) -> dict   (summary, also in export.json)

Every export folder holds a README.md model card and a standalone ``predict.py``
(``python predict.py input.csv out.csv``) that needs only that folder and:

    hf    transformers + torch           (the standard Hugging Face model folder)
    onnx  onnxruntime + tokenizers + numpy  (model.onnx, tokenizer.json, labels.json)
    int8  transformers + torch           (config + tokenizer + model_int8.pt: the state dict of the
          model after torch.ao.quantization.quantize_dynamic on nn.Linear, qint8; predict.py rebuilds
          the fp32 architecture from config.json, quantizes it the same way and loads the state dict)

ONNX exports are checked against PyTorch on sample inputs (max |logit difference| < 1e-3) and,
when onnxruntime is installed, run with it. Also the helpers shared by compare and distill:
``quantize_int8``, ``state_size_mb``, ``count_parameters``.
"""

from __future__ import annotations

import copy
import io
import shutil
import time
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .data import LabeledData
from .errors import UserInputError
from .events import EventSink, StatusEvent, ignore
from .runs import MODEL_DIR, RUN_JSON, atomic_dir, read_json, write_json

FORMATS = ("hf", "onnx", "int8")
ONNX_TOLERANCE = 1e-3
ONNX_OPSET = 17
INT8_FILE = "model_int8.pt"

SAMPLE_TEXTS = [
    "my invoice shows a double charge, please refund it",
    "the app crashes every time i open the settings page after the last update",
    "hi",
    "i cannot log in after resetting my password and the two factor code never arrives by email or sms",
    "where is my package? tracking has not changed for a week",
    "please add a dark mode",
]


# -- helpers shared with compare and distill ------------------------------------------------------
def quantize_int8(model: torch.nn.Module) -> torch.nn.Module:
    """A CPU copy of ``model`` with every nn.Linear dynamically quantized to int8 (weights int8,
    activations quantized on the fly). The original model is left untouched."""
    from torch.ao.quantization import quantize_dynamic

    cpu_copy = copy.deepcopy(model).to("cpu").float().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return quantize_dynamic(cpu_copy, {torch.nn.Linear}, dtype=torch.qint8)


def state_size_mb(model: torch.nn.Module) -> float:
    """Size of the serialized state dict in MB (comparable between fp32 and int8 models)."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.save(model.state_dict(), buf)
    return len(buf.getvalue()) / 2**20


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
    from .inference import Classifier

    if fmt not in FORMATS:
        raise UserInputError(f"Unknown export format '{fmt}'.", where="--format", fix=f"Use one of: {', '.join(FORMATS)}.")
    run_dir = Path(run_dir)
    model_dir = model_dir_of(run_dir)
    out_dir = Path(out_dir)
    if out_dir.resolve() == run_dir.resolve() or run_dir.resolve() in out_dir.resolve().parents:
        raise UserInputError("The export folder must be outside the run folder.", where=str(out_dir),
                             fix="Choose another --out folder.")
    if out_dir.exists() and (not out_dir.is_dir() or (any(out_dir.iterdir()) and not (out_dir / "export.json").is_file())):
        raise UserInputError("The export folder already exists and is not an earlier export; it would be replaced.",
                             where=str(out_dir), fix="Choose a new or empty --out folder.")
    record = run_record_of(run_dir)
    on_event(StatusEvent("Loading the model"))
    clf = Classifier.load(run_dir, device="cpu", precision="fp32")
    texts = list(data.texts) if data is not None and len(data) else list(SAMPLE_TEXTS)
    summary: dict = {"format": fmt, "run_dir": str(run_dir), "out_dir": str(out_dir), "labels": clf.labels,
                     "max_length": clf.max_length, "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
    with atomic_dir(out_dir) as tmp:
        if fmt == "hf":
            on_event(StatusEvent("Copying the Hugging Face model folder"))
            shutil.copytree(model_dir, tmp, dirs_exist_ok=True)
            summary["files"] = {"model": "config.json + model.safetensors + tokenizer files"}
        elif fmt == "onnx":
            summary.update(_export_onnx(clf, tmp, texts, on_event))
        else:
            summary.update(_export_int8(clf, tmp, data, texts, on_event, speed_docs, latency_docs))
        (tmp / "labels.json").write_text(_labels_json(clf), encoding="utf-8")
        (tmp / "predict.py").write_text(PREDICT_SCRIPTS[fmt], encoding="utf-8")
        (tmp / "README.md").write_text(model_card(record, summary), encoding="utf-8")
        write_json(tmp / "export.json", summary)
    on_event(StatusEvent(f"Exported {fmt} to {out_dir}"))
    return summary


def _labels_json(clf) -> str:
    import json

    return json.dumps({"labels": clf.labels, "max_length": clf.max_length, "pad_id": clf.pad_id}, indent=2)


class _LogitsOnly(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


def _export_onnx(clf, tmp: Path, texts: Sequence[str], on_event: EventSink) -> dict:
    from transformers import AutoModelForSequenceClassification

    from . import batching

    on_event(StatusEvent("Exporting to ONNX"))
    model_path = getattr(clf.model, "name_or_path", None)
    try:  # eager attention traces into plain ops (SDPA paths differ between versions)
        model = AutoModelForSequenceClassification.from_pretrained(model_path, attn_implementation="eager").eval()
    except Exception:  # noqa: BLE001 - fall back to the loaded model
        model = clf.model
    wrapper = _LogitsOnly(model).eval()
    sample_ids = clf.encode(list(texts[:8]) or SAMPLE_TEXTS)
    example = batching.collate(sample_ids[:2], clf.pad_id)
    path = tmp / "model.onnx"
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper, (example["input_ids"], example["attention_mask"]), str(path),
            input_names=["input_ids", "attention_mask"], output_names=["logits"],
            dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                          "logits": {0: "batch"}},
            opset_version=ONNX_OPSET, do_constant_folding=True, dynamo=False,
        )
    clf.tokenizer.save_pretrained(tmp)
    if not (tmp / "tokenizer.json").is_file():
        raise UserInputError("This model's tokenizer has no fast (tokenizer.json) version, which the ONNX predict.py needs.",
                             where=str(clf.model.name_or_path), fix="Export with --format hf or int8 instead.")
    on_event(StatusEvent("Checking ONNX against PyTorch"))
    check = verify_onnx(path, wrapper, sample_ids, clf.pad_id)
    if check["max_abs_diff"] is not None and check["max_abs_diff"] >= ONNX_TOLERANCE:
        raise RuntimeError(f"The ONNX model differs from PyTorch by {check['max_abs_diff']:.2e} (tolerance {ONNX_TOLERANCE}).")
    return {"onnx": {"opset": ONNX_OPSET, "exporter": "torch.onnx.export(dynamo=False)", **check},
            "files": {"model": "model.onnx", "tokenizer": "tokenizer.json"}}


def verify_onnx(path: Path, torch_model, ids: Sequence[Sequence[int]], pad_id: int) -> dict:
    """Max |logit difference| between onnxruntime and torch on a few batches of different shapes."""
    from . import batching

    try:
        import onnxruntime as ort
    except ImportError:
        return {"verified_with": None, "max_abs_diff": None, "tolerance": ONNX_TOLERANCE}
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    groups = [list(ids[:1]), list(ids[:3]), list(ids)]
    for group in groups:
        if not group:
            continue
        batch = batching.collate(group, pad_id)
        with torch.no_grad():
            expected = torch_model(batch["input_ids"], batch["attention_mask"]).float().numpy()
        got = session.run(["logits"], {k: v.numpy().astype(np.int64) for k, v in batch.items()})[0]
        worst = max(worst, float(np.abs(expected - got).max()))
    return {"verified_with": f"onnxruntime {ort.__version__}", "max_abs_diff": worst, "tolerance": ONNX_TOLERANCE,
            "batches_checked": [len(g) for g in groups if g]}


def _export_int8(clf, tmp: Path, data: LabeledData | None, texts: Sequence[str], on_event: EventSink,
                 speed_docs: int, latency_docs: int) -> dict:
    from . import speed
    from .evaluate import evaluate

    on_event(StatusEvent("Quantizing to int8"))
    qmodel = quantize_int8(clf.model)
    torch.save(qmodel.state_dict(), tmp / INT8_FILE)
    clf.model.config.save_pretrained(tmp)
    clf.tokenizer.save_pretrained(tmp)
    qclf = cpu_classifier(qmodel, clf)
    on_event(StatusEvent("Measuring speed (CPU, batch 32)"))
    fp32_speed = speed.full_report(lambda t, b: clf.predict_proba(t, b), texts, 32, speed_docs, latency_docs)
    int8_speed = speed.full_report(lambda t, b: qclf.predict_proba(t, b), texts, 32, speed_docs, latency_docs)
    out = {
        "int8": {
            "quantization": "torch.ao.quantization.quantize_dynamic({nn.Linear}, qint8)",
            "fp32_speed": fp32_speed.to_dict(), "int8_speed": int8_speed.to_dict(),
            "speedup": int8_speed.docs_per_s / max(fp32_speed.docs_per_s, 1e-9),
            "fp32_size_mb": state_size_mb(clf.model), "int8_size_mb": state_size_mb(qmodel),
            "speed_measured_on": f"{min(len(texts), speed_docs)} texts, CPU; p50/p95 over {min(len(texts), latency_docs)} at batch 1",
        },
        "files": {"model": INT8_FILE + " (state dict) + config.json + tokenizer files"},
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
        lines += ["", "## ONNX", "", f"- Exporter: {o['exporter']}, opset {o['opset']}, dynamic batch and sequence axes",
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
              f"- Texts longer than {summary['max_length']} tokens are cut off.",
              "- Validation metrics come from a small held-out share of the data and carry sampling error.",
              "- Biases in the training data carry over to the predictions.", ""]
    return "\n".join(lines)


def _fmt_int(value) -> str:
    return f"{value / 1e6:.1f}M" if isinstance(value, (int, float)) and value else "?"


PACKAGES = {"hf": "torch transformers", "int8": "torch transformers", "onnx": "onnxruntime tokenizers numpy"}

_PREDICT_COMMON = r'''
import argparse
import csv
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BATCH = 32


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


def write_rows(path, rows, fields, texts, predict_proba, labels):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields + ["predicted_label", "confidence"] + [f"prob_{l}" for l in labels])
        writer.writeheader()
        for start in range(0, len(rows), BATCH):
            probs = predict_proba(texts[start:start + BATCH])
            for row, p in zip(rows[start:start + BATCH], probs):
                best = max(range(len(labels)), key=lambda i: p[i])
                out = dict(row)
                out.update({"predicted_label": labels[best], "confidence": f"{p[best]:.6f}"})
                out.update({f"prob_{l}": f"{p[i]:.6f}" for i, l in enumerate(labels)})
                writer.writerow(out)


def main():
    parser = argparse.ArgumentParser(description="Classify the texts of a CSV file.")
    parser.add_argument("input_csv")
    parser.add_argument("output_csv")
    parser.add_argument("--text-column", default=None)
    args = parser.parse_args()
    rows, fields, column = read_rows(args.input_csv, args.text_column)
    texts = [r.get(column) or "" for r in rows]
    meta = json.loads((HERE / "labels.json").read_text(encoding="utf-8"))
    predict_proba = load(meta)
    write_rows(args.output_csv, rows, fields, texts, predict_proba, meta["labels"])
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
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(HERE)
{build}
    model.eval()

    def predict_proba(texts):
        enc = tokenizer(texts, truncation=True, max_length=meta["max_length"], padding=True, return_tensors="pt")
        with torch.inference_mode():
            logits = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits
        return torch.softmax(logits.float(), dim=-1).tolist()

    return predict_proba
'''

_HF_BUILD = "    model = AutoModelForSequenceClassification.from_pretrained(HERE)"
_INT8_BUILD = f'''    import warnings
    from torch.ao.quantization import quantize_dynamic

    warnings.filterwarnings("ignore")  # torch.ao.quantization deprecation notices

    model = AutoModelForSequenceClassification.from_config(AutoConfig.from_pretrained(HERE)).eval()
    model = quantize_dynamic(model, {{torch.nn.Linear}}, dtype=torch.qint8)
    model.load_state_dict(torch.load(HERE / "{INT8_FILE}", weights_only=False))'''

_ONNX_LOAD = r'''"""Standalone predictor for this ONNX export. Needs: pip install onnxruntime tokenizers numpy

Usage: python predict.py input.csv out.csv [--text-column NAME]
"""


def load(meta):
    import numpy as np
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(HERE / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=meta["max_length"])
    tokenizer.enable_padding(pad_id=meta["pad_id"])
    session = ort.InferenceSession(str(HERE / "model.onnx"), providers=["CPUExecutionProvider"])

    def predict_proba(texts):
        enc = tokenizer.encode_batch(list(texts))
        ids = np.asarray([e.ids for e in enc], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in enc], dtype=np.int64)
        logits = session.run(["logits"], {"input_ids": ids, "attention_mask": mask})[0]
        logits = logits - logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        return (probs / probs.sum(axis=1, keepdims=True)).tolist()

    return predict_proba
'''


def _script(head: str) -> str:
    doc_end = head.index('"""', 3) + 3
    return head[:doc_end] + "\n" + _PREDICT_COMMON + head[doc_end:].rstrip() + "\n" + _MAIN_GUARD


PREDICT_SCRIPTS = {
    "hf": _script(_TORCH_LOAD.replace("{fmt}", "Hugging Face").replace("{build}", _HF_BUILD)),
    "int8": _script(_TORCH_LOAD.replace("{fmt}", "int8").replace("{build}", _INT8_BUILD)),
    "onnx": _script(_ONNX_LOAD),
}

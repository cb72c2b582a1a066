"""ONNX Runtime as the CPU engine: parity with PyTorch on every tiny architecture, the cached graph,
the fallback to PyTorch, and the int8 export that runs without torch or transformers."""

from __future__ import annotations

import csv
import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from desktop_app.core import onnx_graph
from desktop_app.core.errors import UserInputError
from desktop_app.core.inference import Classifier

LABELS = ["billing", "bug", "account", "shipping", "feature"]


def make_run(tiny_dir: Path, run_dir: Path, seed: int = 0) -> Path:
    """A run folder (model/ with a 5-class head, run.json) from a tiny pretrained-style model."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_pretrained(
        tiny_dir, num_labels=len(LABELS), id2label=dict(enumerate(LABELS)), label2id={l: i for i, l in enumerate(LABELS)})
    with torch.no_grad():  # a head with clear margins, so labels do not hinge on the 7th decimal
        for name, p in model.named_parameters():
            if "classifier" in name or "score" in name:
                p.normal_(0, 1.0)
    model.save_pretrained(run_dir / "model")
    AutoTokenizer.from_pretrained(tiny_dir).save_pretrained(run_dir / "model")
    (run_dir / "run.json").write_text(json.dumps({"status": "finished", "settings": {"max_length": 48}}), encoding="utf-8")
    return run_dir


@pytest.fixture(scope="module")
def texts(sample_csv) -> list[str]:
    return [r["text"] for r in csv.DictReader(sample_csv.open(encoding="utf-8"))]


@pytest.fixture(scope="module")
def runs(tiny_models, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("onnx_runs")
    return {arch: make_run(path, root / arch) for arch, path in tiny_models.items()}


@pytest.mark.parametrize("arch", ["bert", "distilbert", "roberta"])
def test_onnx_labels_match_pytorch_on_every_architecture(runs, texts, arch):
    fast = Classifier.load(runs[arch], device="cpu")
    reference = Classifier.load(runs[arch], device="cpu", engine="torch")
    assert fast.engine == "onnx-fp32" and reference.engine == "torch" and fast.engine_note is None
    assert fast.labels == reference.labels == LABELS
    ours, theirs = fast.predict_proba(texts), reference.predict_proba(texts)
    assert (ours.argmax(1) == theirs.argmax(1)).mean() >= 0.995
    assert np.abs(ours - theirs).max() < 1e-4
    # the graph is the run's own, fused for ONNX Runtime, and recorded with its check against PyTorch
    graph = runs[arch] / "onnx" / "model.onnx"
    assert fast.onnx_path == graph and graph.is_file()
    record = onnx_graph.graph_record(graph)
    assert record["max_abs_diff"] < 1e-3 and record["fused"].get("Attention", 0) >= 2
    # the int8 variant loads from the same folder and mostly agrees
    quick = Classifier.load(runs[arch], precision="int8")
    assert quick.engine == "onnx-int8" and quick.onnx_path == runs[arch] / "onnx" / "model.int8.onnx"
    assert quick.onnx_path.stat().st_size < graph.stat().st_size
    assert (quick.predict_proba(texts).argmax(1) == theirs.argmax(1)).mean() >= 0.8
    # the PyTorch model is still there for those who need it (distillation), loaded on first use
    assert fast.model.config.num_labels == len(LABELS)


def test_the_graph_is_cached_and_rebuilt_when_the_model_changes(tiny_models, tmp_path, texts, monkeypatch):
    run = make_run(tiny_models["distilbert"], tmp_path / "run")
    first = Classifier.load(run, device="cpu")
    assert first.engine == "onnx-fp32"
    stamp = (run / "onnx" / "model.onnx").stat().st_mtime_ns

    def no_export(*args, **kwargs):
        raise AssertionError("exported again although the model did not change")

    monkeypatch.setattr(onnx_graph, "export_optimized", no_export)
    again = Classifier.load(run, device="cpu")
    assert again.engine == "onnx-fp32" and (run / "onnx" / "model.onnx").stat().st_mtime_ns == stamp
    monkeypatch.undo()

    make_run(tiny_models["distilbert"], run, seed=1)  # new weights in model/
    changed = Classifier.load(run, device="cpu")
    reference = Classifier.load(run, device="cpu", engine="torch")
    assert changed.engine == "onnx-fp32" and (run / "onnx" / "model.onnx").stat().st_mtime_ns != stamp
    assert np.abs(changed.predict_proba(texts[:40]) - reference.predict_proba(texts[:40])).max() < 1e-4
    assert not [p for p in (run / "onnx").iterdir() if p.name.endswith(".tmp")]


def test_a_plain_model_folder_is_cached_in_the_app_folder_not_beside_the_model(tiny_models, tmp_path):
    run = make_run(tiny_models["bert"], tmp_path / "run")
    plain = (run / "model").rename(tmp_path / "downloaded-model")  # e.g. the bundled model, a Hugging Face folder
    clf = Classifier.load(plain, device="cpu")
    assert clf.engine == "onnx-fp32"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["downloaded-model", "run"] and not (plain / "onnx").exists()
    assert "onnx-cache" in clf.onnx_path.parts


def test_without_onnxruntime_pytorch_takes_over_and_says_so_once(runs, texts, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` now raises ImportError
    expected = Classifier.load(runs["bert"], device="cpu", engine="torch").predict_proba(texts[:20])
    heard = []
    with caplog.at_level(logging.WARNING, logger="desktop_app.core.inference"):
        first = Classifier.load(runs["bert"], device="cpu", on_status=heard.append)
        second = Classifier.load(runs["roberta"], device="cpu")
    assert first.engine == second.engine == "torch"
    assert "ONNX Runtime" in first.engine_note and heard == [first.engine_note]
    assert len([r for r in caplog.records if "ONNX Runtime" in r.getMessage()]) == 1  # once per process
    assert np.allclose(first.predict_proba(texts[:20]), expected)
    int8 = Classifier.load(runs["bert"], precision="int8")
    assert int8.engine == "torch" and "int8" in int8.engine_note
    with pytest.raises(UserInputError):
        Classifier.load(runs["bert"], device="cpu", engine="onnx")


def test_a_failed_export_falls_back_to_pytorch(tiny_models, tmp_path, monkeypatch):
    run = make_run(tiny_models["bert"], tmp_path / "run")

    def broken(model_dir, out_path):
        raise onnx_graph.OnnxUnavailable("The ONNX export failed (test)")

    monkeypatch.setattr(onnx_graph, "export_optimized", broken)
    clf = Classifier.load(run, device="cpu")
    assert clf.engine == "torch" and "export failed" in clf.engine_note
    assert clf.predict(["my parcel never arrived"])[0].label in LABELS


BLOCKER = r"""
import runpy, sys

class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"torch", "transformers"}:
            raise ImportError(f"{name} is blocked in this test")
        return None

sys.meta_path.insert(0, NoTorch())
script, *args = sys.argv[1:]
sys.argv = [script, *args]
runpy.run_path(script, run_name="__main__")
assert "torch" not in sys.modules and "transformers" not in sys.modules
"""


def test_int8_export_runs_with_onnxruntime_alone(runs, tmp_path, texts):
    from desktop_app.core.export import export_run

    out = tmp_path / "int8"
    summary = export_run(runs["roberta"], "int8", out, latency_docs=4, speed_docs=32)
    names = {p.name for p in out.iterdir()}
    assert {"model.onnx", "tokenizer.json", "labels.json", "predict.py", "README.md", "export.json"} <= names
    assert not [n for n in names if n.endswith((".pt", ".bin", ".pkl", ".pth", ".safetensors"))]
    assert json.loads((out / "labels.json").read_text())["labels"] == LABELS
    assert "onnxruntime" in summary["int8"]["quantization"] and summary["int8"]["int8_size_mb"] < summary["int8"]["fp32_size_mb"]
    source = tmp_path / "in.csv"
    with source.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text"])
        w.writerows((i, t) for i, t in enumerate(texts[:30]))
    result = tmp_path / "out.csv"
    # -I: isolated (no PYTHONPATH, no user site); the blocker makes any import of torch/transformers fail
    proc = subprocess.run([sys.executable, "-I", "-c", BLOCKER, str(out / "predict.py"), str(source), str(result)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = list(csv.DictReader(result.open(encoding="utf-8")))
    assert [r["id"] for r in rows] == [str(i) for i in range(30)]
    quick = Classifier.load(runs["roberta"], precision="int8")
    ours = [p.label for p in quick.predict(texts[:30])]
    assert np.mean([r["predicted_label"] == o for r, o in zip(rows, ours)]) >= 0.9


def test_inference_and_export_never_load_pickles():
    """The inference, export and compare code loads no pickle and makes none (safetensors and ONNX only)."""
    core = Path(__file__).resolve().parents[2] / "desktop_app" / "core"
    for name in ("inference.py", "onnx_graph.py", "export.py", "compare.py", "speed.py"):
        source = (core / name).read_text(encoding="utf-8")
        assert not any(s in source for s in ("weights_only=False", "import pickle", "pickle.load", "torch.load", "torch.ao.quantization")), name

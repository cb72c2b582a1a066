"""Every combination works (issue #22): long documents with few-shot and with full fine-tuning (memory
planned before training, refused up front when it cannot fit), and several labels per text on little
data and little time (thresholds that a handful of validation texts cannot mislead, no early stop
before the score has settled)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from desktop_app.core import long_documents as ld
from desktop_app.core.errors import UserInputError

TOPICS = {"billing": "invoice refund charge card payment", "shipping": "parcel tracking courier address late",
          "login": "password account locked reset email"}
FILLER = "hello there thanks for the help today "


def _write(path, rows):
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["text", "label"])
        w.writeheader()
        w.writerows(rows)
    return path


def _long_rows(per_topic=10, repeats=20):
    """Texts far longer than the window (more windows than training reads per text), telling words at the end."""
    rows = []
    for i in range(per_topic):
        for label, words in TOPICS.items():
            rows.append({"text": FILLER * (repeats + i % 3) + words, "label": label})
    return rows


def test_long_documents_with_few_shot_train_and_score_every_document(tiny_models, tmp_path):
    """#22: 'IndexError: index 399 is out of bounds' once few-shot met long documents; now it trains to the
    end, validates per document (out-of-fold, the windows of a text in one fold) and predicts."""
    from desktop_app.core.data import load_labeled
    from desktop_app.core.inference import Classifier
    from desktop_app.core.methods import train_with_method
    from desktop_app.core.settings import TrainSettings
    from desktop_app.core.training import TrainJob

    data = load_labeled(_write(tmp_path / "long.csv", _long_rows())).data
    assert min(len(t.split()) for t in data.texts) > 120  # more windows (of 16 tokens) than training takes per text (8)
    run = tmp_path / "run"
    result = train_with_method(TrainJob(train=data, out_dir=run, model=str(tiny_models["bert"]), long_documents="on",
                                        settings=TrainSettings(epochs=1, max_length=16)), "auto")
    assert result.status == "finished"
    record = json.loads((run / "run.json").read_text())
    assert record["method"] == "few-shot" and record["status"] == "finished"
    assert record["long_documents"]["mode"] == "on" and record["long_documents"]["combine"] in ld.METHODS
    long = record["final_metrics"]["long_documents"]
    assert long["documents"] == len(data) and long["windows"] > len(data)
    assert sum(sum(r) for r in record["final_metrics"]["confusion_matrix"]) == len(data)  # one answer per document
    clf = Classifier.load(run, engine="torch")
    probs = clf.predict_proba(data.texts[:3])
    assert probs.shape == (3, 3) and np.allclose(probs.sum(1), 1, atol=1e-4)


def test_out_of_fold_scores_keep_the_windows_of_a_document_together():
    from desktop_app.core.few_shot import out_of_fold_logits

    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(20), 3)  # 20 documents of 3 windows
    y = np.repeat(np.arange(20) % 2, 3)
    vectors = rng.normal(size=(60, 4)).astype(np.float32)
    vectors[np.arange(60), 0] += groups * 10  # each document has its own fingerprint a leaky fold would learn
    grouped = out_of_fold_logits(vectors, y, 2, groups=groups)
    assert grouped is not None and grouped.shape == (60, 2)
    assert out_of_fold_logits(vectors[:12], y[:12], 2, groups=groups[:12]) is None  # 4 documents: too few to fold


def _tiny_step_bytes(model_dir, max_length, rows):
    """What a training step of ``rows`` texts needs beyond what is in use, by the plan's own measure."""
    import torch
    from transformers import AutoModelForSequenceClassification

    from desktop_app.core import memory

    model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=3)
    per_token = memory.measure_activations(model, max_length, torch.device("cpu"))
    params = sum(p.numel() for p in model.parameters())
    return memory._peak(0, params, per_token, rows, max_length)


def test_long_documents_with_fine_tuning_fit_the_batch_to_the_memory_free(tiny_models, tmp_path, monkeypatch):
    """#22: batch 32 of 512-token windows grew past 8 GB. Now the step is measured before training and, when
    32 do not fit in the memory free, fewer are read at a time and added up: the same 32 texts per step."""
    from desktop_app.core import memory
    from desktop_app.core.data import load_labeled
    from desktop_app.core.settings import TrainSettings
    from desktop_app.core.training import TrainJob, train

    # free memory for a step of about 6 texts (the share the plan uses), far less than 32
    free = _tiny_step_bytes(tiny_models["bert"], 32, 6) / memory.MEMORY_SHARE
    monkeypatch.setattr(memory, "available_bytes", lambda device: (free, "free memory"))
    data = load_labeled(_write(tmp_path / "long.csv", _long_rows(per_topic=12))).data
    run = tmp_path / "run"
    result = train(TrainJob(train=data, out_dir=run, model=str(tiny_models["bert"]), long_documents="on",
                            settings=TrainSettings(epochs=1, max_length=32, learning_rate=5e-3)))
    assert result.status == "finished"
    record = json.loads((run / "run.json").read_text())
    s = record["settings"]
    assert s["batch_size"] == 4 and s["grad_accum"] == 8  # the largest divisor of 32 that fits; 32 per step
    why = record["settings_explained"]["batch_size"]["reason"]
    assert "measured" in why and "32 rows per optimizer step (4 at a time" in why
    assert record["recipe"]["memory"]["predicted_peak_gb"] >= 0 and record["recipe"]["memory"]["micro_batch"] == 4


def test_a_run_that_cannot_fit_is_refused_before_training_naming_max_length(tiny_models, tmp_path, monkeypatch, capsys):
    from desktop_app.cli.app import main
    from desktop_app.core import memory

    monkeypatch.setattr(memory, "available_bytes", lambda device: (1024.0, "free memory"))
    data = _write(tmp_path / "long.csv", _long_rows(per_topic=6))
    run = tmp_path / "run"
    code = main(["train", str(data), "--out", str(run), "--model", str(tiny_models["bert"]), "--method", "fine-tune",
                 "--max-length", "32", "--epochs", "1"])
    assert code == 2
    err = capsys.readouterr().err
    assert "Not enough memory" in err and "--max-length" in err and "Traceback" not in err
    assert not (run / "run.json").exists()  # nothing to offer to resume

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


def test_labels_with_few_validation_texts_share_one_threshold_and_texts_get_few_labels():
    """#22: 28 labels tuned one by one on 60 validation texts (2-3 texts each) gave most labels to 55-58 texts.
    Labels with fewer than MIN_OWN_POSITIVES validation texts now share one threshold."""
    from desktop_app.core import multilabel as ml
    from desktop_app.core.metrics import tune_thresholds

    rng = np.random.default_rng(1)
    n, k = 60, 28
    truth = np.zeros((n, k), dtype=np.float32)
    truth[np.arange(n), rng.integers(0, k, n)] = 1
    second = np.flatnonzero(rng.random(n) < 0.2)
    truth[second, rng.integers(0, k, len(second))] = 1  # about 1.2 labels per text
    probs = np.clip(0.35 + 0.12 * rng.standard_normal((n, k)) + 0.15 * truth, 0.01, 0.99)  # a model that has learned little
    old = probs >= tune_thresholds(probs, truth)
    thresholds, sources = ml.choose_thresholds(probs, truth)
    new = probs >= thresholds
    assert sources["own"] == 0 and sources["shared"] == k
    assert len(set(thresholds.tolist())) == 1
    assert new.sum(1).mean() <= 3 < old.sum(1).mean()  # a few labels per text, not most of them

    plenty = np.tile(truth, (10, 1))  # 600 validation texts: every common label has its own
    _, sources = ml.choose_thresholds(np.tile(probs, (10, 1)), plenty)
    assert sources["own"] > 0
    metrics, _ = ml.MultiLabelFineTune().score(np.log(probs / (1 - probs)), truth, [f"l{j}" for j in range(k)])
    assert metrics["threshold_sources"]["shared"] == k and metrics["labels_per_text"] <= 3


def test_the_advice_says_in_words_what_is_wrong_with_a_multi_label_result():
    from desktop_app.core.session import summarize

    per = {f"l{j}": {"support": 2, "predicted": 55, "precision": 0.04, "recall": 1.0, "f1": 0.07} for j in range(28)}
    metrics = {"problem_type": "multi_label_classification", "n": 60, "per_label": per, "exact_match": 0.0,
               "micro_f1": 0.1, "macro_f1": 0.07, "threshold_sources": {"own": 0, "shared": 28, "default": 0}}
    history = [{"epoch": e, "val_loss": loss, "accuracy": 0.0} for e, loss in ((1, 0.40), (2, 0.30), (3, 0.22))]
    texts = [a.text for a in summarize(metrics, "record", history, {}).advice]
    assert any("labels per text where the texts carry" in t for t in texts)
    assert any("still learning when training stopped" in t for t in texts)
    assert any("share one" in t for t in texts)


def test_early_stopping_waits_for_a_multi_label_score_to_settle(tiny_models, tmp_path):
    """#22: the Quick preset (patience 1) stopped a multi-label run after 3 of 6.3 passes with micro-F1 0.10.
    While the validation loss still falls, an evaluation without a gain in F1 is no sign of convergence."""
    from desktop_app.core.data import load_labeled
    from desktop_app.core.settings import TrainSettings
    from desktop_app.core.training import TrainJob, train

    topics = {"billing": "invoice refund charge", "shipping": "parcel tracking courier", "login": "password account locked"}
    names = list(topics)
    rows = []
    for i in range(60):
        chosen = {names[i % 3]} | ({names[(i + 1) % 3]} if i % 4 == 0 else set())
        rows.append({"text": " and ".join(topics[c] for c in sorted(chosen)) + f" ticket {i}", "label": ";".join(sorted(chosen))})
    data = load_labeled(_write(tmp_path / "ml.csv", rows), multi_label=True).data
    run = tmp_path / "run"
    train(TrainJob(train=data, out_dir=run, model=str(tiny_models["bert"]), long_documents="off",
                   settings=TrainSettings(epochs=8, max_length=32, learning_rate=5e-3, early_stopping_patience=1)))
    record = json.loads((run / "run.json").read_text())
    f1 = [h["macro_f1"] for h in record["history"]]
    assert len(f1) == 8  # the F1 stood still over the first passes, and the run went on to learn
    assert record["settings"]["early_stopping_patience"] == 2
    assert record["final_metrics"]["exact_match"] >= 0.5 and record["final_metrics"]["labels_per_text"] <= 2


def test_a_budget_too_short_for_several_labels_is_refused_with_the_minutes_it_needs(tiny_models, tmp_path, monkeypatch):
    """#22: 2 minutes gave a 28-label model that answered 19 labels per text. When the speed measured in the
    first steps says the budget reads the texts fewer than MIN_PASSES times, the run stops at once and says
    how many minutes it needs; nothing is left to resume."""
    from desktop_app.core import multilabel as ml
    from desktop_app.core import training
    from desktop_app.core.data import load_labeled
    from desktop_app.core.settings import TrainSettings

    monkeypatch.setattr(training._Calibration, "epoch_seconds", lambda self: 600.0)  # a slow machine: 10 min a pass
    rows = [{"text": f"{w} ticket {i}", "label": w} for i in range(30) for w in ("refund;late", "refund", "late")]
    data = load_labeled(_write(tmp_path / "ml.csv", rows), multi_label=True).data
    run = tmp_path / "run"
    with pytest.raises(UserInputError) as info:
        training.train(training.TrainJob(train=data, out_dir=run, model=str(tiny_models["bert"]), long_documents="off",
                                         settings=TrainSettings(epochs=8, max_length=16, batch_size=8, time_budget_min=2)))
    err = info.value
    assert err.where == "--time-budget" and "too short" in err.message and "passes" in err.message
    assert "--time-budget" in err.fix and int(err.fix.split("--time-budget ")[1].split(",")[0].rstrip(")")) >= 20
    assert not (run / "run.json").exists()
    assert ml.MultiLabelFineTune.min_passes_in_budget == ml.MIN_PASSES

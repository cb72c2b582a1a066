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

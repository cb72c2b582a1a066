"""Few-shot (SetFit-style) training, its saved form, and the choice of method from the label counts."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from desktop_app.core.errors import UserInputError
from desktop_app.core.few_shot import (FEW_SHOT_UP_TO, FewShotClassifier, FewShotSettings, choose_method, cross_validated_accuracy,
                                       fit_head, is_few_shot, load_classifier, make_pairs, train_few_shot)


def test_method_follows_the_number_of_labels():
    assert choose_method({})[0] == "zero-shot"
    assert choose_method({"a": 0, "b": 0})[0] == "zero-shot"
    method, reason = choose_method({"a": 8, "b": 9, "c": 7})
    assert method == "few-shot" and "About 8 labeled examples per category" in reason
    assert choose_method({"a": FEW_SHOT_UP_TO, "b": FEW_SHOT_UP_TO})[0] == "few-shot"
    assert choose_method({"a": 5 * FEW_SHOT_UP_TO, "b": 4 * FEW_SHOT_UP_TO})[0] == "fine-tune"


def test_pairs_are_balanced_and_correctly_targeted():
    y = [0, 0, 0, 1, 1, 2]
    pairs = make_pairs(y, rounds=10, max_pairs=10_000, seed=1)
    assert all((y[i] == y[j]) == (t == 1.0) and i != j for i, j, t in pairs)
    positives = sum(t for _, _, t in pairs)
    assert positives == 10 * 5  # the single example of class 2 has no partner
    assert len(pairs) - positives == 10 * 6
    assert len(make_pairs(y, rounds=10, max_pairs=7, seed=1)) == 7


def test_head_learns_separable_data_and_cross_validation_estimates_it():
    rng = np.random.default_rng(0)
    centers = np.eye(3, 8)
    y = np.repeat([0, 1, 2], 10)
    x = centers[y] + 0.1 * rng.standard_normal((30, 8))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    weight, bias = fit_head(x, y, 3)
    assert ((x @ weight.T + bias).argmax(1) == y).all()
    assert cross_validated_accuracy(x.astype(np.float32), y, 3) == pytest.approx(1.0)
    assert cross_validated_accuracy(x[:4], y[:4], 3) is None  # too few rows to hold any out


@pytest.fixture(scope="module")
def trained(tiny_models, sample_csv):
    rows = list(csv.DictReader(sample_csv.open(encoding="utf-8")))
    picked = {}
    for r in rows:
        picked.setdefault(r["label"], [])
        if len(picked[r["label"]]) < 4:
            picked[r["label"]].append(r)
    train = [r for group in picked.values() for r in group]
    events = []
    clf = train_few_shot([r["text"] for r in train], [r["label"] for r in train], model=tiny_models["bert"], device="cpu",
                         settings=FewShotSettings(pair_rounds=4, batch_size=8), on_event=events.append)
    return clf, train, events


def test_few_shot_training_moves_same_category_texts_together(trained, tiny_models):
    from desktop_app.core.embeddings import Embedder

    clf, train, events = trained
    labels = np.array([r["label"] for r in train])
    same = labels[:, None] == labels[None, :]

    def gap(vectors):
        sims = vectors @ vectors.T
        return sims[same].mean() - sims[~same].mean()

    before = Embedder.load(tiny_models["bert"], device="cpu").embed([r["text"] for r in train])
    after = clf.embedder.embed([r["text"] for r in train])
    assert gap(after) > gap(before)
    assert clf.labels == sorted(set(labels)) and clf.info["pairs"] == 4 * 2 * len(train)
    assert any(getattr(e, "kind", "") == "progress" for e in events)


def test_few_shot_model_saves_and_loads_as_the_same_classifier(trained, tmp_path):
    clf, train, _ = trained
    texts = [r["text"] for r in train[:5]]
    folder = clf.save(tmp_path / "few")
    assert is_few_shot(folder) and (folder / "model" / "config.json").is_file()
    again = load_classifier(folder, device="cpu")
    assert isinstance(again, FewShotClassifier) and again.labels == clf.labels
    np.testing.assert_allclose(again.predict_proba(texts), clf.predict_proba(texts), atol=1e-5)


def test_label_next_uses_a_few_shot_run(trained, tmp_path):
    from desktop_app.core.label_queue import label_next

    clf, train, _ = trained
    folder = clf.save(tmp_path / "few")
    data = tmp_path / "d.csv"
    with data.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows([(r["text"], "") for r in train[:6]])
    summary = label_next(data, tmp_path / "n.csv", run_dir=folder, count=3, device="cpu")
    assert summary["rows"] == 3 and "trained model" in summary["source"]
    assert {i.suggestion for i in summary["items"]} <= set(clf.labels)


def test_one_category_is_refused(tiny_models):
    with pytest.raises(UserInputError, match="two categories"):
        train_few_shot(["a", "b"], ["x", "x"], model=tiny_models["bert"], device="cpu")


def test_contrastive_objective_rewards_same_category_texts_close_together():
    import torch

    from desktop_app.core.few_shot import ContrastivePairs

    objective = ContrastivePairs(np.array([0, 0, 1, 1]))
    grouped = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [1.0, 0.01], [0.0, 1.0], [0.01, 1.0]]), dim=-1)
    mixed = grouped[[0, 2, 1, 3]]
    assert float(objective.loss(grouped, [0, 1, 2, 3])) < 0.01
    assert float(objective.loss(mixed, [0, 1, 2, 3])) > 0.4
    assert objective.describe() == {"objective": "contrastive_pairs"}


def test_sentence_embedding_model_gives_unit_vectors_as_logits(tiny_models):
    import torch
    from transformers import AutoModel

    from desktop_app.core.few_shot import SentenceEmbeddingModel

    model = SentenceEmbeddingModel(AutoModel.from_pretrained(tiny_models["bert"]))
    out = model(input_ids=torch.tensor([[2, 10, 11, 3], [2, 12, 3, 0]]), attention_mask=torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]]))
    assert out.logits.shape == (2, 32)
    torch.testing.assert_close(out.logits.norm(dim=-1), torch.ones(2))

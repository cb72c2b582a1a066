"""Few-shot (SetFit-style) training, its saved form, and the choice of method from the label counts."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from desktop_app.cli.app import main as cli_main
from desktop_app.core.data import LabeledData, load_labeled
from desktop_app.core.errors import UserInputError
from desktop_app.core.few_shot import (FEW_SHOT_UP_TO, FewShotRecipe, choose_method, cross_validated_accuracy, fit_head,
                                       pair_batches)
from desktop_app.core.runs import read_record
from desktop_app.core.settings import TrainSettings
from desktop_app.core.training import TrainJob, train

FAST = TrainSettings(epochs=2, batch_size=8, max_length=32, early_stopping_patience=0, device="cpu")


def few_rows(sample_csv, per_class: int) -> list[dict]:
    rows = list(csv.DictReader(sample_csv.open(encoding="utf-8")))
    picked: dict[str, list] = {}
    for r in rows:
        if len(picked.setdefault(r["label"], [])) < per_class:
            picked[r["label"]].append(r)
    return [r for group in picked.values() for r in group]


def write_rows(path, rows, label=True):
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows([(r["text"], r["label"] if label else "") for r in rows])
    return path


def test_method_follows_the_number_of_labels():
    assert choose_method({})[0] == "zero-shot"
    assert choose_method({"a": 0, "b": 0})[0] == "zero-shot"
    method, reason = choose_method({"a": 8, "b": 9, "c": 7})
    assert method == "few-shot" and "About 8 labeled examples per category" in reason
    assert choose_method({"a": FEW_SHOT_UP_TO, "b": FEW_SHOT_UP_TO})[0] == "few-shot"
    assert choose_method({"a": 5 * FEW_SHOT_UP_TO, "b": 4 * FEW_SHOT_UP_TO})[0] == "fine-tune"


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


def test_contrastive_objective_rewards_same_category_texts_close_together():
    import torch

    from desktop_app.core.objectives import ContrastivePairs

    objective = ContrastivePairs(np.array([0, 0, 1, 1]))
    grouped = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [1.0, 0.01], [0.0, 1.0], [0.01, 1.0]]), dim=-1)
    mixed = grouped[[0, 2, 1, 3]]
    assert float(objective.loss(grouped, [0, 1, 2, 3])) < 0.01
    assert float(objective.loss(mixed, [0, 1, 2, 3])) > 0.4
    assert objective.describe() == {"objective": "contrastive_pairs"}


def test_sentence_embedding_model_gives_unit_vectors_as_logits(tiny_models):
    import torch
    from transformers import AutoModel

    from desktop_app.core.sentence_head import SentenceEmbeddingModel

    model = SentenceEmbeddingModel(AutoModel.from_pretrained(tiny_models["bert"]))
    out = model(input_ids=torch.tensor([[2, 10, 11, 3], [2, 12, 3, 0]]), attention_mask=torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]]))
    assert out.logits.shape == (2, 32)
    torch.testing.assert_close(out.logits.norm(dim=-1), torch.ones(2))


def test_pair_batches_hold_same_category_pairs_and_every_row_once():
    y = [0] * 5 + [1] * 4 + [2] * 6 + [3] * 3
    batches = pair_batches(y, 8, seed=3)
    assert sorted(i for b in batches for i in b) == list(range(len(y)))
    assert all(len(b) <= 8 for b in batches)
    assert all(any(y[i] == y[j] for i in b for j in b if i != j) for b in batches)
    assert batches == pair_batches(y, 8, seed=3) and batches != pair_batches(y, 8, seed=4)


@pytest.fixture(scope="module")
def few_shot_run(tiny_models, sample_csv, tmp_path_factory):
    """A few-shot run on the one loop: 6 labeled rows per category, tiny BERT."""
    folder = tmp_path_factory.mktemp("fs")
    data = write_rows(folder / "few.csv", few_rows(sample_csv, 6))
    events = []
    result = train(TrainJob(train=load_labeled(data).data, out_dir=folder / "run", model=str(tiny_models["bert"]),
                            settings=FAST, recipe=FewShotRecipe("because the test says so")), events.append)
    return result, folder, data, events


def test_few_shot_runs_on_the_training_loop(few_shot_run):
    result, folder, _, events = few_shot_run
    assert result.status == "finished"
    kinds = {e.kind for e in events}
    assert {"step", "eval", "finished"} <= kinds  # the loop's own events
    record = read_record(folder / "run")
    assert record.kind == "few-shot" and record.method == "few-shot" and record.method_reason == "because the test says so"
    assert record.recipe["objective"] == "contrastive_pairs"
    assert record.split["kind"] == "training-rows" and record.data["n_train"] == 30  # nothing held out
    assert record.settings_explained["method"]["value"] == "few-shot"
    assert "cross-validation" in record.settings_explained["validation"]["reason"]
    assert record.settings_explained["validation"]["value"] == "a cross-check on every labeled text"  # plain words first
    assert 0 <= record.final_metrics["accuracy"] <= 1 and len(record.history) == 2
    model = folder / "run" / "model"
    assert (model / "head.safetensors").is_file() and (model / "head.json").is_file()
    assert not list(model.glob("*.bin")) and not list(model.glob("*.pkl")) and not list(model.glob("*.pt"))


def test_predict_evaluate_and_classifier_load_a_few_shot_run(few_shot_run, sample_csv, tmp_path, capsys):
    import json

    from desktop_app.core.evaluate import evaluate
    from desktop_app.core.inference import Classifier

    _, folder, data, _ = few_shot_run
    run = folder / "run"
    clf = Classifier.load(run, device="cpu")
    probs = clf.predict_proba(["my invoice is wrong", "the app crashes"])
    assert probs.shape == (2, 5) and np.allclose(probs.sum(1), 1, atol=1e-4)
    torch_clf = Classifier.load(run, device="cpu", engine="torch")
    assert np.allclose(torch_clf.predict_proba(["my invoice is wrong"]), clf.predict_proba(["my invoice is wrong"]), atol=1e-3)
    result = evaluate(run, load_labeled(sample_csv).data, device="cpu")
    assert result.metrics["n"] > 300
    assert cli_main(["evaluate", str(run), str(sample_csv), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["n"] == result.metrics["n"]
    out = tmp_path / "pred.csv"
    assert cli_main(["predict", str(run), str(data), "--out", str(out)]) == 0
    written = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(written) == 30 and {r["predicted_label"] for r in written} <= set(clf.labels)


def test_shrinking_a_few_shot_run_is_refused_in_plain_words(few_shot_run, tmp_path, capsys):
    """A few-shot run is a sentence model plus a head: distill says why it cannot shrink it and what to do
    (exit 2, nothing written), instead of 'this model type cannot be distilled'."""
    _, folder, data, _ = few_shot_run
    out = tmp_path / "small"
    assert cli_main(["distill", str(folder / "run"), str(data), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "made from a few examples" in err and "full training" in err and "SentenceClassifier" not in err
    assert not out.exists()


def test_label_next_uses_a_few_shot_run(few_shot_run, tmp_path):
    from desktop_app.core.label_queue import label_next

    _, folder, _, _ = few_shot_run
    data = write_rows(tmp_path / "d.csv", [{"text": t, "label": ""} for t in ["refund please", "login fails", "ship it", "dark mode"]])
    summary = label_next(data, tmp_path / "n.csv", run_dir=folder / "run", count=3, device="cpu")
    assert summary["rows"] == 3 and "trained model" in summary["source"]


def test_cancel_and_resume_of_few_shot_training(tiny_models, sample_csv, tmp_path):
    data = load_labeled(write_rows(tmp_path / "few.csv", few_rows(sample_csv, 6))).data
    steps = []

    def stop_after_the_first_steps() -> bool:  # polled before every optimizer step
        return len(steps) > 0

    run = tmp_path / "run"
    part = train(TrainJob(train=data, out_dir=run, model=str(tiny_models["bert"]), settings=FAST, recipe=FewShotRecipe()),
                 lambda e: steps.append(e) if e.kind == "step" else None, stop_after_the_first_steps)
    assert part.status == "cancelled" and (run / "checkpoint" / "state.json").is_file()
    assert read_record(run).kind == "few-shot"
    # no recipe given: the loop resumes with the recorded one (as `train --resume --out RUN` does)
    resumed = train(TrainJob(train=None, out_dir=run, resume=True))
    assert resumed.status == "finished" and resumed.record.method == "few-shot"
    assert (run / "model" / "head.json").is_file() and not (run / "checkpoint").exists()


@pytest.mark.parametrize("method", ["few-shot", "fine-tune"])
def test_train_method_flag_records_method_and_reason(method, tiny_models, sample_csv, tmp_path, capsys):
    import json

    data = write_rows(tmp_path / "few.csv", few_rows(sample_csv, 6))
    run = tmp_path / "run"
    code = cli_main(["train", str(data), "--out", str(run), "--model", str(tiny_models["bert"]), "--method", method,
                     "--epochs", "1", "--batch-size", "8", "--max-length", "32", "--device", "cpu", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    record = read_record(run)
    assert out["method"] == record.method == method and "set by you" in record.method_reason
    assert record.kind == ("few-shot" if method == "few-shot" else "train")
    assert cli_main(["evaluate", str(run), str(data)]) == 0


def test_auto_picks_few_shot_with_few_labels_and_says_why(tiny_models, sample_csv, tmp_path, capsys):
    data = write_rows(tmp_path / "few.csv", few_rows(sample_csv, 4))
    run = tmp_path / "run"
    assert cli_main(["train", str(data), "--out", str(run), "--model", str(tiny_models["bert"]), "--epochs", "1",
                     "--device", "cpu"]) == 0
    record = read_record(run)
    assert record.method == "few-shot" and "About 4 labeled examples per category" in record.method_reason
    assert "Method: few-shot" in capsys.readouterr().err


def test_auto_picks_fine_tune_with_many_labels():
    from desktop_app.core.methods import choose_for

    many = choose_for({"a": 10 * FEW_SHOT_UP_TO, "b": 10 * FEW_SHOT_UP_TO})
    assert many.method == "fine-tune" and "full fine-tuning" in many.reason
    assert choose_for({"a": 3, "b": 5}).method == "few-shot"
    assert choose_for({}).method == "zero-shot"
    assert choose_for({"a": 3, "b": 5}, "fine-tune").reason.startswith("set by you")
    with pytest.raises(UserInputError, match="Unknown method"):
        choose_for({}, "magic")


def test_zero_shot_train_writes_a_run_that_predict_and_evaluate_use(tiny_models, sample_csv, tmp_path):
    run = tmp_path / "zs"
    assert cli_main(["train", "--labels", "billing,shipping,technical_issue,account_access,feature_request", "--out", str(run),
                     "--model", str(tiny_models["bert"]), "--device", "cpu"]) == 0
    record = read_record(run)
    assert record.status == "finished" and record.method == "zero-shot" and record.kind == "zero-shot"
    assert record.labels == ["billing", "shipping", "technical_issue", "account_access", "feature_request"]
    assert cli_main(["evaluate", str(run), str(sample_csv)]) == 0
    out = tmp_path / "p.csv"
    assert cli_main(["predict", str(run), str(sample_csv), "--out", str(out)]) == 0
    assert "predicted_label" in out.read_text(encoding="utf-8").splitlines()[0]
    # a labeled file with --method zero-shot: its labels name the categories, its rows are only scored
    run2 = tmp_path / "zs2"
    data = write_rows(tmp_path / "few.csv", few_rows(sample_csv, 3))
    assert cli_main(["train", str(data), "--out", str(run2), "--method", "zero-shot", "--model", str(tiny_models["bert"]),
                     "--device", "cpu"]) == 0
    r2 = read_record(run2)
    assert r2.final_metrics["n"] == 15 and sorted(r2.labels) == r2.labels and r2.method_reason.startswith("set by you")
    # another zero-shot run into the finished folder is refused, nothing touched
    assert cli_main(["train", "--labels", "a,b", "--out", str(run), "--model", str(tiny_models["bert"])]) == 2
    assert read_record(run).labels == record.labels


def test_one_category_is_refused(tiny_models, tmp_path):
    data = LabeledData(["a", "b", "c"], ["x", "x", "x"], [0, 1, 2], source="mem")
    with pytest.raises(UserInputError):
        train(TrainJob(train=data, out_dir=tmp_path / "r", model=str(tiny_models["bert"]), settings=FAST,
                       recipe=FewShotRecipe()))


def test_plan_with_method_is_what_the_app_shows_before_training():
    from desktop_app.core.defaults import Facts, plan_with_method

    few = Facts(n_train=80, class_counts={c: 8 for c in "abcdefghij"}, token_lengths=[20] * 80, model_parameters=22_700_000,
                model_max_length=512)
    method, resolved, reasons = plan_with_method(TrainSettings(), few)
    assert method == "few-shot" and list(reasons)[0] == "method" and "About 8 labeled" in reasons["method"]["reason"]
    assert resolved.batch_size == 16 and resolved.epochs >= 1 and "cross-validation" in reasons["validation"]["reason"]
    many = Facts(n_train=5000, class_counts={"a": 2500, "b": 2500}, token_lengths=[20] * 5000, model_parameters=22_700_000,
                 model_max_length=512)
    method, resolved, reasons = plan_with_method(TrainSettings(), many)
    assert method == "fine-tune" and resolved.batch_size == 32 and reasons["method"]["value"] == "fine-tune"
    assert plan_with_method(TrainSettings(), many, "few-shot")[0] == "few-shot"

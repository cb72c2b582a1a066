"""find-label-errors: out-of-fold probabilities + cleanlab on tiny data built here (no network, seconds)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from desktop_app.core import label_errors as le
from desktop_app.core.errors import TrainingCancelled, UserInputError

TOPICS = {
    "Billing": ["I was charged twice for my order", "please refund the double payment on my card",
                "my invoice shows the wrong price", "why was my credit card billed again",
                "the subscription fee was taken two times", "I want my money back for this charge",
                "there is an extra charge on my bank statement", "the refund for my payment has not arrived",
                "my card was charged the wrong amount", "cancel the charge on my invoice"],
    "Login": ["I cannot log in to my account", "my password reset email never came",
              "the app says my password is wrong", "I am locked out after too many login attempts",
              "two factor code does not work when I sign in", "how do I change my password",
              "sign in fails with my username", "I forgot my password and cannot get in",
              "my account is locked and I cannot log in", "the login page keeps asking for my password"],
    "Delivery": ["where is my parcel it has not arrived", "the courier left my package at the wrong address",
                 "tracking number shows no update for my delivery", "my order is late by a week",
                 "the shipping box arrived damaged", "when will my package be delivered",
                 "the delivery driver never came", "my parcel tracking says lost in transit",
                 "can I change the delivery address of my order", "the package was delivered to my neighbour"],
}


def _write(path, rows, header=("text", "label")):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _noisy_file(tmp_path, flips=((3, "Delivery"), (18, "Billing"))):
    rows = [[text, label] for label, texts in TOPICS.items() for text in texts]
    truth = [label for _, label in rows]
    for i, wrong in flips:
        rows[i][1] = wrong
    rows[5][0] = "=" + rows[5][0]  # a formula-looking text must come out as text
    return _write(tmp_path / "tickets.csv", rows), truth


def _clusters(n_per=40, classes=4, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, dim)) * 3
    y = np.repeat(np.arange(classes), n_per)
    x = centres[y] + rng.normal(size=(len(y), dim))
    return x / np.linalg.norm(x, axis=1, keepdims=True), y


def test_folds_are_stratified_and_cover_every_row():
    y = np.array([0] * 10 + [1] * 7 + [2] * 3)
    fold = le.fold_of(y, 5, seed=1)
    assert sorted(set(fold.tolist())) == [0, 1, 2, 3, 4]
    assert np.bincount(fold[y == 0], minlength=5).tolist() == [2] * 5
    assert np.bincount(fold, minlength=5).max() - np.bincount(fold, minlength=5).min() <= 1


@pytest.mark.parametrize("learner", le.LEARNERS[:2])
def test_out_of_fold_learners_find_flipped_labels_and_the_right_suggestion(learner):
    x, truth = _clusters()
    y = truth.copy()
    flipped = [3, 50, 90, 130]
    for i in flipped:
        y[i] = (y[i] + 1) % 4
    fold = le.fold_of(y, 5)
    probs = le.out_of_fold(x, y, 4, learner, fold)
    assert probs.shape == (len(y), 4)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-6)
    order, quality = le.rank_issues(y, probs)
    assert set(flipped) <= set(order.tolist())
    assert len(order) <= len(flipped) + 3
    names = ["a", "b", "c", "d"]
    for i in flipped:
        assert le.suggestion(probs[i], y[i], names, False)[0] == names[truth[i]]
    assert quality[flipped].max() < np.median(quality)


def test_auto_picks_the_lowest_out_of_fold_log_loss():
    y = np.array([0, 1, 1])
    good = np.array([[0.9, 0.1], [0.2, 0.8], [0.1, 0.9]])
    bad = np.array([[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]])
    name, losses = le.choose_learner({"logistic": bad, "knn": good}, y)
    assert name == "knn" and losses["knn"] < losses["logistic"]


def test_multi_label_rows_with_a_missing_or_extra_label_are_flagged():
    x, truth = _clusters(n_per=40, classes=3)
    names = ["x", "y", "z"]
    y = np.zeros((len(truth), 3), dtype=np.int64)
    y[np.arange(len(truth)), truth] = 1
    y[truth == 0, 2] = 1  # category x always comes with z
    clean = y.copy()
    y[5] = [0, 0, 1]  # x forgotten
    y[60] = [0, 1, 1]  # z added wrongly
    fold = le.fold_of(truth, 5)
    probs = le.out_of_fold(x, y, 3, "logistic", fold)
    given = [list(np.flatnonzero(r)) for r in y]
    order, _ = le.rank_issues(given, probs, multi_label=True)
    assert {5, 60} <= set(order.tolist())
    assert le.suggestion(probs[5], given[5], names, True)[0] == "x;z"
    assert le.suggestion(probs[60], given[60], names, True)[0] == "y"
    assert not (clean[5] == y[5]).all()


def test_find_label_errors_on_a_small_file(tmp_path):
    data, truth = _noisy_file(tmp_path)
    out = tmp_path / "suspects.csv"
    events = []
    report = le.find_label_errors(data, out, device="cpu", on_event=events.append)
    assert report.rows == 30 and report.method in le.LEARNERS
    with open(out, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == le.COLUMNS
    found = {int(r["row"]): r for r in rows}
    # data rows are 1-based without the header: the flipped rows are 4 and 19
    assert {4, 19} <= set(found)
    assert found[4]["label"] == "Delivery" and found[4]["suggested_label"] == "Billing"
    assert found[19]["label"] == "Billing" and found[19]["suggested_label"] == "Login"
    assert int(rows[0]["row"]) in (4, 19)  # most suspect first
    assert float(rows[0]["label_quality"]) <= float(rows[-1]["label_quality"])
    assert any(e.kind == "progress" for e in events)
    assert not (tmp_path / ".suspects.csv.find-label-errors").exists()  # the work folder is gone when done
    if 6 in found:
        assert found[6]["text"].startswith("'=")


def test_cancel_keeps_the_work_and_the_same_call_continues(tmp_path):
    data, _ = _noisy_file(tmp_path)
    out = tmp_path / "suspects.csv"
    saved = []

    def stop_after_first_fold():
        return bool(list((tmp_path / ".suspects.csv.find-label-errors").glob("logistic-fold*.npy")))

    with pytest.raises(TrainingCancelled):
        le.find_label_errors(data, out, method="logistic", device="cpu", should_stop=stop_after_first_fold)
    assert not out.exists()
    work = tmp_path / ".suspects.csv.find-label-errors"
    assert list(work.glob("features-*.npy")) and len(list(work.glob("logistic-fold*.npy"))) == 1
    resumed = le.find_label_errors(data, out, method="logistic", device="cpu", on_event=saved.append)
    assert resumed.resumed
    assert not any("Reading the texts" in getattr(e, "message", "") for e in saved)  # features were not computed again
    fresh = le.find_label_errors(data, tmp_path / "again.csv", method="logistic", device="cpu")
    assert [s.row for s in resumed.suspects] == [s.row for s in fresh.suspects]
    assert not work.exists()


def test_bad_input_is_a_plain_error(tmp_path):
    one = _write(tmp_path / "one.csv", [[f"text {i}", "Billing"] for i in range(20)])
    with pytest.raises(UserInputError) as err:
        le.find_label_errors(one, tmp_path / "out.csv", device="cpu")
    assert "two categories" in str(err.value)
    data, _ = _noisy_file(tmp_path)
    with pytest.raises(UserInputError):
        le.find_label_errors(data, tmp_path / "out.txt", device="cpu")
    with pytest.raises(UserInputError):
        le.find_label_errors(data, tmp_path / "out.csv", method="magic", device="cpu")
    with pytest.raises(UserInputError):
        le.find_label_errors(data, data, device="cpu")  # would overwrite the data


def test_cli_exit_codes(tmp_path, capsys):
    from desktop_app.cli.app import main

    data, _ = _noisy_file(tmp_path)
    out = tmp_path / "suspects.csv"
    assert main(["find-label-errors", str(data), "--out", str(out), "--method", "knn", "--device", "cpu", "--json"]) == 0
    assert out.is_file()
    assert '"suspects"' in capsys.readouterr().out.strip().splitlines()[-1]
    one = _write(tmp_path / "one.csv", [[f"text {i}", "Billing"] for i in range(20)])
    assert main(["find-label-errors", str(one), "--out", str(tmp_path / "o.csv")]) == 2


def test_multi_label_file_end_to_end(tmp_path):
    rows = []
    for label, texts in TOPICS.items():
        for text in texts:
            rows.append([text, label if label != "Billing" else "Billing;Money"])
    rows[2][1] = "Delivery"  # a billing text that lost both its labels
    data = _write(tmp_path / "multi.csv", rows)
    report = le.find_label_errors(data, tmp_path / "suspects.csv", method="knn", device="cpu", multi_label=True)
    assert report.multi_label
    with open(tmp_path / "suspects.csv", encoding="utf-8", newline="") as fh:
        found = {int(r["row"]): r for r in csv.DictReader(fh)}
    assert 3 in found and found[3]["suggested_label"] == "Billing;Money"


@pytest.mark.parametrize("arch", ["distilbert", "roberta"])
def test_other_encoders_read_the_texts(tmp_path, tiny_models, arch):
    data, _ = _noisy_file(tmp_path)
    report = le.find_label_errors(data, tmp_path / "s.xlsx", model=tiny_models[arch], method="knn", device="cpu")
    assert report.rows == 30 and (tmp_path / "s.xlsx").is_file()

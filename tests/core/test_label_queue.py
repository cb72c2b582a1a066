"""label-next: the most uncertain unlabeled rows first, without near-duplicates, with suggestions."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from desktop_app.core.errors import UserInputError
from desktop_app.core.label_queue import diverse_uncertain, label_next, margins

ROOT = Path(__file__).resolve().parents[2]


def test_margin_is_the_gap_between_the_two_best():
    probs = np.array([[0.5, 0.4, 0.1], [0.9, 0.05, 0.05]])
    np.testing.assert_allclose(margins(probs), [0.1, 0.85])


def test_queue_prefers_uncertain_texts_and_skips_near_duplicates():
    probs = np.array([[0.5, 0.5], [0.51, 0.49], [0.55, 0.45], [0.99, 0.01]])
    vectors = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])  # rows 0 and 1 are the same text
    assert diverse_uncertain(probs, vectors, 2) == [0, 2]
    assert diverse_uncertain(probs, vectors, 4) == [0, 2, 3, 1]  # the duplicate only when nothing else is left


def _data(tmp_path, rows) -> Path:
    path = tmp_path / "tickets.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


ROWS = [
    ("my invoice shows a double charge please refund", "billing"),
    ("i cannot log in after resetting my password", "login"),
    ("the refund for my invoice never came", ""),
    ("password reset email never arrives", ""),
    ("=cmd| my account locked after login", ""),
    ("charged twice on my card", ""),
    ("", ""),
]


def test_label_next_lists_only_unlabeled_rows_best_first(tiny_models, tmp_path):
    data = _data(tmp_path, ROWS)
    before = data.read_bytes()
    out = tmp_path / "next.csv"
    summary = label_next(data, out, count=3, model=tiny_models["bert"], device="cpu")
    assert summary["labeled"] == 2 and summary["unlabeled"] == 4 and summary["rows"] == 3
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert list(rows[0]) == ["row", "text", "label", "suggestion", "confidence"]
    assert len(rows) == 3 and all(r["label"] == "" for r in rows)
    assert {r["suggestion"] for r in rows} <= {"billing", "login"}
    assert all(r["confidence"].endswith("%") for r in rows)
    assert {int(r["row"]) for r in rows} <= {4, 5, 6, 7}  # file rows (header is row 1)
    assert data.read_bytes() == before
    texts = " ".join(r["text"] for r in rows)
    assert "=cmd" not in texts.replace("'=cmd", "")  # formula cells are neutralised


def test_label_next_from_category_names_alone(tiny_models, tmp_path):
    data = _data(tmp_path, [(t, "") for t, _ in ROWS])
    summary = label_next(data, tmp_path / "next.csv", labels="billing,login,delivery", count=10, model=tiny_models["bert"], device="cpu")
    assert summary["rows"] == 6 and summary["labeled"] == 0
    assert "zero-shot" in summary["source"]


def test_label_next_refuses_what_it_cannot_do(tiny_models, tmp_path):
    with pytest.raises(UserInputError, match="two categories"):
        label_next(_data(tmp_path, [("a text", ""), ("another", "")]), tmp_path / "n.csv", model=tiny_models["bert"])
    with pytest.raises(UserInputError, match="already has a label"):
        label_next(_data(tmp_path, [("a text", "x"), ("another", "y")]), tmp_path / "n.csv", model=tiny_models["bert"])


def test_label_next_is_a_cli_command(tiny_models, tmp_path, capsys):
    """The contract, run as a user types it: from category names, then with --run RUN_DIR; and bad input."""
    from desktop_app.cli.app import main
    from desktop_app.core.data import load_labeled
    from desktop_app.core.settings import TrainSettings
    from desktop_app.core.training import TrainJob, train

    data = _data(tmp_path, [(t, "") for t, _ in ROWS])
    out = tmp_path / "next.csv"
    assert main(["label-next", str(data), "--out", str(out), "--labels", "billing,login", "--count", "3",
                 "--model", str(tiny_models["bert"]), "--device", "cpu"]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 3 and {r["suggestion"] for r in rows} <= {"billing", "login"}
    assert "suggestions from" in capsys.readouterr().err

    labeled = _data(tmp_path, ROWS[:2] * 4)
    run = tmp_path / "run"
    assert train(TrainJob(train=load_labeled(labeled).data, out_dir=run, model=str(tiny_models["bert"]),
                          settings=TrainSettings(epochs=1, max_length=32, device="cpu"))).status == "finished"
    data = _data(tmp_path, ROWS)
    assert main(["label-next", str(data), "--out", str(out), "--run", str(run), "--count", "2"]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 2 and {int(r["row"]) for r in rows} <= {4, 5, 6, 7}
    assert "trained model" in capsys.readouterr().err

    result = subprocess.run([sys.executable, "-m", "desktop_app", "label-next", str(data), "--out", str(tmp_path / "n.csv"),
                             "--count", "0"], capture_output=True, text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                                                                                  "HOME": str(tmp_path)}, cwd=ROOT)
    assert result.returncode == 2, result.stderr
    assert "--count must be at least 1" in result.stderr


def test_coverage_first_gives_each_unlabeled_category_its_likeliest_text():
    from desktop_app.core.label_queue import coverage_first

    probs = np.array([[0.8, 0.1, 0.1], [0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.2, 0.7, 0.1]])
    assert coverage_first(probs, [0, 2], 5) == [0, 2]
    assert coverage_first(probs, [1, 2, 0], 2) == [3, 2]

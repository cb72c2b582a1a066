"""The engine's learning methods, multi-label data and long documents as the GUI shows them: the method shown
before training is the one run.json records; a multi-label run and a single-label run each show their own
results on every page (never a stale number); a long text in Classify shows the passage that drove it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from .conftest import wait_for
from .test_app import open_file, pick_model
from .test_session_views import EMOTIONS, train_and_wait_for_results, write_emotions

TOPICS = {"sport": "the team won the match and the football fans cheered", "politics": "the parliament voted on the new law",
          "money": "the bank raised interest rates and stocks fell"}


def write_multi_label(path: Path, n: int = 120) -> Path:
    """A file whose label column joins several labels with ';'."""
    names = list(TOPICS)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "topics"])
        for i in range(n):
            labels = [names[i % 3]] + ([names[(i + 1) % 3]] if i % 2 else [])
            writer.writerow([" and ".join(TOPICS[l] for l in labels) + f" story {i}", ";".join(labels)])
    return path


def ready(qtbot, window, model, path, **settings):
    open_file(qtbot, window, path)
    pick_model(qtbot, window, model)
    window.model_page.update_settings(**{"epochs": 1.0, "max_length": 32, **settings})
    wait_for(qtbot, lambda: window.training_data() is not None and window.train_page.start_button.isEnabled())


def plan_text(window) -> str:
    return window.model_page.plan_label.text()


def test_the_method_shown_before_training_is_the_one_the_run_records(qtbot, window, tiny_model, tmp_path):
    ready(qtbot, window, tiny_model, write_emotions(tmp_path / "emotions.csv", n=60))
    page = window.model_page
    assert page.method_combo.currentData() == "auto"
    method, _resolved, reasons = page.planned_method()
    assert method == "few-shot" and "How it learns" in plan_text(window) and "Few examples" in plan_text(window)
    assert "cross-validation" in plan_text(window)  # few-shot's validation is said
    # the user's choice wins, in words
    page.set_method("fine-tune")
    assert window.session.method == "fine-tune" and "Full training" in plan_text(window)
    assert "cross-validation" not in plan_text(window)
    page.set_method("auto")
    shown = page.planned_method()[0]
    run = train_and_wait_for_results(qtbot, window, timeout_s=240)
    record = json.loads((Path(run) / "run.json").read_text())
    assert record["method"] == shown == "few-shot"

"""The plan is checked before training starts: a time limit too short to read every training text once
(from a training speed measured on the user's texts), and a class much rarer than the largest, each with
its fix one click away."""

from __future__ import annotations

import csv
from dataclasses import replace

from PySide6.QtCore import Qt

from .conftest import wait_for
from .test_app import open_file, pick_model


def imbalanced_csv(path):
    """Four classes, 240 : 120 : 100 : 50 (4.8 to 1), as in the tweet set that found the problem."""
    words = {"joy": "happy great lovely day", "anger": "furious angry awful rage", "sadness": "sad lonely tears grief",
             "optimism": "hope tomorrow better soon"}
    counts = {"joy": 240, "anger": 120, "sadness": 100, "optimism": 50}
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        for label, n in counts.items():
            for i in range(n):
                w.writerow([f"{words[label]} number {i} {'and more ' * (i % 5)}", label])
    return path


def test_quick_preset_under_one_pass_and_a_rare_class_are_flagged_before_training(qtbot, window, tiny_model, tmp_path):
    from desktop_app.core.session import TrainingSpeed

    open_file(qtbot, window, imbalanced_csv(tmp_path / "tweets.csv"))
    pick_model(qtbot, window, tiny_model)
    window.model_page.preset_buttons["quick"].setChecked(True)
    page = window.train_page
    wait_for(qtbot, lambda: window.data_page.lengths is not None, 60)
    window.sidebar.setCurrentRow(window.pages.index(page))
    # Esc while the speed is measured: stopped within a second, no "Measuring" left on screen
    from .test_session_views import idle_within_a_second

    wait_for(qtbot, lambda: window.tasks.is_running("probe"), 10)
    assert "Measuring" in page.check_waiting
    idle_within_a_second(qtbot, window, "probe")
    assert not page.check_waiting  # stopped, or finished just before the stop arrived: nothing is left "Measuring"
    window.sidebar.setCurrentRow(0)
    window.sidebar.setCurrentRow(window.pages.index(page))  # shown again: measured anew if it was stopped
    # the speed is measured on the user's texts with the chosen model, off the GUI thread
    wait_for(qtbot, lambda: window.session.training_speed is not None and window.tasks.settled("probe"), 120)
    measured = window.session.training_speed
    assert measured.texts_per_s > 0 and measured.data_fingerprint == window.session.data.fingerprint
    assert page.check_box.isVisible()
    texts = [a.text for a in page.check_advice]
    assert any("“optimism” has 4.8 times fewer training examples than “joy”" in t for t in texts), texts
    assert not any(a.action == "budget" for a in page.check_advice)  # the tiny model reads everything in 2 minutes

    # the same check on a slow computer: Quick would read about half of the texts once
    window.session.set_training_speed(replace(measured, texts_per_s=2.0))
    budget = next(a for a in page.check_advice if a.action == "budget")
    assert "“Quick” (about 2 minutes)" in budget.text and "of your 459 training texts once" in budget.text
    assert "measured speed of 2 texts per second" in budget.text
    button = next(b for b in page.check_buttons if b.text().startswith("Train for about"))
    assert button.text() == f"Train for about {budget.value:g} minutes"
    qtbot.mouseClick(button, Qt.LeftButton)
    assert window.model_page.budget_button.isChecked() and window.session.settings.time_budget_min == budget.value
    assert not any(a.action == "budget" for a in page.check_advice)  # the longer limit reads every text

    # Train > Start training (Ctrl+R) from another page stops at the check while a warning has a fix
    window.sidebar.setCurrentRow(0)
    window.session.set_training_speed(replace(measured, texts_per_s=2.0))
    window.model_page.preset_buttons["quick"].setChecked(True)
    window.train_action.trigger()
    assert window.sidebar.currentRow() == window.page_index(page) and not page.is_training()
    assert "read “Before you start”" in page.log.toPlainText()
    window.session.set_training_speed(measured)

    weights = next(b for b in page.check_buttons if b.text() == "Turn on class weights")
    qtbot.mouseClick(weights, Qt.LeftButton)
    assert window.session.settings.class_weights is True
    rare = next(a for a in page.check_advice if "optimism" in a.text)
    assert rare.action == "" and "Class weights are on" in rare.text

    # the check makes way for training (which measures its own speed) and comes back when it ends
    window.model_page.update_settings(epochs=1.0, max_length=32, batch_size=16)
    page.start()
    assert not page.check_box.isVisible()
    probe = window.tasks.state("probe")
    assert probe is None or probe.status == "cancelling"  # training measures its own speed
    wait_for(qtbot, lambda: not page.is_training() and page.finished_run and window.tasks.settled("train"), 120)
    page.update_buttons()
    assert any("optimism" in a.text for a in page.check_advice) and not page.check_box.isHidden()

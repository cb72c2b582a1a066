"""The window as views of one session: no stale numbers after new data or a new run, results open at once,
every job's Cancel brings the buttons back, and a run killed during training is offered for resume."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from .conftest import wait_for
from .test_app import open_file, pick_model, ready_to_train

ROOT = Path(__file__).resolve().parents[2]
EMOTIONS = {"joy": "what a wonderful happy day, I love it", "anger": "this makes me so furious and mad",
            "fear": "I am scared and worried about tomorrow"}


def write_emotions(path: Path, n: int = 120) -> Path:  # 40 per category: full fine-tuning
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["tweet", "emotion"])
        labels = list(EMOTIONS)
        for i in range(n):
            label = labels[i % 3]
            writer.writerow([f"{EMOTIONS[label]} number {i}", label])
    return path


def write_texts(path: Path, n: int) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        for i in range(n):
            writer.writerow([f"my invoice {i} shows a double charge, please refund it " * 3, ["billing", "bug"][i % 2]])
    return path


def train_and_wait_for_results(qtbot, window, timeout_s: float = 120) -> str:
    window.train_page.start()
    wait_for(qtbot, lambda: window.train_page.finished_run and window.current_run == window.train_page.finished_run
             and evaluated_or_recorded(window) and window.tasks.settled("train", "evaluate"), timeout_s)
    return window.train_page.finished_run


def evaluated_or_recorded(window) -> bool:
    """The Evaluate page shows the new run: evaluated on its validation part, or (a few-shot run, which
    keeps no texts aside) its cross-validated record."""
    from desktop_app.core.session import run_id_of

    shown = window.evaluate_page.shown
    if shown is None or shown.run_id != run_id_of(window.current_run):
        return False
    return shown.result is not None or shown.metrics.get("evaluated_on") == "cross-validation"


def shown_labels(window) -> set[str]:
    ev = window.evaluate_page
    return {ev.per_class.item(r, 0).text() for r in range(ev.per_class.rowCount())}


def test_new_data_and_a_new_run_never_show_the_old_run_numbers(qtbot, window, tiny_model, tmp_path):
    from desktop_app.core.resources import sample_training_file, sample_unlabeled_file

    # A: train, evaluate (automatic), classify a file
    ready_to_train(qtbot, window, tiny_model)
    run_a = train_and_wait_for_results(qtbot, window)
    ev, cl = window.evaluate_page, window.classify_page
    assert shown_labels(window) == {"billing", "bug", "feature_request", "account", "other"} or len(shown_labels(window)) == 5
    cl.classify_path(str(sample_unlabeled_file()))
    wait_for(qtbot, lambda: cl.output_path is not None and window.tasks.settled("predict"), 60)
    assert cl.export_csv_button.isEnabled() and cl.preview.model().rowCount() == 40
    cl.text.setPlainText("please refund the double charge")
    wait_for(qtbot, lambda: cl.last_result is not None, 30)
    a_labels = set(cl.last_result["probabilities"])

    # B: open other data: the evaluation of A's validation part is gone at once
    b = write_emotions(tmp_path / "emotions.csv")
    open_file(qtbot, window, b)
    assert ev.shown is None and ev.headline.text() == "" and ev.body.isHidden()
    assert window.session.current_evaluation() is None
    # train on B: every page shows B's run or nothing
    wait_for(qtbot, lambda: window.train_page.start_button.isEnabled(), 30)
    run_b = train_and_wait_for_results(qtbot, window)
    assert run_b != run_a and window.current_run == run_b
    assert shown_labels(window) == set(EMOTIONS)
    assert ev.confusion.rowCount() == 3 and len(ev.result.true) == sum(ev.result.metrics["per_class"][l]["support"] for l in EMOTIONS)
    assert Path(run_b).name in ev.run_label.text() and Path(run_b).name in cl.run_label.text()
    # Classify: A's file predictions and A's answer are gone, Export is off
    assert cl.output_path is None and cl.preview.model().rowCount() == 0 and not cl.export_csv_button.isEnabled()
    assert not cl.batch_label.text()
    wait_for(qtbot, lambda: cl.last_result is not None, 30)  # the typed text is classified again by B's model
    assert set(cl.last_result["probabilities"]) == set(EMOTIONS) != a_labels
    assert set(cl.bars) == set(EMOTIONS)
    assert Path(run_b).name in window.windowTitle() and "emotions.csv" in window.windowTitle()
    # Data, Train (the plan check), Compare: measured on B or nothing
    lengths = window.session.current_lengths()
    assert lengths is None or (lengths.data_fingerprint == window.session.data.fingerprint
                               and len(lengths.lengths) == window.session.data.n_examples)
    a_only = {"billing", "bug", "feature_request", "account"}
    assert not any(label in advice.text for advice in window.train_page.check_advice for label in a_only)
    assert window.session.current_comparison() is None and window.compare_page.table.rowCount() == 0


def test_an_earlier_run_opened_from_the_library_shows_its_results_at_once(qtbot, window, tiny_model, tmp_path):
    ready_to_train(qtbot, window, tiny_model)
    run_a = train_and_wait_for_results(qtbot, window)
    open_file(qtbot, window, write_emotions(tmp_path / "emotions.csv"))
    wait_for(qtbot, lambda: window.train_page.start_button.isEnabled(), 30)
    train_and_wait_for_results(qtbot, window)

    runs = window.runs_page
    window.show_page(runs)
    row = next(i for i, r in enumerate(runs.runs) if Path(r.path) == Path(run_a))
    runs.table.selectRow(row)
    runs.open_button.click()
    ev = window.evaluate_page
    # at once: no job needed (A's data is not open, so there is nothing to evaluate again)
    assert window.sidebar.currentRow() == window.page_index(ev) and window.current_run == run_a
    assert ev.shown is not None and ev.shown.on == "record"
    assert "of the validation texts were right" in ev.headline.text()
    assert len(shown_labels(window)) == 5 and not (shown_labels(window) & set(EMOTIONS))
    assert "measured when training ended" in ev.metrics_label.text()
    assert not window.tasks.is_running("evaluate")


def test_finishing_training_opens_the_results_in_words(qtbot, window, tiny_model):
    ready_to_train(qtbot, window, tiny_model)
    train_and_wait_for_results(qtbot, window)
    ev = window.evaluate_page
    assert "% of the validation texts were right (40 texts)." in ev.headline.text()
    assert "Most common mistake" in ev.words.text() or "No mistakes" in ev.words.text()
    assert "Finished. The results are on the Evaluate page" in window.train_page.empty.text()
    # the tiny model cannot learn five classes in one pass: the advice says what to do, with a button for it
    assert ev.advice_box.isVisibleTo(ev)
    assert ev.advice_layout.count() >= 1
    from PySide6.QtWidgets import QPushButton

    buttons = {b.text(): b for b in ev.advice_box.findChildren(QPushButton)}
    if "Turn on class weights" in buttons:
        buttons["Turn on class weights"].click()
        assert window.session.settings.class_weights is True
        assert window.sidebar.currentRow() == window.page_index(window.model_page)


def test_a_time_limit_short_of_one_pass_is_said_during_training(qtbot, window, tiny_model):
    from desktop_app.core.events import StepEvent

    page = window.train_page
    page.under_one_pass_told = False
    page.on_event(StepEvent(step=20, total_steps=40, epoch=0.25, loss=1.0, learning_rate=1e-4, samples_per_s=10, eta_s=30))
    assert "reads only 50% of your training texts once" in page.log.toPlainText()
    page.on_event(StepEvent(step=21, total_steps=40, epoch=0.26, loss=1.0, learning_rate=1e-4, samples_per_s=10, eta_s=30))
    assert page.log.toPlainText().count("reads only") == 1


# -- cancel ------------------------------------------------------------------------------------------

def idle_within_a_second(qtbot, window, kind: str) -> float:
    t0 = time.monotonic()
    window.tasks.stop(kind)
    wait_for(qtbot, lambda: window.tasks.settled(kind), 1.0)
    return time.monotonic() - t0


def test_every_job_cancels_within_a_second_and_the_buttons_return_to_idle(qtbot, window, tiny_model, tmp_path):
    from desktop_app.core.resources import sample_unlabeled_file

    ready_to_train(qtbot, window, tiny_model, epochs=3.0, batch_size=2, time_budget_min=None)
    train, ev, cl, runs, cmp = (window.train_page, window.evaluate_page, window.classify_page, window.runs_page,
                                window.compare_page)

    # train
    train.start()
    wait_for(qtbot, lambda: train.counts["step"] > 0, 60)
    assert train.cancel_button.isEnabled() and not train.start_button.isEnabled()
    idle_within_a_second(qtbot, window, "train")
    assert train.start_button.isEnabled() and train.resume_button.isEnabled() and not train.cancel_button.isEnabled()
    assert "Cancelled" in train.eta_label.text()
    train.resume()
    wait_for(qtbot, lambda: window.tasks.settled("train") and train.finished_run, 120)
    wait_for(qtbot, lambda: window.tasks.settled("evaluate"), 60)

    # evaluate, on a file big enough to take a while
    big = write_texts(tmp_path / "big.csv", 4000)
    ev.evaluate_file(str(big))
    wait_for(qtbot, lambda: window.tasks.state("evaluate") is not None, 5)
    assert ev.cancel_button.isEnabled() and not ev.valid_button.isEnabled()
    idle_within_a_second(qtbot, window, "evaluate")
    assert ev.valid_button.isEnabled() and ev.file_button.isEnabled() and not ev.cancel_button.isEnabled()
    assert not ev.job.isVisible()

    # classify a file
    cl.classify_path(str(big))
    wait_for(qtbot, lambda: window.tasks.state("predict") is not None, 5)
    assert cl.cancel_button.isEnabled() and not cl.file_button.isEnabled()
    idle_within_a_second(qtbot, window, "predict")
    assert cl.file_button.isEnabled() and not cl.cancel_button.isEnabled() and not cl.job.isVisible()
    assert cl.output_path is None  # nothing half-written is offered for export

    # shrink
    runs.refresh()
    runs.table.selectRow(next(i for i, r in enumerate(runs.runs) if Path(r.path) == Path(train.finished_run)))
    runs.distill_selected(layers=2, epochs=3.0)
    assert runs.cancel_button.isEnabled() and not runs.distill_button.isEnabled()
    wait_for(qtbot, lambda: (window.tasks.state("distill") or object()).__dict__.get("done", 0) > 0
             or window.tasks.settled("distill"), 60)
    idle_within_a_second(qtbot, window, "distill")
    assert runs.distill_button.isEnabled() and runs.export_button.isEnabled() and not runs.cancel_button.isVisible()

    # the shrink estimate (smaller versions of the model measured on the user's texts)
    runs.table.selectRow(next(i for i, r in enumerate(runs.runs) if Path(r.path) == Path(train.finished_run)))
    window.session.set_shrink_estimate(None)
    runs.estimate_selected()
    assert window.tasks.state("estimate") is not None
    idle_within_a_second(qtbot, window, "estimate")
    assert runs.distill_button.isEnabled() and not runs.cancel_button.isVisible()

    # export (int8 measures speed and accuracy: the cancel stops between those steps, and nothing is written)
    runs.table.selectRow(next(i for i, r in enumerate(runs.runs) if Path(r.path) == Path(train.finished_run)))
    out = tmp_path / "export-int8"
    runs.export_selected("int8", str(out))
    wait_for(qtbot, lambda: (window.tasks.state("export") or None) is None or window.tasks.state("export").message, 30)
    idle_within_a_second(qtbot, window, "export")
    assert runs.export_button.isEnabled() and not runs.cancel_button.isVisible()
    assert not out.exists() or not any(out.iterdir())
    assert "cancelled" in runs.status.text().lower() or "Exported" in runs.status.text()

    # compare
    cmp.add_current()
    cmp.start()
    wait_for(qtbot, lambda: cmp.charts.counts["step"] > 0, 60)
    assert cmp.cancel_button.isEnabled() and not cmp.start_button.isEnabled()
    idle_within_a_second(qtbot, window, "compare")
    assert cmp.start_button.isEnabled() and not cmp.cancel_button.isEnabled() and train.start_button.isEnabled()

    # load and check: a new file's reading is cancelled, the page stays usable
    window.data_page.open_path(str(big))
    idle_within_a_second(qtbot, window, "load")
    assert window.data_page.open_button.isEnabled()

    # the data check and the length measurement of a large file: stopped, and nothing says it is still working
    huge = write_texts(tmp_path / "huge.csv", 60000)
    window.data_page.open_path(str(huge))
    wait_for(qtbot, lambda: window.tasks.is_running("check"), 60)
    idle_within_a_second(qtbot, window, "check")
    assert "Checking the data" not in window.data_page.summary_label.text()
    window.data_page.open_path(str(huge))
    wait_for(qtbot, lambda: window.tasks.settled("load", "check") and window.tasks.is_running("lengths"), 60)
    idle_within_a_second(qtbot, window, "lengths")
    assert "Measuring text lengths with" not in window.data_page.length_label.text()
    assert window.data_page.open_button.isEnabled()


# -- resume after the app was killed ---------------------------------------------------------------

KILLED_APP = r"""
import faulthandler, os, signal, sys
faulthandler.dump_traceback_later(150, exit=True)  # a hang prints every thread's stack, then exits
from pathlib import Path
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication([])
from desktop_app.gui.window import MainWindow
from desktop_app.core.resources import sample_training_file
w = MainWindow(); w.show(); w.start_background()
model = sys.argv[1]
def step():
    if w.session.data is None and not w.tasks.is_running("load"):
        w.data_page.open_path(str(sample_training_file()))
    elif w.session.data is not None and w.model_path() != model:
        w.model_page.select_model(model)
    elif w.train_page.run_dir is None and w.train_page.start_button.isEnabled():
        w.model_page.update_settings(epochs=6.0, max_length=32, batch_size=8, time_budget_min=None,
                                     early_stopping_patience=50)
        w.train_page.start()
    elif w.train_page.run_dir and (Path(w.train_page.run_dir) / "checkpoint").is_dir():
        print("killing", w.train_page.run_dir, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
timer = QTimer(); timer.timeout.connect(step); timer.start(50)
QTimer.singleShot(120_000, lambda: os._exit(3))
app.exec()
"""


@pytest.mark.slow
def test_the_app_killed_during_training_offers_resume_at_the_next_start(qtbot, app_home, tiny_model):
    env = {**os.environ, "CLASSIFIER_STUDIO_HOME": str(app_home), "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-c", KILLED_APP, str(tiny_model)], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=180)
    assert r.returncode == -signal.SIGKILL, r.stdout + r.stderr
    run_dir = r.stdout.split("killing", 1)[1].strip()
    from desktop_app.core.runs import read_json

    assert read_json(Path(run_dir) / "run.json")["status"] == "running"

    from desktop_app.gui.window import MainWindow

    offered = []
    win = MainWindow()
    qtbot.addWidget(win)
    win.ask_resume = lambda run: offered.append(run.path) or True
    win.show()
    win.start_background()
    try:
        wait_for(qtbot, lambda: offered, 10)
        assert offered == [run_dir]
        # the app opens the run's data itself, then resumes from the checkpoint
        wait_for(qtbot, lambda: win.tasks.is_running("train") or win.train_page.finished_run, 60)
        assert win.train_page.run_dir == run_dir
        wait_for(qtbot, lambda: win.train_page.finished_run == run_dir and win.tasks.settled("train"), 180)
        assert read_json(Path(run_dir) / "run.json")["status"] == "finished"
        assert "Resuming" in win.train_page.log.toPlainText()
    finally:
        win.confirm_close = lambda: True
        win.close()
    # declined or finished: not offered again
    again = MainWindow()
    qtbot.addWidget(again)
    asked = []
    again.ask_resume = lambda run: asked.append(run) or False
    again.offer_resume()
    assert not asked
    again.shutdown()


def test_declining_the_resume_offer_is_remembered(qtbot, window, tiny_model):
    ready_to_train(qtbot, window, tiny_model, epochs=3.0, batch_size=2, time_budget_min=None)
    window.train_page.start()
    wait_for(qtbot, lambda: window.train_page.counts["step"] > 0, 60)
    window.tasks.stop("train")  # stopped as closing the app stops it (a Cancel on purpose is never offered)
    wait_for(qtbot, lambda: window.tasks.settled("train"), 30)
    asked = []
    window.ask_resume = lambda run: asked.append(run.path) or False
    window.offer_resume()
    window.offer_resume()
    assert asked == [window.train_page.run_dir]


def test_help_guide_and_window_fits_the_screen(qtbot, window):
    guide = window.show_guide()
    qtbot.waitUntil(guide.isVisible)
    text = guide.findChild(__import__("PySide6.QtWidgets", fromlist=["QTextBrowser"]).QTextBrowser).toPlainText()
    for words in ("Data", "Train", "Evaluate", "good"):
        assert words in text
    guide.close()
    screen = QApplication.primaryScreen().availableGeometry()
    window.resize(screen.width() * 2, screen.height() * 2)
    window.fit_to_screen()
    assert window.width() <= screen.width() and window.height() <= screen.height()

"""The desktop app driven like a user would: data, fixes, model, train, evaluate, classify, export, cancel, close."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import Qt

from .conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]


def open_file(qtbot, window, path):
    window.data_page.open_path(str(path))
    wait_for(qtbot, lambda: window.data_page.table is not None and Path(window.data_page.table.path) == Path(path)
             and window.tasks.settled("load", "check")
             and window.session.data is not None and Path(window.session.data.path) == Path(path))


def pick_model(qtbot, window, model):
    window.model_page.select_model(str(model))
    wait_for(qtbot, lambda: window.model_path() and Path(window.model_path()) == Path(model)
             and window.model_page.model_info() is not None)


def ready_to_train(qtbot, window, model, **settings):
    from desktop_app.core.resources import sample_training_file

    open_file(qtbot, window, sample_training_file())
    pick_model(qtbot, window, model)
    window.model_page.update_settings(**{"epochs": 1.0, "max_length": 32, **settings})
    wait_for(qtbot, lambda: window.training_data() is not None and window.train_page.start_button.isEnabled())


def test_open_sample_guesses_columns_and_measures_lengths(qtbot, window, tiny_model):
    from desktop_app.core.resources import sample_training_file

    assert window.train_page.empty.text().startswith("To train")
    open_file(qtbot, window, sample_training_file())
    page = window.data_page
    assert page.preview.model().rowCount() == 400
    assert page.text_combo.currentText() == "text" and page.label_combo.currentText() == "label"
    assert page.report is not None and page.report.can_train
    assert len(page.report.class_counts) == 5
    pick_model(qtbot, window, tiny_model)
    wait_for(qtbot, lambda: page.lengths is not None)
    assert len(page.lengths) == 400
    # the lengths live in the session, tied to the data and the model they were measured for
    measured = window.session.current_lengths()
    assert measured.data_fingerprint == window.session.data.fingerprint and measured.model == window.model_path()
    assert "support_tickets.csv" in window.windowTitle()
    assert str(sample_training_file()) in window.store.recent_files()


def test_apply_safe_fixes_drops_duplicates_and_merges_labels(qtbot, window, tmp_path):
    path = tmp_path / "dupes.csv"
    rows = [("the invoice is wrong", "billing"), ("the invoice is wrong", "billing"), ("app crashes on start", "bug"),
            ("app crashes on start", "bug"), ("refund my card", "Billing "), ("login fails", "account")]
    rows += [(f"example text number {i}", ["billing", "bug", "account"][i % 3]) for i in range(30)]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    open_file(qtbot, window, path)
    page = window.data_page
    before = len(page.labeled)
    assert page.fix_button.isEnabled()
    assert "drop_duplicates" in page.safe_fix_ids()
    assert page.findings.count() >= 1
    qtbot.mouseClick(page.fix_button, Qt.LeftButton)
    wait_for(qtbot, lambda: window.session.data.fixes and window.tasks.settled("check"))
    assert len(page.labeled) == before - 2 == window.session.data.n_examples
    assert "36 rows in the file, 34 examples after the fixes" in page.path_label.text()  # truthful counts
    assert not any(f.code == "duplicates" or f.fix_id == "drop_duplicates" for f in page.report.findings)
    assert "Fixes applied" in page.summary_label.text()


def test_train_evaluate_classify_and_export(qtbot, window, tiny_model, tmp_path):
    ready_to_train(qtbot, window, tiny_model)
    page = window.train_page
    qtbot.mouseClick(page.start_button, Qt.LeftButton)
    assert page.is_training()
    wait_for(qtbot, lambda: not page.is_training() and page.finished_run, 90)
    for key in ("loss", "val_loss", "accuracy", "f1", "speed"):
        assert page.series[key].n > 0, key
        x, _ = page.curves[key].getData()
        assert x is not None and len(x) == page.series[key].n, key
    assert page.counts["status"] > 0
    assert page.progress.value() == 100
    assert window.current_run == page.finished_run
    assert (Path(page.finished_run) / "model" / "config.json").is_file()
    assert "run " in window.windowTitle()

    # the results open at once, in words, and the validation part is evaluated again for the examples
    ev = window.evaluate_page
    assert window.sidebar.currentRow() == window.page_index(ev)
    assert ev.shown is not None and "of the validation texts were right" in ev.headline.text()
    assert "{" not in page.log.toPlainText() and "Finished." in page.log.toPlainText()  # no raw dict
    wait_for(qtbot, lambda: ev.result is not None and window.tasks.settled("evaluate"))
    assert ev.valid_button.isEnabled() and not ev.cancel_button.isEnabled()
    assert ev.per_class.rowCount() == 5 and ev.confusion.rowCount() == 5
    assert all(ev.per_class.item(r, c).text().endswith("%") for r in range(5) for c in (1, 2, 3))
    total = sum(int(ev.confusion.item(r, c).text()) for r in range(5) for c in range(5))
    assert total == len(ev.result.true) == 40
    ev.confusion.cellClicked.emit(0, 0)
    expected = int(ev.confusion.item(0, 0).text())
    assert ev.examples.model().rowCount() == expected

    # classify a typed text (debounced, in the classifier thread)
    cl = window.classify_page
    cl.text.setPlainText("my invoice shows a double charge please refund")
    wait_for(qtbot, lambda: cl.last_result is not None, 30)
    probs = cl.last_result["probabilities"]
    assert set(probs) == set(ev.result.metrics["labels"]) and abs(sum(probs.values()) - 1) < 1e-3
    assert cl.answer.text()

    # classify a file, preview, export
    from desktop_app.core.resources import sample_unlabeled_file

    cl.classify_path(str(sample_unlabeled_file()))
    wait_for(qtbot, lambda: cl.output_path is not None and not window.tasks.is_running("predict"), 30)
    assert cl.preview.model().rowCount() == 40
    out_csv, out_xlsx = tmp_path / "out.csv", tmp_path / "out.xlsx"
    cl.export(str(out_csv))
    cl.export(str(out_xlsx))
    with out_csv.open(encoding="utf-8") as fh:
        assert len(list(csv.DictReader(fh))) == 40
    from openpyxl import load_workbook

    ws = load_workbook(out_xlsx).active
    header = [c.value for c in next(ws.iter_rows(max_row=1))]
    assert "predicted_label" in header and ws.max_row == 41

    # the run library lists it and can open it
    window.sidebar.setCurrentRow(window.pages.index(window.runs_page))
    assert window.runs_page.table.rowCount() == 1
    window.runs_page.table.selectRow(0)
    window.runs_page.open_button.click()
    assert window.current_run == window.runs_page.runs[0].path
    assert window.sidebar.currentRow() == window.page_index(ev)


def test_cancel_mid_training_then_resume(qtbot, window, tiny_model):
    ready_to_train(qtbot, window, tiny_model, epochs=2.0, batch_size=4)
    page = window.train_page
    page.start()
    wait_for(qtbot, lambda: page.counts["step"] > 0, 60)
    assert page.cancel_button.isEnabled()
    page.cancel()
    wait_for(qtbot, lambda: not page.is_training(), 60)
    assert page.resumable_run is not None
    assert page.finished_run is None
    wait_for(qtbot, page.resume_button.isEnabled, 10)
    steps_before = page.series["loss"].n
    page.resume()
    wait_for(qtbot, lambda: not page.is_training(), 120)
    assert page.finished_run is not None
    assert page.series["loss"].n > steps_before


def test_closing_during_training_asks_and_stops_the_worker(qtbot, window, tiny_model):
    ready_to_train(qtbot, window, tiny_model, epochs=3.0, batch_size=2)
    page = window.train_page
    page.start()
    wait_for(qtbot, lambda: page.counts["step"] > 0, 60)
    asked = []
    window.confirm_close = lambda: asked.append(1) or False
    window.close()
    assert asked and window.isVisible() and page.is_training()
    window.confirm_close = lambda: True
    task = window.tasks.running["train"]
    window.close()
    assert not task.thread.isRunning()
    assert not window.isVisible()
    from desktop_app.core.runs import read_json

    assert read_json(Path(page.run_dir) / "run.json")["status"] == "cancelled"


def test_settings_persist(qtbot, app_home):
    from desktop_app.gui.window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.model_page.update_settings(epochs=4.0, batch_size=8)
    win.store.add_recent("/tmp/somefile.csv")
    win.shutdown()
    assert (app_home / "config" / "settings.json").is_file()
    again = MainWindow()
    qtbot.addWidget(again)
    s = again.model_page.settings()
    assert s.epochs == 4.0 and s.batch_size == 8 and s.learning_rate is None
    assert again.store.recent_files() == ["/tmp/somefile.csv"]
    again.shutdown()


def test_version_in_a_subprocess(tmp_path):
    env = {**__import__("os").environ, "CLASSIFIER_STUDIO_HOME": str(tmp_path)}
    r = subprocess.run([sys.executable, "-m", "desktop_app", "--version"], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr


def test_evaluate_on_a_chosen_labeled_file(qtbot, window, tiny_model):
    ready_to_train(qtbot, window, tiny_model)
    window.train_page.start()
    wait_for(qtbot, lambda: window.train_page.finished_run and window.current_run, 90)
    from desktop_app.core.resources import sample_training_file

    window.evaluate_page.evaluate_file(str(sample_training_file()))
    wait_for(qtbot, lambda: window.evaluate_page.result is not None and not window.tasks.is_running("evaluate"))
    assert len(window.evaluate_page.result.true) == 400
    assert window.evaluate_page.mistakes.model().rowCount() == len(window.evaluate_page.result.misclassified())


def test_unexpected_errors_are_logged_and_shown(qtbot, window, app_home):
    import sys

    from PySide6.QtWidgets import QApplication, QMessageBox

    from desktop_app.applog import log_file, setup_logging
    from desktop_app.gui.app import install_excepthooks

    setup_logging()
    old = sys.excepthook
    install_excepthooks(lambda: window)
    try:
        try:
            raise RuntimeError("boom in a slot")
        except RuntimeError:
            sys.excepthook(*sys.exc_info())
        wait_for(qtbot, lambda: any(isinstance(w, QMessageBox) and w.isVisible() for w in QApplication.topLevelWidgets()), 5)
        box = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible())
        assert "boom in a slot" in box.text() and "Traceback" in box.detailedText()
        box.close()
    finally:
        sys.excepthook = old
        import threading

        threading.excepthook = threading.__excepthook__
    assert "boom in a slot" in log_file().read_text(encoding="utf-8")


def test_screenshots_command_in_a_subprocess(tiny_model, tmp_path):
    import os

    env = {**os.environ, "CLASSIFIER_STUDIO_HOME": str(tmp_path / "home"), "QT_QPA_PLATFORM": "offscreen"}
    out = tmp_path / "shots"
    r = subprocess.run([sys.executable, "-m", "desktop_app", "screenshots", str(out), "--model", str(tiny_model)], cwd=ROOT,
                       env=env, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stdout + r.stderr
    for name in ("data.png", "label.png", "model.png", "train.png", "evaluate.png", "classify.png"):
        assert (out / name).stat().st_size > 10_000, name


def test_model_page_explains_the_chosen_settings_and_takes_a_time_budget(qtbot, window, tiny_model):
    from desktop_app.core.resources import sample_training_file

    page = window.model_page
    assert "Open your data" in page.plan_label.text()
    open_file(qtbot, window, sample_training_file())
    pick_model(qtbot, window, tiny_model)
    wait_for(qtbot, lambda: window.data_page.lengths is not None)
    text = page.plan_label.text()
    for label in ("Learning speed", "Passes over the texts", "Longest text read", "Texts per step", "Class weights"):
        assert label in text, label
    assert "learning rate" in text and "batch size" in text  # the expert terms are in the tooltips
    assert "token" in text  # the max length is explained from the data
    assert "set by you" not in text  # the Quick preset set the time limit, not the user
    assert "from the “Quick” choice above" in text
    page.budget_spin.setValue(7)
    page.budget_button.setChecked(True)
    assert page.settings().time_budget_min == 7.0
    assert "about 7 minutes" in page.plan_label.text() and "time budget" in page.plan_label.text()
    page.preset_buttons["best"].setChecked(True)
    assert page.settings().time_budget_min is None
    page.update_settings(learning_rate=3e-4)
    assert "set by you" in page.plan_label.text()

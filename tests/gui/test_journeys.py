"""Issue #26: every journey a non-programmer takes ends well. Each test drives the window as a user
would and checks what the user would notice."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from .conftest import CATEGORIES, wait_for



def _error_box():
    return next((w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()), None)


def _labeling(qtbot, window, path, model, categories=CATEGORIES):
    page = window.label_page
    page.model = str(model)
    window.show_page(page)
    page.open_file(path)
    wait_for(qtbot, lambda: page.store is not None)
    with qtbot.waitSignal(page.suggestions_updated, timeout=60_000):
        page.set_categories(", ".join(categories))
    window.activateWindow()
    return page


def _scroll_area(page):
    return page.parentWidget().parentWidget()


# -- row 1 ------------------------------------------------------------------------------------------
def test_a_path_typed_while_the_text_is_out_of_view_labels_nothing(qtbot, window, unlabeled, tiny_model):
    path, _ = unlabeled
    page = _labeling(qtbot, window, path, tiny_model)
    window.resize(900, 200)  # a small window: the page scrolls
    scroll = _scroll_area(page)
    wait_for(qtbot, lambda: scroll.verticalScrollBar().maximum() > 0, 5)
    page.setFocus()  # the page had the focus (the user clicked on it)
    scroll.verticalScrollBar().setValue(scroll.verticalScrollBar().maximum())  # "Open texts…" scrolled out of view
    wait_for(qtbot, lambda: page.text_view.visibleRegion().isEmpty(), 5)
    first = page.current
    target = QApplication.focusWidget() or page
    qtbot.keyClicks(target, "C:/Users/sss/tickets 2024.csv")  # seven "s" and digits
    qtbot.keyClick(target, Qt.Key_Return)
    assert page.store.labels == {} and page.store.skipped == set() and page.current == first  # nothing happened
    assert "0 labeled · 0 skipped" in page.progress_label.text()

    # with the text on screen and clicked, the keys label it
    scroll.verticalScrollBar().setValue(0)
    scroll.ensureWidgetVisible(page.text_view)
    wait_for(qtbot, lambda: not page.text_view.visibleRegion().isEmpty(), 5)
    qtbot.mouseClick(page.text_view.viewport(), Qt.LeftButton)
    wait_for(qtbot, lambda: page.text_view.hasFocus(), 5)
    qtbot.keyClick(page.text_view, Qt.Key_2)
    assert page.store.labels == {first: "shipping"} and page.current != first
    window.tasks.stop_all()


# -- row 2 ------------------------------------------------------------------------------------------
def test_enter_in_the_categories_box_applies_the_names_and_nothing_else(qtbot, window, unlabeled, tiny_model):
    path, _ = unlabeled
    page = _labeling(qtbot, window, path, tiny_model)
    first = page.current
    assert page.current_suggestion() is not None  # an old suggestion is shown
    edit = page.categories_edit
    qtbot.mouseClick(edit, Qt.LeftButton)
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, "Business, Sport, Politics")
    qtbot.keyClick(edit, Qt.Key_Return)
    assert page.store.categories == ["Business", "Sport", "Politics"]
    assert page.store.labels == {} and page.current == first  # no suggestion was accepted
    qtbot.wait(50)
    assert _error_box() is None  # no "'Business' is not one of the categories"
    assert page.text_view.hasFocus()  # the next key labels the text shown
    window.tasks.stop_all()


# -- row 3 ------------------------------------------------------------------------------------------
def test_labels_of_the_bundled_sample_go_to_the_documents_never_the_program_folder(qtbot, window, app_home, tiny_model, tmp_path):
    from desktop_app.core.labeling import default_labels_dir
    from desktop_app.core.resources import sample_unlabeled_file

    sample = sample_unlabeled_file()
    program_files = sorted(p.name for p in sample.parent.iterdir())
    page = _labeling(qtbot, window, sample, tiny_model)
    documents = default_labels_dir()
    assert str(documents).startswith(str(app_home))  # the test's own documents folder
    assert not documents.exists() or not any(documents.iterdir())  # nothing written before the first label
    assert sorted(p.name for p in sample.parent.iterdir()) == program_files
    assert str(documents) in page.saved_label.text()  # the user sees where the labels will go

    page.give_label("billing")
    assert sorted(p.name for p in sample.parent.iterdir()) == program_files  # never inside the program
    saved = documents / "support_tickets_unlabeled.labeled.csv"
    assert saved.is_file() and page.store.csv_path == saved
    assert "Saved as you go" in page.saved_label.text() and str(documents) in page.saved_label.text()

    # the user chooses another folder: the labels so far go there, and the next ones too
    mine = tmp_path / "my labels"
    mine.mkdir()
    page.set_labels_folder(str(mine))
    assert (mine / "support_tickets_unlabeled.labeled.csv").is_file() and str(mine) in page.saved_label.text()
    page.give_label("shipping")
    with (mine / "support_tickets_unlabeled.labeled.csv").open(encoding="utf-8") as fh:
        assert sorted(r["label"] for r in csv.DictReader(fh) if r["label"]) == ["billing", "shipping"]
    assert sorted(p.name for p in sample.parent.iterdir()) == program_files
    window.tasks.stop_all()


# -- row 4 ------------------------------------------------------------------------------------------
def test_both_ways_to_a_model_stay_once_labels_exist(qtbot, window, unlabeled, tiny_model):
    path, truth = unlabeled
    page = _labeling(qtbot, window, path, tiny_model)
    assert page.model_button.isVisible() and page.model_button.isEnabled()
    assert page.model_button.text() == "Make a model from the category names"
    assert page.train_button.isVisible() and not page.train_button.isEnabled()  # no labels yet
    page.give_label("billing")
    page.give_label("shipping")
    assert page.model_button.isVisible() and page.model_button.isEnabled()
    assert page.model_button.text() == "Make a model from the category names"
    assert page.train_button.isVisible() and page.train_button.isEnabled()
    window.tasks.stop_all()


# -- rows 5 and 6: the time left, from a scripted sequence of training events -------------------------
def test_after_cancel_it_says_it_stops_after_the_current_step():
    from desktop_app.core.jobs import JobState, progress_text

    job = JobState("train", description="Training", started=0.0, budget_s=120.0)
    job.status_message("Time budget 2 min: planned 12.70 epochs (216 steps)")
    job.progress(59, 216, now=30.0)
    job.cancel_requested()
    assert progress_text(job) == "Stopping after the current step…"
    assert "12.70" not in progress_text(job) and "Time budget" not in progress_text(job)


def test_time_left_is_honest_from_the_start_to_the_end():
    from desktop_app.core.jobs import JobState, progress_text

    # a 2-minute time limit, early stopping on: an estimate at once, never "about", and "often less"
    job = JobState("train", description="Training", started=0.0, budget_s=120.0, may_end_early=True)
    first = job.time_left_text(now=2.0)
    assert first.startswith("at most 2 minutes left") and "often less" in first  # within seconds of starting
    # the engine is still measuring (its first steps): the limit still bounds the time left
    job.progress(4, 1365, eta_s=4860, now=20.0)
    assert job.time_left_text(now=25.0).startswith("at most 2 minutes left")
    # mid-way: a measured rate, said as a bound (it stopped early 14 s later in the report)
    job.progress(10, 216, now=30.0)
    job.progress(59, 216, now=50.0)
    text = job.time_left_text(now=50.0)
    assert text.startswith("at most ") and "often less" in text and "about" not in text
    assert job.eta_s(now=50.0) <= 70.0  # never more than the time limit left
    # the last report before the end: the last steps, then the last check and the saving (40 s in the report)
    job.progress(212, 216, now=79.0)
    for later in (80.0, 100.0, 119.0):
        assert job.time_left_text(now=later) == "almost done: the last steps, then a last check and saving …"
        assert job.shown_fraction < 1.0
    # every step done: no "100% … about 1 second left" while the last check and the saving run
    job.progress(216, 216, now=80.0)
    assert job.shown_fraction < 1.0
    assert job.time_left_text(now=120.0) == "finishing (a last check and saving) …"
    assert "second" not in progress_text(job)
    job.status = "finished"
    assert job.shown_fraction == 1.0

    # no time limit and no early stopping (classifying a file): a plain estimate from the measured rate
    predict = JobState("predict", started=0.0)
    predict.progress(0, 1000, now=0.0)
    assert predict.time_left_text(now=0.5) == "estimating the time left …"
    predict.progress(100, 1000, now=2.0)
    assert predict.time_left_text(now=2.0) == "about 20 seconds left"


# -- row 7 ------------------------------------------------------------------------------------------
def _start(qtbot, asked):
    from desktop_app.gui.window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.ask_resume = lambda run: asked.append(run.path) or False
    win.show()
    win.start_background()
    qtbot.wait(200)
    return win


def _quit(win):
    win.confirm_close = lambda: True
    win.tasks.stop_all()
    win.shutdown()


def test_start_offers_to_resume_only_an_interrupted_run_and_never_twice(qtbot, app_home, tmp_path):
    from desktop_app.core.runs import RunRecord, default_runs_dir, write_record

    runs = default_runs_dir()
    comparison = runs / "20260103-120000-compare"
    (comparison / "a-candidate").mkdir(parents=True)
    (comparison / "leaderboard.json").write_text("{}", encoding="utf-8")
    write_record(comparison / "a-candidate", RunRecord(status="cancelled", created="2026-01-03T12:00:00",
                                                       model={"name": "tiny"}))  # cancelled on purpose with its comparison
    crashed = runs / "20260102-100000-tiny"
    crashed.mkdir(parents=True)
    write_record(crashed, RunRecord(status="running", created="2026-01-02T10:00:00", model={"name": "tiny"},
                                    data={"source": str(tmp_path / "gone.csv")}))
    asked: list[str] = []
    first = _start(qtbot, asked)
    assert asked == [str(crashed)]  # the interrupted run, not the comparison's candidate
    _quit(first)
    again = _start(qtbot, asked)
    assert asked == [str(crashed)]  # never asked twice
    _quit(again)


def test_a_run_cancelled_on_purpose_is_not_offered_at_the_next_start(qtbot, window, tiny_model):
    from .test_app import ready_to_train

    ready_to_train(qtbot, window, tiny_model, epochs=20.0)
    page = window.train_page
    qtbot.mouseClick(page.start_button, Qt.LeftButton)
    wait_for(qtbot, lambda: page.charts.last_step is not None or not page.is_training(), 60)
    qtbot.mouseClick(page.cancel_button, Qt.LeftButton)
    assert page.empty.text().startswith("Stopping after the current step…")
    wait_for(qtbot, lambda: window.tasks.settled("train"), 60)
    assert page.resume_button.isEnabled()  # it can still be resumed, from the Train page
    asked: list[str] = []
    again = _start(qtbot, asked)
    assert asked == []
    _quit(again)


# -- row 8 ------------------------------------------------------------------------------------------
def test_the_learning_method_kept_from_last_time_is_explained_without_command_line_flags(qtbot, app_home, tiny_model):
    from .test_app import open_file, pick_model
    from desktop_app.core.resources import sample_training_file

    first = _start(qtbot, [])
    first.model_page.set_method("fine-tune")  # chosen in an earlier session
    _quit(first)
    win = _start(qtbot, [])  # the next start
    try:
        page = win.model_page
        assert page.method_combo.currentText() == "Full training"
        open_file(qtbot, win, sample_training_file())
        pick_model(qtbot, win, tiny_model)
        win.show_page(page)
        wait_for(qtbot, lambda: "How it learns" in page.plan_label.text(), 30)
        text = page.plan_label.text()
        assert "--" not in text and "--method" not in text
        assert "set by you under “How to learn”" in text and "last session" in text
    finally:
        _quit(win)


# -- row 9 ------------------------------------------------------------------------------------------
def _finished_run(folder, created, model_name, **extra):
    from desktop_app.core.metrics import classification_metrics
    from desktop_app.core.runs import RunRecord, write_record

    folder.mkdir(parents=True)
    metrics = classification_metrics([0, 0, 1, 1], [0, 1, 1, 1], ["a", "b"])
    write_record(folder, RunRecord(status="finished", created=created, model={"name": model_name}, labels=["a", "b"],
                                   final_metrics=metrics, **extra))
    return folder


def test_the_run_library_highlights_the_current_run_and_names_models_without_paths(qtbot, window, tmp_path):
    from desktop_app.core.runs import default_runs_dir

    runs = default_runs_dir()
    older = _finished_run(runs / "20260101-100000-tiny", "2026-01-01T10:00:00", "tiny")
    page = window.runs_page
    window._run_finished(str(older))
    window.show_page(page)
    assert page.selected().path == str(older)
    newer = _finished_run(runs / "20260102-100000-tiny", "2026-01-02T10:00:00", "tiny")
    shrunk = _finished_run(runs / "20260103-100000-small", "2026-01-03T10:00:00", f"distilled:{tmp_path / 'models' / 'bert'}",
                           kind="distilled")
    window._run_finished(str(newer))  # training a new run ends
    window.show_page(page)
    assert page.selected().path == str(newer)  # the current run is the highlighted one: Shrink and Export act on it
    row = [page.table.item(r, 0).text() for r in range(page.table.rowCount())].index(newer.name)
    assert page.table.item(row, 0).font().bold()
    # the user may still pick another row; a refresh keeps their choice
    page.table.selectRow(0)
    page.refresh()
    assert page.selected().path == page.runs[0].path
    models = [page.table.item(r, 3).text() for r in range(page.table.rowCount())]
    assert "smaller copy of bert" in models
    assert not any("/" in m or "\\" in m for m in models)  # names, not paths
    del shrunk


# -- row 10 -----------------------------------------------------------------------------------------
def test_export_into_a_newly_named_folder_and_cancel_leaves_nothing(qtbot, window, tiny_model, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QDialog, QFileDialog

    from .test_app import ready_to_train

    ready_to_train(qtbot, window, tiny_model)
    window.train_page.start()
    wait_for(qtbot, lambda: window.train_page.finished_run and window.tasks.settled("train"), 120)
    runs = window.runs_page
    window.show_page(runs)
    assert runs.selected().path == window.train_page.finished_run
    typed = {"path": str(tmp_path / "exports" / "my new model")}  # neither folder exists yet
    monkeypatch.setattr(QDialog, "exec", lambda self: QDialog.Accepted)  # the format dialog: OK
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (typed["path"], "")))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: pytest.fail("a folder chooser")))

    # Cancel at once: nothing is left behind, not even an empty folder
    runs.choose_export()
    window.tasks.stop("export")
    wait_for(qtbot, lambda: window.tasks.settled("export"), 60)
    assert "nothing was written" in runs.status.text()
    assert not (tmp_path / "exports").exists()

    # a new folder's name is taken: the export is written there
    runs.choose_export()
    wait_for(qtbot, lambda: window.tasks.settled("export") and runs.last_summary is not None, 180)
    assert "Exported to" in runs.status.text()
    assert (Path(typed["path"]) / "README.md").is_file()


# -- row 11 -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("n_categories", [4, 5])
def test_the_few_shot_plan_says_the_real_number_of_categories(qtbot, window, tiny_model, tmp_path, sample_csv, n_categories):
    from .test_app import open_file, pick_model

    rows = list(csv.DictReader(sample_csv.open(encoding="utf-8")))
    labels = sorted({r["label"] for r in rows})[:n_categories]
    assert len(labels) == n_categories
    path = tmp_path / f"few-{n_categories}.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        for label in labels:
            writer.writerows([(r["text"], label) for r in rows if r["label"] == label][:8])
    open_file(qtbot, window, path)
    pick_model(qtbot, window, tiny_model)
    page = window.model_page
    window.show_page(page)
    wait_for(qtbot, lambda: "Texts per step" in page.plan_label.text(), 30)
    assert page.planned_method()[0] == "few-shot"
    text = page.plan_label.text()
    assert f"your {n_categories} categories" in text and "8 categories" not in text


def test_the_data_page_says_the_share_of_long_texts_the_same_way_twice(qtbot, window, tiny_model, tmp_path, sample_csv):
    import re

    from .test_app import open_file, pick_model

    rows = list(csv.DictReader(sample_csv.open(encoding="utf-8")))
    path = tmp_path / "one-long.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows([(" ".join(r["text"].split()[:8]), r["label"]) for r in rows])  # short texts
        writer.writerow([" ".join(["a very long complaint about the invoice"] * 80), rows[0]["label"]])  # and one long
    open_file(qtbot, window, path)
    pick_model(qtbot, window, tiny_model)
    page = window.data_page

    def finding():
        texts = [page.findings.item(i).text() for i in range(page.findings.count())]
        return next((t for t in texts if "of the texts (" in t and "are longer than" in t), "")

    said = re.compile(r"(\d+) texts? \(([\d.]+%)\)")
    wait_for(qtbot, lambda: finding() and said.search(page.length_label.text()), 60)
    n, share = said.search(page.length_label.text()).groups()
    assert float(share[:-1]) < 1  # a few texts of 400: under one percent
    assert f"{share} of the texts ({n})" in finding()  # the same share, said the same way
    assert "0% of the texts" not in finding().replace(f"{share} of", "")


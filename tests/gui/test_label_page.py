"""The Label page: keyboard labeling, undo, skip, continuous saving, reopening, background retrains."""

from __future__ import annotations

import csv

from PySide6.QtCore import Qt

from desktop_app.gui.label_page import LabelPage

from .conftest import CATEGORIES, wait_for



def _open(qtbot, path, model):
    page = LabelPage(model=str(model), retrain_every=3)
    qtbot.addWidget(page)
    page.show()
    page.open_file(path)
    wait_for(qtbot, lambda: page.store is not None)
    return page


def _close(qtbot, page):
    page.close()  # stops and joins the page's background work
    assert not any(task.is_running() for task in page.tasks.running.values())


def _saved(path):
    with (path.parent / f"{path.stem}.labeled.csv").open(encoding="utf-8") as fh:
        return {r["text"]: r["label"] for r in csv.DictReader(fh) if r["label"]}


def test_label_undo_skip_save_reopen_and_retrain(qtbot, unlabeled, tiny_model):
    path, truth = unlabeled
    before = path.read_bytes()
    page = _open(qtbot, path, tiny_model)
    assert page.current is not None and "Type at least two" in page.suggestion_label.text() or page.empty.isVisible()
    assert page.text_view.isVisible() and not page.chart.isVisible() and page.chart_hint.isVisible()  # no points yet

    with qtbot.waitSignal(page.suggestions_updated, timeout=60_000):
        page.set_categories(", ".join(CATEGORIES))
    assert page.suggestions.method == "zero-shot"
    assert "% sure" in page.suggestion_label.text()
    assert [b.text() for b in page.category_buttons] == ["1  billing", "2  shipping", "3  technical_issue"]

    page.setFocus()
    first = page.current
    qtbot.keyClick(page.text_view, Qt.Key_2)  # label with a number key
    assert page.store.labels[first] == "shipping" and page.current != first
    assert _saved(path) == {page.store.texts[first]: "shipping"}  # saved at once

    second = page.current
    suggested = page.current_suggestion()[0]
    qtbot.keyClick(page.text_view, Qt.Key_Return)  # accept the suggestion
    assert page.store.labels[second] == suggested

    third = page.current
    qtbot.keyClick(page.text_view, Qt.Key_S)  # skip
    assert third in page.store.skipped and page.current != third
    qtbot.keyClick(page.text_view, Qt.Key_Backspace)  # undo the skip: the text comes back
    assert page.current == third and third not in page.store.skipped
    qtbot.keyClick(page.text_view, Qt.Key_Backspace)  # undo the accepted suggestion
    assert second not in page.store.labels and page.current == second
    assert _saved(path) == {page.store.texts[first]: "shipping"}

    # label with the known answers until every category has two labels: a few-shot retrain follows
    keys = {name: getattr(Qt, f"Key_{i + 1}") for i, name in enumerate(CATEGORIES)}
    old = page.suggestions
    counts = {c: 0 for c in CATEGORIES}
    counts["shipping"] = 1
    while min(counts.values()) < 2:
        answer = truth[page.store.texts[page.current]]
        counts[answer] += 1
        qtbot.keyClick(page.text_view, keys[answer])
    wait_for(qtbot, lambda: page.suggestions is not old and page.suggestions.method == "few-shot", 120)
    assert page.suggestions.labels_used >= 6
    assert "few-shot" in page.method_label.text()
    assert page.current_suggestion() is not None
    # each category's likeliest text (queued first while it had no label) does not count in the estimate
    assert len(page.store.hits) <= len(page.store.labels) - len(CATEGORIES)
    while page.chart_series.n == 0 and page.current is not None:  # five suggestions tested make the first point
        qtbot.keyClick(page.text_view, keys[truth[page.store.texts[page.current]]])
    points = page.chart_series.n
    assert points >= 1 and page.chart.isVisible() and not page.chart_hint.isVisible()
    assert page.chart.getViewBox().viewRange()[0][0] == 0  # the x axis counts labels from zero
    labels_given = dict(page.store.labels)
    _close(qtbot, page)

    again = _open(qtbot, path, tiny_model)  # reopening brings the labels and categories back
    assert again.store.categories == CATEGORIES
    assert {again.store.texts[i]: l for i, l in again.store.labels.items()} == {page.store.texts[i]: l for i, l in labels_given.items()}
    assert f"{len(labels_given)} labeled" in again.progress_label.text()
    assert again.chart_series.n == points and again.chart.isVisible()  # the chart comes back with the labels
    _close(qtbot, again)
    assert path.read_bytes() == before  # the input is never modified


def test_before_a_file_is_open_only_the_first_steps_show(qtbot, tiny_model):
    page = LabelPage(model=str(tiny_model))
    qtbot.addWidget(page)
    page.show()
    assert page.open_button.isVisible() and page.categories_edit.isVisible() and page.empty.isVisible()
    assert not page.text_view.isVisible() and not page.chart.isVisible() and not page.keys_hint.isVisible()
    _close(qtbot, page)


def test_categories_typed_before_the_file_is_open_are_kept(qtbot, unlabeled, tiny_model):
    path, _ = unlabeled
    page = LabelPage(model=str(tiny_model), retrain_every=3)
    qtbot.addWidget(page)
    page.show()
    page.categories_edit.setText("billing, shipping, technical_issue")
    page.categories_edit.editingFinished.emit()
    page.open_file(path)
    wait_for(qtbot, lambda: page.store is not None)
    assert page.store.categories == CATEGORIES and page.categories_edit.text() == ", ".join(CATEGORIES)
    assert [b.text() for b in page.category_buttons][0] == "1  billing"
    _close(qtbot, page)


def test_digits_do_not_label_while_typing_categories(qtbot, unlabeled, tiny_model):
    path, _ = unlabeled
    page = _open(qtbot, path, tiny_model)
    page.categories_edit.setFocus()
    qtbot.keyClicks(page.categories_edit, "a1, b2")
    assert page.store.labels == {} and page.categories_edit.text() == "a1, b2"
    _close(qtbot, page)


def test_from_typed_category_names_to_a_model_and_from_labels_to_training(qtbot, window, unlabeled, tiny_model):
    """No labeled file needed: typed names give a zero-shot model at once (Classify uses it); with labels for
    two categories, the labeled file opens for training and the plan says how it will learn."""
    import json
    from pathlib import Path

    from .test_app import pick_model

    path, truth = unlabeled
    pick_model(qtbot, window, tiny_model)
    page = window.label_page
    page.model = str(tiny_model)
    window.show_page(page)
    page.open_file(path)
    wait_for(qtbot, lambda: page.store is not None)
    page.set_categories(CATEGORIES)
    assert page.model_button.isVisible()
    # Esc stops the background retrain; labeling goes on, and the next label starts a new one
    from .test_session_views import idle_within_a_second

    assert page.retraining
    idle_within_a_second(qtbot, window, "label-suggest")
    assert not page.retraining and "updating" not in page.method_label.text()
    page.skip()
    wait_for(qtbot, lambda: page.suggestions is not None and window.tasks.settled("label-suggest"), 60)
    # Cancel (Esc) while the model loads: within a second, the button is back and no run is opened
    page.model_button.click()
    assert not page.model_button.isEnabled()
    idle_within_a_second(qtbot, window, "zero-shot")
    assert page.model_button.isEnabled() and not window.current_run
    page.model_button.click()
    wait_for(qtbot, lambda: window.tasks.settled("zero-shot") and window.current_run, 60)
    run = window.current_run
    assert json.loads((Path(run) / "run.json").read_text())["method"] == "zero-shot"
    # the status bar keeps saying what happened (not wiped by the next redraw) and what the model is;
    # the sidebar does not tick Train: nothing was trained
    qtbot.wait(100)
    assert window.statusBar().currentMessage().startswith("A model from the category names is ready")
    assert window.state_label.text().endswith(f"Current model: {Path(run).name}")
    train_item = window.sidebar.item(window.page_index(window.train_page)).text()
    assert "✓" not in train_item and "Train" in train_item
    assert window.sidebar.currentRow() == window.page_index(window.classify_page)
    cl = window.classify_page
    cl.text.setPlainText("my invoice was charged twice")
    wait_for(qtbot, lambda: cl.last_result is not None, 30)
    assert set(cl.last_result["probabilities"]) == set(CATEGORIES)

    # label two texts of each of two categories: the labeled file opens for training
    window.show_page(page)
    given = {}
    while len(given) < 4 and page.current is not None:
        text = page.store.texts[page.current]
        label = truth[text]
        if label in ("billing", "shipping") and sum(v == label for v in given.values()) < 2:
            page.give_label(label)
            given[text] = label
        else:
            page.skip()
    page.train_button.click()
    wait_for(qtbot, lambda: window.session.data is not None and window.tasks.settled("check"), 60)
    assert Path(window.session.data.path) == page.store.csv_path
    assert window.sidebar.currentRow() == window.page_index(window.model_page)
    assert set(window.training_data().class_counts()) == {"billing", "shipping"}
    method, _settings, reasons = window.model_page.planned_method()
    assert method == "few-shot" and "few-shot" in reasons["method"]["reason"]


def test_a_file_without_texts_says_what_where_and_how_to_fix(qtbot, tiny_model, tmp_path):
    from PySide6.QtWidgets import QApplication, QMessageBox

    path = tmp_path / "numbers.csv"
    path.write_text("id,amount\n1,20\n2,35\n", encoding="utf-8")
    page = LabelPage(model=str(tiny_model))
    qtbot.addWidget(page)
    page.show()
    page.open_file(path)

    def box():
        return next((w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()), None)

    wait_for(qtbot, lambda: box() is not None)
    shown = box()
    assert "No column of texts" in shown.text() and "'id', 'amount'" in shown.text()
    assert "Where: " in shown.informativeText() and "numbers.csv" in shown.informativeText()
    assert "Fix: Name the column of texts 'text'" in shown.informativeText()
    assert not shown.detailedText()  # nothing hidden behind "Show Details"
    shown.close()
    assert page.store is None
    _close(qtbot, page)


def test_an_unlabeled_file_on_the_data_page_leads_to_the_label_page(qtbot, window, unlabeled, tiny_model):
    path, _ = unlabeled
    data = window.data_page
    window.show_page(data)
    data.open_path(str(path))
    wait_for(qtbot, lambda: data.table is not None and window.tasks.settled("load"))
    assert "no label column" in data.summary_label.text() and "Label page" in data.summary_label.text()
    assert data.label_these_button.isVisible()
    window.label_page.model = str(tiny_model)
    data.label_these_button.click()
    assert window.sidebar.currentRow() == window.page_index(window.label_page)
    wait_for(qtbot, lambda: window.label_page.store is not None)
    assert window.label_page.store.source == path and len(window.label_page.store.texts) == 24
    assert window.state_label.text() == f"Labeling {path.name}: 0 labeled, saved as you go."


def test_the_next_start_offers_to_continue_labeling(qtbot, window, unlabeled, tiny_model):
    from desktop_app.gui.window import MainWindow

    path, truth = unlabeled
    page = window.label_page
    page.model = str(tiny_model)
    assert not page.continue_button.isVisible()
    window.show_page(page)
    page.open_file(path)
    wait_for(qtbot, lambda: page.store is not None)
    page.set_categories(CATEGORIES)
    page.give_label(truth[page.store.texts[page.current]])
    window.tasks.stop_all()

    again = MainWindow()  # the next start, same settings folder
    qtbot.addWidget(again)
    again.show()
    again.show_page(again.label_page)
    resume = again.label_page.continue_button
    assert resume.isVisible() and resume.text() == f"Continue labeling {path.name}"
    again.label_page.model = str(tiny_model)
    resume.click()
    wait_for(qtbot, lambda: again.label_page.store is not None)
    assert len(again.label_page.store.labels) == 1 and again.label_page.store.categories == CATEGORIES
    assert not resume.isVisible()
    again.tasks.stop_all()
    again.shutdown()


def test_category_buttons_wrap_in_a_narrow_window_instead_of_scrolling_sideways(qtbot, window, unlabeled, tiny_model):
    path, _ = unlabeled
    page = window.label_page
    page.model = str(tiny_model)
    window.show_page(page)
    page.open_file(path)
    wait_for(qtbot, lambda: page.store is not None)
    page.set_categories(["account_access", "billing", "feature_request", "shipping", "technical_issue"])
    window.tasks.stop_all()
    window.resize(1280, 800)
    qtbot.wait(100)
    assert page._buttons_placed_per_row == 5
    window.resize(640, 600)  # 1024x700 at 200% leaves about this much to the page
    wait_for(qtbot, lambda: page._buttons_placed_per_row < 5)
    scroll = page.parentWidget().parentWidget()
    wait_for(qtbot, lambda: not scroll.horizontalScrollBar().isVisible(), 5)  # once the layout has settled
    right = max(b.mapTo(page, b.rect().topRight()).x() for b in page.category_buttons)
    assert right <= scroll.viewport().width()

"""The engine's learning methods, multi-label data and long documents as the GUI shows them: the method shown
before training is the one run.json records; a multi-label run and a single-label run each show their own
results on every page (never a stale number); a long text in Classify shows the passage that drove it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from PySide6.QtCore import Qt

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
    ready(qtbot, window, tiny_model, write_emotions(tmp_path / "emotions.csv", n=45))  # 15 per category: few-shot
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
    # Evaluate keeps the cross-validated score over every labeled text; it never re-scores a split the run
    # did not keep aside (that was one training text scored at 100%)
    ev = window.evaluate_page
    qtbot.wait(300)
    assert window.tasks.settled("evaluate") and ev.shown.metrics["n"] == record["final_metrics"]["n"] == 45
    assert record["final_metrics"]["evaluated_on"] == "cross-validation"
    assert "cross-check" in ev.headline.text() and "score lower" in ev.headline.text()
    assert "cross-validated" in ev.metrics_label.text()
    assert not ev.valid_button.isEnabled() and "no texts were kept aside" in ev.valid_button.toolTip()
    from PySide6.QtWidgets import QPushButton

    assert "Turn on class weights" not in [b.text() for b in ev.advice_box.findChildren(QPushButton)]  # few-shot has none
    # the Run library says it in words, and why in the tooltip
    runs = window.runs_page
    runs.refresh()
    row = next(i for i, r in enumerate(runs.runs) if Path(r.path) == Path(run))
    assert runs.table.item(row, 4).text() == "few examples"
    assert runs.table.item(row, 4).toolTip() == "Why: " + record["method_reason"]
    # a few-examples run cannot be shrunk: the button is off and its tooltip says why and what to do
    runs.table.selectRow(row)
    assert runs.export_button.isEnabled() and not runs.distill_button.isEnabled()
    assert "made from a few examples" in runs.distill_button.toolTip() and "full training" in runs.distill_button.toolTip()


def shown_labels(window) -> set[str]:
    ev = window.evaluate_page
    return {ev.per_class.item(r, 0).text() for r in range(ev.per_class.rowCount())}


def test_a_multi_label_run_and_a_single_label_run_each_show_their_own_results(qtbot, window, tiny_model, tmp_path):
    data, ev = window.data_page, window.evaluate_page
    ready(qtbot, window, tiny_model, write_multi_label(tmp_path / "topics.csv"))
    # Data: the file's joined labels are read as label sets, and the banner says so
    assert data.multi_label and data.multi_check.isChecked() and data.multi_banner.isVisibleTo(data)
    assert "Several labels per text" in data.multi_banner.text()
    assert window.session.data.multi_label and set(window.training_data().class_counts()) == set(TOPICS)
    # Model: the method is full training, because of the label sets
    method, _r, reasons = window.model_page.planned_method()
    assert method == "fine-tune" and "Several labels per text" in reasons["method"]["reason"]
    run_ml = train_and_wait_for_results(qtbot, window, timeout_s=240)
    assert json.loads((Path(run_ml) / "run.json").read_text())["problem_type"] == "multi_label_classification"
    # Evaluate: per label, with missed / added, and no table of answers
    assert ev.multi_label and shown_labels(window) == set(TOPICS)
    assert ev.per_class.horizontalHeaderItem(5).text() == "Missed" and ev.cm_box.isHidden()
    assert "All labels right" in ev.metrics_label.text()
    metrics = ev.shown.metrics
    assert metrics["problem_type"] == "multi_label_classification"
    label = next(iter(TOPICS))
    (_tn, fp), (fn, _tp) = metrics["label_confusion"][label]
    row = list(metrics["labels"]).index(label)
    assert ev.per_class.item(row, 5).text() == str(fn) and ev.per_class.item(row, 6).text() == str(fp)
    ev.show_label_cell(row, 5)
    assert ev.examples.model().rowCount() == fn and "missed" in ev.examples_title.text()
    assert ev.mistakes.model().rowCount() == len(ev.result.label_errors())
    # Classify: several labels, each with its own probability
    cl = window.classify_page
    cl.text.setPlainText(TOPICS["sport"] + " and " + TOPICS["money"])
    wait_for(qtbot, lambda: cl.last_result is not None, 30)
    assert cl.last_result["multi_label"] and set(cl.bars) == set(TOPICS)
    assert cl.answer.text().startswith(("Labels:", "<b>No label</b>")) and "per label" in cl.bars_box.title()
    assert all(l in TOPICS for l in cl.last_result["labels"])
    # Classify a file: several labels per row, and the summary says so
    cl.classify_path(str(tmp_path / "topics.csv"))
    wait_for(qtbot, lambda: window.session.current_predictions() is not None and window.tasks.settled("predict"), 60)
    assert "a text can get several" in cl.batch_label.text()
    header = [cl.preview.model().headerData(i, Qt.Horizontal) for i in range(cl.preview.model().columnCount())]
    assert header[0] == "Predicted labels" and "Predicted label" not in header

    runs = window.runs_page
    runs.refresh()
    row = next(i for i, r in enumerate(runs.runs) if Path(r.path) == Path(run_ml))
    assert runs.table.item(row, 4).text().startswith("full training · several labels")

    # untick: the same file read with one label per text; banner still offers the switch
    data.multi_check.setChecked(False)
    wait_for(qtbot, lambda: window.session.data is not None and not window.session.data.multi_label
             and window.tasks.settled("check"))
    assert data.multi_banner.isVisibleTo(data) and "Tick the box" in data.multi_banner.text()
    assert window.session.current_evaluation() is None and ev.shown is None  # the old numbers are gone at once

    # a single-label run on other data: every page shows it, never the multi-label numbers
    open_file(qtbot, window, write_emotions(tmp_path / "emotions.csv", n=120))
    window.model_page.set_method("fine-tune")
    assert not data.multi_label and not data.multi_banner.isVisibleTo(data)
    wait_for(qtbot, lambda: window.train_page.start_button.isEnabled(), 30)
    run_sl = train_and_wait_for_results(qtbot, window, timeout_s=240)
    assert run_sl != run_ml and not ev.multi_label and shown_labels(window) == set(EMOTIONS)
    assert ev.per_class.columnCount() == 5 and ev.per_class.horizontalHeaderItem(0).text() == "Class"
    assert not ev.cm_box.isHidden() and ev.confusion.rowCount() == 3 and "Accuracy" in ev.metrics_label.text()
    assert Path(run_sl).name in ev.run_label.text()
    wait_for(qtbot, lambda: cl.last_result is not None and set(cl.last_result["probabilities"]) == set(EMOTIONS), 30)
    assert not cl.last_result["multi_label"] and "per class" in cl.bars_box.title() and "Labels:" not in cl.answer.text()


def test_a_long_text_in_classify_shows_the_passage_that_drove_the_answer(qtbot, window, tiny_model, tmp_path):
    ready(qtbot, window, tiny_model, write_emotions(tmp_path / "emotions.csv", n=120), max_length=8)
    window.model_page.set_method("fine-tune")
    # Data: texts longer than the max length are said, with the way to read them whole
    data = window.data_page
    wait_for(qtbot, lambda: data.lengths is not None and "cut short" in data.length_label.text(), 60)
    assert "read in pieces" in data.length_label.text()
    page = window.model_page
    page.long_combo.setCurrentIndex(page.long_combo.findData("on"))
    assert window.session.long_documents == "on" and "overlapping pieces" in data.length_label.text()
    run = train_and_wait_for_results(qtbot, window, timeout_s=240)
    assert json.loads((Path(run) / "run.json").read_text())["long_documents"]["mode"] == "on"
    cl = window.classify_page
    filler = "the weather report said nothing at all about it " * 6
    text = filler + EMOTIONS["anger"] + " " + filler
    cl.text.setPlainText(text)
    wait_for(qtbot, lambda: cl.last_result is not None, 60)
    passages, driver = cl.last_result["passages"], cl.last_result["driver"]
    assert len(passages) > 1 and driver is not None and 0 <= driver < len(passages)
    assert cl.passage.isVisibleTo(cl) and f"Piece {driver + 1} drove the answer" in cl.passage.text()
    (selection,) = cl.text.extraSelections()
    assert selection.cursor.selectedText() == text[passages[driver]["start_char"]:passages[driver]["end_char"]]
    # a file of long texts: the summary says they were read whole, in pieces
    source = tmp_path / "long.csv"
    with source.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["text"]] + [[f"{filler} {words} {filler}"] for words in EMOTIONS.values()])
    cl.classify_path(str(source))
    wait_for(qtbot, lambda: window.session.current_predictions() is not None and window.tasks.settled("predict"), 60)
    assert f"{len(EMOTIONS)} texts were longer than the model reads at once" in cl.batch_label.text()
    assert "overlapping pieces" in cl.batch_label.text()
    # a short text: no passage
    cl.text.setPlainText("happy")
    wait_for(qtbot, lambda: cl.last_result is not None and not cl.last_result["passages"], 30)
    assert not cl.passage.isVisibleTo(cl) and not cl.text.extraSelections()

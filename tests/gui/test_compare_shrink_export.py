"""The trade-off in the app: compare candidates, shrink a run by distillation, export it, resume from the library."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt

from .conftest import wait_for
from .test_app import ready_to_train


def train_one(qtbot, window, tiny_model, **settings) -> str:
    ready_to_train(qtbot, window, tiny_model, **settings)
    page = window.train_page
    page.start()
    wait_for(qtbot, lambda: not page.is_training() and page.finished_run, 120)
    return page.finished_run


def select_run(window, path: str) -> None:
    page = window.runs_page
    page.refresh()
    row = next(i for i, r in enumerate(page.runs) if Path(r.path) == Path(path))
    page.table.selectRow(row)


def test_compare_two_settings_fills_leaderboard_scatter_and_recommendations(qtbot, window, tiny_model):
    ready_to_train(qtbot, window, tiny_model, batch_size=8)
    page = window.compare_page
    window.sidebar.setCurrentRow(window.pages.index(page))
    assert not page.start_button.isEnabled()  # nothing queued yet
    page.add_current()
    window.model_page.update_settings(learning_rate=1e-3)
    page.add_current()
    # named by what differs between them
    assert page.queue.count() == 2 and "learning speed 0.001" in page.queue.item(1).text()
    assert "automatic learning speed" in page.queue.item(0).text()
    assert page.start_button.isEnabled()
    qtbot.mouseClick(page.start_button, Qt.LeftButton)
    assert page.is_running() and not window.train_page.start_button.isEnabled()
    wait_for(qtbot, lambda: not page.is_running() and page.status.text().startswith("Finished"), 240)

    assert page.table.rowCount() == 4  # two candidates, fp32 and int8 each
    variants = sorted(page.table.item(r, 1).text() for r in range(4))
    assert variants == ["as trained", "as trained", "compressed", "compressed"]
    for item in page.points.values():
        assert len(item.data) == 2
    assert len(page.point_labels) == 4
    assert "Most accurate" in page.recommendation.text() and "Fastest within 1 point" in page.recommendation.text()
    assert page.charts.series["loss"].n > 0 and page.charts.counts["eval"] >= 1
    board = json.loads((Path(page.out_dir) / "leaderboard.json").read_text())
    assert board["status"] == "finished" and len(board["rows"]) == 4
    # both runs are in the library and can be opened like any other run
    window.runs_page.refresh()
    names = [r.name for r in window.runs_page.runs]
    assert sum(Path(page.out_dir).name in n for n in names) == 2


def test_shrink_and_export_a_run_from_the_library(qtbot, window, tiny_model, tmp_path):
    teacher = train_one(qtbot, window, tiny_model, batch_size=8)
    runs = window.runs_page
    window.sidebar.setCurrentRow(window.pages.index(runs))
    select_run(window, teacher)
    assert runs.distill_button.isEnabled() and runs.export_button.isEnabled()

    # before it starts: speed and size measured now on the user's texts; accuracy unknown (no shrink yet)
    runs.estimate_selected()
    wait_for(qtbot, lambda: window.session.current_shrink_estimate(teacher) is not None and window.tasks.settled("estimate"), 120)
    estimate = window.session.current_shrink_estimate(teacher)
    assert sorted(estimate["options"]) == [1, 2, 3] and estimate["teacher"]["layers"] == 4
    assert estimate["options"][1]["size_mb"] < estimate["options"][3]["size_mb"] < estimate["teacher"]["size_mb"]
    words = runs.expectation(teacher, 2)
    assert "times as fast on this computer's CPU (measured now on" in words and "texts per second" in words
    assert "Accuracy: not known yet" in words
    # the dialog says it, and follows the number of layers chosen
    dialog, layers, _, show = runs.distill_dialog(runs.selected())
    dialog.show()
    assert runs.expectation(teacher, 2) in dialog.expect_label.text()
    layers.setValue(1)
    assert runs.expectation(teacher, 1) in dialog.expect_label.text() and runs.expectation(teacher, 1) != words
    window.session_signals.changed.disconnect(show)
    dialog.close()

    runs.distill_selected(layers=2, epochs=1.0)
    assert runs.busy() and not runs.distill_button.isEnabled()
    wait_for(qtbot, lambda: runs.last_summary is not None and window.tasks.settled("distill"), 180)
    d = runs.last_summary
    assert d["student_layers"] == 2 and d["teacher_layers"] == 4
    assert "right, the original" in runs.status.text() and "times as fast" in runs.status.text()
    # the buttons are back to idle at once (they stuck until another row was selected)
    assert runs.distill_button.isEnabled() and runs.export_button.isEnabled() and not runs.cancel_button.isVisible()
    student = next(r for r in runs.runs if r.name.endswith("-2layers"))
    assert (Path(student.path) / "model" / "config.json").is_file()
    # the next estimate for this run takes its accuracy from the shrink just measured
    select_run(window, teacher)
    runs.estimate_selected()
    wait_for(qtbot, lambda: window.session.current_shrink_estimate(teacher) is not None and window.tasks.settled("estimate"), 120)
    words = runs.expectation(teacher, 2)
    assert "an earlier shrink of this model to 2 layers got " in words and f"{abs(d['student_accuracy'] - d['teacher_accuracy']) * 100:.1f} points" in words
    assert "not known yet" in runs.expectation(teacher, 1)  # keeping 1 of 4 is unlike the 2 of 4 measured

    select_run(window, teacher)
    out = tmp_path / "exported-onnx"
    runs.export_selected("onnx", str(out))
    wait_for(qtbot, lambda: runs.last_summary is not None and runs.last_summary.get("format") == "onnx"
             and window.tasks.settled("export"), 180)
    assert (out / "README.md").is_file() and (out / "predict.py").is_file()
    assert any(p.suffix == ".onnx" for p in out.iterdir())
    assert "Exported to" in runs.status.text() and "same answers" in runs.status.text()
    assert runs.distill_button.isEnabled() and runs.export_button.isEnabled() and not runs.cancel_button.isVisible()


def test_resume_an_interrupted_run_from_the_library(qtbot, window, tiny_model):
    ready_to_train(qtbot, window, tiny_model, epochs=2.0, batch_size=4)
    train = window.train_page
    train.start()
    wait_for(qtbot, lambda: train.counts["step"] > 0, 60)
    train.cancel()
    wait_for(qtbot, lambda: not train.is_training(), 60)
    interrupted = train.resumable_run
    train.resumable_run = None  # as after a restart of the app: only the library knows
    runs = window.runs_page
    select_run(window, interrupted)
    assert "can resume" in runs.table.item(runs.table.currentRow(), 1).text()
    assert runs.resume_button.isEnabled() and not runs.open_button.isEnabled()
    qtbot.mouseClick(runs.resume_button, Qt.LeftButton)
    assert window.sidebar.currentRow() == window.pages.index(train) and train.is_training()
    wait_for(qtbot, lambda: not train.is_training(), 120)
    assert train.finished_run == interrupted


def test_try_these_models_and_text_lengths_in_one_step_results_carry_run_and_data(qtbot, window, tiny_model, tmp_path):
    import csv

    from tiny_models import build_tiny_model

    from desktop_app.core.resources import sample_training_file

    from .test_app import open_file

    other = build_tiny_model("distilbert", tmp_path / "tiny-distilbert")
    ready_to_train(qtbot, window, tiny_model, batch_size=8)
    window.model_page.select_model(str(other))  # a folder the user added
    wait_for(qtbot, lambda: window.compare_page.try_models.count() >= 2 and window.tasks.settled("models"), 60)
    window.model_page.select_model(str(tiny_model))
    wait_for(qtbot, lambda: window.data_page.lengths is not None and window.tasks.settled("lengths"), 60)
    page = window.compare_page
    window.sidebar.setCurrentRow(window.pages.index(page))

    # shorter or longer texts: lengths chosen from the user's texts, each named by its length
    choices = page.length_choices()
    assert len(choices) >= 2 and all(n >= 16 for n, _ in choices)
    assert "tokens" in page.try_lengths_label.text() and page.try_lengths_button.isEnabled()
    qtbot.mouseClick(page.try_lengths_button, Qt.LeftButton)
    labels = [c["label"] for c in page.candidates]
    assert len(labels) == len(choices) and all(f"texts cut at {n} tokens" in l for l, (n, _) in zip(labels, choices))
    # shorter or longer training, in one step too
    qtbot.mouseClick(page.try_training_button, Qt.LeftButton)
    added = [c["label"] for c in page.candidates[len(choices):]]
    assert len(added) == 3 and ", 1 pass" in added[0] and ", 3 passes" in added[1] and ", 6 passes" in added[2]
    page.queue.selectAll()
    page.remove_selected()
    assert not page.candidates and not page.start_button.isEnabled()

    # try these models: tick two, one click adds both, named by model (what differs)
    assert not page.try_models_button.isEnabled()
    page.tick_models([str(tiny_model), str(other)])
    qtbot.mouseClick(page.try_models_button, Qt.LeftButton)
    assert len(page.candidates) == 2 and page.candidates[0]["label"] != page.candidates[1]["label"]
    assert all("(waiting)" in page.queue.item(i).text() for i in range(2))
    qtbot.mouseClick(page.start_button, Qt.LeftButton)
    wait_for(qtbot, lambda: not page.is_running() and page.status.text().startswith("Finished"), 300)

    comparison = window.session.current_comparison()
    assert comparison.status == "finished" and comparison.data_fingerprint == window.session.data.fingerprint
    assert len(page.rows) == 4 and {Path(r["run_dir"]).parent for r in page.rows} == {Path(page.out_dir)}
    assert all("done:" in page.queue.item(i).text() and "right" in page.queue.item(i).text() for i in range(2))
    n_valid = page.rows[0]["n_valid"]
    assert f"scored on the same {n_valid} validation texts" in page.provenance.text()
    assert "support_tickets.csv" in page.provenance.text() and page.out_dir in page.provenance.text()
    tip = page.table.item(0, 2).toolTip()
    assert page.rows[0]["run_dir"] in tip and "support_tickets.csv" in tip
    labels = {page.candidates[0]["label"], page.candidates[1]["label"]}
    assert {page.table.item(r, 0).text() for r in range(4)} == labels

    # other data: the comparison of the first data is never shown as if it were about this one
    rows = list(csv.DictReader(sample_training_file().open(encoding="utf-8")))[:200]
    b = tmp_path / "b.csv"
    with b.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["text", "label"])
        w.writeheader()
        w.writerows(rows)
    open_file(qtbot, window, b)
    assert window.session.current_comparison() is None and page.rows == [] and page.table.rowCount() == 0
    assert page.provenance.text() == "" and "Results appear here" in page.recommendation.text()

"""The Qt-free session model: results carry their run and data, changes drop stale results and notify;
results in words; interrupted runs; job states with an honest time left."""

from __future__ import annotations

import json
from pathlib import Path

from desktop_app.core.data import LabeledData
from desktop_app.core.jobs import JobState, duration_in_words, progress_text
from desktop_app.core.session import (DATA, EVALUATION, LENGTHS, TokenLengths, PREDICTIONS, RUN, Evaluation, OpenData, Predictions, Session,
                                      find_interrupted_runs, percent, plural, record_evaluation, run_id_of, summarize)


class Report:
    can_train = True


def open_data(fingerprint: str, path: str = "a.csv") -> OpenData:
    data = LabeledData(["x", "y"], ["a", "b"], [2, 3], path)
    return OpenData(data, Report(), path, fingerprint, 2)


def metrics(labels, matrix) -> dict:
    per_class = {}
    for i, label in enumerate(labels):
        support = sum(matrix[i])
        found = matrix[i][i]
        chosen = sum(row[i] for row in matrix)
        per_class[label] = {"precision": found / chosen if chosen else 0.0, "recall": found / support if support else 0.0,
                            "f1": 0.0, "support": support}
    n = sum(map(sum, matrix))
    return {"accuracy": sum(matrix[i][i] for i in range(len(labels))) / n, "macro_f1": 0.5, "labels": labels,
            "per_class": per_class, "confusion_matrix": matrix, "n": n}


def test_results_carry_their_run_and_data_and_changes_drop_stale_ones(tmp_path):
    s = Session()
    seen: list[str] = []
    unsubscribe = s.subscribe(seen.append)
    s.set_data(open_data("A"))
    s.set_run(tmp_path / "run-a")
    m = metrics(["a", "b"], [[1, 0], [0, 1]])
    assert s.set_evaluation(Evaluation(s.run_id, "A", "validation", m))
    assert s.set_predictions(Predictions(s.run_id, "in.csv", "out.csv", 2, {"a": 1, "b": 1}))
    assert s.current_evaluation() is not None and s.current_predictions() is not None
    assert seen == [DATA, RUN, EVALUATION, PREDICTIONS]

    # new data: the evaluation of A's validation part goes; the predictions (of A's run, on a file) stay
    seen.clear()
    s.set_data(open_data("B", "b.csv"))
    assert s.current_evaluation() is None and s.evaluation is None
    assert s.current_predictions() is not None
    assert seen == [EVALUATION, DATA]

    # a result that finishes after the user moved on is never kept
    late = Evaluation(s.run_id, "A", "validation", m)
    assert not s.set_evaluation(late) and s.evaluation is None

    # a new run: everything of the old run goes
    seen.clear()
    s.set_run(tmp_path / "run-b")
    assert s.predictions is None and seen == [PREDICTIONS, RUN]
    old = Predictions(run_id_of(tmp_path / "run-a"), "in.csv", "out.csv", 2, {})
    assert not s.set_predictions(old)
    # the same run opened again (another spelling of its path) keeps its results
    assert s.set_predictions(Predictions(s.run_id, "in.csv", "out.csv", 2, {}))
    s.set_run(str(tmp_path / "x" / ".." / "run-b"))
    assert s.current_predictions() is not None
    # an evaluation on a labeled file does not depend on the open data
    assert s.set_evaluation(Evaluation(s.run_id, "", str(tmp_path / "test.csv"), m))
    s.set_data(open_data("C"))
    assert s.current_evaluation() is not None
    unsubscribe()
    n = len(seen)
    s.set_data(None)
    assert len(seen) == n  # no more notices after unsubscribing
    assert s.training_data() is None


def test_a_broken_observer_does_not_stop_the_others():
    s = Session()
    got = []
    s.subscribe(lambda change: 1 / 0)
    s.subscribe(got.append)
    s.set_model("m")
    assert got == ["model"]


def test_summary_in_words_with_advice():
    m = metrics(["joy", "anger", "optimism"], [[50, 5, 0], [10, 40, 0], [20, 3, 0]])
    summary = summarize(m, "validation", history=[{"epoch": 0.49, "accuracy": 0.7}],
                        class_counts={"joy": 500, "anger": 400, "optimism": 104})
    assert summary.headline == f"{percent(90 / 128)} of the validation texts were right (128 texts)."
    assert "Most common mistake: 20 optimism texts taken for joy." in summary.details
    texts = " ".join(a.text for a in summary.advice)
    assert "never answered “optimism”," in texts
    assert "49% of the training texts once" in texts
    assert {a.action for a in summary.advice} >= {"class_weights", "train_longer"}
    still = summarize(metrics(["a", "b"], [[9, 1], [1, 9]]), history=[{"epoch": 1, "accuracy": 0.7}, {"epoch": 2, "accuracy": 0.8}],
                      class_counts={"a": 5, "b": 100})
    assert any("still improving" in a.text for a in still.advice)
    assert any("only 5 training examples" in a.text for a in still.advice)
    assert summarize(metrics(["a", "b"], [[3, 0], [0, 2]]), "/x/test.csv").headline == "100% of the texts in test.csv were right (5 texts)."


def test_a_few_shot_record_is_said_to_be_cross_validated_and_never_advises_class_weights():
    m = {**metrics(["joy", "anger", "optimism"], [[5, 1, 0], [1, 4, 0], [2, 1, 0]]), "evaluated_on": "cross-validation"}
    summary = summarize(m, "record", class_counts={"joy": 6, "anger": 5, "optimism": 3})
    assert summary.headline.startswith(f"{percent(9 / 14)} of the 14 labeled texts were right in a cross-check")
    assert "New texts usually score lower" in summary.headline  # the text model learned from all of them
    assert "class_weights" not in {a.action for a in summary.advice}
    assert any("Label more examples" in a.text and "optimism" in a.text for a in summary.advice)


def test_numbers_for_people():
    assert percent(0.92) == "92%" and percent(1) == "100%"
    assert percent(0.002) == "0.2%" and percent(0.0004) == "under 0.1%" and percent(0) == "0%"
    assert plural(1, "minute") == "1 minute" and plural(2, "warning") == "2 warnings" and plural(3232, "row") == "3,232 rows"
    assert plural(1, "class", "classes") == "1 class" and plural(4, "class", "classes") == "4 classes"
    assert duration_in_words(61) == "1 minute" and duration_in_words(3 * 3600 + 120) == "3 hours 2 minutes"


def write_run(folder: Path, status: str, checkpoint: bool, created: str = "2026-01-01T10:00:00") -> Path:
    folder.mkdir(parents=True)
    m = metrics(["a", "b"], [[3, 1], [0, 4]])
    (folder / "run.json").write_text(json.dumps({
        "status": status, "created": created, "model": {"name": "tiny"}, "labels": ["a", "b"],
        "final_metrics": m if status == "finished" else {}, "data": {"source": "a.csv", "fingerprint_all": "F",
                                                                      "class_counts": {"a": 40, "b": 40}},
        "history": [{"epoch": 1.0, "accuracy": 0.8}], "settings": {"epochs": 3.0}}))
    if checkpoint:
        (folder / "checkpoint").mkdir()
    return folder


def test_interrupted_runs_are_found_and_a_finished_run_has_its_results(tmp_path):
    write_run(tmp_path / "done", "finished", False)
    killed = write_run(tmp_path / "killed", "running", True, "2026-01-02T10:00:00")
    cancelled = write_run(tmp_path / "cancelled", "cancelled", True, "2026-01-01T11:00:00")
    # killed before its first checkpoint: resumable too (it starts again with its recorded settings)
    early = write_run(tmp_path / "early", "running", False)
    assert [Path(r.path).name for r in find_interrupted_runs(tmp_path)] == [killed.name, cancelled.name, early.name]
    assert find_interrupted_runs(tmp_path / "missing") == []
    record = record_evaluation(tmp_path / "done")
    assert record is not None and record.on == "record" and record.metrics["accuracy"] == 7 / 8
    assert record.class_counts == {"a": 40, "b": 40} and record.planned_epochs == 3.0
    assert record_evaluation(killed) is None


def test_job_time_left_is_measured_never_guessed():
    job = JobState("predict", description="Classifying big.csv", started=0.0)
    job.progress(0, 1000, "0 documents classified")
    assert job.eta_s() is None and "estimating the time left" in progress_text(job)  # no rate measured yet
    job._first = (0.0, 0)
    job.progress(100, 1000)
    assert abs(job.eta_s(now=2.0) - 18.0) < 1e-6  # 100 in 2 s: 900 more take 18 s
    budget = JobState("train", started=0.0, budget_s=120.0)
    budget._first = (0.0, 0)
    budget.progress(1, 1365, eta_s=4860)  # the engine's first plan: 1 h 21 min on a 2-minute budget
    assert budget.eta_s(now=5.0) <= 115.0  # never more than the time budget left
    unknown = JobState("load")
    assert unknown.fraction is None and progress_text(unknown) == "Opening the file"
    job.cancel_requested()
    assert job.status == "cancelling" and progress_text(job) == "Stopping after the current step…"


def test_token_lengths_belong_to_the_open_data_and_the_chosen_model():
    s = Session()
    seen: list[str] = []
    s.subscribe(seen.append)
    s.set_data(open_data("A"))
    s.set_model("m1")
    assert not s.set_lengths(TokenLengths("m1", "B", (3, 4)))  # measured for other data: refused
    assert not s.set_lengths(TokenLengths("m2", "A", (3, 4)))  # another model's tokenizer: refused
    assert s.set_lengths(TokenLengths("m1", "A", (3, 4))) and s.current_lengths().lengths == (3, 4)
    assert seen[-1] == LENGTHS
    s.set_model("m2")
    assert s.current_lengths() is None and s.lengths is None
    s.set_model("m1")
    s.set_lengths(TokenLengths("m1", "A", (3, 4)))
    s.set_data(open_data("B"))
    assert s.current_lengths() is None


def test_predictions_say_in_words_what_was_done_with_several_labels_and_long_texts():
    from desktop_app.core.session import Predictions

    single = Predictions.from_result("r", "in.csv", {"out": "o.csv", "rows": 3, "counts": {"a": 2, "b": 1}})
    assert single.in_words() == "3 texts classified (a: 2, b: 1)."
    multi = Predictions.from_result("r", "in.csv", {
        "out": "o.csv", "rows": 4, "counts": {"a": 3, "b": 2}, "multi_label": True, "no_label": 1,
        "long_documents": {"mode": "on", "window": 128, "longer_than_window": 2, "combine": "mean"}})
    words = multi.in_words()
    assert "Labels given (a: 3, b: 2); a text can get several, and 1 text got none." in words
    assert "2 texts were longer than the model reads at once (128 tokens): read whole" in words
    cut = Predictions.from_result("r", "in.csv", {"out": "o.csv", "rows": 1, "counts": {"a": 1},
                                                  "long_documents": {"mode": "off", "window": 64, "longer_than_window": 1}})
    assert "1 text was longer than 64 tokens: only the start of it was read" in cut.in_words()

"""Compare and Shrink for people (no Qt): candidates named by what differs, text lengths worth trying,
the plan check before training, and where a shrink's accuracy estimate comes from."""

from __future__ import annotations

from pathlib import Path

from desktop_app.core.compare import _accuracy_basis, describe_candidates, length_choices
from desktop_app.core.session import check_plan, minutes_for, planned_passes
from desktop_app.core.settings import TrainSettings


def test_candidates_are_named_by_what_differs():
    labels = describe_candidates([("m", "MiniLM", TrainSettings()), ("b", "BERT base", TrainSettings()),
                                  ("m", "MiniLM", TrainSettings(max_length=64)), ("m", "MiniLM", TrainSettings(epochs=1.0))])
    assert labels == ["MiniLM, automatic text length, automatic training length",
                      "BERT base, automatic text length, automatic training length",
                      "MiniLM, texts cut at 64 tokens, automatic training length",
                      "MiniLM, automatic text length, 1 pass"]
    assert describe_candidates([("m", "MiniLM", None), ("m", "MiniLM", None)]) == ["MiniLM", "MiniLM (2)"]


def test_text_lengths_worth_trying_come_from_the_texts():
    lengths = [10] * 50 + [30] * 40 + [100] * 10
    choices = length_choices(lengths, 512)
    assert [n for n, _ in choices] == sorted({n for n, _ in choices}) and len(choices) >= 2
    assert choices[0][1] > choices[-1][1] >= 0  # shorter cuts more texts
    assert all(n % 8 == 0 and 16 <= n <= 512 for n, _ in choices)
    assert len(length_choices([400] * 20, 64)) == 2  # every text longer than the model reads: half as long too


def test_the_plan_check_says_under_one_pass_and_a_rare_class_with_their_fixes():
    s = TrainSettings(time_budget_min=2.0, epochs=15.0, class_weights=False)
    counts = {"joy": 1200, "anger": 900, "sadness": 700, "optimism": 250}
    advice = check_plan(s, 2909, 323, counts, 12.0, "Quick")
    budget = next(a for a in advice if a.action == "budget")
    assert "“Quick” (about 2 minutes)" in budget.text and "of your 2,909 training texts once" in budget.text
    passes = planned_passes(2.0, 2909, 323, 12.0, 15.0)
    assert passes < 1 and f"about {round(passes * 100)}%" in budget.text
    assert planned_passes(budget.value, 2909, 323, 12.0, 15.0) >= 2  # the offered limit reads every text twice
    assert minutes_for(2, 2909, 323, 12.0) == budget.value
    rare = next(a for a in advice if a.action == "class_weights")
    assert "“optimism” has 4.8 times fewer training examples than “joy”" in rare.text
    # fast enough, weights on: no fix to offer, the rare class is still named
    calm = check_plan(TrainSettings(time_budget_min=10.0, epochs=15.0, class_weights=True), 2909, 323, counts, 500.0)
    assert [a.action for a in calm] == [""] and "Class weights are on" in calm[0].text
    assert check_plan(TrainSettings(), 100, 10, {"a": 50, "b": 50}, None) == []


def test_a_shrinks_accuracy_estimate_names_its_source(tmp_path):
    teacher = tmp_path / "teacher"
    same = {"teacher_run_dir": str(teacher), "teacher_layers": 6, "student_layers": 3,
            "teacher_accuracy": 0.90, "student_accuracy": 0.87}
    other = {"teacher_run_dir": str(tmp_path / "other"), "teacher_layers": 12, "student_layers": 6,
             "teacher_accuracy": 0.80, "student_accuracy": 0.79}
    change, basis = _accuracy_basis(teacher, 6, 3, [other, same])
    assert abs(change + 0.03) < 1e-9 and "an earlier shrink of this model to 3 layers got 87% right" in basis
    change, basis = _accuracy_basis(Path(tmp_path / "new"), 6, 3, [other, same])
    assert abs(change + 0.02) < 1e-9 and "2 earlier shrinks on this computer" in basis
    change, basis = _accuracy_basis(Path(tmp_path / "new"), 6, 1, [other, same])
    assert change is None and "no shrink like this was measured" in basis

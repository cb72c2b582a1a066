"""The settings policy on synthetic cases: what a user gets when they change nothing."""

from __future__ import annotations

from desktop_app.core.defaults import PRESETS, Facts, apply_preset, plan
from desktop_app.core.settings import TrainSettings


def facts(n=9000, classes=77, lengths=None, params=22.7e6, counts=None, **kw):
    counts = counts or {f"c{i}": n // classes for i in range(classes)}
    return Facts(n_train=n, class_counts=counts, token_lengths=lengths or [16] * 990 + [60] * 10,
                 model_parameters=params, model_max_length=512, **kw)


def test_small_model_many_classes_gets_a_high_rate_and_a_faster_head():
    s, why = plan(TrainSettings(), facts())
    assert s.learning_rate == 2e-4 and s.head_learning_rate >= 1e-3
    assert s.batch_size == 32 and 5 <= s.epochs <= 7
    assert "optimizer steps" in why["epochs"]["reason"]


def test_base_and_large_models_get_gentler_rates():
    assert plan(TrainSettings(), facts(params=110e6))[0].learning_rate == 5e-5
    assert plan(TrainSettings(), facts(params=355e6))[0].learning_rate == 2e-5


def test_max_length_follows_the_token_lengths_not_a_fixed_512():
    short, why = plan(TrainSettings(), facts(lengths=[20] * 1000))
    assert short.max_length == 24 and "99%" in why["max_length"]["reason"]
    long, _ = plan(TrainSettings(), facts(lengths=list(range(100, 1100))))
    assert long.max_length == 512  # capped by the model


def test_tiny_data_gets_more_epochs_and_large_data_fewer():
    assert plan(TrainSettings(), facts(n=200, classes=5))[0].epochs == 15
    assert plan(TrainSettings(), facts(n=500_000, classes=5))[0].epochs == 3


def test_imbalance_turns_on_class_weights():
    s, why = plan(TrainSettings(), facts(n=1000, classes=2, counts={"ham": 870, "spam": 130}))
    assert s.class_weights is True and "imbalanced" in why["class_weights"]["reason"]
    assert plan(TrainSettings(), facts(n=1000, classes=2, counts={"a": 500, "b": 500}))[0].class_weights is False


def test_explicit_settings_win_and_are_marked():
    s, why = plan(TrainSettings(learning_rate=1e-5, epochs=1, max_length=100), facts())
    assert (s.learning_rate, s.epochs, s.max_length) == (1e-5, 1, 100)
    assert why["learning_rate"]["reason"] == "set by you"


def test_budget_is_explained_and_presets_set_budgets():
    s, why = plan(TrainSettings(time_budget_min=5), facts())
    assert "time budget" in why["epochs"]["reason"]
    quick = apply_preset(TrainSettings(), "quick")
    assert quick.time_budget_min == PRESETS["quick"].time_budget_min and PRESETS["best"].time_budget_min is None

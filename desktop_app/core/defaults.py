"""Settings chosen from the data and the hardware, each with a reason a person can read.

Anything the user sets explicitly wins. The policy encodes what an expert does by hand:
a learning rate by model size (small models want much larger rates than the textbook 5e-5),
a faster-learning new classification head, epochs by data size, a max length from the
token-length distribution rather than a fixed 128 or 512, class weights for imbalance,
and early stopping on validation macro-F1 that keeps the best checkpoint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from .settings import TrainSettings

TARGET_STEPS = 1500  # optimizer steps an expert would give a fine-tune on a small dataset
MIN_EPOCHS, MAX_EPOCHS = 3, 15
LENGTH_PERCENTILE = 99


@dataclass(frozen=True)
class Facts:
    n_train: int
    class_counts: dict[str, int]
    token_lengths: Sequence[int]
    model_parameters: int | None
    model_max_length: int
    device_type: str = "cpu"
    gpu_memory_gb: float | None = None

    @property
    def n_classes(self) -> int:
        return len(self.class_counts)


@dataclass(frozen=True)
class Preset:
    key: str
    title: str
    time_budget_min: float | None
    patience: int
    description: str


PRESETS = {
    "quick": Preset("quick", "Quick", 2.0, 1, "About 2 minutes: a first look at how well the model can learn your labels."),
    "balanced": Preset("balanced", "Balanced", 10.0, 2, "About 10 minutes: close to the best result on most datasets of a few thousand rows."),
    "best": Preset("best", "Best accuracy", None, 3, "No time limit: trains until the score on the held-back texts stops getting better (3 passes in a row)."),
}


METHODS = ("auto", "zero-shot", "few-shot", "fine-tune")  # how training learns (core/methods.py)

def apply_preset(settings: TrainSettings, key: str) -> TrainSettings:
    preset = PRESETS[key]
    return replace(settings, time_budget_min=preset.time_budget_min, early_stopping_patience=preset.patience)


def learning_rate_for(parameters: int | None, n_classes: int) -> tuple[float, str]:
    millions = (parameters or 110e6) / 1e6
    if millions <= 40:
        lr, why = 2e-4, f"small model ({millions:.0f}M parameters) learns best with a high rate"
    elif millions <= 80:
        lr, why = 1e-4, f"compact model ({millions:.0f}M parameters)"
    elif millions <= 200:
        lr, why = 5e-5, f"base-size model ({millions:.0f}M parameters)"
    else:
        lr, why = 2e-5, f"large model ({millions:.0f}M parameters) needs a gentle rate"
    return lr, why


def max_length_for(lengths: Sequence[int], model_max: int) -> tuple[int, str]:
    if not len(lengths):
        return min(128, model_max), "no texts measured; a common default"
    pct = float(np.percentile(np.asarray(lengths), LENGTH_PERCENTILE))
    chosen = int(min(model_max, max(16, 8 * math.ceil(pct / 8))))
    truncated = float(np.mean(np.asarray(lengths) > chosen))
    return chosen, f"{LENGTH_PERCENTILE}% of training texts fit in {int(pct)} tokens; {truncated:.1%} will be truncated"


def batch_size_for(facts: Facts) -> tuple[int, str]:
    millions = (facts.model_parameters or 110e6) / 1e6
    if facts.device_type == "cuda" and facts.gpu_memory_gb is not None and facts.gpu_memory_gb < 8 and millions > 200:
        return 8, f"large model on a {facts.gpu_memory_gb:.0f} GB GPU"
    if millions > 300 and facts.device_type != "cuda":
        return 16, "large model on the CPU: smaller batches keep memory in check"
    return 32, ("more optimizer steps than larger batches on small data; whether 32 fit in memory at once is measured "
                "on the model before training starts (if not, smaller micro-batches are added up to 32)")


def epochs_for(n_train: int, batch_size: int) -> tuple[float, str]:
    steps_per_epoch = max(1, math.ceil(n_train / batch_size))
    epochs = min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(TARGET_STEPS / steps_per_epoch)))
    return float(epochs), f"about {TARGET_STEPS} optimizer steps for {n_train} training rows (early stopping may end sooner)"


def _chooser(settings: TrainSettings):
    """(resolved, reasons, choose): ``choose(name, value, reason)`` fills a setting the user left unset and
    records why; a setting the user set stays, with the reason "set by you"."""
    resolved = replace(settings)
    reasons: dict[str, dict] = {}

    def choose(name: str, value, reason: str) -> None:
        if getattr(settings, name) is None:
            setattr(resolved, name, value)
            reasons[name] = {"value": value, "reason": reason}
        else:
            reasons[name] = {"value": getattr(settings, name), "reason": "set by you"}

    return resolved, reasons, choose


def plan(settings: TrainSettings, facts: Facts) -> tuple[TrainSettings, dict[str, dict]]:
    """Fill every unset setting; returns the resolved settings and {name: {value, reason}}."""
    explicit = settings.explicit()
    resolved, reasons, choose = _chooser(settings)

    bs, why = batch_size_for(facts)
    choose("batch_size", bs, why)
    lr, why = learning_rate_for(facts.model_parameters, facts.n_classes)
    choose("learning_rate", lr, why)
    head = max(resolved.learning_rate * 5, 1e-3) if facts.n_classes >= 20 else resolved.learning_rate * 5
    choose("head_learning_rate", head, "the new classification head starts from random weights: 5x the body's rate"
           + (f" (at least 1e-3 for {facts.n_classes} classes)" if facts.n_classes >= 20 else ""))
    ml, why = max_length_for(facts.token_lengths, facts.model_max_length)
    choose("max_length", ml, why)
    ep, why = epochs_for(facts.n_train, resolved.batch_size)
    if settings.time_budget_min:
        why = f"at most {int(ep)}; the time budget of {settings.time_budget_min:g} minutes plans the exact number after the first steps"
    choose("epochs", ep, why)
    choose("warmup", 0.06, "6% of steps: a short warm-up protects the pretrained weights")
    patience = 2 if resolved.epochs <= 8 else 3
    choose("early_stopping_patience", patience, f"stop once {patience} epochs in a row gain less than half a point of validation {settings.metric} (converged)")
    counts = list(facts.class_counts.values()) or [1]
    ratio = max(counts) / max(1, min(counts))
    choose("class_weights", ratio >= 6, f"largest/smallest class ratio is {ratio:.1f}" + (" (imbalanced: weighted loss)" if ratio >= 6 else ""))
    for name in explicit:
        reasons.setdefault(name, {"value": getattr(settings, name), "reason": "set by you"})
    return resolved, reasons


def why_not_shrinkable(method: str | None) -> str | None:
    """Why a run made with ``method`` cannot be shrunk, in plain words; None when it can."""
    if method in ("few-shot", "zero-shot"):
        how = "from a few examples" if method == "few-shot" else "from category names only"
        return (f"This model was made {how}: it is a sentence model with a separate scoring step, and shrinking "
                f"works on fully trained models. With more labels (above {FEW_SHOT_UP_TO} per category), train it again "
                "with full training, then shrink that.")
    return None



# -- the method: zero-shot, few-shot or fine-tune -----------------------------------------------

# The crossover, per category: few-shot up to this many labeled examples (median per category), full
# fine-tuning above. Measured on banking77, all 3,080 test rows (benchmarks/bench_method_crossover.py,
# docs/FEW_LABELS.md): few-shot leads full fine-tuning by 5.4 points at 8 per category, 1.3 at 16 and 1.6
# at 32, and trails by 0.2 at 64 (a tie, in a ninth of the time); 32 is the last measured count where it wins.
FEW_SHOT_UP_TO = 32
FEW_SHOT_PAIR_STEPS = 200  # contrastive optimizer steps to aim for (each: 16 texts, 120 pairs)
FEW_SHOT_MAX_EPOCHS = 8
FEW_SHOT_CV_FOLDS = 5


def choose_method(class_counts: dict[str, int]) -> tuple[str, str]:
    """(method, reason): "zero-shot", "few-shot" or "fine-tune", with a sentence saying why."""
    counts = [int(n) for n in class_counts.values()]
    if not counts or sum(counts) == 0:
        return "zero-shot", "No labeled examples yet: the categories are recognised from their names alone (zero-shot)."
    typical = int(np.median(counts))
    if typical <= FEW_SHOT_UP_TO:
        return "few-shot", (f"About {typical} labeled examples per category: few-shot training (contrastive, SetFit-style) "
                            "learns more from this few labels than full fine-tuning, and faster (measured: +5 points at "
                            f"8 per category, +1 to +2 at 16 and 32); it is used up to {FEW_SHOT_UP_TO} per category.")
    return "fine-tune", (f"About {typical} labeled examples per category: above {FEW_SHOT_UP_TO} per category, "
                         "full fine-tuning is as accurate or better (measured: few-shot's lead of 5 points at 8 per "
                         "category is gone by 64).")


def few_shot_plan(settings: TrainSettings, facts: Facts) -> tuple[TrainSettings, dict]:
    """Few-shot's own choices for the unset settings, each with its reason (like defaults.plan)."""
    resolved, reasons, choose = _chooser(settings)

    choose("batch_size", 16, "8 categories x 2 texts per batch: every batch holds same-category pairs (120 pairs per batch)")
    choose("learning_rate", 5e-5, "contrastive fine-tuning of a pretrained sentence model: a gentle rate keeps what it knows")
    choose("head_learning_rate", resolved.learning_rate, "no new layer is trained by gradient: the head is fitted after each epoch")
    ml, why = max_length_for(facts.token_lengths, min(facts.model_max_length, 256))
    choose("max_length", ml, why)
    steps_per_epoch = max(1, math.ceil(facts.n_train / resolved.batch_size))
    epochs = float(min(FEW_SHOT_MAX_EPOCHS, max(1, math.ceil(FEW_SHOT_PAIR_STEPS / steps_per_epoch))))
    why = f"about {FEW_SHOT_PAIR_STEPS} contrastive steps for {facts.n_train} labeled rows (at most {FEW_SHOT_MAX_EPOCHS} epochs)"
    if settings.time_budget_min:
        why = f"at most {int(epochs)}; the time budget of {settings.time_budget_min:g} minutes plans the exact number"
    choose("epochs", epochs, why)
    choose("warmup", 0.1, "10% of steps: SetFit's warm-up")
    choose("early_stopping_patience", 2, f"stop once 2 epochs in a row gain less than half a point of cross-validated {settings.metric}")
    choose("class_weights", False, "not used: the contrastive loss weighs same- and different-category pairs equally")
    for name in settings.explicit():
        reasons.setdefault(name, {"value": getattr(settings, name), "reason": "set by you"})
    reasons["validation"] = {"value": "a cross-check on every labeled text",
                             "reason": f"with few labels, texts kept aside would be only a handful; instead each text is "
                                       f"scored once by a head fitted without it ({FEW_SHOT_CV_FOLDS}-fold cross-validation). "
                                       "The text model itself learned from all of them, so this runs high: on banking77 "
                                       "it said 0.89 where new texts gave 0.83 (8 per category)"}
    return resolved, reasons


def plan_with_method(settings: TrainSettings, facts: Facts, requested: str = "auto") -> tuple[str, TrainSettings, dict[str, dict]]:
    """(method, resolved settings, reasons) as ``train --method requested`` will choose them: what "What
    training will use, and why" shows. ``reasons["method"]`` comes first; zero-shot has no settings to plan.

    ``facts.n_train``: for few-shot every labeled row trains (no validation split is held out)."""
    if requested == "auto":
        method, why = choose_method(facts.class_counts)
    else:
        method, why = requested, f"set by you (--method {requested})"
    if method == "few-shot":
        resolved, reasons = few_shot_plan(settings, facts)
    elif method == "fine-tune":
        resolved, reasons = plan(settings, facts)
    else:
        resolved, reasons = replace(settings), {}
    return method, resolved, {"method": {"value": method, "reason": why}, **reasons}

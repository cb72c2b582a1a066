"""Multi-label training: a recipe on the one training loop (training.py), never a copy of it.

``MultiLabelFineTune`` differs from ``FineTune`` in four small parts:

- labels: every label that occurs in a row's label set;
- targets: an (n_rows, n_labels) 0/1 matrix, the objective ``MultiLabelBCE`` (one sigmoid per label,
  binary cross-entropy, class-balanced ``pos_weight`` for rare labels);
- the model's config says ``problem_type = "multi_label_classification"``, so
  ``transformers.pipeline("text-classification", model=RUN/model, top_k=None)`` applies a sigmoid;
- scoring: each label's decision threshold is tuned on the validation rows
  (``metrics.tune_thresholds``), then micro/macro-F1, per-label table and exact match are measured with
  them. The thresholds are saved in config.json (``classifier_studio.thresholds``), in run.json
  (``thresholds``) and in every export.

``training.default_recipe(data)`` picks this recipe for multi-label data (LabeledData.label_sets).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from . import defaults
from .data import LabeledData
from .errors import UserInputError
from .metrics import THRESHOLD_GRID, binary_cross_entropy, multilabel_metrics, sigmoid, tune_thresholds
from .objectives import MultiLabelBCE, Objective, balanced_pos_weight
from .settings import TrainSettings
from .training import FineTune, Prepared

MULTI_LABEL = "multi_label_classification"
# A label gets a decision threshold of its own only when at least this many validation texts carry it:
# tuned on fewer, one label's F1 follows chance (#22: 60 validation texts, 28 labels, 2-3 texts each ->
# thresholds so low that most labels were given to 55-58 of the 60 texts). Below it, the labels share
# one threshold tuned on all their decisions together (micro-F1); when validation holds fewer than
# MIN_SHARED_POSITIVES occurrences of them at all, they keep 0.5.
MIN_OWN_POSITIVES = 10
MIN_SHARED_POSITIVES = 5
STILL_LEARNING = 0.02  # validation loss still falling by this share per evaluation: the score has not settled
MIN_PATIENCE = 2  # evaluations without progress before a multi-label run stops early (a preset may ask for 1)
MIN_PASSES = 3.0  # a time budget that reads the texts fewer times (at the measured speed) is refused before training goes on


def _nearest_half(grid: np.ndarray, score: np.ndarray) -> float:
    candidates = grid[np.isclose(score, score.max())]
    return float(candidates[np.argmin(np.abs(candidates - 0.5))])


def shared_threshold(probs: np.ndarray, targets: np.ndarray) -> float:
    """The one threshold that maximises micro-F1 over all these row-label decisions (ties: nearest 0.5)."""
    probs, true = np.asarray(probs, dtype=np.float64), np.asarray(targets, dtype=bool)
    if not true.any():
        return 0.5
    pred = probs.reshape(-1)[None, :] >= THRESHOLD_GRID[:, None]
    pos = true.reshape(-1)
    tp = (pred & pos).sum(axis=1)
    fp = (pred & ~pos).sum(axis=1)
    fn = (~pred & pos).sum(axis=1)
    f1 = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
    return _nearest_half(THRESHOLD_GRID, f1)


def choose_thresholds(probs: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
    """Thresholds per label and how many labels got each kind: "own" (tuned on the label's validation texts),
    "shared" (one threshold tuned on the decisions of every label with too few) or "default" (0.5, the
    model's own yes/no: validation holds too few occurrences of those labels to tune even one threshold)."""
    true = np.asarray(targets, dtype=bool)
    probs = np.asarray(probs, dtype=np.float64)
    own = true.sum(axis=0) >= MIN_OWN_POSITIVES
    out = tune_thresholds(probs, true)
    few = ~own
    sources = {"own": int(own.sum()), "shared": 0, "default": 0}
    if few.any():
        if true[:, few].sum() >= MIN_SHARED_POSITIVES:
            out[few] = shared_threshold(probs[:, few], true[:, few])
            sources["shared"] = int(few.sum())
        else:
            out[few] = 0.5
            sources["default"] = int(few.sum())
    return out, sources


def advice(metrics: dict, history=()) -> list[str]:
    """What is wrong with a multi-label result, in words (the Evaluate page and the CLI show these)."""
    out: list[str] = []
    losses = [float(h["val_loss"]) for h in history or () if h.get("val_loss") is not None]
    if len(losses) >= 2 and losses[-1] < min(losses[:-1]) * (1 - STILL_LEARNING):
        out.append(f"The model was still learning when training stopped (after {len(losses)} passes, the validation loss "
                   f"was still falling by {1 - losses[-1] / min(losses[:-1]):.0%} a pass): with several labels per text "
                   "it needs more passes than one label does. Train longer (a longer time limit, or the Balanced preset).")
    per = metrics.get("per_label") or {}
    n = int(metrics.get("n") or 0)
    if not n or not per:
        return out
    given = sum(int(r.get("predicted", 0)) for r in per.values()) / n
    carried = sum(int(r.get("support", 0)) for r in per.values()) / n
    if given > max(2 * carried, carried + 1):
        out.append(f"The model gives {given:.1f} labels per text where the texts carry {carried:.1f}: it cannot yet tell "
                   "the labels apart, so it answers many of them for every text. Train longer (more passes over the "
                   "texts), or add labeled texts.")
    elif carried and given < carried / 2:
        out.append(f"The model gives {given:.1f} labels per text where the texts carry {carried:.1f}: it misses most "
                   "labels. Train longer, or add labeled texts for the labels it never answers.")
    sources = metrics.get("threshold_sources") or {}
    few = int(sources.get("shared", 0)) + int(sources.get("default", 0))
    if few:
        out.append(f"{few} of {len(per)} labels are carried by fewer than {MIN_OWN_POSITIVES} of the {n} validation texts, "
                   "too few to set a decision threshold for each of them; they share one"
                   + (" (0.5: too few to tune even that)." if sources.get("default") else ".")
                   + " More labeled texts of those labels make their answers more reliable.")
    return out


def label_matrix(data: LabeledData, label2id: dict[str, int]) -> np.ndarray:
    """(n_rows, n_labels) of 0/1; labels the model does not know are ignored."""
    out = np.zeros((len(data), len(label2id)), dtype=np.float32)
    sets = data.label_sets if data.label_sets is not None else [(l,) for l in data.labels]
    for i, labels in enumerate(sets):
        for label in labels:
            j = label2id.get(label)
            if j is not None:
                out[i, j] = 1.0
    return out


def unknown_only_rows(data: LabeledData, known: set[str]) -> list[int]:
    """File rows whose labels are all unknown to the model (an empty set is not one of them)."""
    sets = data.label_sets if data.label_sets is not None else [(l,) for l in data.labels]
    return [row for row, labels in zip(data.rows, sets) if labels and not any(l in known for l in labels)]


def refuse_unknown_only(data: LabeledData, known: list[str], what: str) -> None:
    """UserInputError naming the rows whose labels are all unknown (bad input, never silently scored)."""
    rows = unknown_only_rows(data, set(known))
    if not rows:
        return
    sets = data.label_sets if data.label_sets is not None else [(l,) for l in data.labels]
    strange = sorted({l for labels in sets for l in labels if l not in set(known)})
    shown = ", ".join(str(r) for r in rows[:10]) + (f" and {len(rows) - 10} more" if len(rows) > 10 else "")
    raise UserInputError(
        f"{len(rows)} row{'s' if len(rows) != 1 else ''} of {what} carr{'y' if len(rows) != 1 else 'ies'} only labels the model "
        f"does not know ({', '.join(repr(l) for l in strange[:8])}{' ...' if len(strange) > 8 else ''}); "
        f"the model knows {', '.join(repr(l) for l in known[:20])}.",
        where=f"{data.source}, row {shown}",
        fix="Check the label column and the separator (--label-separator), or that you picked the right run; "
            "labels must match exactly, including capitals.")


def start_at_prior(model: torch.nn.Module, targets: np.ndarray, weighted: bool) -> bool:
    """Set the new head's output bias to each label's log-odds in the training data (with the loss's
    pos_weight when class weights are on), so training starts from the label priors instead of 0.5 for every
    label: BCE then spends no passes pushing 28 outputs down before it learns which label is which."""
    t = np.asarray(targets, dtype=np.float64)
    if t.ndim != 2 or not len(t):
        return False
    prior = np.clip(t.mean(axis=0), 1e-3, 1 - 1e-3)
    weight = balanced_pos_weight(t).numpy().astype(np.float64) if weighted else 1.0
    bias = np.log(weight * prior / (1 - prior))
    base = getattr(model, "base_model_prefix", "")
    heads = [m for name, m in model.named_modules() if isinstance(m, torch.nn.Linear) and m.bias is not None
             and m.out_features == t.shape[1] and not (base and name.startswith(base + "."))]
    if not heads:
        return False
    with torch.no_grad():
        heads[-1].bias.copy_(torch.as_tensor(bias, dtype=heads[-1].bias.dtype))
    return True


class MultiLabelFineTune(FineTune):
    """A fresh head with one sigmoid output per label; BCE per label; thresholds tuned on validation."""

    def labels(self, data: LabeledData) -> list[str]:
        return data.label_names

    def targets(self, data: LabeledData, label2id: dict[str, int]) -> np.ndarray:
        return label_matrix(data, label2id)

    def known_rows(self, data: LabeledData, label2id: dict[str, int]) -> list[int]:
        sets = data.label_sets if data.label_sets is not None else [(l,) for l in data.labels]
        return [i for i, labels in enumerate(sets) if not labels or any(l in label2id for l in labels)]

    def check_validation(self, data: LabeledData, labels: list[str]) -> None:
        refuse_unknown_only(data, labels, "the validation data")

    def resolve_settings(self, settings: TrainSettings, facts: defaults.Facts) -> tuple[TrainSettings, dict]:
        resolved, reasons = defaults.plan(settings, facts)
        if resolved.early_stopping_patience is not None and 0 < resolved.early_stopping_patience < MIN_PATIENCE:
            resolved = replace(resolved, early_stopping_patience=MIN_PATIENCE)
            reasons["early_stopping_patience"] = {
                "value": MIN_PATIENCE, "reason": f"multi-label: F1 over many labels moves by steps, so early stopping waits "
                f"for {MIN_PATIENCE} evaluations without a gain (and never while the validation loss still falls)"}
        if settings.class_weights is None:
            resolved = replace(resolved, class_weights=True)
            reasons["class_weights"] = {"value": True, "reason": "multi-label: each label's positive rows weigh "
                                        "sqrt(negatives/positives), at most 10, so rare labels are not ignored"}
        return resolved, reasons

    min_patience = MIN_PATIENCE
    min_passes_in_budget = MIN_PASSES
    min_passes_reason = (f"with several labels per text a model needs at least {MIN_PASSES:g} passes before its answers "
                         "are usable (measured on a 28-label stand-in of 600 texts: after 1.1 passes it gave 3.3 labels "
                         "per new text and got 0.3% of the label sets right; after 6 passes 1.9 labels and 20%; "
                         "benchmarks/bench_combinations.py)")

    def build_model(self, p: Prepared) -> torch.nn.Module:
        model = super().build_model(p)
        model.config.problem_type = MULTI_LABEL
        start_at_prior(model, p.y_train, bool(p.settings.class_weights))
        return model

    def objective(self, p: Prepared) -> Objective:
        return MultiLabelBCE(p.y_train, bool(p.settings.class_weights), p.device)

    def score(self, logits: np.ndarray, targets: np.ndarray, labels: list[str]) -> tuple[dict, float]:
        probs = sigmoid(np.asarray(logits, dtype=np.float64))
        thresholds, sources = choose_thresholds(probs, targets)
        decided = probs >= thresholds
        metrics = multilabel_metrics(targets, decided, labels)
        metrics["thresholds"] = {l: float(t) for l, t in zip(labels, thresholds)}
        metrics["threshold_sources"] = sources
        metrics["labels_per_text"] = float(decided.sum(axis=1).mean()) if len(decided) else 0.0
        metrics["true_labels_per_text"] = float(np.asarray(targets).sum(axis=1).mean()) if len(decided) else 0.0
        return metrics, binary_cross_entropy(logits, targets)

    def still_learning(self, history: list[dict]) -> bool:
        """The validation loss still falls (by STILL_LEARNING of itself): the score has not settled, so an
        evaluation without a gain in F1 does not count towards early stopping."""
        losses = [h.get("val_loss") for h in history if h.get("val_loss") is not None]
        return len(losses) >= 2 and losses[-1] < min(losses[:-1]) * (1 - STILL_LEARNING)

    def describe(self) -> dict:
        return {"builder": "fresh_head", "problem_type": MULTI_LABEL, "thresholds": "tuned per label on validation (F1)"}

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
from .metrics import binary_cross_entropy, multilabel_metrics, sigmoid, tune_thresholds
from .objectives import MultiLabelBCE, Objective
from .settings import TrainSettings
from .training import FineTune, Prepared

MULTI_LABEL = "multi_label_classification"


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
        if settings.class_weights is None:
            resolved = replace(resolved, class_weights=True)
            reasons["class_weights"] = {"value": True, "reason": "multi-label: each label's positive rows weigh "
                                        "sqrt(negatives/positives), at most 10, so rare labels are not ignored"}
        return resolved, reasons

    def build_model(self, p: Prepared) -> torch.nn.Module:
        model = super().build_model(p)
        model.config.problem_type = MULTI_LABEL
        return model

    def objective(self, p: Prepared) -> Objective:
        return MultiLabelBCE(p.y_train, bool(p.settings.class_weights), p.device)

    def score(self, logits: np.ndarray, targets: np.ndarray, labels: list[str]) -> tuple[dict, float]:
        probs = sigmoid(np.asarray(logits, dtype=np.float64))
        thresholds = tune_thresholds(probs, targets)
        metrics = multilabel_metrics(targets, probs >= thresholds, labels)
        metrics["thresholds"] = {l: float(t) for l, t in zip(labels, thresholds)}
        return metrics, binary_cross_entropy(logits, targets)

    def describe(self) -> dict:
        return {"builder": "fresh_head", "problem_type": MULTI_LABEL, "thresholds": "tuned per label on validation (F1)"}

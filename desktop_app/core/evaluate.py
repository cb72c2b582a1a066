"""Metrics of a trained run on a labeled dataset, plus the examples behind them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .data import LabeledData
from .errors import UserInputError
from .events import EventSink, StatusEvent, ignore
from .inference import Classifier
from .models import check_model_folder
from .metrics import classification_metrics


@dataclass
class EvaluationResult:
    metrics: dict  # accuracy, macro_f1, labels, per_class, confusion_matrix, n
    texts: list[str]
    true: list[str]
    predicted: list[str]
    confidence: list[float]
    rows: list[int]
    warnings: list[str] = field(default_factory=list)  # e.g. rows left out because the model does not know their label
    left_out: dict[str, int] = field(default_factory=dict)  # label the model does not know -> rows left out

    def misclassified(self) -> list[dict]:
        """Wrong predictions, most confident first (the most surprising mistakes)."""
        wrong = [i for i, (t, p) in enumerate(zip(self.true, self.predicted)) if t != p]
        wrong.sort(key=lambda i: -self.confidence[i])
        return [self.example(i) for i in wrong]

    def examples_for(self, true_label: str, predicted_label: str) -> list[dict]:
        """The rows behind one confusion-matrix cell."""
        hits = [i for i, (t, p) in enumerate(zip(self.true, self.predicted)) if t == true_label and p == predicted_label]
        hits.sort(key=lambda i: -self.confidence[i])
        return [self.example(i) for i in hits]

    def example(self, i: int) -> dict:
        return {"row": self.rows[i], "text": self.texts[i], "label": self.true[i],
                "predicted": self.predicted[i], "confidence": self.confidence[i]}


def _shown(labels: list[str], limit: int = 20) -> str:
    head = ", ".join(f"'{l}'" for l in labels[:limit])
    return head + (f" and {len(labels) - limit} more" if len(labels) > limit else "")


def known_label_rows(model_labels: list[str], data: LabeledData, source: str = "") -> tuple[LabeledData, dict[str, int]]:
    """The rows whose label the model knows, and {unknown label: rows}. No shared label -> UserInputError."""
    known = set(model_labels)
    unknown: dict[str, int] = {}
    for label in data.labels:
        if label not in known:
            unknown[label] = unknown.get(label, 0) + 1
    if len(data) and len(unknown) == len(set(data.labels)):
        file_labels = sorted(set(data.labels))
        raise UserInputError(
            f"None of the labels in the file are labels of this model, so nothing can be scored. "
            f"The file has {_shown(file_labels)}; the model knows {_shown(list(model_labels))}.",
            where=source or data.source,
            fix="Check that you picked the right run and the right label column (--label-column); labels must match "
            "exactly, including capitals.")
    if not unknown:
        return data, {}
    keep = [i for i, label in enumerate(data.labels) if label in known]
    return data.subset(keep), unknown


def evaluate(classifier_or_path: Classifier | str | Path, data: LabeledData, *, device: str = "auto",
             on_event: EventSink = ignore, should_stop: Callable[[], bool] | None = None) -> EvaluationResult:
    """Metrics on the rows whose label the model knows; rows with other labels are left out with a warning.

    Raises UserInputError when the file and the model share no label at all.
    """
    clf = classifier_or_path if isinstance(classifier_or_path, Classifier) else None
    warnings: list[str] = []
    if clf is None:
        checked = check_model_folder(classifier_or_path)
        warnings += checked.warnings
        if checked.labels:
            known_label_rows(checked.labels, data)  # no shared label: say so before loading the model
        on_event(StatusEvent("Loading the model"))
        clf = Classifier.load(classifier_or_path, device=device)
    data, unknown = known_label_rows(clf.labels, data)
    if unknown:
        n = sum(unknown.values())
        warnings.append(f"{n} row{'s' if n != 1 else ''} with labels the model does not know ({_shown(sorted(unknown))}) "
                        f"{'were' if n != 1 else 'was'} left out; the scores are on the other {len(data)} rows. "
                        f"The model knows {_shown(list(clf.labels))}.")
    for w in warnings:
        on_event(StatusEvent(f"Warning: {w}"))
    on_event(StatusEvent(f"Classifying {len(data)} texts"))
    probs = clf.predict_proba(data.texts, should_stop=should_stop)
    labels = list(clf.labels)
    index = {l: i for i, l in enumerate(labels)}
    pred = probs.argmax(axis=1) if len(probs) else np.zeros(0, dtype=np.int64)
    metrics = classification_metrics([index[l] for l in data.labels], pred, labels)
    return EvaluationResult(
        metrics=metrics,
        texts=list(data.texts),
        true=list(data.labels),
        predicted=[clf.labels[i] for i in pred],
        confidence=[float(probs[i, p]) for i, p in enumerate(pred)],
        rows=list(data.rows),
        warnings=warnings,
        left_out=unknown,
    )

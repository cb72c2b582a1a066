"""Metrics of a trained run on a labeled dataset, plus the examples behind them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .data import LabeledData
from .events import EventSink, StatusEvent, ignore
from .inference import Classifier
from .metrics import classification_metrics


@dataclass
class EvaluationResult:
    metrics: dict  # accuracy, macro_f1, labels, per_class, confusion_matrix, n
    texts: list[str]
    true: list[str]
    predicted: list[str]
    confidence: list[float]
    rows: list[int]

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


def evaluate(classifier_or_path: Classifier | str | Path, data: LabeledData, *, device: str = "auto",
             on_event: EventSink = ignore, should_stop: Callable[[], bool] | None = None) -> EvaluationResult:
    clf = classifier_or_path if isinstance(classifier_or_path, Classifier) else None
    if clf is None:
        on_event(StatusEvent("Loading the model"))
        clf = Classifier.load(classifier_or_path, device=device)
    on_event(StatusEvent(f"Classifying {len(data)} texts"))
    probs = clf.predict_proba(data.texts, should_stop=should_stop)
    labels = list(clf.labels) + sorted(set(data.labels) - set(clf.labels))  # unseen labels count as errors
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
    )

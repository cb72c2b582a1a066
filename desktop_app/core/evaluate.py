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
from .metrics import classification_metrics, multilabel_metrics


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
    # multi-label runs: ``true`` / ``predicted`` hold the label sets joined by ";"; the sets themselves here
    multi_label: bool = False
    true_sets: list[tuple[str, ...]] = field(default_factory=list)
    predicted_sets: list[tuple[str, ...]] = field(default_factory=list)
    # {"mode": "on"|"off", "window": tokens, "longer_than_window": documents, "combine": method}
    long_documents: dict = field(default_factory=dict)

    def label_errors(self) -> list[dict]:
        """Multi-label: the rows where labels were missed or added, the most labels wrong first; each example
        has "missed" (true labels not predicted) and "added" (predicted labels not true)."""
        out = []
        for i, (t, p) in enumerate(zip(self.true_sets, self.predicted_sets)):
            missed, added = sorted(set(t) - set(p)), sorted(set(p) - set(t))
            if missed or added:
                out.append({**self.example(i), "missed": missed, "added": added})
        out.sort(key=lambda e: -(len(e["missed"]) + len(e["added"])))
        return out

    def examples_for_label(self, label: str, kind: str = "missed") -> list[dict]:
        """Multi-label: the rows where ``label`` was missed (kind "missed") or added although not true ("added")."""
        key = "missed" if kind == "missed" else "added"
        return [e for e in self.label_errors() if label in e[key]]

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
    """The rows whose label the model knows, and {unknown label: rows}. No shared label -> UserInputError.

    Label sets (multi-label): a row whose labels are all unknown is a UserInputError naming the rows;
    unknown labels beside known ones are dropped from the row and counted."""
    known = set(model_labels)
    if data.label_sets is not None:
        from .multilabel import refuse_unknown_only

        refuse_unknown_only(data, list(model_labels), f"'{Path(source or data.source).name}'")
        unknown_sets: dict[str, int] = {}
        for labels in data.label_sets:
            for label in labels:
                if label not in known:
                    unknown_sets[label] = unknown_sets.get(label, 0) + 1
        if not unknown_sets:
            return data, {}
        sets = [tuple(l for l in labels if l in known) for labels in data.label_sets]
        return LabeledData(list(data.texts), [";".join(s) for s in sets], list(data.rows), data.source,
                           dict(data.skipped), list(data.notes), sets, data.multi_label_source), unknown_sets
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
             on_event: EventSink = ignore, should_stop: Callable[[], bool] | None = None,
             long_documents: str | None = None) -> EvaluationResult:
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
    if long_documents:
        clf.long_documents = long_documents  # auto | on | off
    if clf.multi_label and data.label_sets is None:  # one label per row is a set of one
        data = LabeledData(list(data.texts), list(data.labels), list(data.rows), data.source, dict(data.skipped),
                           list(data.notes), [(l,) for l in data.labels], {"separator": ";"})
    data, unknown = known_label_rows(clf.labels, data)
    if unknown and clf.multi_label:
        n = sum(unknown.values())
        warnings.append(f"{n} label{'s' if n != 1 else ''} the model does not know ({_shown(sorted(unknown))}) "
                        f"{'were' if n != 1 else 'was'} left out of their rows; the model knows {_shown(list(clf.labels))}.")
    elif unknown:
        n = sum(unknown.values())
        warnings.append(f"{n} row{'s' if n != 1 else ''} with labels the model does not know ({_shown(sorted(unknown))}) "
                        f"{'were' if n != 1 else 'was'} left out; the scores are on the other {len(data)} rows. "
                        f"The model knows {_shown(list(clf.labels))}.")
    for w in warnings:
        on_event(StatusEvent(f"Warning: {w}"))
    on_event(StatusEvent(f"Classifying {len(data)} texts"))
    probs = clf.predict_proba(data.texts, should_stop=should_stop)
    labels = list(clf.labels)
    long = long_documents_report(clf)
    if long["longer_than_window"]:
        on_event(StatusEvent(long["message"]))
    if getattr(clf, "multi_label", False):
        return _evaluate_multi_label(clf, data, probs, warnings, unknown, long)
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
        long_documents=long,
    )


def long_documents_report(clf) -> dict:
    """How many of the texts the classifier just read were longer than one window, and what it did with them."""
    n = int(getattr(clf, "last_long", 0) or 0)
    windows = bool(n) and clf.long_documents != "off" and (clf.long_documents == "on" or clf.recorded_long == "on")
    report = {"mode": "on" if windows else "off", "window": int(getattr(clf, "max_length", 0) or 0),
              "longer_than_window": n, "combine": getattr(clf, "combine_method", None) if windows else None}
    if n and windows:
        report["message"] = (f"{n} document{'s were' if n != 1 else ' was'} longer than one window of {report['window']} "
                             f"tokens and {'were' if n != 1 else 'was'} read in windows (combined by {report['combine']})")
    elif n:
        report["message"] = (f"{n} document{'s were' if n != 1 else ' was'} longer than {report['window']} tokens and "
                             f"{'were' if n != 1 else 'was'} cut there; --long-documents on reads them whole in windows")
    return report


def _evaluate_multi_label(clf, data: LabeledData, probs: np.ndarray, warnings: list[str], unknown: dict,
                          long: dict) -> EvaluationResult:
    from .multilabel import label_matrix

    labels = list(clf.labels)
    chosen = clf.decide(probs) if len(probs) else []
    pred = np.zeros((len(data), len(labels)), dtype=bool)
    for i, cols in enumerate(chosen):
        pred[i, cols] = True
    truth = label_matrix(data, {l: i for i, l in enumerate(labels)})
    metrics = multilabel_metrics(truth, pred, labels)
    metrics["thresholds"] = {l: float(t) for l, t in zip(labels, clf.thresholds)}
    predicted_sets = [tuple(labels[j] for j in cols) for cols in chosen]
    confidence = [float(min(probs[i, cols])) if cols else float(probs[i].max()) for i, cols in enumerate(chosen)]
    return EvaluationResult(metrics=metrics, texts=list(data.texts), true=list(data.labels),
                            predicted=[";".join(s) for s in predicted_sets], confidence=confidence, rows=list(data.rows),
                            warnings=warnings, left_out=unknown, multi_label=True, true_sets=list(data.label_sets),
                            predicted_sets=predicted_sets, long_documents=long)

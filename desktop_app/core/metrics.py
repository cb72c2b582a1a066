"""Classification metrics: accuracy, macro-F1, per-class table and confusion matrix; for multi-label runs
micro/macro-F1, per-label table, exact match, and the per-label thresholds tuned on validation."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def classification_metrics(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str]) -> dict:
    """Plain-data metrics. ``y_true`` / ``y_pred`` index into ``labels``."""
    k = len(labels)
    true = np.asarray(y_true, dtype=np.int64)
    pred = np.asarray(y_pred, dtype=np.int64)
    cm = np.zeros((k, k), dtype=np.int64)
    if len(true):
        np.add.at(cm, (true, pred), 1)
    tp = np.diag(cm).astype(float)
    support = cm.sum(axis=1).astype(float)
    predicted = cm.sum(axis=0).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    present = support > 0  # macro-F1 over the classes that occur in this data
    per_class = {
        label: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, label in enumerate(labels)
    }
    return {
        "accuracy": float((true == pred).mean()) if len(true) else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "labels": list(labels),
        "per_class": per_class,
        "confusion_matrix": cm.tolist(),
        "n": int(len(true)),
    }


def cross_entropy(logits: np.ndarray, y_true: Sequence[int]) -> float:
    if len(logits) == 0:
        return 0.0
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(logits)), np.asarray(y_true)].mean())


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


# -- multi-label ------------------------------------------------------------------------------------

def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(logits, -60, 60)))


def multilabel_metrics(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str]) -> dict:
    """Plain-data metrics for label sets. ``y_true`` / ``y_pred``: (n, n_labels) of 0/1.

    micro-F1 (over every row-label decision), macro-F1 (mean over the labels that occur in this data),
    per-label precision/recall/F1/support, exact match (the whole set right). ``accuracy`` is the
    exact-match ratio and ``per_class`` the per-label table, so views made for single-label runs
    read them too; ``label_confusion`` holds each label's [[TN, FP], [FN, TP]]."""
    k = len(labels)
    true = np.asarray(y_true, dtype=bool).reshape(-1, k)
    pred = np.asarray(y_pred, dtype=bool).reshape(-1, k)
    tp = (true & pred).sum(axis=0).astype(float)
    fp = (~true & pred).sum(axis=0).astype(float)
    fn = (true & ~pred).sum(axis=0).astype(float)
    tn = (~true & ~pred).sum(axis=0).astype(float)
    support = true.sum(axis=0).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    present = support > 0
    micro_den = 2 * tp.sum() + fp.sum() + fn.sum()
    per_label = {
        label: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                "support": int(support[i]), "predicted": int(tp[i] + fp[i])}
        for i, label in enumerate(labels)
    }
    n = int(len(true))
    exact = float((true == pred).all(axis=1).mean()) if n else 0.0
    return {
        "problem_type": "multi_label_classification",
        "accuracy": exact,
        "exact_match": exact,
        "micro_f1": float(2 * tp.sum() / micro_den) if micro_den > 0 else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "hamming_loss": float((true != pred).mean()) if n else 0.0,
        "labels": list(labels),
        "per_label": per_label,
        "per_class": per_label,
        "label_confusion": {label: [[int(tn[i]), int(fp[i])], [int(fn[i]), int(tp[i])]] for i, label in enumerate(labels)},
        "confusion_matrix": [],
        "n": n,
    }


THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.025), 3)


def tune_thresholds(probs: np.ndarray, y_true: np.ndarray) -> np.ndarray:
    """One decision threshold per label: the one that maximises that label's F1 on these rows
    (ties: the one nearest 0.5); 0.5 for a label with no positive row here."""
    probs = np.asarray(probs, dtype=np.float64)
    true = np.asarray(y_true, dtype=bool)
    out = np.full(probs.shape[1], 0.5)
    for j in range(probs.shape[1]):
        pos = true[:, j]
        if not pos.any():
            continue
        pred = probs[:, j][None, :] >= THRESHOLD_GRID[:, None]  # (grid, n)
        tp = (pred & pos).sum(axis=1)
        fp = (pred & ~pos).sum(axis=1)
        fn = (~pred & pos).sum(axis=1)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)
        best = f1.max()
        candidates = THRESHOLD_GRID[np.isclose(f1, best)]
        out[j] = float(candidates[np.argmin(np.abs(candidates - 0.5))])
    return out


def binary_cross_entropy(logits: np.ndarray, y_true: np.ndarray) -> float:
    if len(logits) == 0:
        return 0.0
    x = np.asarray(logits, dtype=np.float64)
    y = np.asarray(y_true, dtype=np.float64)
    return float((np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))).mean())

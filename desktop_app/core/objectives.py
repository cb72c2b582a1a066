"""What the training loop minimises: one small class per way of learning (CrossEntropy, MultiLabelBCE, Distillation).

An objective turns the model's logits for one batch into a scalar loss. The loop hands it the
positions of the batch's rows in the training set, so an objective can look up anything it
prepared per row (labels, a teacher's logits, label sets, pair partners):

    class Objective(Protocol):
        name: str
        def loss(self, logits: Tensor, rows: Sequence[int]) -> Tensor: ...   # logits: float32, (batch, n_outputs)
        def describe(self) -> dict: ...                                       # plain data for run.json ("recipe")

The loop owns batching, mixed precision (logits arrive as float32), gradient accumulation and
scaling; an objective only computes the loss. See docs/ARCHITECTURE.md for how to add one
(binary cross-entropy per label); ``ContrastivePairs`` is the few-shot one.
"""

from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np
import torch


class Objective(Protocol):
    name: str

    def loss(self, logits: torch.Tensor, rows: Sequence[int]) -> torch.Tensor: ...

    def describe(self) -> dict: ...


def balanced_class_weights(targets: np.ndarray, n_labels: int) -> torch.Tensor:
    """Softened inverse frequency (square root), mean 1: rare classes count more, without extremes."""
    counts = np.bincount(targets, minlength=n_labels).astype(np.float64)
    counts[counts == 0] = 1
    weights = (counts.sum() / counts) ** 0.5
    return torch.tensor(weights / weights.mean(), dtype=torch.float32)


class CrossEntropy:
    """Single-label classification: cross-entropy against the row's class, optionally class-weighted."""

    name = "cross_entropy"

    def __init__(self, targets: np.ndarray, n_labels: int, class_weights: bool, device: torch.device):
        self.targets = torch.as_tensor(targets, dtype=torch.long)
        self.weighted = bool(class_weights)
        weight = balanced_class_weights(targets, n_labels).to(device) if self.weighted else None
        self.fn = torch.nn.CrossEntropyLoss(weight=weight)

    def loss(self, logits: torch.Tensor, rows: Sequence[int]) -> torch.Tensor:
        return self.fn(logits, self.targets[list(rows)].to(logits.device))

    def describe(self) -> dict:
        return {"objective": self.name, "class_weights": self.weighted}


class Distillation:
    """A student learns from labels and from a teacher's logits (computed once, before training):

        single-label: loss = (1 - alpha) * CE(student, label) + alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T))
        multi-label:  loss = (1 - alpha) * BCE(student, label set) + alpha * T^2 * BCE(sigmoid(student / T), sigmoid(teacher / T))

    (multi-label: each label is its own yes/no question, so the teacher's softened sigmoid per label is
    the soft target; ``targets`` is then the (rows, labels) 0/1 matrix).
    """

    name = "distillation"

    def __init__(self, targets: np.ndarray, teacher_logits: torch.Tensor, alpha: float, temperature: float,
                 multi_label: bool = False):
        self.multi_label = bool(multi_label)
        self.targets = torch.as_tensor(np.asarray(targets), dtype=torch.float32 if self.multi_label else torch.long)
        self.teacher = torch.as_tensor(teacher_logits, dtype=torch.float32)
        self.alpha, self.T = float(alpha), float(temperature)

    def loss(self, logits: torch.Tensor, rows: Sequence[int]) -> torch.Tensor:
        idx = list(rows)
        target = self.targets[idx].to(logits.device)
        teacher = self.teacher[idx].to(logits.device)
        if self.multi_label:
            hard = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
            soft = torch.nn.functional.binary_cross_entropy_with_logits(logits / self.T, torch.sigmoid(teacher / self.T))
        else:
            hard = torch.nn.functional.cross_entropy(logits, target)
            soft = torch.nn.functional.kl_div(torch.log_softmax(logits / self.T, -1), torch.log_softmax(teacher / self.T, -1),
                                              reduction="batchmean", log_target=True)
        return (1 - self.alpha) * hard + self.alpha * soft * self.T * self.T

    def describe(self) -> dict:
        return {"objective": self.name, "alpha": self.alpha, "temperature": self.T, "multi_label": self.multi_label}


class ContrastivePairs:
    """Few-shot (SetFit manner): the model's ``logits`` are unit-length sentence embeddings, and every pair
    of rows in a batch is a training pair: same category -> cosine similarity 1, different -> 0
    (mean squared error on the cosine, as SetFit's CosineSimilarityLoss).

    The batches come from ``few_shot.pair_batches`` (two rows per category, several categories per
    batch), so every batch holds same-category pairs. Same- and different-category pairs count half
    each: a batch of many categories has far more different pairs than same ones.
    """

    name = "contrastive_pairs"

    def __init__(self, targets: np.ndarray):
        self.targets = torch.as_tensor(np.asarray(targets), dtype=torch.long)

    def loss(self, logits: torch.Tensor, rows: Sequence[int]) -> torch.Tensor:
        y = self.targets[list(rows)].to(logits.device)
        cosine = logits @ logits.T
        upper = torch.triu(torch.ones_like(cosine, dtype=torch.bool), diagonal=1)
        same = (y[:, None] == y[None, :]) & upper
        different = (y[:, None] != y[None, :]) & upper
        parts = [((cosine[mask] - target) ** 2).mean() for mask, target in ((same, 1.0), (different, 0.0)) if mask.any()]
        return torch.stack(parts).mean() if parts else (logits * 0).sum()

    def describe(self) -> dict:
        return {"objective": self.name}


MAX_POS_WEIGHT = 10.0


def balanced_pos_weight(targets: np.ndarray) -> torch.Tensor:
    """Per-label weight of the positive term in BCE: sqrt(negatives / positives), between 1 and 10.
    A rare label (few positive rows) counts more, without extremes; a common one keeps weight 1."""
    t = np.asarray(targets, dtype=np.float64)
    pos = t.sum(axis=0)
    neg = len(t) - pos
    weight = np.sqrt(np.where(pos > 0, neg / np.maximum(pos, 1), 1.0))
    return torch.tensor(np.clip(weight, 1.0, MAX_POS_WEIGHT), dtype=torch.float32)


class MultiLabelBCE:
    """Multi-label classification: one sigmoid output per label, binary cross-entropy per label,
    with a class-balanced ``pos_weight`` for rare labels (``balanced_pos_weight``) when asked."""

    name = "bce_per_label"

    def __init__(self, targets: np.ndarray, class_weights: bool, device: torch.device):
        self.targets = torch.as_tensor(np.asarray(targets, dtype=np.float32))
        self.weighted = bool(class_weights)
        self.pos_weight = balanced_pos_weight(targets).to(device) if self.weighted else None

    def loss(self, logits: torch.Tensor, rows: Sequence[int]) -> torch.Tensor:
        target = self.targets[list(rows)].to(logits.device)
        return torch.nn.functional.binary_cross_entropy_with_logits(logits, target, pos_weight=self.pos_weight)

    def describe(self) -> dict:
        out = {"objective": self.name, "class_weights": self.weighted}
        if self.pos_weight is not None:
            out["pos_weight_max"] = round(float(self.pos_weight.max()), 3)
        return out

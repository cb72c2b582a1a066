"""Few-shot training in the SetFit manner, as a recipe on the one training loop, and the choice of method.

1. Contrastive fine-tuning of the sentence embedding (``FewShotRecipe`` + ``objectives.ContrastivePairs``):
   every batch holds two texts of each of several categories; every pair in the batch is a training
   pair, same category -> cosine similarity 1, different -> 0. The loop (training.py) brings
   checkpoints, cancel, resume, the time budget, early stopping and the events.
2. A classification head: multinomial logistic regression on the unit-length embeddings, fitted at
   every evaluation on all training rows (L-BFGS: a second or two); saved beside the encoder as
   safetensors + JSON (sentence_head.py).

Validation with few labels: no rows are held back. The head is cross-validated on the training rows
(5 folds: each row is scored by a head that did not see it); those out-of-fold scores are the
validation metrics, the best epoch is kept, and the final head is fitted on every row.

``defaults.choose_method`` holds the measured crossover (docs/FEW_LABELS.md) and ``defaults.few_shot_plan``
the settings few-shot chooses (both re-exported here).
"""

from __future__ import annotations

import random
import shlex
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from . import batching, defaults
from .inference import Classifier
from .objectives import ContrastivePairs, Objective
from .sentence_head import SentenceClassifier, SentenceEmbeddingModel
from .settings import TrainSettings
from .training import Prepared, Recipe

FEW_SHOT_UP_TO = defaults.FEW_SHOT_UP_TO  # the measured crossover (defaults.py)
choose_method = defaults.choose_method
plan_settings = defaults.few_shot_plan

HEAD_SCALE = 20.0  # logits = scale * (W x + b): unit-length embeddings need a wide range (same as zero-shot's 1/0.05)
HEAD_L2 = 1e-3
CV_FOLDS = defaults.FEW_SHOT_CV_FOLDS


# -- the head ----------------------------------------------------------------------------------

def fit_head(vectors: np.ndarray, y: Sequence[int], n_classes: int, l2: float = HEAD_L2, scale: float = HEAD_SCALE,
             steps: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression (L-BFGS, L2 penalty) -> weights (classes x dim), bias (classes)."""
    x = torch.as_tensor(np.asarray(vectors), dtype=torch.float32)
    target = torch.as_tensor(np.asarray(y), dtype=torch.long)
    weight = torch.zeros((n_classes, x.shape[1]), requires_grad=True)
    bias = torch.zeros(n_classes, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(scale * (x @ weight.T + bias), target) + l2 * (weight ** 2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    return weight.detach().numpy().copy(), bias.detach().numpy().copy()


def out_of_fold_logits(vectors: np.ndarray, y: Sequence[int], n_classes: int, folds: int = CV_FOLDS, seed: int = 0,
                       l2: float = HEAD_L2, scale: float = HEAD_SCALE, groups: Sequence[int] | None = None) -> np.ndarray | None:
    """Each row's logits from a head fitted on the other folds (k-fold); None with fewer than two rows (or
    groups) per fold. ``groups``: rows of one group (the windows of one long document) share a fold, so no
    row is scored by a head that saw another part of the same text."""
    y = np.asarray(y)
    group_of = np.arange(len(y)) if groups is None else np.asarray(groups)
    unique = np.unique(group_of)
    if len(unique) < 2 * folds or len(set(y.tolist())) < 2:
        return None
    fold_of_group = np.empty(int(unique.max()) + 1, dtype=np.int64)
    fold_of_group[unique[np.random.default_rng(seed).permutation(len(unique))]] = np.arange(len(unique)) % folds
    fold = fold_of_group[group_of]
    out = np.zeros((len(y), n_classes), dtype=np.float32)
    for k in range(folds):
        test = np.flatnonzero(fold == k)
        train = np.flatnonzero(fold != k)
        weight, bias = fit_head(vectors[train], y[train], n_classes, l2, scale)
        out[test] = scale * (vectors[test] @ weight.T + bias)
    return out


def cross_validated_accuracy(vectors: np.ndarray, y: Sequence[int], n_classes: int, folds: int = CV_FOLDS, seed: int = 0,
                             l2: float = HEAD_L2, scale: float = HEAD_SCALE) -> float | None:
    """Accuracy of the head on rows it did not see (k-fold); None with fewer than two rows per fold."""
    logits = out_of_fold_logits(vectors, y, n_classes, folds, seed, l2, scale)
    return None if logits is None else float((logits.argmax(1) == np.asarray(y)).mean())


# -- the batches: pairs of each category --------------------------------------------------------

def pair_batches(y: Sequence[int], batch_size: int, seed: int) -> list[list[int]]:
    """One epoch: every row once, in batches of ``batch_size // 2`` pairs of same-category rows.

    Rows of each category are shuffled and taken two at a time (a category's odd row out comes
    alone); the pairs are shuffled and packed into batches, so every batch holds same-category pairs
    and many different-category ones. Deterministic for a seed (resume replays the same epoch)."""
    rng = random.Random(seed)
    by_class: dict[int, list[int]] = {}
    for i, c in enumerate(y):
        by_class.setdefault(int(c), []).append(i)
    pairs: list[list[int]] = []
    for c in sorted(by_class):
        rows = by_class[c][:]
        rng.shuffle(rows)
        pairs += [rows[i:i + 2] for i in range(0, len(rows), 2)]
    rng.shuffle(pairs)
    per_batch = max(1, batch_size // 2)
    return [sum(pairs[i:i + per_batch], []) for i in range(0, len(pairs), per_batch)]


# -- the recipe --------------------------------------------------------------------------------

@torch.inference_mode()
def embed_ids(model: torch.nn.Module, ids: Sequence[Sequence[int]], pad_id: int, device: torch.device,
              batch_size: int = 64) -> np.ndarray:
    """Unit-length embeddings (input order) from a model whose ``.logits`` are embeddings."""
    was_training = model.training
    model.eval()
    out: np.ndarray | None = None
    try:
        for batch_idx in batching.sorted_batches(batching.lengths_of(ids), batch_size):
            batch = batching.collate([ids[i] for i in batch_idx], pad_id, device)
            vectors = model(**batch).logits.float().cpu().numpy()
            if out is None:
                out = np.zeros((len(ids), vectors.shape[1]), dtype=np.float32)
            out[batch_idx] = vectors
    finally:
        if was_training:
            model.train()
    return out if out is not None else np.zeros((0, 0), dtype=np.float32)


class FewShotRecipe(Recipe):
    """SetFit-style few-shot training on the one loop: contrastive pairs, then a logistic-regression head."""

    kind = "few-shot"
    method = "few-shot"
    holds_out_validation = False

    def __init__(self, reason: str = ""):
        self.method_reason = reason or "set by you (--method few-shot)"
        self._oof: np.ndarray | None = None

    def resolve_settings(self, settings: TrainSettings, facts: defaults.Facts) -> tuple[TrainSettings, dict]:
        return plan_settings(settings, facts)

    def prepare(self, p: Prepared) -> None:
        self.p = p

    def training_batches(self, lengths, batch_size: int, seed: int, sort_chunk: int) -> list[list[int]]:
        return pair_batches(self.p.y_train, batch_size, seed)

    def build_model(self, p: Prepared) -> torch.nn.Module:
        from transformers import AutoModel

        from .model_files import load_model

        torch.manual_seed(p.settings.seed)
        return SentenceEmbeddingModel(load_model(p.model_path, AutoModel))

    def objective(self, p: Prepared) -> Objective:
        return ContrastivePairs(p.y_train)

    def describe(self) -> dict:
        return {"builder": "sentence_encoder", "head": "logistic regression on unit-length mean-pooled embeddings",
                "head_scale": HEAD_SCALE, "head_l2": HEAD_L2, "validation_folds": CV_FOLDS}

    def classifier(self, model: torch.nn.Module, p: Prepared, tokenizer, autocast_dtype) -> Classifier:
        """Embed the training rows with the encoder as it is now, fit the head on all of them, and keep
        the out-of-fold logits (each row scored by a head that did not see it) for validation."""
        vectors = embed_ids(model, p.train_ids, batching.pad_id_of(tokenizer), p.device)
        y = np.asarray(p.y_train)
        weight, bias = fit_head(vectors, y, len(p.labels))
        self._oof = (out_of_fold_logits(vectors, y, len(p.labels), groups=p.train_doc)
                     if p.validation_on_training_rows else None)
        if p.validation_on_training_rows and self._oof is None:  # too few rows to fold: the training fit itself
            self._oof = HEAD_SCALE * (vectors @ weight.T + bias)
        head = SentenceClassifier(model, weight, bias, HEAD_SCALE)
        return Classifier(head, tokenizer, p.labels, p.device, p.settings.max_length, autocast_dtype)

    def validation_logits(self, clf: Classifier, valid_ids: list[list[int]]) -> np.ndarray:
        if self._oof is not None:
            return self._oof
        return clf.logits_for_ids(valid_ids, batch_size=64)

    def save_model(self, folder: Path, model: torch.nn.Module, tokenizer, clf: Classifier) -> None:
        from . import sentence_head

        head = clf.model
        sentence_head.save(folder, model.encoder, tokenizer, clf.labels, head.weight.cpu().numpy(), head.bias.cpu().numpy(),
                           head.scale, "few-shot", {"validation": f"{CV_FOLDS}-fold cross-validation on the training rows"
                                                    if self.p.validation_on_training_rows else "a validation file"})

    def resume_command(self, run_dir: Path, record=None) -> str:
        return f"classifier-studio train --resume --out {shlex.quote(str(run_dir))}"

    def restart_command(self, run_dir: Path, record=None) -> str:
        source = (record.data.get("source") if record else None) or "DATA"
        return f"classifier-studio train {shlex.quote(str(source))} --out {shlex.quote(str(run_dir))} --method few-shot --restart"


def embedder_of(clf) -> "object | None":
    """An Embedder sharing the encoder of a few-shot or zero-shot Classifier (None for a fine-tuned one)."""
    from .embeddings import Embedder

    model = clf.model
    if not isinstance(model, SentenceClassifier):
        return None
    return Embedder(model.encoder, clf.tokenizer, clf.device, clf.max_length, str(clf.model_dir or ""))

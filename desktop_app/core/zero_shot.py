"""Zero-shot classification from category names alone: no labeled rows needed.

Each category name (with an optional one-line description) and each text become sentence
embeddings; the cosine similarity of a text to every category, divided by a temperature and
softmaxed, gives the probabilities. Usable at once, before anything is labeled.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .embeddings import DEFAULT_BATCH, Embedder
from .errors import UserInputError
from .events import EventSink, StatusEvent, ignore
from .metrics import softmax

# Cosine similarities of texts to category names spread over roughly 0.1-0.6 with all-MiniLM-L6-v2;
# dividing by 0.05 turns a 0.1 lead into about 7 to 1 odds.
DEFAULT_TEMPERATURE = 0.05
CHUNK_ROWS = 2048


@dataclass(frozen=True)
class Category:
    name: str
    description: str = ""

    @property
    def prompt(self) -> str:
        """What is embedded: the name read as words (underscores as spaces), then the description."""
        words = self.name.replace("_", " ").strip()
        return f"{words}: {self.description.strip()}" if self.description.strip() else words


def parse_categories(spec: str | Sequence[str] | Sequence[Category], where: str = "--zero-shot") -> list[Category]:
    """"World,Sports,Sci/Tech" or a list; each item may be "Name: a one-line description"."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    categories: list[Category] = []
    for item in items:
        if isinstance(item, Category):
            categories.append(item)
            continue
        name, _, description = str(item).partition(":")
        if name.strip():
            categories.append(Category(name.strip(), description.strip()))
    names = [c.name for c in categories]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if len(categories) < 2 or duplicates:
        raise UserInputError(
            (f"Zero-shot needs at least two different category names; read {len(names)}"
             + (f": {', '.join(repr(n) for n in names)}." if names else ".")) if not duplicates
            else f"A category name is given twice: {', '.join(duplicates)}.",
            where=where,
            fix='List the categories separated by commas (not semicolons), e.g. "Billing,Technical problem,Delivery"; '
                'optionally add a description after a colon: "Billing: invoices, refunds and charges".',
        )
    return categories


class ZeroShotClassifier:
    """Same reading interface as inference.Classifier: ``labels`` and ``predict_proba(texts)``."""

    def __init__(self, embedder: Embedder, categories: Sequence[Category], temperature: float = DEFAULT_TEMPERATURE):
        self.embedder = embedder
        self.categories = list(categories)
        self.labels = [c.name for c in self.categories]
        self.temperature = float(temperature)
        self.label_vectors = embedder.embed([c.prompt for c in self.categories])

    @classmethod
    def load(cls, categories, model: str | Path = "default", device: str = "auto",
             temperature: float = DEFAULT_TEMPERATURE) -> "ZeroShotClassifier":
        return cls(Embedder.load(model, device), parse_categories(categories), temperature)

    def proba_from_embeddings(self, vectors: np.ndarray) -> np.ndarray:
        return softmax((vectors @ self.label_vectors.T) / self.temperature)

    def predict_proba(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH,
                      should_stop: Callable[[], bool] | None = None) -> np.ndarray:
        return self.proba_from_embeddings(self.embedder.embed(texts, batch_size, should_stop))


def predict_file(classifier: "ZeroShotClassifier", input_path: str | Path, out_path: str | Path, *,
                 text_column: str | None = None, batch_size: int = DEFAULT_BATCH, on_event: EventSink = ignore,
                 should_stop: Callable[[], bool] | None = None, sheet: str | None = None) -> dict:
    """``core.predict.predict_file`` with the zero-shot classifier: predict's columns, streaming, written
    atomically, spreadsheet-safe, CSV or XLSX by the suffix of ``out_path``."""
    from . import predict

    on_event(StatusEvent("Classifying from the category names (zero-shot)"))
    return predict.predict_file(classifier, input_path, out_path, text_column=text_column, batch_size=batch_size,
                                on_event=on_event, should_stop=should_stop, sheet=sheet)

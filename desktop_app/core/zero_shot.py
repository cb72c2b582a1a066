"""Zero-shot classification from category names alone: no labeled rows needed.

Each category name (with an optional one-line description) and each text become sentence
embeddings; the cosine similarity of a text to every category, divided by a temperature and
softmaxed, gives the probabilities. Usable at once, before anything is labeled.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .data import describe_documents, iter_documents
from .embeddings import DEFAULT_BATCH, Embedder
from .errors import TrainingCancelled, UserInputError
from .events import EventSink, ProgressEvent, StatusEvent, ignore
from .metrics import softmax
from .runs import atomic_path

# Cosine similarities of texts to category names spread over roughly 0.1-0.6 with all-MiniLM-L6-v2;
# dividing by 0.05 turns a 0.1 lead into about 7 to 1 odds.
DEFAULT_TEMPERATURE = 0.05
CHUNK_ROWS = 2048
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value) -> str:
    """A cell that Excel and LibreOffice show as text: a leading apostrophe before = + - @ tab CR.

    Small stand-in until core/outputs.py (the safety work) offers the shared function.
    """
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


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
            "Zero-shot needs at least two different category names." if not duplicates
            else f"A category name is given twice: {', '.join(duplicates)}.",
            where=where,
            fix='List the categories separated by commas, e.g. "Billing,Technical problem,Delivery"; '
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


def predict_file(classifier: ZeroShotClassifier, input_path: str | Path, out_path: str | Path, *,
                 text_column: str | None = None, batch_size: int = DEFAULT_BATCH, on_event: EventSink = ignore,
                 should_stop: Callable[[], bool] | None = None) -> dict:
    """Like core.predict.predict_file (same columns: predicted_label, confidence, prob_<label>), streaming,
    written atomically, every cell spreadsheet-safe. Returns {"rows", "out", "counts", "text_column"}."""
    input_path, out_path = Path(input_path), Path(out_path)
    if out_path.resolve() == input_path.resolve():
        raise UserInputError("The output file would overwrite the input.", where=str(out_path), fix="Choose another name for --out.")
    columns, text_col = describe_documents(input_path, text_column)
    labels = classifier.labels
    ours = ["predicted_label", "confidence"] + [f"prob_{l}" for l in labels]
    header = [c for c in columns if c not in ours] + ours
    counts = {l: 0 for l in labels}
    done = 0
    on_event(StatusEvent("Classifying from the category names (zero-shot)"))
    with atomic_path(out_path, suffix=".csv") as tmp:
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=[spreadsheet_safe(h) for h in header], extrasaction="ignore")
            writer.writeheader()
            for chunk in iter_documents(input_path, text_col, chunk_rows=CHUNK_ROWS):
                if should_stop is not None and should_stop():
                    raise TrainingCancelled()
                probs = classifier.predict_proba(chunk.texts, batch_size, should_stop)
                for row, p in zip(chunk.rows, probs):
                    best = int(p.argmax())
                    out = dict(row)
                    out["predicted_label"] = labels[best]
                    out["confidence"] = f"{p[best]:.4f}"
                    for label, value in zip(labels, p):
                        out[f"prob_{label}"] = f"{value:.4f}"
                    writer.writerow({spreadsheet_safe(k): spreadsheet_safe(v) for k, v in out.items()})
                    counts[labels[best]] += 1
                done += len(chunk.texts)
                on_event(ProgressEvent(done, None, f"{done} documents classified"))
    return {"rows": done, "out": str(out_path), "counts": counts, "text_column": text_col}

"""Which unlabeled texts to label next: every category covered, then the most uncertain, no near-copies.

First, for each category without a label yet, the text most likely to belong to it (without this,
the queue trailed random order on banking77's 77 categories; with it, it reaches random order's
500-label accuracy with 275 labels: docs/FEW_LABELS.md). Then uncertainty: the margin between the
two most likely categories (small margin = the model hesitates = a label there teaches it most). Diversity: walking down the uncertain texts, one is
skipped while it is nearly the same (cosine similarity above ``MAX_SIMILARITY``) as a text already
picked; skipped texts only come back when nothing else is left.

The probabilities come from a trained run (fine-tuned or few-shot), else from category centroids:
the mean embedding of each category's labeled texts, or its name's embedding while it has none
(zero-shot).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .data import read_table
from .embeddings import Embedder
from .errors import UserInputError
from .labeling import text_and_label_columns
from .metrics import softmax
from .runs import atomic_path
from .outputs import safe_cell as spreadsheet_safe
from .zero_shot import DEFAULT_TEMPERATURE, Category, parse_categories

MAX_SIMILARITY = 0.9
POOL_FACTOR = 10  # the diverse picks come from the 10*K most uncertain texts
DEFAULT_COUNT = 20


def margins(probs: np.ndarray) -> np.ndarray:
    """Top probability minus the second: 0 = undecided, 1 = sure."""
    if probs.shape[1] < 2:
        return np.ones(len(probs))
    top2 = np.sort(probs, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def diverse_uncertain(probs: np.ndarray, vectors: np.ndarray, count: int, max_similarity: float = MAX_SIMILARITY,
                      pool_factor: int = POOL_FACTOR) -> list[int]:
    """Positions of ``count`` texts, best to label first: small margin, not near-duplicates of each other."""
    order = np.argsort(margins(probs), kind="stable")
    pool = order[: max(count * pool_factor, count)]
    picked: list[int] = []
    skipped: list[int] = []
    for i in pool:
        if len(picked) == count:
            break
        if picked and float((vectors[picked] @ vectors[i]).max()) > max_similarity:
            skipped.append(int(i))
        else:
            picked.append(int(i))
    rest = skipped + [int(i) for i in order[len(pool):]]
    return picked + rest[: count - len(picked)]


def coverage_first(probs: np.ndarray, missing: Sequence[int], count: int) -> list[int]:
    """For each category without a label yet, the text most likely to be in it (each text once)."""
    picked: list[int] = []
    for c in missing:
        for i in np.argsort(-probs[:, c], kind="stable"):
            if int(i) not in picked:
                picked.append(int(i))
                break
        if len(picked) == count:
            break
    return picked


def label_order(probs: np.ndarray, vectors: np.ndarray, count: int, missing: Sequence[int] = (),
                first: Sequence[int] | None = None) -> list[int]:
    """The queue: categories without labels covered first, then small margins with diversity.
    ``first``: ``coverage_first(probs, missing, count)`` when the caller has it already."""
    if first is None:
        first = coverage_first(probs, missing, count) if len(missing) else []
    first = list(first)
    rest = [i for i in diverse_uncertain(probs, vectors, min(count + len(first), len(probs))) if i not in first]
    return (first + rest)[:count]


def centroid_proba(vectors: np.ndarray, categories: Sequence[Category], labeled_vectors: np.ndarray,
                   labeled: Sequence[str], embedder: Embedder, temperature: float = DEFAULT_TEMPERATURE) -> np.ndarray:
    """Nearest-centroid probabilities; a category without labeled texts uses its name (zero-shot)."""
    centroids = []
    missing = [c for c in categories if c.name not in set(labeled)]
    name_vectors = dict(zip([c.name for c in missing], embedder.embed([c.prompt for c in missing]))) if missing else {}
    labeled = np.asarray(labeled)
    for c in categories:
        if c.name in name_vectors:
            centroids.append(name_vectors[c.name])
        else:
            mean = labeled_vectors[labeled == c.name].mean(axis=0)
            centroids.append(mean / max(float(np.linalg.norm(mean)), 1e-9))
    return softmax((vectors @ np.stack(centroids).T) / temperature)


@dataclass
class QueueItem:
    position: int  # index among the file's rows
    row_number: int  # the row a person sees in the file
    text: str
    suggestion: str
    confidence: float
    margin: float


def label_next(data_path: str | Path, out_path: str | Path, *, run_dir: str | Path | None = None,
               labels: str | Sequence[str] | None = None, count: int = DEFAULT_COUNT, text_column: str | None = None,
               label_column: str | None = None, model: str | Path = "default", device: str = "auto") -> dict:
    """Write the ``count`` unlabeled rows to label next, best first, with suggestion and confidence.

    Returns {"out", "rows", "unlabeled", "labeled", "source"} (source: what made the suggestions).
    """
    if count < 1:
        raise UserInputError("--count must be at least 1.", where="--count", fix="Ask for e.g. --count 20.")
    data_path, out_path = Path(data_path), Path(out_path)
    if out_path.resolve() == data_path.resolve():
        raise UserInputError("The output file would overwrite the data.", where=str(out_path), fix="Choose another name for --out.")
    table = read_table(data_path)
    text_col, label_col = text_and_label_columns(table, text_column, label_column)
    texts = [t or "" for t in table.column(text_col)]
    given = [(v or "").strip() for v in table.column(label_col)] if label_col else [""] * len(texts)
    unlabeled = [i for i, (t, l) in enumerate(zip(texts, given)) if t.strip() and not l]
    done = [i for i, (t, l) in enumerate(zip(texts, given)) if t.strip() and l]
    if not unlabeled:
        raise UserInputError("Every row already has a label.", where=f"{data_path} column '{label_col}'",
                             fix="Leave the label empty on the rows still to be labeled.")
    if run_dir is not None:
        from .few_shot import embedder_of
        from .inference import Classifier

        scorer = Classifier.load(run_dir, device=device, engine="torch")
        embedder = embedder_of(scorer) or Embedder.load(model, device)
        probs = scorer.predict_proba([texts[i] for i in unlabeled])
        names = scorer.labels
        vectors = embedder.embed([texts[i] for i in unlabeled])
        source = f"the trained model in {run_dir}"
    else:
        names = [c.name for c in parse_categories(labels, where="--labels")] if labels else []
        names += sorted({given[i] for i in done} - set(names))
        if len(names) < 2:
            raise UserInputError("Suggestions need at least two categories.", where=str(data_path),
                                 fix="Name the categories with --labels A,B,C, label a few rows of two categories, or pass --run.")
        categories = parse_categories(names, where="--labels")
        embedder = Embedder.load(model, device)
        vectors = embedder.embed([texts[i] for i in unlabeled])
        labeled_vectors = embedder.embed([texts[i] for i in done]) if done else np.zeros((0, vectors.shape[1]), np.float32)
        probs = centroid_proba(vectors, categories, labeled_vectors, [given[i] for i in done], embedder)
        source = "the labeled rows and the category names" if done else "the category names (zero-shot)"
    missing = [j for j, name in enumerate(names) if name not in {given[i] for i in done}] if run_dir is None else []
    picks = label_order(probs, vectors, min(count, len(unlabeled)), missing)
    gaps = margins(probs)
    items = [QueueItem(unlabeled[p], table.row_numbers[unlabeled[p]], texts[unlabeled[p]], names[int(probs[p].argmax())],
                       float(probs[p].max()), float(gaps[p])) for p in picks]
    header = ["row"] + [c for c in table.columns if c not in ("row", "suggestion", "confidence")] + ["suggestion", "confidence"]
    with atomic_path(out_path, suffix=".csv") as tmp:
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow([spreadsheet_safe(h) for h in header])
            for item in items:
                values = {c: table.column(c)[item.position] or "" for c in table.columns}
                values.update(row=item.row_number, suggestion=item.suggestion, confidence=f"{100 * item.confidence:.0f}%")
                writer.writerow([spreadsheet_safe(values[h]) for h in header])
    return {"out": str(out_path), "rows": len(items), "unlabeled": len(unlabeled), "labeled": len(done), "source": source,
            "items": items}

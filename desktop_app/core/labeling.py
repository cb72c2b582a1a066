"""Labeling unlabeled texts: the labels given so far, saved after every change, and the suggestions.

``LabelStore`` keeps a person's labels and writes them, atomically, after every change to
``<input>.labeled.csv`` (columns row, text, label; label empty where not labeled yet), so closing
the app loses nothing and the input is never modified. Where: a folder the person chose, else beside
the input; never inside the program's own folder (the bundled samples): those labels go to
``default_labels_dir()`` under the user's documents. Nothing is written before the first label or skip. The file is ready for
``train`` (rows without a label are skipped) and for ``label-next``. The categories and the skipped
rows go to ``<input>.labeled.json``. Reopening the same input picks both up again.

``suggest`` scores the unlabeled texts with the best method for the labels so far (zero-shot from
the category names, nearest-centroid, then few-shot training) and orders them with the label-next
queue.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .errors import UserInputError
from .events import EventSink, StatusEvent, ignore
from .runs import atomic_path

SUGGESTION_WINDOW = 20  # the estimated accuracy: suggestions that matched the last 20 labels given


def text_and_label_columns(table, text_column: str | None = None, label_column: str | None = None) -> tuple[str, str | None]:
    """The column of texts and the label column (None: none yet) of a file to label; UserInputError without texts."""
    from .data import guess_columns

    guess = guess_columns(table, text_column=text_column, label_column=label_column)
    if guess.text is None:
        shown = ", ".join(repr(c) for c in table.columns[:12]) + (" ..." if len(table.columns) > 12 else "")
        raise UserInputError(f"No column of texts was found in this file. Its columns: {shown}.", where=str(table.path),
                             fix="Name the column of texts 'text' (or open a .txt file or a folder of .txt files); "
                                 "on the command line, --text-column NAME picks it.")
    label = label_column or guess.label or ("label" if "label" in table.columns else None)
    return guess.text, label


def read_for_labeling(path: str | Path) -> dict:
    """The texts of a file to label, with the labels it already has.

    Opening one of our own ``<input>.labeled.csv`` files reads its input instead (when that still
    exists), so the labels saved as you go come back instead of starting a ``.labeled.labeled.csv``.
    A file with a label column (named as labels are: 'label', 'category' ...) filled on some rows, as
    ``label-next`` reads it, brings those labels. Returns {"path", "texts", "rows", "column",
    "given": {position: label}, "note"}."""
    from .data import read_table
    from .data.columns import is_label_name
    from .data.labeled import MISSING_LABELS

    path, note = Path(path), ""
    if path.name.endswith(".labeled.csv"):
        meta_path = path.with_name(path.name[: -len(".csv")] + ".json")
        try:
            source = Path(json.loads(meta_path.read_text(encoding="utf-8"))["source"])
        except (OSError, ValueError, KeyError, TypeError):
            source = None
        if source is not None and source.exists() and store_paths(source, path.parent)[0] == path:
            note = f"{path.name} is where the labels of {source.name} are saved: opened {source.name} with them."
            path = source
    table = read_table(path)
    text_col, label_col = text_and_label_columns(table)
    texts = [t or "" for t in table.column(text_col)]
    given: dict[int, str] = {}
    if label_col and is_label_name(label_col):  # only a column named as labels are: never an author or a date
        for i, value in enumerate(table.column(label_col)):
            value = (value or "").strip()
            if value and value.casefold() not in MISSING_LABELS and texts[i].strip():
                given[i] = value
    return {"path": str(path), "texts": texts, "rows": list(table.row_numbers), "column": text_col, "given": given,
            "note": note}


def default_labels_dir() -> Path:
    """Labels of files that live inside the program (the samples): the user's documents, "Classifier Studio/Labels"
    ($CLASSIFIER_STUDIO_HOME/Documents/... when that is set: tests, portable installs)."""
    home = os.environ.get("CLASSIFIER_STUDIO_HOME")
    if home:
        return Path(home) / "Documents" / "Classifier Studio" / "Labels"
    import platformdirs

    return Path(platformdirs.user_documents_dir()) / "Classifier Studio" / "Labels"


def program_folders() -> list[Path]:
    """The folders the app is installed in: nothing of the user's is ever written there."""
    from .resources import is_frozen, resources_dir

    folders = [resources_dir(), Path(__file__).resolve().parents[1]]
    if is_frozen():
        folders.append(Path(sys.executable).resolve().parent)
    return folders


def inside_program(path: str | Path) -> bool:
    path = Path(path).resolve()
    return any(path == f or f in path.parents for f in (p.resolve() for p in program_folders()))


def labels_folder(source: str | Path, folder: str | Path | None = None) -> Path:
    """Where the labels of ``source`` are saved: ``folder`` when chosen; else beside the input, unless the
    input is inside the program's folder (then default_labels_dir())."""
    if folder:
        return Path(folder)
    source = Path(source)
    return default_labels_dir() if inside_program(source) else source.parent


def store_paths(source: str | Path, folder: str | Path | None = None) -> tuple[Path, Path]:
    """The labeled CSV and its JSON (beside the input, or in ``labels_folder``). In a folder shared by
    several inputs, a name already used for another input's labels gets a number (tickets-2.labeled.csv)."""
    source = Path(source)
    stem = source.name if source.is_dir() else source.stem
    where = labels_folder(source, folder)
    if where.resolve() == source.parent.resolve():
        return where / f"{stem}.labeled.csv", where / f"{stem}.labeled.json"
    for n in range(1, 1000):
        name = stem if n == 1 else f"{stem}-{n}"
        csv_path, json_path = where / f"{name}.labeled.csv", where / f"{name}.labeled.json"
        try:
            owner = json.loads(json_path.read_text(encoding="utf-8")).get("source") if json_path.is_file() else None
        except (OSError, ValueError, AttributeError):
            owner = None
        if owner == str(source) or (owner is None and not csv_path.exists()):
            return csv_path, json_path
    return where / f"{stem}.labeled.csv", where / f"{stem}.labeled.json"


@dataclass
class LabelStore:
    """Labels by position in ``texts``; every change is saved at once. Undo walks back the history."""

    source: Path
    texts: list[str]
    row_numbers: list[int]
    categories: list[str] = field(default_factory=list)
    labels: dict[int, str] = field(default_factory=dict)
    skipped: set[int] = field(default_factory=set)
    history: list[tuple[str, int, str | None]] = field(default_factory=list)  # (action, position, label it replaced)
    hits: list[tuple[int, bool]] = field(default_factory=list)  # (labels so far, suggestion matched) per label given
    folder: Path | None = None  # the folder chosen for the labels; None: beside the input (see labels_folder)

    def __post_init__(self) -> None:
        self._paths = store_paths(self.source, self.folder)

    @property
    def csv_path(self) -> Path:
        return self._paths[0]

    @property
    def json_path(self) -> Path:
        return self._paths[1]

    @classmethod
    def open(cls, source: str | Path, texts: Sequence[str], row_numbers: Sequence[int],
             given: dict[int, str] | None = None, folder: str | Path | None = None) -> "LabelStore":
        """A store for these texts, with the labels saved earlier for the same input (matched by row and text);
        the first time, the labels the input already has (``given``, by position) are the start. Labels saved
        earlier in the default place come back when a folder was chosen since (and are saved there from now on)."""
        store = cls(Path(source), list(texts), list(row_numbers), folder=Path(folder) if folder else None)
        if folder and not store.csv_path.is_file():
            earlier = store_paths(source)
            if earlier[0].is_file():
                store._paths = earlier  # read them from where they are; save() writes to the chosen folder
                loaded = cls._load(store, given)
                loaded._paths = store_paths(source, folder)
                return loaded
        return cls._load(store, given)

    @staticmethod
    def _load(store: "LabelStore", given: dict[int, str] | None) -> "LabelStore":
        if not store.csv_path.is_file() and given:
            store.labels = {int(i): str(l) for i, l in given.items() if 0 <= int(i) < len(store.texts)}
        if store.csv_path.is_file():
            where = {(r, t): i for i, (r, t) in enumerate(zip(store.row_numbers, store.texts))}
            with store.csv_path.open(encoding="utf-8", newline="") as fh:
                for row in csv.DictReader(fh):
                    try:
                        key = (int(row.get("row") or 0), row.get("text") or "")
                    except ValueError:
                        continue
                    if key in where and (row.get("label") or "").strip():
                        store.labels[where[key]] = row["label"].strip()
        if store.json_path.is_file():
            try:
                meta = json.loads(store.json_path.read_text(encoding="utf-8"))
                store.categories = [str(c) for c in meta.get("categories", [])]
                store.skipped = {int(i) for i in meta.get("skipped", []) if 0 <= int(i) < len(store.texts)}
                store.hits = [(int(n), bool(ok)) for n, ok in meta.get("suggestion_hits", [])]
            except (OSError, ValueError, TypeError, AttributeError):
                pass  # a damaged side file only loses the category list and skips; the labels are in the CSV
        for label in store.labels.values():
            if label not in store.categories:
                store.categories.append(label)
        return store

    def set_categories(self, names: Sequence[str]) -> None:
        cleaned: list[str] = []
        for name in names:
            name = str(name).strip()
            if name and name not in cleaned:
                cleaned.append(name)
        renamed = self._renamed(cleaned)
        if renamed:  # one name edited in place (billing -> Billing): its labels follow
            old, new = renamed
            self.labels = {i: (new if l == old else l) for i, l in self.labels.items()}
            self.history = [(a, i, new if prev == old else prev) for a, i, prev in self.history]
        used = sorted(set(self.labels.values()) - set(cleaned))
        if used:
            raise UserInputError(f"Texts are already labeled {', '.join(used)}; that category cannot be removed.",
                                 where="categories", fix="Keep the category, or undo those labels first. To rename it, "
                                                         "edit its name in place and keep the others as they are.")
        self.categories = cleaned
        self.save()

    def _renamed(self, names: list[str]) -> tuple[str, str] | None:
        """(old, new) when ``names`` is the category list with exactly one name edited in place."""
        if len(names) != len(self.categories):
            return None
        changed = [(a, b) for a, b in zip(self.categories, names) if a != b]
        if len(changed) == 1 and changed[0][1] not in self.categories:
            return changed[0]
        return None

    def label(self, position: int, label: str, suggested: str | None = None) -> None:
        if label not in self.categories:
            raise UserInputError(f"'{label}' is not one of the categories.", where="label", fix="Add it to the categories first.")
        self.history.append(("label", position, self.labels.get(position)))
        self.labels[position] = label
        self.skipped.discard(position)
        if suggested is not None:
            self.hits.append((len(self.labels), suggested == label))
        self.save()

    def skip(self, position: int) -> None:
        self.history.append(("skip", position, None))
        self.skipped.add(position)
        self.save()

    def undo(self) -> int | None:
        """Take back the last label or skip; returns its position (to show that text again), None if nothing to undo."""
        if not self.history:
            return None
        action, position, previous = self.history.pop()
        if action == "skip":
            self.skipped.discard(position)
        elif previous is None:
            self.labels.pop(position, None)
            if self.hits:
                self.hits.pop()
        else:
            self.labels[position] = previous
        self.save()
        return position

    def next_positions(self, order: Sequence[int] = ()) -> list[int]:
        """Positions still to label: ``order`` first (the queue), then the rest in file order."""
        open_ = [i for i in range(len(self.texts)) if i not in self.labels and i not in self.skipped]
        ranked = [i for i in order if i not in self.labels and i not in self.skipped]
        seen = set(ranked)
        return ranked + [i for i in open_ if i not in seen]

    def class_counts(self) -> dict[str, int]:
        return {c: sum(1 for l in self.labels.values() if l == c) for c in self.categories}

    def estimated_accuracy(self) -> float | None:
        """How often the suggestion shown was the label given, over the last labels (an honest, held-out estimate)."""
        recent = self.hits[-SUGGESTION_WINDOW:]
        return sum(ok for _, ok in recent) / len(recent) if len(recent) >= 5 else None

    def save(self, force: bool = False) -> None:
        """Write the labels; nothing before the first label or skip (opening a file or typing names writes nothing)."""
        if not force and not self.history and not self.csv_path.is_file():
            return
        self.csv_path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.csv_path, suffix=".csv") as tmp:
            with tmp.open("w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(["row", "text", "label"])
                for i, (row, text) in enumerate(zip(self.row_numbers, self.texts)):
                    writer.writerow([row, text, self.labels.get(i, "")])
        with atomic_path(self.json_path, suffix=".json") as tmp:
            tmp.write_text(json.dumps({"source": str(self.source), "categories": self.categories, "skipped": sorted(self.skipped),
                                       "suggestion_hits": self.hits}, indent=1), encoding="utf-8")


@dataclass
class Suggestions:
    categories: list[str]
    positions: list[int]  # the texts scored
    probs: np.ndarray  # one row per scored position
    queue: list[int]  # positions, best to label first
    method: str  # zero-shot | centroid | few-shot
    reason: str
    labels_used: int
    coverage: frozenset = frozenset()  # positions queued as the likeliest text of a category still without labels

    def counts_for_estimate(self, position: int) -> bool:
        """Whether the suggestion for this text tests the model: a coverage pick is the text most like a
        category name, right almost always, and would make the estimate start high and fall."""
        return position not in self.coverage

    def for_position(self, position: int) -> tuple[str, float] | None:
        try:
            row = self.probs[self.positions.index(position)]
        except ValueError:
            return None
        return self.categories[int(row.argmax())], float(row.max())


def suggest(texts: Sequence[str], categories: Sequence[str], labeled: dict[int, str], *, model: str | Path = "default",
            device: str = "auto", max_scored: int = 3000, queue_length: int = 50, few_shot_settings=None,
            on_event: EventSink = ignore, should_stop: Callable[[], bool] | None = None) -> Suggestions:
    """Score the unlabeled texts with what the labels so far allow, and order them for labeling.

    ``few_shot_settings``: TrainSettings for the few-shot run (default: few-shot's own plan)."""
    from .embeddings import Embedder
    from .few_shot import embedder_of
    from .metrics import softmax
    from .few_shot import choose_method
    from .label_queue import centroid_proba, coverage_first, label_order
    from .zero_shot import parse_categories

    cats = parse_categories(list(categories), where="categories")
    names = [c.name for c in cats]
    counts = {n: sum(1 for l in labeled.values() if l == n) for n in names}
    open_positions = [i for i in range(len(texts)) if i not in labeled and str(texts[i]).strip()][:max_scored]
    method, reason = choose_method(counts)
    if method != "zero-shot" and min(counts.values()) >= 2:
        on_event(StatusEvent(f"Training on the {len(labeled)} labels so far (few-shot)"))
        pos = sorted(labeled)
        clf = train_suggester([texts[i] for i in pos], [labeled[i] for i in pos], model=model, device=device,
                              settings=few_shot_settings, on_event=on_event, should_stop=should_stop)
        embedder = embedder_of(clf)
        vectors = embedder.embed([texts[i] for i in open_positions], should_stop=should_stop)
        head = clf.model
        scored = softmax(head.scale * (vectors @ head.weight.numpy().T + head.bias.numpy()))
        probs = np.zeros((len(open_positions), len(names)), dtype=np.float32)
        for j, name in enumerate(clf.labels):
            probs[:, names.index(name)] = scored[:, j]
        method = "few-shot"
        reason = f"A few-shot model trained on the {len(labeled)} labels so far. " + reason
    else:
        embedder = Embedder.load(model, device)
        on_event(StatusEvent("Scoring the texts against the categories"))
        vectors = embedder.embed([texts[i] for i in open_positions], should_stop=should_stop)
        pos = sorted(labeled)
        labeled_vectors = embedder.embed([texts[i] for i in pos]) if pos else np.zeros((0, vectors.shape[1]), np.float32)
        probs = centroid_proba(vectors, cats, labeled_vectors, [labeled[i] for i in pos], embedder)
        if pos:
            method = "centroid"
            reason = ("Each category's labeled texts are compared with the rest (nearest centroid); categories without labels "
                      "are recognised by their names. Few-shot training starts once every category has two labels.")
        else:
            reason = "No labels yet: the texts are compared with the category names (zero-shot)."
    missing = [j for j, name in enumerate(names) if counts[name] == 0]
    count = min(queue_length, len(open_positions))
    first = coverage_first(probs, missing, count) if open_positions and missing else []
    order = label_order(probs, vectors, count, missing, first) if open_positions else []
    coverage = frozenset(open_positions[i] for i in first)
    return Suggestions(names, open_positions, probs, [open_positions[i] for i in order], method, reason, len(labeled),
                       coverage)


def train_suggester(texts: Sequence[str], labels: Sequence[str], *, model: str | Path = "default", device: str = "auto",
                    settings=None, on_event: EventSink = ignore, should_stop: Callable[[], bool] | None = None):
    """A few-shot model of the labels so far, trained by the one engine (training.train with FewShotRecipe)
    in a temporary run folder, loaded into memory; the folder is removed. Raises TrainingCancelled on a cancel."""
    import shutil
    import tempfile

    from .data import LabeledData
    from .errors import TrainingCancelled
    from .few_shot import FewShotRecipe
    from .inference import Classifier
    from .settings import TrainSettings
    from .training import TrainJob, train

    folder = Path(tempfile.mkdtemp(prefix="label-suggestions-"))
    try:
        data = LabeledData(list(texts), list(labels), list(range(len(texts))), source="the labels so far")
        job = TrainJob(train=data, out_dir=folder / "run", model=str(model),
                       settings=settings or TrainSettings(device=device), recipe=FewShotRecipe("the Label page's suggestions"))
        result = train(job, on_event, should_stop or (lambda: False))
        if result.status != "finished":
            raise TrainingCancelled()
        return Classifier.load(folder / "run", device=device, engine="torch")
    finally:
        shutil.rmtree(folder, ignore_errors=True)

"""Which labels look wrong: out-of-fold probabilities for every labeled row, then cleanlab.

    find_label_errors(data, out, run_dir=None, method="auto", folds=5, ...) -> LabelErrorReport
        reads a labeled file, writes SUSPECTS.csv (or .xlsx): the suspected rows, most suspect first
    sentence_features(embedder, texts, ...) -> (n, d) array     frozen features, computed once
    out_of_fold(vectors, y, n_classes, learner, folds, ...)     each row scored by a learner that did not see it
    choose_learner(candidates, y)                                lowest out-of-fold log loss against the given labels
    suspects(labels, probs, names)                               cleanlab's filter and scores -> ranked Suspect rows

How (measured in benchmarks/bench_label_errors.py, README "Finding wrong labels"):

1. Features, once: the mean of the token vectors of the encoder's last three layers, each scaled to unit
   length and joined (the bundled all-MiniLM-L6-v2, or with ``--run`` the encoder of a trained run).
   Concatenating three layers beat the last layer alone by 2-3 points of precision at the same recall.
2. Out-of-fold probabilities (k folds, stratified, default 5): a logistic regression (L2, C=10: C=1
   underfits, C=100 overfits the noisy labels) and a cosine k-nearest-neighbour vote (k=10) fitted on
   the other folds; ``auto`` keeps the logistic regression, the neighbours or their average, whichever
   has the lowest out-of-fold log loss against the given labels (averaging wins on banking77's 77
   categories, the regression alone on sms_spam's two). A few seconds to a minute on 5,000 rows; the
   issue's first try (last layer only, an underfitted head) found 0.34-0.37 precision.
3. cleanlab: ``filter.find_label_issues(filter_by="both")`` (confident learning and the noise-rate
   prune must both agree: the best precision at the same recall among cleanlab's filters, measured) and
   ``rank.get_label_quality_scores`` (self-confidence: the probability of the given label). Multi-label
   data uses cleanlab's multi-label filter with one probability per label.

Progress, cancel and resume: features and each learner's folds are saved (``np.save``, no pickles) in a
hidden folder beside the output as they finish; a stopped run (Ctrl-C, the app's Cancel) leaves them
there and the same command continues from them; a finished run removes them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .errors import TrainingCancelled, UserInputError
from .events import Event, ProgressEvent, StatusEvent

LEARNERS = ("logistic", "knn", "logistic+knn")
METHODS = ("auto",) + LEARNERS
DEFAULT_FOLDS = 5
LOGISTIC_C = 10.0
KNN_K = 10
KNN_TEMPERATURE = 0.05  # neighbour weights exp(cosine / T): the closest count most
KNN_SMOOTHING = 1e-3
FEATURE_LAYERS = 3  # mean-pooled last layers, joined
FEATURE_CHUNK = 1024  # texts embedded between two saves (resume point)
FILTER_BY = "both"
WORK_FORMAT = 1
COLUMNS = ["row", "text", "label", "suggested_label", "label_quality", "suggestion_probability", "given_label_probability"]


def _ignore(_event: Event) -> None:
    pass


def _never() -> bool:
    return False


# ----------------------------------------------------------------------------- features

def sentence_features(embedder, texts: Sequence[str], layers: int = FEATURE_LAYERS, batch_size: int = 64,
                      should_stop: Callable[[], bool] = _never, start: int = 0,
                      on_chunk: Callable[[int, np.ndarray], None] | None = None,
                      chunk: int = FEATURE_CHUNK) -> np.ndarray | None:
    """Unit-length features: the last ``layers`` hidden layers, each mean-pooled and scaled to unit length, joined.

    With ``on_chunk(start, block)`` the texts are embedded ``chunk`` at a time from ``start`` and each block is
    handed over (saved for resume) and nothing is returned; without it the whole array is returned."""
    import torch

    from . import batching

    blocks = []
    for begin in range(start, len(texts), chunk):
        if should_stop():
            raise TrainingCancelled()
        part = list(texts[begin:begin + chunk])
        ids = embedder.encode(part)
        block = None
        with torch.inference_mode():
            embedder.model.eval()
            for batch_idx in batching.sorted_batches([len(x) for x in ids], batch_size):
                if should_stop():
                    raise TrainingCancelled()
                batch = batching.collate([ids[i] for i in batch_idx], embedder.pad_id, embedder.device)
                out = embedder.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                     output_hidden_states=True)
                mask = batch["attention_mask"].unsqueeze(-1).float()
                pooled = []
                for hidden in out.hidden_states[-layers:]:
                    mean = (hidden.float() * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                    pooled.append(torch.nn.functional.normalize(mean, dim=-1))
                vectors = torch.nn.functional.normalize(torch.cat(pooled, dim=-1), dim=-1).cpu().numpy()
                if block is None:
                    block = np.zeros((len(ids), vectors.shape[1]), dtype=np.float32)
                block[batch_idx] = vectors
        if on_chunk is not None:
            on_chunk(begin, block)
        else:
            blocks.append(block)
    if on_chunk is not None:
        return None
    return np.concatenate(blocks) if blocks else np.zeros((0, 0), dtype=np.float32)


# ----------------------------------------------------------------------------- folds and learners

def fold_of(y: np.ndarray, folds: int, seed: int = 0) -> np.ndarray:
    """Each row's fold: every category dealt round-robin over the folds (stratified), from a random start.

    ``y`` is one class per row (multi-label: any one of the row's labels, e.g. its rarest)."""
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(y), dtype=np.int64)
    offset = 0
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        rows = rows[rng.permutation(len(rows))]
        fold[rows] = (np.arange(len(rows)) + offset) % folds
        offset += len(rows)
    return fold


def _logistic_fold(x_train, y_train, x_test, n_classes: int, multi_label: bool) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    out = np.zeros((len(x_test), n_classes), dtype=np.float64)
    if multi_label:  # one binary regression per label
        for c in range(n_classes):
            target = y_train[:, c]
            if target.min() == target.max():
                out[:, c] = float(target[0]) * (1 - KNN_SMOOTHING) + KNN_SMOOTHING / 2
                continue
            model = LogisticRegression(C=LOGISTIC_C, max_iter=300)
            model.fit(x_train, target)
            out[:, c] = model.predict_proba(x_test)[:, list(model.classes_).index(1)]
        return out
    present = np.unique(y_train)
    if len(present) == 1:
        out[:, present[0]] = 1.0
    else:
        model = LogisticRegression(C=LOGISTIC_C, max_iter=300)
        model.fit(x_train, y_train)
        out[:, model.classes_] = model.predict_proba(x_test)
    return (out + KNN_SMOOTHING / n_classes) / (1 + KNN_SMOOTHING)


def _knn_fold(x_train, y_train, x_test, n_classes: int, multi_label: bool, k: int = KNN_K,
              temperature: float = KNN_TEMPERATURE) -> np.ndarray:
    k = max(1, min(k, len(x_train)))
    out = np.zeros((len(x_test), n_classes), dtype=np.float64)
    for begin in range(0, len(x_test), 1024):
        sims = x_test[begin:begin + 1024] @ x_train.T
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        top_sims = np.take_along_axis(sims, top, axis=1)
        weights = np.exp((top_sims - top_sims.max(axis=1, keepdims=True)) / temperature)
        weights /= weights.sum(axis=1, keepdims=True)
        block = out[begin:begin + len(top)]
        if multi_label:
            block[:] = np.einsum("rk,rkc->rc", weights, y_train[top].astype(np.float64))
        else:
            np.add.at(block, (np.repeat(np.arange(len(top)), k), y_train[top].ravel()), weights.ravel())
    if multi_label:
        return out * (1 - KNN_SMOOTHING) + KNN_SMOOTHING / 2
    return (out + KNN_SMOOTHING / n_classes) / (1 + KNN_SMOOTHING)


_FIT = {"logistic": _logistic_fold, "knn": _knn_fold}


def out_of_fold(vectors: np.ndarray, y: np.ndarray, n_classes: int, learner: str, fold: np.ndarray,
                done: dict[int, np.ndarray] | None = None, on_fold: Callable[[int, np.ndarray], None] | None = None,
                should_stop: Callable[[], bool] = _never) -> np.ndarray:
    """Probabilities (n, n_classes) for every row from ``learner`` fitted on the other folds.

    ``y``: class ids (n,), or a 0/1 matrix (n, n_classes) for multi-label (then one probability per label).
    ``done``: folds already computed (resume); ``on_fold(k, probs_of_fold_k)`` after each new fold."""
    multi_label = y.ndim == 2
    fit = _FIT[learner]
    out = np.zeros((len(vectors), n_classes), dtype=np.float64)
    for k in range(int(fold.max()) + 1):
        test = np.flatnonzero(fold == k)
        if done and k in done:
            out[test] = done[k]
            continue
        if should_stop():
            raise TrainingCancelled()
        train = np.flatnonzero(fold != k)
        out[test] = fit(vectors[train], y[train], vectors[test], n_classes, multi_label)
        if on_fold is not None:
            on_fold(k, out[test])
    return out


def log_loss(probs: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log-likelihood of the given labels (multi-label: per label, binary)."""
    p = np.clip(probs, 1e-7, 1 - 1e-7)
    if y.ndim == 2:
        return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())
    return float(-np.log(p[np.arange(len(y)), y]).mean())


def choose_learner(candidates: dict[str, np.ndarray], y: np.ndarray) -> tuple[str, dict[str, float]]:
    """The candidate with the lowest out-of-fold log loss against the given labels, and every loss."""
    losses = {name: log_loss(p, y) for name, p in candidates.items()}
    return min(losses, key=losses.get), losses


# ----------------------------------------------------------------------------- cleanlab

@dataclass
class Suspect:
    position: int  # index among the labeled rows
    row: int  # 1-based data row of the file (header not counted)
    text: str
    label: str
    suggested_label: str
    label_quality: float  # 0 = surely wrong .. 1 = surely right (cleanlab's self-confidence)
    suggestion_probability: float
    given_label_probability: float


def rank_issues(labels, probs: np.ndarray, multi_label: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """cleanlab: (positions of the suspected rows, most suspect first; every row's label quality).

    ``n_jobs=1``: cleanlab's own worker processes (fork) hung a process that had run torch and the CLI's signal
    handlers (a semaphore never released); one process is fast enough here (under a second for 5,000 rows)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if multi_label:
            from cleanlab.multilabel_classification.filter import find_label_issues as find_multi
            from cleanlab.multilabel_classification.rank import get_label_quality_scores as quality_multi

            issues = find_multi(labels=labels, pred_probs=probs, filter_by=FILTER_BY, n_jobs=1)
            quality = quality_multi(labels, probs)
        else:
            from cleanlab.filter import find_label_issues
            from cleanlab.rank import get_label_quality_scores

            issues = find_label_issues(labels=np.asarray(labels), pred_probs=probs, filter_by=FILTER_BY, n_jobs=1)
            quality = get_label_quality_scores(np.asarray(labels), probs, method="self_confidence")
    flagged = np.flatnonzero(issues)
    order = flagged[np.argsort(quality[flagged], kind="stable")]
    return order, np.asarray(quality, dtype=np.float64)


def suggestion(probs_row: np.ndarray, given, names: Sequence[str], multi_label: bool) -> tuple[str, float, float]:
    """(suggested label, its probability, the given label's probability) for one row.

    Single-label: the most likely category other than the given one. Multi-label: every label whose
    probability is at least one half (the most likely one if none is); its probability is that of the least
    sure change it makes (a label added: its probability; removed: one minus it)."""
    if not multi_label:
        ranked = [int(c) for c in np.argsort(-probs_row, kind="stable") if int(c) != int(given)]
        best = ranked[0] if ranked else int(given)
        return names[best], float(probs_row[best]), float(probs_row[int(given)])
    chosen = {int(c) for c in np.flatnonzero(probs_row >= 0.5)} or {int(np.argmax(probs_row))}
    given_set = {int(c) for c in given}
    changes = [probs_row[c] for c in chosen - given_set] + [1 - probs_row[c] for c in given_set - chosen]
    sure = float(min(changes)) if changes else float(np.prod([probs_row[c] for c in chosen]))
    given_p = float(np.prod([probs_row[c] for c in given_set])) if given_set else 0.0
    return ";".join(names[c] for c in sorted(chosen)), sure, given_p


# ----------------------------------------------------------------------------- the work folder (resume)

class _WorkFolder:
    """Features and folds saved as they finish, beside the output; removed when the output is written."""

    def __init__(self, out_path: Path, key: dict):
        self.path = out_path.parent / f".{out_path.name}.find-label-errors"
        self.key = key
        self.resumed = False
        state = self.path / "state.json"
        if state.is_file():
            try:
                same = json.loads(state.read_text(encoding="utf-8")).get("key") == key
            except (OSError, ValueError):
                same = False
            if same:
                self.resumed = True
            else:
                shutil.rmtree(self.path, ignore_errors=True)
        if not self.resumed:
            self.path.mkdir(parents=True, exist_ok=True)
            (self.path / "state.json").write_text(json.dumps({"format": WORK_FORMAT, "key": key}), encoding="utf-8")

    def _save(self, name: str, array: np.ndarray) -> None:
        tmp = self.path / f".{name}.tmp.npy"
        np.save(tmp, np.ascontiguousarray(array), allow_pickle=False)
        tmp.replace(self.path / f"{name}.npy")

    def _load(self, name: str) -> np.ndarray | None:
        file = self.path / f"{name}.npy"
        if not file.is_file():
            return None
        try:
            return np.load(file, allow_pickle=False)
        except (OSError, ValueError):
            return None

    def feature_blocks(self, n: int, chunk: int) -> tuple[list[np.ndarray], int]:
        blocks = []
        for begin in range(0, n, chunk):
            block = self._load(f"features-{begin}")
            if block is None or len(block) != min(chunk, n - begin):
                break
            blocks.append(block)
        return blocks, sum(len(b) for b in blocks)

    def save_features(self, begin: int, block: np.ndarray) -> None:
        self._save(f"features-{begin}", block)

    def folds_done(self, learner: str, fold: np.ndarray) -> dict[int, np.ndarray]:
        done = {}
        for k in range(int(fold.max()) + 1):
            block = self._load(f"{learner.replace('+', '-')}-fold{k}")
            if block is not None and len(block) == int((fold == k).sum()):
                done[k] = block
        return done

    def save_fold(self, learner: str, k: int, block: np.ndarray) -> None:
        self._save(f"{learner.replace('+', '-')}-fold{k}", block)

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


# ----------------------------------------------------------------------------- the whole job

@dataclass
class LabelErrorReport:
    out: str
    rows: int  # labeled rows checked
    suspects: list[Suspect]
    method: str  # the learner used
    losses: dict[str, float]  # out-of-fold log loss of each learner tried
    out_of_fold_agreement: float  # share of rows whose most likely category (set) is the given label
    features: str  # what made the features
    folds: int
    multi_label: bool
    resumed: bool
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)

    def headline(self) -> str:
        n = len(self.suspects)
        share = n / self.rows if self.rows else 0.0
        return (f"{n} of {self.rows} labels look wrong ({share:.1%}); the list starts with the most suspect. "
                f"Each row shows the label the data suggests instead.")

    def to_dict(self) -> dict:
        return {"out": self.out, "rows": self.rows, "suspects": len(self.suspects), "method": self.method,
                "losses": self.losses, "out_of_fold_agreement": self.out_of_fold_agreement, "features": self.features,
                "folds": self.folds, "multi_label": self.multi_label, "resumed": self.resumed,
                "seconds": round(self.seconds, 1), "timings": self.timings}


def _data_rows(table_format: str, rows: Sequence[int]) -> list[int]:
    """The 1-based data row (header not counted) of each file row number."""
    header = 1 if table_format in {"csv", "tsv", "xlsx"} else 0
    return [int(r) - header for r in rows]


def _key(data, features: str, folds: int, seed: int) -> dict:
    from .data import fingerprint

    h = fingerprint(data)
    if data.label_sets is not None:
        h = hashlib.sha256((h + "|multi").encode()).hexdigest()
    return {"data": h, "features": features, "layers": FEATURE_LAYERS, "folds": folds, "seed": seed,
            "logistic_c": LOGISTIC_C, "knn": [KNN_K, KNN_TEMPERATURE]}


def check_method(method: str) -> str:
    if method not in METHODS:
        raise UserInputError(f"'{method}' is not a way of scoring the rows.", where="--method",
                             fix=f"Use one of: {', '.join(METHODS)} (auto picks the best for your data).")
    return method


def find_label_errors(data_path: str | Path, out_path: str | Path, *, run_dir: str | Path | None = None,
                      method: str = "auto", folds: int = DEFAULT_FOLDS, seed: int = 0, model: str | Path = "default",
                      text_column: str | None = None, label_column: str | None = None, sheet: str | None = None,
                      multi_label: bool | None = None, label_separator: str | None = None,
                      label_columns: list[str] | None = None, device: str = "auto", loaded=None,
                      on_event: Callable[[Event], None] = _ignore,
                      should_stop: Callable[[], bool] = _never) -> LabelErrorReport:
    """Write the rows whose labels look wrong to ``out_path`` (.csv or .xlsx), most suspect first.

    ``run_dir``: use that trained run's encoder for the features (else ``model``, the bundled one).
    ``loaded``: the file already read (``data.load_labeled``'s LoadedData), else it is read here.
    Cancel: ``should_stop`` is polled between batches and folds; a stop raises TrainingCancelled and keeps
    what was computed, so the same call continues from there."""
    from .data import load_labeled
    from .outputs import check_not_inside, lock_output_file, open_table_writer, table_kind

    started = time.monotonic()
    timings: dict[str, float] = {}
    check_method(method)
    if folds < 2:
        raise UserInputError("Finding wrong labels needs at least 2 folds.", where="--folds",
                             fix="Use --folds 5 (the default) or more.")
    data_path, out_path = Path(data_path), Path(out_path)
    table_kind(out_path)
    check_not_inside(out_path, [data_path] + ([Path(run_dir)] if run_dir else []))
    if loaded is None:
        on_event(StatusEvent(f"Reading {data_path.name}"))
        loaded = load_labeled(data_path, text_column=text_column, label_column=label_column, sheet=sheet,
                              multi_label=multi_label, label_separator=label_separator, label_columns=label_columns)
    data = loaded.data
    is_multi = data.label_sets is not None
    names = data.label_names
    if len(names) < 2:
        raise UserInputError("Finding wrong labels needs at least two categories; this file has "
                             f"{len(names)}.", where=f"{data_path} column '{loaded.label_column}'",
                             fix="Check that the label column is the right one (--label-column).")
    y, given, strat = _targets(data, names, is_multi)
    per_class = y.sum(0) if is_multi else np.bincount(y, minlength=len(names))
    too_few = [names[c] for c, n in enumerate(per_class) if n < 2]
    if len(data) < 2 * folds:
        raise UserInputError(f"Only {len(data)} labeled rows: too few to check the labels against each other.",
                             where=str(data_path), fix=f"Label at least {2 * folds} rows (better: a few per category).")
    feature_source = str(run_dir) if run_dir else str(model)
    with lock_output_file(out_path, "find-label-errors") as target:
        work = _WorkFolder(target, _key(data, feature_source, folds, seed))
        if work.resumed:
            on_event(StatusEvent("Continuing from the work saved by the last attempt"))
        t0 = time.monotonic()
        vectors = _features(work, data.texts, run_dir if run_dir else model, device, on_event, should_stop)
        timings["features_s"] = round(time.monotonic() - t0, 1)
        t0 = time.monotonic()
        chosen, losses, p = _out_of_fold(work, vectors, y, len(names), fold_of(strat, folds, seed), method, folds,
                                         on_event, should_stop)
        timings["out_of_fold_s"] = round(time.monotonic() - t0, 1)
        t0 = time.monotonic()
        on_event(StatusEvent("Looking for labels that disagree with the rest"))
        found, agree = _suspects(loaded, p, y, given, names, is_multi)
        timings["cleanlab_s"] = round(time.monotonic() - t0, 1)
        if should_stop():
            raise TrainingCancelled()
        with open_table_writer(target, COLUMNS) as writer:
            for s in found:
                writer.write([s.row, s.text, s.label, s.suggested_label, s.label_quality, s.suggestion_probability,
                              s.given_label_probability])
        work.remove()
    if too_few:
        on_event(StatusEvent(f"Categories with a single row cannot be checked well: {', '.join(too_few[:10])}"))
    return LabelErrorReport(str(out_path), len(data), found, chosen, {k: round(v, 4) for k, v in losses.items()}, agree,
                            feature_source, folds, is_multi, work.resumed, time.monotonic() - started, timings)


def _targets(data, names: list[str], is_multi: bool) -> tuple[np.ndarray, Any, np.ndarray]:
    """The label matrix (several labels) or label ids, each row's given labels, and what the folds are balanced on."""
    index = {name: i for i, name in enumerate(names)}
    if not is_multi:
        y = np.array([index[label] for label in data.labels], dtype=np.int64)
        return y, y, y
    y = np.zeros((len(data), len(names)), dtype=np.int64)
    for r, labels in enumerate(data.label_sets):
        y[r, [index[label] for label in labels]] = 1
    given = [[index[label] for label in labels] for labels in data.label_sets]
    counts = y.sum(0)
    strat = np.array([min(g, key=lambda c: counts[c]) if g else -1 for g in given])
    return y, given, strat


def _features(work: "_WorkFolder", texts: list[str], source, device: str, on_event, should_stop) -> np.ndarray:
    """Every text's features, read once and saved in chunks (a resumed call reads only the rest)."""
    from .embeddings import Embedder

    blocks, have = work.feature_blocks(len(texts), FEATURE_CHUNK)
    if have < len(texts):
        on_event(StatusEvent("Loading the model that reads the texts"))
        embedder = Embedder.load(source, device)
        on_event(ProgressEvent(have, len(texts), f"Reading the texts: {have:,} of {len(texts):,}"))

        def saved(begin: int, block: np.ndarray) -> None:
            work.save_features(begin, block)
            blocks.append(block)
            done = begin + len(block)
            on_event(ProgressEvent(done, len(texts), f"Reading the texts: {done:,} of {len(texts):,}"))

        sentence_features(embedder, texts, should_stop=should_stop, start=have, on_chunk=saved)
        del embedder
    return np.concatenate(blocks)


def _out_of_fold(work: "_WorkFolder", vectors: np.ndarray, y: np.ndarray, n_labels: int, fold: np.ndarray, method: str,
                 folds: int, on_event, should_stop) -> tuple[str, dict, np.ndarray]:
    """Each row's probabilities from learners that did not see it; the learner chosen, its losses, its probabilities."""
    learners = ["logistic", "knn"] if method in ("auto", "logistic+knn") else [method]
    probs: dict[str, np.ndarray] = {}
    total, step = folds * len(learners), 0
    for learner in learners:
        done = work.folds_done(learner, fold)

        def fold_saved(k: int, block: np.ndarray, learner=learner) -> None:
            nonlocal step
            work.save_fold(learner, k, block)
            step += 1
            on_event(ProgressEvent(step, total, f"Scoring each row with a model that did not see it: "
                                                f"{step} of {total} parts"))

        step += len(done)
        probs[learner] = out_of_fold(vectors, y, n_labels, learner, fold, done, fold_saved, should_stop)
    if len(learners) == 2:
        probs["logistic+knn"] = (probs["logistic"] + probs["knn"]) / 2
    if method == "auto":
        chosen, losses = choose_learner(probs, y)
    else:
        chosen, losses = method, choose_learner({method: probs[method]}, y)[1]
    return chosen, losses, probs[chosen]


def _suspects(loaded, p: np.ndarray, y: np.ndarray, given, names: list[str], is_multi: bool) -> tuple[list, float]:
    """cleanlab's suspects, most suspect first, with their suggestions; and how often the given labels agree with p."""
    data = loaded.data
    order, quality = rank_issues(given if is_multi else y, p, is_multi)
    if is_multi:
        agree = float(((p >= 0.5).astype(np.int64) == y).all(axis=1).mean())
    else:
        agree = float((p.argmax(1) == y).mean())
    rows = _data_rows(loaded.table.format, data.rows)
    found = []
    for pos in order:
        pos = int(pos)
        suggested, sure, given_p = suggestion(p[pos], given[pos], names, is_multi)
        found.append(Suspect(pos, rows[pos], data.texts[pos], data.labels[pos], suggested, float(quality[pos]),
                             sure, given_p))
    return found, agree

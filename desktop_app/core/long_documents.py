"""Long documents: texts longer than the model reads, split into overlapping windows, each window
classified, the windows' logits combined into one answer per document.

    decide(mode, lengths, limit) -> (on, reason)                 "auto" | "on" | "off"
    windows(ids, window, overlap, n_prefix, n_suffix, max_windows) -> list of token-id windows
    split_all(ids_list, window, ...) -> (windows, doc_of_window)  every document's windows, flat
    combine(window_logits, doc_of_window, n_docs, method, multi_label) -> document logits
    choose_combination(window_logits, doc_of_window, n_docs, score, multi_label) -> (method, doc_logits, scores)
    explain(classifier, text) -> DocumentExplanation             which window drove the prediction

The windows are made over the token ids (the whole text tokenized once): the content tokens are cut
into pieces of ``window - specials`` tokens that overlap by a quarter, and each piece gets the
model's own special tokens back ([CLS] ... [SEP], <s> ... </s>). A text that fits one window is one
window, exactly as without long-document mode.

Combinations: "first" (the first window alone: what truncation reads, chosen when validation cannot tell
the combinations apart), "mean" (mean of the windows' logits), "max" (per output, the largest logit over the
windows: one strong passage decides) and "attention" (a weighted mean; each window's weight is the
softmax over the document's windows of its confidence, the largest logit margin, so the windows the
model is sure about count most). The one that scores best on the validation rows is kept
(``choose_combination``) and recorded in run.json ("long_documents").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

MODES = ("auto", "on", "off")
METHODS = ("first", "mean", "max", "attention")  # the order breaks ties: reading the start wins unless the rest helps
LONG_SHARE = 0.25  # "auto" switches on in training when at least this share of the texts is longer than the model reads
OVERLAP = 0.25  # share of a window repeated in the next one
MAX_TRAIN_WINDOWS = 8  # windows per document while training (evenly spread); prediction uses up to MAX_WINDOWS
MAX_WINDOWS = 64


def decide(mode: str | None, lengths: Sequence[int], limit: int, recorded: str | None = None) -> tuple[bool, str]:
    """Whether long-document mode is on, and why. ``limit``: the tokens the model reads at most.
    ``recorded``: a run's own choice ("on"/"off"), which "auto" follows at predict and evaluate time."""
    mode = mode or "auto"
    if mode not in MODES:
        from .errors import UserInputError

        raise UserInputError(f"Unknown --long-documents value '{mode}'.", where="--long-documents",
                             fix="Use auto, on or off.")
    n_long = sum(1 for n in lengths if n > limit)
    share = n_long / max(1, len(lengths))
    if mode == "on":
        return True, "set by you"
    if mode == "off":
        return False, "set by you" + (f" ({n_long} of {len(lengths)} texts are cut at {limit} tokens)" if n_long else "")
    if recorded == "on":
        return True, "the run was trained in long-document mode"
    if share >= LONG_SHARE:
        return True, f"{share:.0%} of the texts are longer than the {limit} tokens the model reads"
    return False, (f"{share:.1%} of the texts are longer than {limit} tokens (long-document mode starts at "
                   f"{LONG_SHARE:.0%})" if n_long else f"every text fits in {limit} tokens")


def window_starts(n_content: int, body: int, overlap: int) -> list[int]:
    """Start positions (in content tokens) of the windows covering ``n_content`` tokens."""
    if n_content <= body:
        return [0]
    step = max(1, body - overlap)
    starts = list(range(0, n_content - body, step)) + [n_content - body]
    return sorted(set(starts))


def _spread(items: list, limit: int) -> list:
    if limit <= 0 or len(items) <= limit:
        return items
    picks = np.linspace(0, len(items) - 1, limit).round().astype(int)
    return [items[i] for i in sorted(set(picks.tolist()))]


def windows(ids: Sequence[int], window: int, n_prefix: int, n_suffix: int, overlap: float = OVERLAP,
            max_windows: int = MAX_WINDOWS) -> list[np.ndarray]:
    """The windows of one tokenized text (special tokens included in ``ids``), each at most ``window`` long."""
    ids = np.asarray(ids)
    if len(ids) <= window:
        return [ids]
    prefix, suffix = ids[:n_prefix], ids[len(ids) - n_suffix:] if n_suffix else ids[:0]
    content = ids[n_prefix:len(ids) - n_suffix]
    body = max(1, window - n_prefix - n_suffix)
    starts = _spread(window_starts(len(content), body, int(body * overlap)), max_windows)
    return [np.concatenate([prefix, content[s:s + body], suffix]).astype(ids.dtype) for s in starts]


def split_all(ids_list: Sequence[Sequence[int]], window: int, n_prefix: int, n_suffix: int, overlap: float = OVERLAP,
              max_windows: int = MAX_WINDOWS) -> tuple[list[np.ndarray], np.ndarray]:
    """Every document's windows in one flat list, and for each window the position of its document."""
    out: list[np.ndarray] = []
    doc: list[int] = []
    for i, ids in enumerate(ids_list):
        parts = windows(ids, window, n_prefix, n_suffix, overlap, max_windows)
        out.extend(parts)
        doc.extend([i] * len(parts))
    return out, np.asarray(doc, dtype=np.int64)


def _confidence(logits: np.ndarray, multi_label: bool) -> np.ndarray:
    """How sure each window is: the top-two logit margin (single-label), the largest |logit| (multi-label)."""
    if multi_label or logits.shape[1] < 2:
        return np.abs(logits).max(axis=1)
    top = np.sort(logits, axis=1)
    return top[:, -1] - top[:, -2]


def window_weights(window_logits: np.ndarray, doc_of_window: np.ndarray, n_docs: int, multi_label: bool) -> np.ndarray:
    """The "attention" weights: softmax of each window's confidence over its document's windows."""
    conf = _confidence(np.asarray(window_logits, dtype=np.float64), multi_label)
    peak = np.full(n_docs, -np.inf)
    np.maximum.at(peak, doc_of_window, conf)
    e = np.exp(conf - peak[doc_of_window])
    total = np.zeros(n_docs)
    np.add.at(total, doc_of_window, e)
    return e / total[doc_of_window]


def combine(window_logits: np.ndarray, doc_of_window: np.ndarray, n_docs: int, method: str = "mean",
            multi_label: bool = False) -> np.ndarray:
    """One row of logits per document from its windows' logits."""
    logits = np.asarray(window_logits, dtype=np.float64)
    k = logits.shape[1] if logits.ndim == 2 else 0
    out = np.zeros((n_docs, k))
    if not len(logits):
        return out.astype(np.float32)
    if method == "first":  # windows come in document order: each document's first window
        docs, first = np.unique(doc_of_window, return_index=True)
        out[docs] = logits[first]
    elif method == "max":
        out[:] = -np.inf
        np.maximum.at(out, doc_of_window, logits)
    elif method == "attention":
        w = window_weights(logits, doc_of_window, n_docs, multi_label)
        np.add.at(out, doc_of_window, logits * w[:, None])
    elif method == "mean":
        counts = np.bincount(doc_of_window, minlength=n_docs).astype(np.float64)
        np.add.at(out, doc_of_window, logits)
        out /= np.maximum(counts, 1)[:, None]
    else:
        raise ValueError(f"unknown combination {method!r}")
    return out.astype(np.float32)


def choose_combination(window_logits: np.ndarray, doc_of_window: np.ndarray, n_docs: int,
                       score: Callable[[np.ndarray], float], multi_label: bool = False
                       ) -> tuple[str, np.ndarray, dict[str, float]]:
    """The combination whose document logits ``score`` best (ties: the order of METHODS, so reading the
    start, "first", is kept unless reading the rest scores better)."""
    scores: dict[str, float] = {}
    best: tuple[str, np.ndarray] | None = None
    for method in METHODS:
        doc_logits = combine(window_logits, doc_of_window, n_docs, method, multi_label)
        scores[method] = float(score(doc_logits))
        if best is None or scores[method] > scores[best[0]] + 1e-9:
            best = (method, doc_logits)
    return best[0], best[1], scores


@dataclass(frozen=True)
class LengthReport:
    """How the texts' lengths compare with what the model reads (the data page shows ``message``)."""

    n_texts: int
    max_length: int  # the chosen max length (one window)
    model_max: int  # the most the model reads at all
    over_max_length: int  # texts longer than one window
    over_model_max: int
    long_documents: bool  # "auto" would train in long-document mode
    message: str


def length_report(token_lengths: Sequence[int], max_length: int, model_max: int) -> LengthReport:
    """Texts longer than the chosen max length and than the model's maximum, what that costs, and whether
    "auto" switches long-document mode on."""
    n = len(token_lengths)
    over_ml = sum(1 for x in token_lengths if x > max_length)
    over_mm = sum(1 for x in token_lengths if x > model_max)
    on, _reason = decide("auto", token_lengths, model_max)
    if not over_ml:
        message = f"Every text fits in {max_length} tokens."
    else:
        cut = sum(max(0, x - max_length) for x in token_lengths) / max(1, sum(token_lengths))
        message = (f"{over_ml:,} of {n:,} texts ({over_ml / max(1, n):.0%}) are longer than the max length of {max_length} "
                   f"tokens, and {over_mm:,} longer than the {model_max} tokens the model reads; cutting them loses "
                   f"{cut:.0%} of all tokens. ")
        message += ("Long-document mode will read them whole in overlapping windows (slower: one pass per window)."
                    if on else "Long-document mode (--long-documents on) would read them whole in overlapping windows.")
    return LengthReport(n, max_length, model_max, over_ml, over_mm, on, message)


@dataclass
class WindowReport:
    """One window of a long document: where it lies in the text and what the model said about it."""

    index: int
    start_char: int
    end_char: int
    text: str
    probabilities: dict[str, float]
    weight: float  # its share in the combined answer ("attention"), or 1/n for "mean"


@dataclass
class DocumentExplanation:
    """Which part of a long document drove its prediction (the Classify page shows it)."""

    label: str  # the predicted label (multi-label: the labels joined by ";")
    probabilities: dict[str, float]
    method: str
    windows: list[WindowReport] = field(default_factory=list)
    driver: int = 0  # index into ``windows`` of the window that drove the prediction

    @property
    def long(self) -> bool:
        return len(self.windows) > 1


def driving_window(window_logits: np.ndarray, predicted: Sequence[int], method: str, multi_label: bool) -> int:
    """The window that drove a document's prediction: the one with the largest logit for the predicted
    label(s) (mean, max); with "attention", the one of largest weight times that logit."""
    logits = np.asarray(window_logits, dtype=np.float64)
    if len(logits) <= 1 or method == "first":
        return 0
    cols = list(predicted) or [int(np.argmax(logits.max(axis=0)))]
    evidence = logits[:, cols].sum(axis=1)
    if method == "attention":
        w = window_weights(logits, np.zeros(len(logits), dtype=np.int64), 1, multi_label)
        evidence = w * (evidence - evidence.min() + 1e-6)
    return int(np.argmax(evidence))


def explain(classifier, text: str, method: str | None = None) -> DocumentExplanation:
    """Classify one text window by window and say which window drove the prediction.

    Works with any ``inference.Classifier``; for a text that fits one window it returns one window."""
    tok = classifier.tokenizer
    enc = tok(text or "", return_offsets_mapping=True, truncation=False, verbose=False)
    ids = np.asarray(enc["input_ids"], dtype=np.int64)
    offsets = enc["offset_mapping"]
    from .batching import special_layout  # here, not at import: batching imports torch, and the app's
    # pages import this module before the window shows

    n_pre, n_suf = special_layout(tok)
    window = classifier.max_length
    parts = windows(ids, window, n_pre, n_suf, OVERLAP, MAX_WINDOWS)
    body = max(1, window - n_pre - n_suf)
    n_content = max(0, len(ids) - n_pre - n_suf)
    starts = _spread(window_starts(n_content, body, int(body * OVERLAP)), MAX_WINDOWS) if len(ids) > window else [0]
    logits = classifier.logits_for_ids(parts)
    method = method or classifier.combine_method or "mean"
    multi = classifier.multi_label
    doc = np.zeros(len(parts), dtype=np.int64)
    doc_logits = combine(logits, doc, 1, method, multi)[0]
    probs = classifier.probabilities(doc_logits[None, :])[0]
    chosen = classifier.decide(probs[None, :])[0]
    if method == "attention":
        weights = window_weights(logits, doc, 1, multi)
    elif method == "first":
        weights = np.eye(1, len(parts))[0]
    else:
        weights = np.full(len(parts), 1 / len(parts))
    reports = []
    win_probs = classifier.probabilities(logits)
    for i, start in enumerate(starts):
        first = n_pre + start
        last = min(n_pre + start + body, len(ids) - n_suf) - 1 if len(ids) > window else len(ids) - 1 - n_suf
        spans = [offsets[j] for j in range(first, max(first, last) + 1) if j < len(offsets) and offsets[j][1] > offsets[j][0]]
        s, e = (spans[0][0], spans[-1][1]) if spans else (0, len(text or ""))
        reports.append(WindowReport(i, int(s), int(e), (text or "")[s:e],
                                    {l: float(p) for l, p in zip(classifier.labels, win_probs[i])}, float(weights[i])))
    driver = driving_window(logits, chosen, method, multi)
    label = ";".join(classifier.labels[j] for j in chosen)
    return DocumentExplanation(label, {l: float(p) for l, p in zip(classifier.labels, probs)}, method, reports, driver)

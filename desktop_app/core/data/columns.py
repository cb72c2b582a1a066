"""Guessing which column holds the text and which the label."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .table import Table, is_number

TEXT_NAMES = ["text", "content", "message", "body", "sentence", "document", "review", "ticket", "description",
              "comment", "utterance", "query", "question", "tweet", "post", "abstract", "summary", "title", "doc", "msg"]
LABEL_NAMES = ["label", "labels", "category", "class", "intent", "target", "sentiment", "tag", "y", "categories",
               "tags", "topic", "emotion", "class_name", "classname", "gold", "gold_label", "stance", "cat", "rating", "stars"]
SAMPLE_ROWS = 5000  # rows looked at when judging values (guessing must stay instant on big tables)
MAX_CLASSES = 200


@dataclass
class ColumnGuess:
    """The guessed text and label columns (None when nothing fits) and why they were chosen."""

    text: str | None
    label: str | None
    reason: str


def _tokens(name: str) -> list[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)  # reviewText -> review Text
    return [t for t in re.split(r"[^0-9a-z]+", spaced.lower()) if t]


def _name_score(name: str, keywords: list[str]) -> float:
    """2.x for an exact keyword, 1.x when a word of the name is one (earlier keywords score higher); else 0."""
    norm = "_".join(_tokens(name))
    if norm in keywords:
        return 2 + (len(keywords) - keywords.index(norm)) / (10 * len(keywords))
    hits = [keywords.index(t) for t in _tokens(name) if t in keywords and len(t) > 1]
    if hits:
        return 1 + (len(keywords) - min(hits)) / (10 * len(keywords))
    return 0.0


def is_label_name(name: str) -> bool:
    """Whether ``name`` is a typical label column name ('label', 'category', 'Intent' ...)."""
    return "_".join(_tokens(name)) in LABEL_NAMES


def is_known_name(name: str) -> bool:
    """Whether ``name`` is a typical text or label column name (so a row holding it is a header)."""
    return "_".join(_tokens(name)) in TEXT_NAMES + LABEL_NAMES + ["id", "file", "filename", "name"]


@dataclass
class _Stats:
    n: int  # non-missing values (in the sample)
    distinct: int
    mean_length: float
    numeric_share: float


def _stats(values: list[str | None]) -> _Stats:
    present = [v.strip() for v in values[:SAMPLE_ROWS] if v is not None and v.strip()]
    if not present:
        return _Stats(0, 0, 0.0, 0.0)
    return _Stats(len(present), len(set(present)), sum(map(len, present)) / len(present),
                  sum(map(is_number, present)) / len(present))


def _is_categorical(s: _Stats) -> bool:
    if s.n == 0 or s.distinct < 2 or s.distinct > MAX_CLASSES:
        return False
    if s.n <= 3:
        return s.distinct < s.n or s.n == 2
    return s.distinct <= max(2, 0.5 * s.n) and s.mean_length <= 80


def guess_columns(table: Table, *, text_column: str | None = None, label_column: str | None = None) -> ColumnGuess:
    """Guess the text and label columns; a column given here is kept and excluded from the other guess."""
    stats = {c: _stats(table.data.get(c, [])) for c in table.columns}
    reasons: list[str] = []

    text = text_column
    if text is None:
        named_label = label_column or _guess_label(table, stats, set(), by_name_only=True)[0]
        text, why = _guess_text(table, stats, exclude={named_label} if named_label else set())
        if text:
            reasons.append(f"text: '{text}' ({why})")
    label = label_column
    if label is None:
        label, why = _guess_label(table, stats, exclude={text} if text else set())
        if label:
            reasons.append(f"label: '{label}' ({why})")
    if text is None and label_column is None and label is not None:
        text, why = _guess_text(table, stats, exclude={label})
        if text:
            reasons.append(f"text: '{text}' ({why})")
    if not reasons:
        reasons.append("nothing to guess" if text and label else "no suitable column found")
    return ColumnGuess(text, label, "; ".join(reasons))


def _guess_text(table: Table, stats: dict[str, _Stats], exclude: set[str]) -> tuple[str | None, str]:
    candidates = [c for c in table.columns if c not in exclude]
    named = [(c, _name_score(c, TEXT_NAMES)) for c in candidates]
    named = [(c, s) for c, s in named if s > 0 and (stats[c].n == 0 or stats[c].numeric_share < 0.9)]
    if named:
        best = max(named, key=lambda cs: (cs[1] >= 2, stats[cs[0]].mean_length if cs[1] < 2 else cs[1], cs[1]))
        return best[0], "its name"
    texty = [c for c in candidates if stats[c].n > 0 and stats[c].numeric_share < 0.5]
    if not texty:
        return None, ""
    best = max(texty, key=lambda c: (stats[c].mean_length, -candidates.index(c)))
    if len(texty) == 1 and len(table.columns) == 1:
        return best, "the only column"
    return best, f"the longest values, {stats[best].mean_length:.0f} characters on average"


def _guess_label(table: Table, stats: dict[str, _Stats], exclude: set[str], by_name_only: bool = False
                 ) -> tuple[str | None, str]:
    candidates = [c for c in table.columns if c not in exclude]
    named = [(c, _name_score(c, LABEL_NAMES)) for c in candidates]
    named = [(c, s) for c, s in named if s > 0 and (stats[c].n == 0 or stats[c].distinct <= MAX_CLASSES or s >= 2)]
    if named:
        return max(named, key=lambda cs: cs[1])[0], "its name"
    if by_name_only:
        return None, ""
    categorical = [c for c in candidates if _is_categorical(stats[c])]
    if not categorical:
        others = [c for c in candidates if stats[c].n > 0]
        s = stats[others[0]] if len(others) == 1 else None
        if s and len(exclude) == 1 and len(table.columns) == 2 and s.distinct < s.n and s.distinct <= MAX_CLASSES:
            return others[0], "the only other column"
        return None, ""
    best = min(categorical, key=lambda c: (stats[c].distinct / stats[c].n, candidates.index(c)))
    s = stats[best]
    return best, f"{s.distinct} distinct values in {s.n} rows"

"""Several annotators: how much they agree, in numbers and in words, and the majority label to train on.

    find_annotator_columns(columns) -> list[str]         label_anna, label_ben, ... (two or more)
    ratings_from_columns(table, text_column, columns)    one row per text, one column per annotator
    ratings_from_long(table, text_column, annotator_column, label_column)   one row per (text, annotator)
    agreement(ratings) -> AgreementReport                Cohen's kappa per pair, Fleiss' kappa, Krippendorff's
                                                         alpha (nominal), per-category agreement, the words
    majority(ratings) -> list[Majority]                  the label most annotators gave; ties listed for review

Definitions (checked against statsmodels and the krippendorff package in tests/core/test_agreement.py):

- Cohen's kappa for two annotators: (p_o - p_e) / (1 - p_e) over the texts both labeled, p_e from each
  annotator's own category shares.
- Fleiss' kappa: every text rated by the same number of annotators (texts with fewer are left out of it);
  the category shares pooled over all ratings.
- Krippendorff's alpha (nominal): 1 - D_o / D_e from the coincidence matrix; missing ratings allowed, texts
  with a single rating do not count.
- Per-category agreement: of all pairs of ratings of one text in which at least one annotator chose the
  category, the share where both did (specific agreement, 2·n_cc / (n_c· + n_·c) over the coincidence
  matrix). "Annotators agree on 'Billing' 94% of the time."
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations
from typing import Sequence

import numpy as np

from .errors import UserInputError

MISSING = None
_ANNOTATOR_COLUMN = re.compile(r"^(label|labels|annotation|annotator|rating|category|class)[_\- ]+(.+)$", re.IGNORECASE)


@dataclass
class Ratings:
    """One row per text; ``labels[i][j]`` is annotator j's label for text i, or None when not given."""

    texts: list[str]
    annotators: list[str]
    labels: list[list[str | None]]
    rows: list[int] = field(default_factory=list)  # each text's data row (first row of a long-format group)

    def categories(self) -> list[str]:
        return sorted({label for row in self.labels for label in row if label is not None})


def _clean(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text if text and text.lower() not in {"nan", "null", "none", "n/a", "na"} else None


def find_annotator_columns(columns: Sequence[str]) -> list[str]:
    """Columns named like ``label_anna``, ``label_ben`` (label/annotation/rating + a name): two or more, else []."""
    found = [c for c in columns if _ANNOTATOR_COLUMN.match(str(c))]
    return found if len(found) >= 2 else []


def ratings_from_columns(texts: Sequence[str], columns: dict[str, Sequence], rows: Sequence[int] | None = None) -> Ratings:
    """Wide format: ``columns`` maps each annotator's column name to its labels (one per text)."""
    if len(columns) < 2:
        raise UserInputError("Agreement needs the labels of at least two annotators.", where="annotator columns",
                             fix="Give one label column per annotator, e.g. label_anna and label_ben.")
    names = [_ANNOTATOR_COLUMN.match(c).group(2) if _ANNOTATOR_COLUMN.match(c) else c for c in columns]
    values = [list(v) for v in columns.values()]
    labels = [[_clean(v[i]) for v in values] for i in range(len(texts))]
    return Ratings(list(texts), names, labels, list(rows) if rows is not None else list(range(1, len(texts) + 1)))


def ratings_from_long(texts: Sequence[str], annotators: Sequence, labels: Sequence,
                      rows: Sequence[int] | None = None) -> Ratings:
    """Long format: one row per (text, annotator, label); rows with the same text are one text."""
    rows = list(rows) if rows is not None else list(range(1, len(texts) + 1))
    order: dict[str, int] = {}
    first_row: list[int] = []
    names: dict[str, int] = {}
    given: dict[tuple[int, int], str | None] = {}
    for text, who, label, row in zip(texts, annotators, labels, rows):
        who = _clean(who)
        if who is None or text is None or not str(text).strip():
            continue
        if text not in order:
            order[text] = len(order)
            first_row.append(row)
        names.setdefault(who, len(names))
        given[(order[text], names[who])] = _clean(label)
    if len(names) < 2:
        raise UserInputError("Agreement needs the labels of at least two annotators; the annotator column names "
                             f"{len(names)}.", where="annotator column",
                             fix="Check that the annotator column is the right one.")
    table = [[given.get((i, j)) for j in range(len(names))] for i in range(len(order))]
    return Ratings(list(order), list(names), table, first_row)


# ----------------------------------------------------------------------------- the statistics

def cohen_kappa(a: Sequence[str | None], b: Sequence[str | None]) -> float | None:
    """Cohen's kappa over the texts both annotators labeled; None when undefined (fewer than 2 texts)."""
    pairs = [(x, y) for x, y in zip(a, b) if x is not None and y is not None]
    if len(pairs) < 2:
        return None
    n = len(pairs)
    observed = sum(x == y for x, y in pairs) / n
    ca, cb = Counter(x for x, _ in pairs), Counter(y for _, y in pairs)
    expected = sum(ca[c] * cb[c] for c in set(ca) | set(cb)) / (n * n)
    if expected >= 1.0:
        return 1.0 if observed >= 1.0 else 0.0
    return (observed - expected) / (1 - expected)


def count_table(ratings: Ratings, categories: Sequence[str] | None = None) -> np.ndarray:
    """(texts, categories) counts of annotators who chose each category."""
    categories = list(categories or ratings.categories())
    index = {c: i for i, c in enumerate(categories)}
    table = np.zeros((len(ratings.labels), len(categories)), dtype=np.int64)
    for i, row in enumerate(ratings.labels):
        for label in row:
            if label is not None:
                table[i, index[label]] += 1
    return table


def fleiss_kappa(counts: np.ndarray) -> float | None:
    """Fleiss' kappa of a (texts, categories) count table; texts rated by fewer than the most common number
    of annotators are left out (Fleiss' kappa needs the same number per text)."""
    per_text = counts.sum(1)
    if not len(per_text):
        return None
    m = Counter(per_text[per_text >= 2].tolist()).most_common(1)
    if not m:
        return None
    raters = m[0][0]
    counts = counts[per_text == raters].astype(np.float64)
    n = len(counts)
    if n < 1:
        return None
    p_j = counts.sum(0) / (n * raters)
    p_i = ((counts * counts).sum(1) - raters) / (raters * (raters - 1))
    p_bar, p_e = p_i.mean(), float((p_j * p_j).sum())
    if p_e >= 1.0:
        return 1.0 if p_bar >= 1.0 else 0.0
    return float((p_bar - p_e) / (1 - p_e))


def coincidences(counts: np.ndarray) -> np.ndarray:
    """Krippendorff's coincidence matrix: o_ck = sum over texts of n_c (n_k - [c = k]) / (m - 1), m >= 2."""
    m = counts.sum(1)
    usable = counts[m >= 2].astype(np.float64)
    m = m[m >= 2].astype(np.float64)
    o = np.einsum("uc,uk->ck", usable / (m - 1)[:, None], usable)
    o -= np.diag((usable / (m - 1)[:, None]).sum(0))
    return o


def krippendorff_alpha(counts: np.ndarray) -> float | None:
    """Krippendorff's alpha for nominal data from a (texts, categories) count table."""
    o = coincidences(counts)
    n_c = o.sum(1)
    n = n_c.sum()
    if n <= 1:
        return None
    d_o = n - np.trace(o)
    d_e = (n * n - (n_c * n_c).sum()) / (n - 1)
    if d_e <= 0:
        return 1.0 if d_o == 0 else 0.0
    return float(1 - d_o / d_e)


def per_category_agreement(counts: np.ndarray) -> np.ndarray:
    """For each category: 2·o_cc / (o_c· + o_·c), the share of rating pairs involving it where both chose it."""
    o = coincidences(counts)
    total = o.sum(1) + o.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, 2 * np.diag(o) / total, np.nan)


# ----------------------------------------------------------------------------- the report

def _kappa_words(value: float | None) -> str:
    """Landis & Koch's names for kappa ranges."""
    if value is None:
        return "cannot be measured"
    if value < 0:
        return "worse than chance"
    for limit, words in ((0.2, "slight"), (0.4, "fair"), (0.6, "moderate"), (0.8, "substantial")):
        if value <= limit:
            return words
    return "almost perfect"


@dataclass
class AgreementReport:
    annotators: list[str]
    categories: list[str]
    texts: int  # texts with at least two ratings
    pairs: dict[tuple[str, str], float | None]  # Cohen's kappa per pair of annotators
    pair_texts: dict[tuple[str, str], int]  # texts both labeled
    fleiss: float | None
    fleiss_texts: int
    alpha: float | None
    per_category: dict[str, float]  # specific agreement per category (nan: never chosen)
    raw_agreement: float  # share of texts where every annotator who labeled it agrees

    def sentences(self) -> list[str]:
        out = [f"{len(self.annotators)} annotators ({', '.join(self.annotators)}) labeled {self.texts:,} texts in common; "
               f"all of them gave the same label to {self.raw_agreement:.0%} of those texts."]
        if self.alpha is not None:
            out.append(f"Overall agreement beyond chance: Krippendorff's alpha {self.alpha:.2f}"
                       + (f", Fleiss' kappa {self.fleiss:.2f}" if self.fleiss is not None else "")
                       + f" ({_kappa_words(self.alpha)}).")
        for (a, b), k in self.pairs.items():
            if k is not None:
                out.append(f"{a} and {b}: Cohen's kappa {k:.2f} ({_kappa_words(k)}) on {self.pair_texts[(a, b)]:,} texts.")
        ranked = sorted(((v, c) for c, v in self.per_category.items() if not np.isnan(v)), reverse=True)
        if ranked:
            out.append("Annotators agree on " + ", on ".join(f"'{c}' {v:.0%}" for v, c in ranked) + " of the time.")
            worst = ranked[-1]
            if worst[0] < 0.7:
                out.append(f"'{worst[1]}' is where they disagree most: its definition may need examples.")
        return out

    def to_dict(self) -> dict:
        return {"annotators": self.annotators, "categories": self.categories, "texts": self.texts,
                "cohen_kappa": {f"{a}|{b}": k for (a, b), k in self.pairs.items()}, "fleiss_kappa": self.fleiss,
                "fleiss_texts": self.fleiss_texts, "krippendorff_alpha": self.alpha,
                "per_category_agreement": {c: (None if np.isnan(v) else v) for c, v in self.per_category.items()},
                "raw_agreement": self.raw_agreement}


def agreement(ratings: Ratings) -> AgreementReport:
    categories = ratings.categories()
    if len(categories) < 1:
        raise UserInputError("No annotator gave any label.", where="annotator columns",
                             fix="Check that the annotator columns hold the labels.")
    counts = count_table(ratings, categories)
    pairs, pair_texts = {}, {}
    for j, k in combinations(range(len(ratings.annotators)), 2):
        a = [row[j] for row in ratings.labels]
        b = [row[k] for row in ratings.labels]
        key = (ratings.annotators[j], ratings.annotators[k])
        pairs[key] = cohen_kappa(a, b)
        pair_texts[key] = sum(x is not None and y is not None for x, y in zip(a, b))
    per_text = counts.sum(1)
    multi = per_text >= 2
    fleiss_raters = Counter(per_text[multi].tolist()).most_common(1)
    per_cat = per_category_agreement(counts)
    raw = float((counts[multi].max(1) == per_text[multi]).mean()) if multi.any() else 0.0
    return AgreementReport(list(ratings.annotators), categories, int(multi.sum()), pairs, pair_texts,
                           fleiss_kappa(counts), int((per_text == fleiss_raters[0][0]).sum()) if fleiss_raters else 0,
                           krippendorff_alpha(counts), dict(zip(categories, per_cat.tolist())), raw)


@dataclass
class Majority:
    position: int
    row: int
    text: str
    label: str | None  # None: a tie (or no label at all)
    tied: list[str]  # the tied labels, for review
    votes: int
    raters: int


def majority(ratings: Ratings) -> list[Majority]:
    """The label most annotators gave each text; a tie gives no label and lists the tied ones for review."""
    out = []
    for i, (text, row) in enumerate(zip(ratings.texts, ratings.labels)):
        votes = Counter(label for label in row if label is not None)
        if not votes:
            out.append(Majority(i, ratings.rows[i], text, None, [], 0, 0))
            continue
        top = max(votes.values())
        best = sorted(c for c, v in votes.items() if v == top)
        out.append(Majority(i, ratings.rows[i], text, best[0] if len(best) == 1 else None,
                            best if len(best) > 1 else [], top, sum(votes.values())))
    return out


# ----------------------------------------------------------------------------- files

LONG_ANNOTATOR_NAMES = ("annotator", "annotator_id", "rater", "labeler", "labeller", "coder", "annotator_name")


def read_ratings(path, *, text_column: str | None = None, annotator_columns: Sequence[str] | None = None,
                 annotator_column: str | None = None, label_column: str | None = None, sheet: str | None = None) -> Ratings:
    """A file with several annotators' labels: one column per annotator (``label_anna``, ``label_ben``, found by
    name, or ``annotator_columns``), or one row per annotator (an ``annotator`` column and a label column)."""
    from .data import guess_columns, read_table

    table = read_table(path, sheet=sheet)
    where = str(path)
    for name in [text_column, annotator_column, label_column, *(annotator_columns or [])]:
        if name is not None and name not in table.data:
            raise UserInputError(f"'{table.path.name}' has no column '{name}'.", where=where,
                                 fix="Columns in the file: " + ", ".join(f"'{c}'" for c in table.columns[:30]))
    lowered = {c.lower(): c for c in table.columns}
    if annotator_column is None and not annotator_columns:
        annotator_column = next((lowered[n] for n in LONG_ANNOTATOR_NAMES if n in lowered), None)
    wide = list(annotator_columns or ([] if annotator_column else find_annotator_columns(table.columns)))
    if not wide and annotator_column is None:
        raise UserInputError(f"'{table.path.name}' does not show several annotators.", where=where,
                             fix="Give each annotator a label column named like label_anna, label_ben (or name them "
                                 "with --annotator-columns), or put one row per annotator with an 'annotator' column.")
    if text_column is None:
        rest = [c for c in table.columns if c not in wide and c != annotator_column and c != label_column]
        guess = guess_columns(table)
        text_column = guess.text if guess.text in rest else next((c for c in rest if c.lower() in ("text", "texts")), None)
        if text_column is None:
            raise UserInputError(f"No column with the texts could be found in '{table.path.name}'.", where=where,
                                 fix="Name it with --text-column.")
    texts = [t or "" for t in table.column(text_column)]
    header = 1 if table.format in {"csv", "tsv", "xlsx"} else 0
    rows = [r - header for r in table.row_numbers]  # 1-based data rows, header not counted
    if wide:
        return ratings_from_columns(texts, {c: table.column(c) for c in wide}, rows)
    if label_column is None:
        rest = [c for c in table.columns if c not in (text_column, annotator_column)]
        label_column = next((c for c in rest if c.lower() in ("label", "labels", "category", "class")), None)
        if label_column is None:
            raise UserInputError(f"No label column could be found in '{table.path.name}'.", where=where,
                                 fix="Name it with --label-column.")
    return ratings_from_long(texts, table.column(annotator_column), table.column(label_column), rows)


def write_majority(out_path, ratings: Ratings) -> dict:
    """A file to train on: each text with its majority label; a tie keeps the label empty (training skips the
    row) and lists the tied labels for review. Returns {"rows", "ties", "unlabeled"}."""
    from .outputs import write_table

    votes = majority(ratings)
    header = ["text", "label", "votes", "annotators", "tied_labels"]
    write_table(out_path, header, ([v.text, v.label or "", v.votes, v.raters, "; ".join(v.tied)] for v in votes))
    return {"rows": len(votes), "ties": [v for v in votes if v.tied], "unlabeled": sum(v.raters == 0 for v in votes)}

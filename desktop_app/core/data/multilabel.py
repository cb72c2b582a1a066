"""Multi-label data: a text may carry several labels ("billing" and "complaint").

Two ways a file says so:

- one label column whose cells hold several labels joined by a separator (``;``, ``|`` or ``,``),
  detected from the values (``detect_separator``) or given (``--label-separator``);
- several 0/1 columns, one per label (``--label-columns a,b,c``). A row with 0 in every column
  says "none of these labels" and is kept (an explicit negative example).

    detect_separator(values) -> SeparatorGuess | None   which separator, and why
    to_multi_label(table, text_column, label_column=None, separator=None, label_columns=None) -> LabeledData
    join_labels(labels) -> "a;b"                          the one way a label set is written

A cell that holds only separators (";", " | ") is an empty label set: a UserInputError naming the
rows, never a silent skip.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ..errors import UserInputError
from .labeled import MISSING_LABELS, SKIP_REASONS, LabeledData, usable_rows
from .table import Table

SEPARATORS = (";", "|", ",")
JOINER = ";"  # predicted_labels and LabeledData.labels join a label set with it
MIN_SHARE = 0.05  # at least this share of the label cells must hold the separator
MAX_LABELS = 200
MAX_PART_WORDS = 5
SAMPLE = 5000
TRUE_VALUES = {"1", "1.0", "true", "yes", "y", "x"}
FALSE_VALUES = {"0", "0.0", "false", "no", "n", ""}


@dataclass(frozen=True)
class SeparatorGuess:
    separator: str
    share: float  # share of label cells that hold it
    n_labels: int  # distinct labels after splitting
    reason: str


def split_labels(value: str, separator: str) -> tuple[str, ...]:
    """The sorted, de-duplicated labels of one cell (empty parts dropped)."""
    return tuple(sorted({part.strip() for part in value.split(separator) if part.strip()}))


def join_labels(labels) -> str:
    return JOINER.join(sorted(labels))


def detect_separator(values: list[str | None]) -> SeparatorGuess | None:
    """The separator that makes a label column multi-label, or None for a plain single-label column.

    A separator counts when at least 5% of the (non-empty) cells hold it, the parts are short
    (label-like: at most 5 words), there are at most 200 of them, and splitting explains the cells
    (fewer distinct parts than distinct cells, or half of the parts occur alone or in several cells)."""
    present = [v.strip() for v in values[:SAMPLE] if v is not None and v.strip()]
    present = [v for v in present if v.casefold() not in MISSING_LABELS]
    if not present:
        return None
    best: SeparatorGuess | None = None
    distinct_cells = set(present)
    for sep in SEPARATORS:
        with_sep = [v for v in present if sep in v]
        share = len(with_sep) / len(present)
        if share < MIN_SHARE:
            continue
        parts = Counter(p for v in present for p in split_labels(v, sep))
        if not parts or len(parts) > MAX_LABELS:
            continue
        if any(len(p.split()) > MAX_PART_WORDS for p in parts):
            continue
        alone = sum(1 for p in parts if p in distinct_cells)
        recurring = sum(1 for p, n in parts.items() if n >= 2)
        if not (len(parts) < len(distinct_cells) or alone >= 0.5 * len(parts) or recurring >= 0.5 * len(parts)):
            continue
        if not _parts_are_free(distinct_cells, sep):
            continue
        guess = SeparatorGuess(sep, share, len(parts),
                               f"{share:.0%} of the label cells hold several labels joined by '{sep}' "
                               f"({len(parts)} distinct labels)")
        if best is None or share > best.share:
            best = guess
    return best


def _parts_are_free(distinct_cells: set[str], sep: str) -> bool:
    """Whether splitting at ``sep`` explains the cells: the parts of the joined cells are labels of their own,
    each seen alone or in two different combinations (for at least half of them). A label that merely contains
    the character ("+SUM(1,2)", "Smith, John") splits into parts that only ever occur together."""
    combos: Counter = Counter()
    joined_parts: set[str] = set()
    for cell in distinct_cells:
        parts = split_labels(cell, sep)
        if len(parts) >= 2:
            joined_parts.update(parts)
            combos.update(parts)
    if not joined_parts:
        return False
    free = sum(1 for p in joined_parts if p in distinct_cells or combos[p] >= 2)
    return free >= 0.5 * len(joined_parts)


def _is_01_column(values: list[str | None]) -> bool:
    vals = {(v or "").strip().casefold() for v in values[:SAMPLE]}
    return bool(vals) and vals <= TRUE_VALUES | FALSE_VALUES and bool(vals & TRUE_VALUES)


def guess_label_columns(table: Table, text_column: str | None) -> list[str]:
    """Columns that hold only 0/1 (true/false, yes/no) values: candidates for ``--label-columns`` (two or more)."""
    found = [c for c in table.columns if c != text_column and _is_01_column(table.data.get(c, []))]
    return found if len(found) >= 2 else []


def _missing(table: Table, name: str) -> UserInputError:
    shown = ", ".join(f"'{c}'" for c in table.columns[:30])
    return UserInputError(f"'{table.path.name}' has no column named '{name}' (asked for in --label-columns).",
                          where=str(table.path), fix=f"Use columns of the file: {shown}. Names must match exactly.")


def _rows_text(rows: list[int]) -> str:
    return ", ".join(str(r) for r in rows[:10]) + (f" and {len(rows) - 10} more" if len(rows) > 10 else "")


def to_multi_label(table: Table, text_column: str, label_column: str | None = None, separator: str | None = None,
                   label_columns: list[str] | None = None) -> LabeledData:
    """Texts and label sets, from a separated label column or from 0/1 columns. Raises UserInputError."""
    if text_column not in table.data:
        raise _missing(table, text_column)
    texts: list[str] = []
    sets: list[tuple[str, ...]] = []
    rows: list[int] = []
    skipped: dict[str, list[int]] = {reason: [] for reason in SKIP_REASONS}
    empty_sets: list[int] = []
    if label_columns:
        for name in label_columns:
            if name not in table.data:
                raise _missing(table, name)
        if text_column in label_columns:
            raise UserInputError(f"'{text_column}' is both the text column and one of the label columns.",
                                 where=str(table.path), fix="Leave the text column out of --label-columns.")
        bad: list[tuple[int, str, str]] = []
        for i, (raw_text, row) in enumerate(zip(table.data[text_column], table.row_numbers)):
            text = (raw_text or "").replace("\r\n", "\n").replace("\r", "\n").strip()
            if not text:
                skipped["empty_text"].append(row)
                continue
            chosen = []
            for name in label_columns:
                value = (table.data[name][i] or "").strip().casefold()
                if value in TRUE_VALUES:
                    chosen.append(name)
                elif value not in FALSE_VALUES:
                    bad.append((row, name, table.data[name][i] or ""))
            texts.append(text)
            sets.append(tuple(sorted(chosen)))
            rows.append(row)
        if bad:
            row, name, value = bad[0]
            raise UserInputError(
                f"The label column '{name}' holds '{value[:40]}' in row {row}; label columns must hold 0 or 1 "
                f"({len(bad)} such cell{'s' if len(bad) != 1 else ''}).",
                where=f"{table.path}, row {_rows_text([b[0] for b in bad])}",
                fix="Write 1 where the label applies and 0 where it does not (true/false and yes/no also work), "
                    "or leave that column out of --label-columns.")
        source = {"label_columns": list(label_columns)}
    else:
        if label_column is None or label_column not in table.data:
            raise UserInputError(f"'{table.path.name}' has no column named '{label_column}' (the label column).",
                                 where=str(table.path), fix="Name the label column with --label-column.")
        if text_column == label_column:
            raise UserInputError(f"The text and the label column are both '{text_column}'.", where=str(table.path),
                                 fix="Pick different columns for the text and for the label.")
        sep = separator or (detect_separator(table.data[label_column]) or SeparatorGuess(JOINER, 0, 0, "")).separator
        for text, label, row in usable_rows(table, text_column, label_column, skipped):
            labels = tuple(l for l in split_labels(label, sep) if l.casefold() not in MISSING_LABELS)
            if not labels:
                empty_sets.append(row)
                continue
            texts.append(text)
            sets.append(labels)
            rows.append(row)
        if empty_sets:
            raise UserInputError(
                f"{len(empty_sets)} row{'s' if len(empty_sets) != 1 else ''} of the label column '{label_column}' "
                f"hold{'s' if len(empty_sets) == 1 else ''} an empty label set (only the separator '{sep}', no label).",
                where=f"{table.path}, row {_rows_text(empty_sets)}",
                fix=f"Write at least one label in each of these rows (for example 'billing{sep}complaint'), or leave the "
                    "cell empty to skip the row; if the labels use another separator, name it with --label-separator.")
        source = {"separator": sep, "label_column": label_column}
    return LabeledData(texts, [join_labels(s) for s in sets], rows, str(table.path), skipped, list(table.notes),
                       label_sets=sets, multi_label_source=source)

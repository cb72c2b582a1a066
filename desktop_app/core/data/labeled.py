"""Labeled examples (text, label, file row) taken from a Table, and the one-call loader."""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ..errors import UserInputError
from .columns import ColumnGuess, guess_columns
from .reading import read_table
from .sources import Progress
from .table import Note, Table, check_plain_column, header_only_error

SKIP_REASONS = ("empty_text", "missing_label", "placeholder_label")
# what spreadsheets and data tools write for "no value"; never a class
MISSING_LABELS = frozenset({"nan", "null", "none", "n/a", "#n/a"})


@dataclass
class LabeledData:
    """Usable examples in file order. ``skipped`` maps a reason to the file rows left out for it."""

    texts: list[str]
    labels: list[str]
    rows: list[int]
    source: str = ""
    skipped: dict[str, list[int]] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)  # warnings from reading the file (e.g. mixed encodings)
    # multi-label data: each row's set of labels (sorted); ``labels`` then holds them joined by ";"
    # (what a person reads, and what the stratified split and the fingerprint use). None: single-label.
    label_sets: list[tuple[str, ...]] | None = None
    multi_label_source: dict | None = None  # how the sets were read: {"separator": ";"} or {"label_columns": [...]}

    def __post_init__(self) -> None:
        if not (len(self.texts) == len(self.labels) == len(self.rows)):
            raise ValueError("texts, labels and rows must have the same length")
        if self.label_sets is not None and len(self.label_sets) != len(self.texts):
            raise ValueError("label_sets must have one entry per row")

    @property
    def multi_label(self) -> bool:
        return self.label_sets is not None

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def label_names(self) -> list[str]:
        if self.label_sets is not None:
            return sorted({label for labels in self.label_sets for label in labels})
        return sorted(set(self.labels))

    def class_counts(self) -> dict[str, int]:
        """Examples per label, in label order (multi-label: the rows that carry each label)."""
        if self.label_sets is not None:
            counts = Counter(label for labels in self.label_sets for label in labels)
        else:
            counts = Counter(self.labels)
        return {label: counts[label] for label in sorted(counts)}

    def subset(self, indices: Iterable[int]) -> LabeledData:
        """The examples at ``indices`` (positions, not file rows); ``skipped`` is kept."""
        idx = list(indices)
        return LabeledData([self.texts[i] for i in idx], [self.labels[i] for i in idx], [self.rows[i] for i in idx],
                           self.source, {k: list(v) for k, v in self.skipped.items()}, list(self.notes),
                           None if self.label_sets is None else [self.label_sets[i] for i in idx],
                           None if self.multi_label_source is None else dict(self.multi_label_source))

    @property
    def n_skipped(self) -> int:
        return sum(len(v) for v in self.skipped.values())


@dataclass
class LoadedData:
    """What ``load_labeled`` read and decided: the table, the guess, the columns used and the examples."""

    table: Table
    guess: ColumnGuess
    text_column: str
    label_column: str
    data: LabeledData


def _missing_column_error(table: Table, name: str, role: str) -> UserInputError:
    shown = ", ".join(f"'{c}'" for c in table.columns[:30]) + (" ..." if len(table.columns) > 30 else "")
    return UserInputError(
        f"'{table.path.name}' has no column named '{name}' (asked for as the {role} column).",
        where=str(table.path),
        fix=f"Use one of the columns in the file: {shown}. Names must match exactly, including capitals."
        + table.other_sheets_hint(),
    )


def usable_rows(table: Table, text_column: str, label_column: str, skipped: dict[str, list[int]]):
    """(text, label cell, file row) of each row with a text and a label; the others are recorded in ``skipped``
    by reason (empty text, no label, a placeholder such as "NaN")."""
    for raw_text, raw_label, row in zip(table.data[text_column], table.data[label_column], table.row_numbers):
        text = (raw_text or "").replace("\r\n", "\n").replace("\r", "\n").strip()
        label = (raw_label or "").strip()
        if not text:
            skipped["empty_text"].append(row)
        elif not label:
            skipped["missing_label"].append(row)
        elif label.casefold() in MISSING_LABELS:
            skipped["placeholder_label"].append(row)
        else:
            yield text, label, row


def to_labeled(table: Table, text_column: str, label_column: str) -> LabeledData:
    """Texts and labels from two columns; rows with empty text or no label are skipped and recorded.

    A label such as "NaN", "null", "None" or "N/A" (what spreadsheets and data tools write for a
    missing value) is a missing label, recorded as "placeholder_label", never a class.
    """
    for name, role in ((text_column, "text"), (label_column, "label")):
        if name not in table.data:
            raise _missing_column_error(table, name, role)
        check_plain_column(table.json_columns, table.path, name, role)
    if text_column == label_column:
        raise UserInputError(f"The text and the label column are both '{text_column}'.", where=str(table.path),
                             fix="Pick different columns for the text and for the label.")
    texts: list[str] = []
    labels: list[str] = []
    rows: list[int] = []
    skipped: dict[str, list[int]] = {reason: [] for reason in SKIP_REASONS}
    for text, label, row in usable_rows(table, text_column, label_column, skipped):
        texts.append(text)
        labels.append(sys.intern(label))  # one string object per class, not per row
        rows.append(row)
    return LabeledData(texts, labels, rows, str(table.path), skipped, list(table.notes))


def load_labeled(path: str | Path, text_column: str | None = None, label_column: str | None = None, *,
                 sheet: str | None = None, on_progress: Progress | None = None, multi_label: bool | None = None,
                 label_separator: str | None = None, label_columns: list[str] | None = None) -> LoadedData:
    """Read a labeled file, guessing the columns that are not given. Raises UserInputError.

    ``sheet`` and ``on_progress`` are passed to ``read_table``. Multi-label (see data/multilabel.py):
    ``label_columns`` (0/1 columns) or ``label_separator`` make it so; ``multi_label=None`` detects a
    label column of joined labels, ``False`` never splits, ``True`` always reads label sets.
    """
    from .multilabel import detect_separator, to_multi_label

    table = read_table(path, sheet=sheet, on_progress=on_progress)
    if table.n_rows == 0:
        raise header_only_error(table.path, table.sheet, table.other_sheets_hint())
    for name, role in ((text_column, "text"), (label_column, "label")):
        if name is not None and name not in table.data:
            raise _missing_column_error(table, name, role)
    if label_columns:
        if multi_label is False:
            raise UserInputError("--label-columns reads several labels per row, which single-label training cannot use.",
                                 where="--label-columns", fix="Leave out --label-columns, or train with --multi-label.")
        exclude = label_columns[0] if label_columns[0] in table.data else None
        guess = guess_columns(table, text_column=text_column, label_column=exclude)
        text = text_column or (guess.text if guess.text not in label_columns else None)
        if text is None:
            raise UserInputError(f"No column with the texts could be found in '{table.path.name}'.", where=str(table.path),
                                 fix="Name it with --text-column.")
        return LoadedData(table, guess, text, ",".join(label_columns),
                          to_multi_label(table, text, label_columns=list(label_columns)))
    guess = guess_columns(table, text_column=text_column, label_column=label_column)
    text, label = text_column or guess.text, label_column or guess.label
    available = ", ".join(f"'{c}'" for c in table.columns[:30])
    if text is None:
        raise UserInputError(f"No column with the texts could be found in '{table.path.name}'.", where=str(table.path),
                             fix=f"Name it with --text-column, or pick it in the app. Columns: {available}."
                             + table.other_sheets_hint())
    if label is None:
        raise UserInputError(f"No column with the labels could be found in '{table.path.name}'.", where=str(table.path),
                             fix=f"Name it with --label-column, or pick it in the app. Columns: {available}."
                             + (" A labeled file needs a text column and a label column." if len(table.columns) < 2 else "")
                             + table.other_sheets_hint())
    for name, role in ((text, "text"), (label, "label")):
        check_plain_column(table.json_columns, table.path, name, role)
    if multi_label is False:
        return LoadedData(table, guess, text, label, to_labeled(table, text, label))
    if multi_label or label_separator or detect_separator(table.data[label]) is not None:
        return LoadedData(table, guess, text, label, to_multi_label(table, text, label, separator=label_separator))
    data = to_labeled(table, text, label)
    data.notes.extend(_separator_notes(table.data[label], label))
    return LoadedData(table, guess, text, label, data)


def _separator_notes(values: list, column: str) -> list[Note]:
    """Labels that hold a separator but were read whole (single-label): say so, and how to split them."""
    from .multilabel import SEPARATORS

    notes = []
    for sep in SEPARATORS:
        found = sorted({v.strip() for v in values if v is not None and sep in v})
        if found:
            shown = ", ".join(f"'{v[:40]}'" for v in found[:3])
            notes.append(Note(
                "separator_kept", f"{len(found)} label{'s' if len(found) != 1 else ''} of the column '{column}' "
                f"contain{'s' if len(found) == 1 else ''} '{sep}' ({shown}); splitting there does not explain the "
                "file (the parts do not recur on their own), so each was read as one label (single-label).",
                f"If a row may carry several labels, train with --multi-label --label-separator '{sep}'.", len(found)))
    return notes

"""The Table every reader returns, and small helpers shared by the readers."""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

FORMATS = ("csv", "tsv", "jsonl", "xlsx", "txt", "folder")


@dataclass(frozen=True)
class Note:
    """Something worth a warning that was noticed while reading (shown with the validation findings)."""

    code: str
    message: str
    fix: str
    count: int = 0


@dataclass
class Table:
    """A file read as columns of strings (None = missing), with the row numbers a person sees."""

    path: Path
    format: str  # one of FORMATS
    columns: list[str]
    data: dict[str, list[str | None]]
    row_numbers: list[int]
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None  # Excel: the sheet read
    sheets: list[str] = field(default_factory=list)  # Excel: every sheet in the workbook
    notes: list[Note] = field(default_factory=list)
    json_columns: dict[str, int] = field(default_factory=dict)  # JSON: columns holding objects/lists -> first row

    @property
    def n_rows(self) -> int:
        return len(self.row_numbers)

    def column(self, name: str) -> list[str | None]:
        return self.data[name]

    def head(self, n: int) -> Table:
        """The first ``n`` rows (for previews)."""
        return Table(self.path, self.format, list(self.columns), {c: v[:n] for c, v in self.data.items()},
                     self.row_numbers[:n], self.encoding, self.delimiter, self.sheet, list(self.sheets), list(self.notes))

    def other_sheets_hint(self) -> str:
        """' The workbook has other sheets: ...' for messages about a sheet without the expected table."""
        others = [s for s in self.sheets if s != self.sheet]
        if self.format != "xlsx" or not others:
            return ""
        shown = ", ".join(f"'{s}'" for s in others[:10])
        return f" This is the sheet '{self.sheet}'; the workbook also has {shown}: pick the one with your table (--sheet NAME)."


@dataclass
class RowBuffer:
    """Collects records (dicts) into columns, adding columns as they appear (no per-row objects kept)."""

    columns: list[str] = field(default_factory=list)
    row_numbers: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.data: dict[str, list[str | None]] = {c: [] for c in self.columns}

    def add(self, row_number: int, row: dict[str, str | None]) -> None:
        n = len(self.row_numbers)
        for key in row:
            if key not in self.data:
                self.data[key] = [None] * n
                self.columns.append(key)
        for key, values in self.data.items():
            values.append(row.get(key))
        self.row_numbers.append(row_number)

    def to_table(self, path: Path, fmt: str, encoding: str | None, delimiter: str | None, **extra: Any) -> Table:
        return Table(path, fmt, list(self.columns), self.data, self.row_numbers, encoding, delimiter, **extra)


def header_only_error(path: Path, sheet: str | None = None, hint: str = ""):
    """The file (or sheet) has a header row and nothing under it; ``hint``: the other sheets (Table.other_sheets_hint)."""
    from ..errors import UserInputError

    where = f"{path.name}, sheet {sheet}" if sheet else str(path)
    return UserInputError(
        f"'{path.name}'{f' (sheet {sheet!r})' if sheet else ''} has a header but no rows: there is nothing under "
        "the column names.", where=where,
        fix="Choose the file that holds your data, or add rows under the header (save it again if it was not saved)."
            + hint)


def check_plain_column(json_columns: dict[str, int], path: Path, column: str, role: str) -> None:
    """A JSON column whose values are objects or lists cannot be the text or the label: UserInputError naming the row."""
    if column not in json_columns:
        return
    from ..errors import UserInputError

    row = json_columns[column]
    raise UserInputError(
        f"The {role} column '{column}' of '{path.name}' holds a JSON object or list (first on line {row}), not a plain "
        f"{role}; it would be read as JSON text.", where=f"{path.name}, line {row}, '{column}'",
        fix=f"Write the {role} as a plain string (\"{column}\": \"...\"), or name another column with "
            f"--{role}-column.")


def unique_names(names: Iterable[str | None]) -> list[str]:
    """Blank names become column_N (1-based position); repeated names get _2, _3 ..."""
    raw = [(n or "").strip() for n in names]
    out: list[str] = []
    taken: set[str] = set()
    for i, name in enumerate(raw, start=1):
        base = name or f"column_{i}"
        candidate, k = base, 2
        while candidate in taken or (candidate != name and candidate in raw[i:]):
            candidate = f"{base}_{k}"
            k += 1
        taken.add(candidate)
        out.append(candidate)
    return out


def cell_to_str(value: Any) -> str | None:
    """A cell value (Excel, JSON) as the string a person would see; None/"" -> None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, _dt.datetime):
        return value.date().isoformat() if value.time() == _dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, str):
        return value if value != "" else None
    return str(value)


_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?%?$")


def is_number(value: str | None) -> bool:
    return bool(value) and bool(_NUMBER.match(value.strip()))


def describe_rows(rows: list[int], *, word: str = "rows", shown: int = 3, total: int | None = None) -> str:
    """'rows 4, 9, 17 and 12 more' (``total`` when ``rows`` holds only examples)."""
    total = len(rows) if total is None else total
    if total == 0:
        return ""
    single = word[:-1] if word.endswith("s") else word
    if total == 1 and rows:
        return f"{single} {rows[0]}"
    if total <= shown + 2 and len(rows) == total:
        return f"{word} {', '.join(map(str, rows[:-1]))} and {rows[-1]}"
    head = ", ".join(map(str, rows[:shown]))
    return f"{word} {head} and {total - min(shown, len(rows))} more"

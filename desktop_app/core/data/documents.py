"""Streaming documents for prediction: huge files are read in chunks, never all at once."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..errors import UserInputError
from .columns import guess_columns
from .sources import Source, open_source
from .table import RowBuffer

HEAD_ROWS = 1000


@dataclass
class DocumentChunk:
    """Consecutive rows of the input: original values ("" for missing), the texts to classify, file rows."""

    columns: list[str]
    rows: list[dict[str, str]]
    texts: list[str]
    row_numbers: list[int]

    def __len__(self) -> int:
        return len(self.texts)


def _text_column(source: Source, head: list, text_column: str | None) -> str:
    buffer = RowBuffer(columns=list(source.columns))
    for number, row in head:
        buffer.add(number, row)
    table = buffer.to_table(source.path, source.format, source.encoding, source.delimiter, sheet=source.sheet,
                            sheets=list(source.sheets))
    if text_column is not None:
        if text_column not in source.columns:
            shown = ", ".join(f"'{c}'" for c in source.columns[:30])
            raise UserInputError(
                f"'{source.path.name}' has no column named '{text_column}'.", where=str(source.path),
                fix=f"Use one of the columns in the file: {shown}. Names must match exactly, including capitals."
                + table.other_sheets_hint())
        return text_column
    if source.format in ("txt", "folder"):
        return "text"
    guess = guess_columns(table)
    text = guess.text
    if text is None:
        shown = ", ".join(f"'{c}'" for c in source.columns[:30])
        raise UserInputError(f"No column with texts could be found in '{source.path.name}'.", where=str(source.path),
                             fix=f"Name it with --text-column, or pick it in the app. Columns: {shown}."
                             + table.other_sheets_hint())
    return text


def describe_documents(path: str | Path, text_column: str | None = None, *, sheet: str | None = None) -> tuple[list[str], str]:
    """(columns, text column) from the head of the file; the text column is guessed when not given."""
    with open_source(path, whole=False, sheet=sheet) as source:
        head = list(itertools.islice(source.records, HEAD_ROWS))
        return list(source.columns), _text_column(source, head, text_column)


def iter_documents(path: str | Path, text_column: str | None = None, chunk_rows: int = 2048, *,
                   sheet: str | None = None) -> Iterator[DocumentChunk]:
    """Stream ``path`` in chunks of up to ``chunk_rows`` rows. Raises UserInputError on bad input."""
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    with open_source(path, whole=False, sheet=sheet) as source:
        head = list(itertools.islice(source.records, HEAD_ROWS))
        column = _text_column(source, head, text_column)
        columns = list(source.columns)
        records = itertools.chain(head, source.records)
        while True:
            batch = list(itertools.islice(records, chunk_rows))
            if not batch:
                return
            rows = [{k: ("" if v is None else v) for k, v in row.items()} for _, row in batch]
            texts = [r.get(column, "").replace("\r\n", "\n").strip() for r in rows]
            yield DocumentChunk(columns, rows, texts, [n for n, _ in batch])

"""Streaming documents for prediction: huge files are read in chunks, never all at once."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from ..errors import UserInputError
from . import limits
from .columns import guess_columns
from .sources import Source, open_source
from .table import RowBuffer, check_plain_column, header_only_error

HEAD_ROWS = 1000


@dataclass
class DocumentChunk:
    """Consecutive rows of the input: original values ("" for missing), the texts to classify, file rows."""

    columns: list[str]
    rows: list[dict[str, str]]
    texts: list[str]
    row_numbers: list[int]
    cut_rows: list[int] = field(default_factory=list)  # rows whose text was over limits.MAX_TEXT_CHARS and was cut

    def __len__(self) -> int:
        return len(self.texts)


def _text_column(source: Source, head: list, text_column: str | None, sheet: str | None = None) -> str:
    if source.format == "xlsx" and sheet is None and len(head) < 2 and len(source.sheets) > 1:
        others = ", ".join(f"'{s}'" for s in source.sheets if s != source.sheet)
        raise UserInputError(
            f"The first sheet of '{source.path.name}' with data, '{source.sheet}', holds only {len(head)} row "
            f"below its header, so it is probably not the sheet with your texts; the workbook also has {others}.",
            where=f"{source.path.name}, sheet {source.sheet}",
            fix=f"Name the sheet that holds the texts with --sheet (sheets: "
                + ", ".join(f"'{s}'" for s in source.sheets) + "), or pick it in the app.")
    if not head and source.format not in ("txt", "folder"):
        raise header_only_error(source.path, source.sheet if source.format == "xlsx" else None)
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
        check_plain_column(source.json_columns, source.path, text_column, "text")
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
    check_plain_column(source.json_columns, source.path, text, "text")
    return text


def describe_documents(path: str | Path, text_column: str | None = None, *, sheet: str | None = None,
                       should_stop: Callable[[], bool] | None = None) -> tuple[list[str], str]:
    """(columns, text column) from the head of the file; the text column is guessed when not given.
    ``should_stop``: checked while reading (TrainingCancelled)."""
    with limits.stop_reading_when(should_stop), open_source(path, whole=False, sheet=sheet) as source:
        head = list(itertools.islice(source.records, HEAD_ROWS))
        return list(source.columns), _text_column(source, head, text_column, sheet)


def iter_documents(path: str | Path, text_column: str | None = None, chunk_rows: int = 2048, *,
                   sheet: str | None = None, should_stop: Callable[[], bool] | None = None) -> Iterator[DocumentChunk]:
    """Stream ``path`` in chunks of up to ``chunk_rows`` rows. Raises UserInputError on bad input.

    ``should_stop`` is checked while reading (about every megabyte or thousand rows): TrainingCancelled.
    A text over ``limits.MAX_TEXT_CHARS`` characters keeps its head; its row is in the chunk's ``cut_rows``."""
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    with limits.stop_reading_when(should_stop):  # only while reading: not while the caller works on a chunk
        source = open_source(path, whole=False, sheet=sheet)
    with source:
        with limits.stop_reading_when(should_stop):
            head = list(itertools.islice(source.records, HEAD_ROWS))
            column = _text_column(source, head, text_column, sheet)
        columns = list(source.columns)
        records = itertools.chain(head, source.records)
        while True:
            with limits.stop_reading_when(should_stop):
                batch = list(itertools.islice(records, chunk_rows))
            if not batch:
                return
            rows = [{k: ("" if v is None else v) for k, v in row.items()} for _, row in batch]
            texts = [r.get(column, "").replace("\r\n", "\n").strip() for r in rows]
            numbers = [n for n, _ in batch]
            cut = sorted({r for r in source.cut_rows if numbers[0] <= r <= numbers[-1]}) if source.cut_rows else []
            yield DocumentChunk(columns, rows, texts, numbers, cut)

"""``read_table``: any supported file (or folder of .txt files) into a Table of strings."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from . import limits
from .sources import Progress, Source, open_source
from .table import Note, RowBuffer, Table, describe_rows


def read_table(path: str | Path, *, sheet: str | None = None, on_progress: Progress | None = None,
               should_stop: Callable[[], bool] | None = None) -> Table:
    """Read CSV/TSV/JSONL/XLSX/TXT or a folder of .txt files. Raises UserInputError on bad input.

    ``sheet``: the Excel sheet to read (default: the first with data). ``on_progress(done, total,
    unit)`` is called while reading (bytes for text files, rows for Excel, files for folders). ``should_stop``:
    checked about every megabyte or thousand rows (TrainingCancelled); a caller's own ``limits.stop_reading_when``
    works too.
    """
    path = Path(path)
    with limits.stop_reading_when(should_stop), open_source(path, whole=True, sheet=sheet, on_progress=on_progress) as source:
        buffer = RowBuffer(columns=list(source.columns))
        for number, row in source.records:
            buffer.add(number, row)
        return buffer.to_table(path, source.format, source.encoding, source.delimiter, sheet=source.sheet,
                               sheets=list(source.sheets), notes=reading_notes(source),
                               json_columns=dict(source.json_columns))


def reading_notes(source: Source) -> list[Note]:
    """Warnings about how the file was read: lines in a second encoding, texts cut at the limit, NUL bytes."""
    notes = []
    if source.cut_rows:
        rows = sorted(set(source.cut_rows))
        n = len(rows)
        notes.append(Note(
            "long_text", f"{n} text{'s' if n != 1 else ''} of '{source.path.name}' {'were' if n != 1 else 'was'} longer "
            f"than {limits.MAX_TEXT_CHARS:,} characters and {'were' if n != 1 else 'was'} cut to that length while "
            f"reading ({describe_rows(rows, shown=5)}); the model reads at most the first part of a text anyway.",
            "Nothing to do unless these rows should not be there: check them in a spreadsheet program.", n))
    nul = getattr(source.plan, "nul_lines", None) or []
    if nul:
        n = len(nul)
        notes.append(Note(
            "nul_bytes", f"{n} line{'s' if n != 1 else ''} of '{source.path.name}' held NUL characters (invisible zero "
            f"bytes, {describe_rows(nul, word='lines', shown=5)}); they were removed.",
            "Check those lines; the file may have been damaged or joined from a binary export.", n))
    plan = source.plan
    if plan is None or not plan.fallback_lines:
        return notes
    n = plan.fallback_lines
    return notes + [Note("mixed_encoding",
                 f"{n} line{'s' if n != 1 else ''} of '{source.path.name}' {'are' if n != 1 else 'is'} not UTF-8 like the "
                 f"rest of the file; {'they were' if n != 1 else 'it was'} read as {plan.fallback}.",
                 "Check a few rows with accents or special characters. To be sure, save the file again as "
                 "CSV UTF-8 from Excel or LibreOffice.", n)]

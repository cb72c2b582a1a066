"""``read_table``: any supported file (or folder of .txt files) into a Table of strings."""

from __future__ import annotations

from pathlib import Path

from .sources import Progress, Source, open_source
from .table import Note, RowBuffer, Table


def read_table(path: str | Path, *, sheet: str | None = None, on_progress: Progress | None = None) -> Table:
    """Read CSV/TSV/JSONL/XLSX/TXT or a folder of .txt files. Raises UserInputError on bad input.

    ``sheet``: the Excel sheet to read (default: the first with data). ``on_progress(done, total,
    unit)`` is called while reading (bytes for text files, rows for Excel, files for folders).
    """
    path = Path(path)
    with open_source(path, whole=True, sheet=sheet, on_progress=on_progress) as source:
        buffer = RowBuffer(columns=list(source.columns))
        for number, row in source.records:
            buffer.add(number, row)
        return buffer.to_table(path, source.format, source.encoding, source.delimiter, sheet=source.sheet,
                               sheets=list(source.sheets), notes=reading_notes(source))


def reading_notes(source: Source) -> list[Note]:
    """Warnings about how the file was read: lines in a second encoding."""
    plan = source.plan
    if plan is None or not plan.fallback_lines:
        return []
    n = plan.fallback_lines
    return [Note("mixed_encoding",
                 f"{n} line{'s' if n != 1 else ''} of '{source.path.name}' {'are' if n != 1 else 'is'} not UTF-8 like the "
                 f"rest of the file; {'they were' if n != 1 else 'it was'} read as {plan.fallback}.",
                 "Check a few rows with accents or special characters. To be sure, save the file again as "
                 "CSV UTF-8 from Excel or LibreOffice.", n)]

"""``read_table``: any supported file (or folder of .txt files) into a Table of strings."""

from __future__ import annotations

from pathlib import Path

from .sources import open_source
from .table import RowBuffer, Table


def read_table(path: str | Path) -> Table:
    """Read CSV/TSV/JSONL/XLSX/TXT or a folder of .txt files. Raises UserInputError on bad input."""
    path = Path(path)
    with open_source(path, whole=True) as source:
        buffer = RowBuffer(columns=list(source.columns))
        for number, row in source.records:
            buffer.add(number, row)
        return buffer.to_table(path, source.format, source.encoding, source.delimiter)

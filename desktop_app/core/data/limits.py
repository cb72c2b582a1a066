"""Bounds on what one input may take while it is read, and the stop check of every reading loop.

No single text, cell, row or sheet can grow the process past a fixed bound, whatever the file holds:

- a text (a CSV/TSV field, a JSON string, a line of a .txt file, an Excel cell, a .txt document of a
  folder) keeps its first ``MAX_TEXT_CHARS`` characters; the rest is skipped *while reading* (never
  held) and the row is named in a warning. The bound is far above what the model reads: long-document
  mode looks at most at ``long_documents.MAX_WINDOWS`` (64) windows of up to 512 tokens, about 33,000
  tokens or 150,000 characters of English, so nothing the model could use is lost;
- a row keeps at most ``MAX_ROW_CHARS`` characters over all its values (a row of many long values);
- an Excel cell whose XML text is over ``MAX_XLSX_CELL_BYTES`` bytes, a row over ``MAX_XLSX_ROW_BYTES``
  or a shared-text table over ``MAX_XLSX_SHARED_BYTES`` is refused (exit 2, sheet and cell named)
  before the workbook is parsed: the spreadsheet parser would build such a value whole.

The limits are module attributes so tests (and a future setting) can lower them.

Every reading loop calls ``check_stop()`` about every megabyte or every thousand rows: the engine's
cancel (the GUI's Cancel button, the CLI's Ctrl-C/SIGTERM) then stops a read of any size within a
fraction of a second. ``stop_reading_when(should_stop)`` installs the check for the current thread.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Callable, Iterator

from ..errors import TrainingCancelled

MAX_TEXT_CHARS = 500_000
MAX_ROW_CHARS = 2_000_000
MAX_XLSX_CELL_BYTES = 8 << 20
MAX_XLSX_ROW_BYTES = 64 << 20
MAX_XLSX_SHARED_BYTES = 400 << 20

_local = threading.local()


def _checks() -> list:
    checks = getattr(_local, "checks", None)
    if checks is None:
        checks = _local.checks = []
    return checks


@contextmanager
def stop_reading_when(should_stop: Callable[[], bool] | None) -> Iterator[None]:
    """While inside, ``check_stop()`` in this thread raises TrainingCancelled once ``should_stop()`` is true.

    Also marks the thread as reading: an interrupt handler may then abandon the read at once
    (``reading_now()``), since reading writes nothing."""
    checks = _checks()
    checks.append(should_stop)
    try:
        yield
    finally:
        checks.pop()


def reading_now() -> bool:
    """Whether the current thread is inside ``stop_reading_when`` (reading input, writing nothing)."""
    return bool(_checks())


def check_stop() -> None:
    """Raise TrainingCancelled when a stop was asked for (cheap: call it often)."""
    for should_stop in _checks():
        if should_stop is not None and should_stop():
            raise TrainingCancelled()


def human_chars(n: int) -> str:
    return f"{n:,} characters"


def human_bytes(n: int) -> str:
    if n >= 1 << 30:
        return f"{n / (1 << 30):.1f} GB"
    if n >= 1 << 20:
        return f"{n / (1 << 20):.0f} MB"
    return f"{n / 1024:.0f} KB"

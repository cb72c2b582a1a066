"""Garbage collection only on the GUI thread.

Python's cyclic garbage collector runs in whichever thread happens to allocate when a threshold is
crossed. If that is a worker thread (training allocates a lot) and the garbage holds Qt widgets, the
widgets are destroyed outside the GUI thread, which Qt forbids and which can deadlock the process.
So, while the app runs, automatic collection is off and a 20 ms timer on the GUI thread collects
instead, following the same generation thresholds Python would use; full collections wait while
workers run (measured: they made the longest event-loop gaps, up to 350 ms).
"""

from __future__ import annotations

import gc
from typing import Callable

from PySide6.QtCore import QObject, QTimer

_collector: "_Collector | None" = None


class _Collector(QObject):
    def __init__(self, interval_ms: int) -> None:
        super().__init__()
        self.thresholds = gc.get_threshold()
        self.busy: Callable[[], bool] = lambda: False
        self.full_pending = False
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(interval_ms)
        gc.disable()

    def _is_busy(self) -> bool:
        try:
            return bool(self.busy())
        except RuntimeError:  # the window that answered is gone
            return False

    def check(self) -> None:
        """Often and small: a full (generation 2) collection, which scans every object and took up to
        350 ms while a model was loading, waits until no background work is running."""
        counts = gc.get_count()
        if counts[0] <= self.thresholds[0]:
            if self.full_pending and not self._is_busy():
                self.full_pending = False
                gc.collect(2)
            return
        generation = 0
        if counts[1] > self.thresholds[1]:
            generation = 2 if counts[2] > self.thresholds[2] else 1
        if generation == 2 and self._is_busy():
            generation, self.full_pending = 1, True
        gc.collect(generation)


def install(interval_ms: int = 20, busy: Callable[[], bool] | None = None) -> None:
    """Turn automatic collection off and collect from a GUI-thread timer (idempotent).

    ``busy()`` says whether background work runs (full collections then wait)."""
    global _collector
    if _collector is None:
        _collector = _Collector(interval_ms)
    if busy is not None:
        _collector.busy = busy


def is_installed() -> bool:
    return _collector is not None and not gc.isenabled()

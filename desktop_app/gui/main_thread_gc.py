"""Garbage collection only on the GUI thread.

Python's cyclic garbage collector runs in whichever thread happens to allocate when a threshold is
crossed. If that is a worker thread (training allocates a lot) and the garbage holds Qt widgets, the
widgets are destroyed outside the GUI thread, which Qt forbids and which can deadlock the process.
So, while the app runs, automatic collection is off and a timer on the GUI thread collects instead,
following the same generation thresholds Python would use.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

_collector: "_Collector | None" = None


class _Collector(QObject):
    def __init__(self, interval_ms: int) -> None:
        super().__init__()
        self.thresholds = gc.get_threshold()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(interval_ms)
        gc.disable()

    def check(self) -> None:
        counts = gc.get_count()
        if counts[0] <= self.thresholds[0]:
            return
        generation = 0
        if counts[1] > self.thresholds[1]:
            generation = 2 if counts[2] > self.thresholds[2] else 1
        gc.collect(generation)


def install(interval_ms: int = 500) -> None:
    """Turn automatic collection off and collect from a GUI-thread timer (idempotent)."""
    global _collector
    if _collector is None:
        _collector = _Collector(interval_ms)


def is_installed() -> bool:
    return _collector is not None and not gc.isenabled()

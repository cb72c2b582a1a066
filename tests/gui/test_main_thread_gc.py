"""Garbage that holds Qt widgets is collected on the GUI thread, never in a training thread.

A collection in a worker thread once destroyed widgets there and deadlocked the app (and CI)."""

from __future__ import annotations

import gc
import threading

from PySide6.QtWidgets import QWidget

from desktop_app.gui import main_thread_gc

from .conftest import wait_for


def test_widget_garbage_is_collected_on_the_gui_thread_only(qtbot, window):
    assert main_thread_gc.is_installed()
    seen: list[str] = []

    class Holder:
        def __del__(self):
            seen.append(threading.current_thread().name)

    holder = Holder()
    holder.widget = QWidget()
    holder.widget.holder = holder  # a reference cycle: only the cyclic collector can free it
    del holder

    kept: list = []

    def allocate():  # what a training thread does: lots of container allocations (kept alive, so the
        kept.append([[i] for i in range(200_000)])  # allocation count stays above the threshold)

    worker = threading.Thread(target=allocate, name="worker")
    worker.start()
    worker.join()
    assert seen == [] and gc.get_count()[0] > gc.get_threshold()[0]
    wait_for(qtbot, lambda: seen, 10)
    assert seen == ["MainThread"]
    kept.clear()

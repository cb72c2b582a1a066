"""GUI test fixtures: offscreen Qt, a private app home, a tiny model, and no leaked threads."""

from __future__ import annotations

import csv
import gc
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ for tiny_models
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import

import pytest  # noqa: E402
from PySide6.QtCore import QThread  # noqa: E402

_started: list = []
_original_start = QThread.start


def _tracking_start(self, *args, **kwargs):
    _started.append(self)
    return _original_start(self, *args, **kwargs)


QThread.start = _tracking_start


def _running(thread) -> bool:
    try:
        return thread.isRunning()
    except RuntimeError:  # the C++ object is gone: it has finished
        return False


@pytest.fixture(autouse=True)
def fail_on_leaked_threads(qapp):
    """napari-style: a test that leaves a QThread running fails (and the thread is stopped)."""
    _started.clear()
    yield
    leaked = [t for t in _started if _running(t)]
    for t in leaked:
        t.quit()
        t.wait(10_000)
    _started.clear()
    if leaked:
        names = ", ".join(t.objectName() or repr(t) for t in leaked)
        pytest.fail(f"test left {len(leaked)} QThread(s) running: {names}")


@pytest.fixture(autouse=True)
def app_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("CLASSIFIER_STUDIO_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return home


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    from tiny_models import build_tiny_model

    return build_tiny_model("bert", tmp_path_factory.mktemp("tiny") / "bert")


@pytest.fixture
def window(qtbot, app_home):
    from desktop_app.gui.window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    win.start_background()
    yield win
    win.confirm_close = lambda: True
    win.close()
    if not win.closing:
        win.shutdown()
    del win
    gc.collect()  # on the GUI thread, before the next test starts worker threads


def wait_for(qtbot, condition, timeout_s: float = 60):
    qtbot.waitUntil(lambda: bool(condition()), timeout=int(timeout_s * 1000))


CATEGORIES = ["billing", "shipping", "technical_issue"]


@pytest.fixture
def unlabeled(tmp_path, sample_csv):
    """An unlabeled copy of 24 sample tickets of three categories, and each text's true label."""
    rows = [r for r in csv.DictReader(sample_csv.open(encoding="utf-8")) if r["label"] in CATEGORIES][:24]
    path = tmp_path / "tickets.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text"])
        writer.writerows([(i, r["text"]) for i, r in enumerate(rows)])
    return path, {r["text"]: r["label"] for r in rows}

"""Shared fixtures: an isolated app home, and tiny offline models of each architecture."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no test may download anything
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SAMPLE = ROOT / "resources" / "samples" / "support_tickets.csv"
SAMPLE_UNLABELED = ROOT / "resources" / "samples" / "support_tickets_unlabeled.csv"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Keep every test off the developer's real config, runs and logs."""
    monkeypatch.setenv("CLASSIFIER_STUDIO_HOME", str(tmp_path_factory.mktemp("home")))


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    from tiny_models import ARCHITECTURES, build_tiny_model

    import csv

    texts = [row["text"] for row in csv.DictReader(SAMPLE.open(encoding="utf-8"))]
    root = tmp_path_factory.mktemp("tiny_models")
    return {arch: build_tiny_model(arch, root / arch, texts) for arch in ARCHITECTURES}


@pytest.fixture(scope="session")
def sample_csv() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def small_csv(tmp_path_factory) -> Path:
    """100 rows of the sample (20 per class): fast to train on."""
    import csv

    rows = list(csv.DictReader(SAMPLE.open(encoding="utf-8")))
    per: dict[str, int] = {}
    keep = []
    for row in rows:
        if per.get(row["label"], 0) < 20:
            per[row["label"]] = per.get(row["label"], 0) + 1
            keep.append(row)
    path = tmp_path_factory.mktemp("data") / "small.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["text", "label"])
        w.writeheader()
        w.writerows(keep)
    return path


# After the last test, Python's final garbage collection sometimes aborts in a C extension of the Qt
# stack ("none_dealloc: deallocating None", exit 134) although every test passed: a crash in the
# interpreter's teardown, after pytest has decided its result (seen on 6381eab too). So the process
# ends right after pytest is done, with pytest's own exit status; no test result can change by it.
def pytest_sessionfinish(session, exitstatus):
    session.config._classifier_studio_exitstatus = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    status = getattr(config, "_classifier_studio_exitstatus", None)
    if status is None or "PYTEST_XDIST_WORKER" in os.environ:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)

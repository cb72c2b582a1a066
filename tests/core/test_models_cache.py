"""The Hugging Face cache is read with huggingface_hub.scan_cache_dir: the snapshot used is the one
the cache's ``main`` ref points to, as from_pretrained would use."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from desktop_app.core import models


def _snapshot(repo: Path, revision: str, source: Path) -> Path:
    snap = repo / "snapshots" / revision
    shutil.copytree(source, snap)
    return snap


def test_cache_scan_follows_the_main_ref(tiny_models, tmp_path, monkeypatch):
    cache = tmp_path / "hub"
    repo = cache / "models--acme--tiny-bert"
    main_rev, other_rev = "a" * 40, "b" * 40
    main_snap = _snapshot(repo, main_rev, tiny_models["bert"])
    other_snap = _snapshot(repo, other_rev, tiny_models["distilbert"])  # e.g. a pull-request revision, newer on disk
    later = time.time() + 60
    for p in [other_snap, *other_snap.iterdir()]:
        os.utime(p, (later, later))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(main_rev)
    (repo / "blobs").mkdir()
    monkeypatch.setattr(models, "hf_cache_dir", lambda: cache)

    listed = [m for m in models.list_models() if m.source == "hf-cache"]
    assert [(m.name, Path(m.path)) for m in listed] == [("acme/tiny-bert", main_snap)]
    assert listed[0].architecture == "bert"
    assert models.resolve_model("acme/tiny-bert") == main_snap
    assert models.resolve_model("tiny-bert") == main_snap


def test_missing_or_empty_cache_lists_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "hf_cache_dir", lambda: tmp_path / "none")
    assert [m for m in models.list_models() if m.source == "hf-cache"] == []
    (tmp_path / "empty").mkdir()
    monkeypatch.setattr(models, "hf_cache_dir", lambda: tmp_path / "empty")
    assert [m for m in models.list_models() if m.source == "hf-cache"] == []

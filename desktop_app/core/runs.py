"""Run folders: RUN_DIR/model (a standard Hugging Face folder), RUN_DIR/run.json, checkpoints.

Every write is atomic: files go to a temporary name in the same folder and are moved into
place, and the model folder is swapped in whole, so a crash never leaves a half-written model
that looks complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from .appdirs import user_dir

RUN_JSON = "run.json"
MODEL_DIR = "model"
CHECKPOINT_DIR = "checkpoint"


def default_runs_dir() -> Path:
    return user_dir("data") / "runs"


@contextmanager
def atomic_path(target: Path, suffix: str = "") -> Iterator[Path]:
    """Yields a temporary path beside ``target``; moves it into place only on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or ".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_json(path: Path, data: dict) -> None:
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


@contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yields an empty temporary folder beside ``target``; swaps it in whole on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield tmp
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}-{time.time_ns()}")
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class RunInfo:
    name: str
    path: str
    status: str
    created: str
    model: str
    labels: list[str] = field(default_factory=list)
    final_metrics: dict = field(default_factory=dict)
    data_source: str = ""
    resumable: bool = False  # interrupted, with a checkpoint to continue from

    @classmethod
    def from_folder(cls, folder: Path) -> "RunInfo | None":
        try:
            run = read_json(folder / RUN_JSON)
        except (OSError, json.JSONDecodeError):
            return None
        return cls(
            name=folder.name,
            path=str(folder),
            status=str(run.get("status", "unknown")),
            created=str(run.get("created", "")),
            model=str(run.get("model", {}).get("name", "")),
            labels=list(run.get("labels", [])),
            final_metrics=dict(run.get("final_metrics") or {}),
            data_source=str(run.get("data", {}).get("source", "")),
            resumable=run.get("status") != "finished" and (folder / CHECKPOINT_DIR).is_dir(),
        )


def list_runs(runs_dir: str | Path) -> list[RunInfo]:
    """Runs under ``runs_dir``, newest first."""
    root = Path(runs_dir)
    if not root.is_dir():
        return []
    folders = []
    for p in root.iterdir():
        if (p / RUN_JSON).is_file():
            folders.append(p)
        elif (p / "leaderboard.json").is_file():  # a comparison: one run per candidate
            folders.extend(q for q in sorted(p.iterdir()) if (q / RUN_JSON).is_file())
    runs = []
    for folder in folders:
        run = RunInfo.from_folder(folder)
        if run is not None:
            if folder.parent != root:
                run.name = f"{folder.parent.name}/{folder.name}"
            runs.append(run)
    return sorted(runs, key=lambda r: r.created, reverse=True)


def new_run_dir(runs_dir: Path, model_name: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in model_name)[:40].strip("-") or "run"
    path = Path(runs_dir) / f"{stamp}-{safe}"
    n = 2
    while path.exists():
        path = Path(runs_dir) / f"{stamp}-{safe}-{n}"
        n += 1
    return path


def library_versions() -> dict[str, str]:
    import platform

    import torch
    import transformers

    return {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__}

"""kill -9 at random moments: every run folder is afterwards complete and loadable, or resumable
with the one documented command, never a dead end or a half-written model.

The suite kills a few times; ``CLASSIFIER_STUDIO_KILLS=50 python -m pytest tests/core/test_kill.py``
runs as many kills as asked (the count and the outcomes are printed)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from desktop_app.core.inference import Classifier
from desktop_app.core.runs import read_record

ROOT = Path(__file__).resolve().parents[2]
KILLS = int(os.environ.get("CLASSIFIER_STUDIO_KILLS", "3"))

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")]


def _cmd(*args) -> list[str]:
    return [sys.executable, "-m", "desktop_app", *map(str, args)]


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def _model_loads(run: Path) -> None:
    clf = Classifier.load(run, device="cpu")
    assert len(clf.predict(["my parcel never arrived"])) == 1


def test_kill_9_at_random_moments_never_leaves_a_dead_end(tiny_models, small_csv, tmp_path):
    rng = random.Random(int(os.environ.get("CLASSIFIER_STUDIO_KILL_SEED", "1")))
    train_args = ["train", small_csv, "--model", tiny_models["bert"], "--epochs", 4, "--max-length", 32, "--batch-size", 4,
                  "--early-stopping-patience", 0, "--checkpoint-every", "0.004"]  # a checkpoint every ~0.25 s as well
    outcomes: Counter = Counter()
    for i in range(KILLS):
        run = tmp_path / f"run{i}"
        proc = subprocess.Popen(_cmd(*train_args[:2], "--out", run, *train_args[2:]), cwd=ROOT, env=_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if rng.random() < 0.25:  # a moment while starting: loading, tokenizing, writing the first record
            time.sleep(rng.uniform(0.5, 8.0))
        else:  # a moment while training: steps, evaluations, model saves, checkpoints (every ~0.25 s)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and proc.poll() is None and not (run / "run.json").exists():
                time.sleep(0.05)
            time.sleep(rng.uniform(0.0, 2.0))  # a tiny run trains for 2-4 s
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if not run.exists() or not (run / "run.json").exists():
            # killed before the run began: nothing visible is left, and the same command starts it
            assert not run.exists() or all(p.name.startswith(".") for p in run.iterdir()), list(run.iterdir())
            recover = subprocess.run(_cmd(*train_args[:2], "--out", run, *train_args[2:]), cwd=ROOT, env=_env(),
                                     capture_output=True, text=True, timeout=300)
            outcomes["before the record: same command again"] += 1
        else:
            record = read_record(run)  # never a half-written record
            if (run / "model").exists():
                _model_loads(run)  # a model under its real name is always complete
            if record.status == "finished":
                outcomes["finished before the kill"] += 1
                _model_loads(run)
                continue
            outcomes["resumed" + (" from a checkpoint" if (run / "checkpoint").exists() else " from the start")] += 1
            recover = subprocess.run(_cmd("train", "--resume", "--out", run), cwd=ROOT, env=_env(),
                                     capture_output=True, text=True, timeout=300)
        assert recover.returncode == 0, recover.stderr[-3000:]
        assert read_record(run).status == "finished"
        assert not [p.name for p in run.iterdir() if p.name.startswith(".")]  # temporary files cleaned
        _model_loads(run)
    print(f"\n{KILLS} kills, 0 dead ends, 0 corrupt folders: {dict(outcomes)}")


def test_sigterm_behaves_like_ctrl_c(tiny_models, sample_csv, tmp_path):
    run = tmp_path / "run"
    proc = subprocess.Popen(_cmd("train", sample_csv, "--out", run, "--model", tiny_models["bert"], "--epochs", 50,
                                 "--max-length", 32, "--early-stopping-patience", 0),
                            cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (run / "checkpoint").exists():
        time.sleep(0.2)
    assert proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert f"classifier-studio train --resume --out {run}" in err
    assert read_record(run).status == "cancelled" and (run / "checkpoint" / "state.json").is_file()

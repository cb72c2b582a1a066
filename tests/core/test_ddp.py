"""Data-parallel training under torchrun: 2 gloo processes on the CPU reach every collective in the
same order (end of training, early stop, cancel), write one run folder from rank 0, and learn
what a single process learns."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop_app.core.runs import read_record

ROOT = Path(__file__).resolve().parents[2]
WORDS = {"billing": "invoice", "technical_issue": "crash", "account_access": "password", "shipping": "parcel"}

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="gloo on POSIX")]


@pytest.fixture(scope="module")
def easy_csv(tmp_path_factory) -> Path:
    import csv

    path = tmp_path_factory.mktemp("ddp") / "easy.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        for i in range(150):
            for label, word in WORDS.items():
                w.writerow([f"my {word} {word} please help number {i}", label])
    return path


def _train(args, nproc: int, timeout: float = 240, wait: bool = True):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(nproc), "--standalone"] \
        if nproc > 1 else [sys.executable]
    cmd = [*launcher, "-m", "desktop_app", "train", *map(str, args)]
    if not wait:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def test_two_gloo_processes_train_like_one_and_write_one_run(tiny_models, easy_csv, tmp_path):
    common = ["--model", tiny_models["bert"], "--epochs", 14, "--max-length", 16, "--lr", "2e-3",
              "--device", "cpu", "--early-stopping-patience", 4, "--json"]
    # the same work per optimizer step: 2 ranks x 8 rows against 1 process x 16 rows
    ddp = _train([easy_csv, "--out", tmp_path / "ddp", *common, "--batch-size", 8], nproc=2)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    lines = [l for l in ddp.stdout.splitlines() if l.startswith("{")]
    assert len(lines) == 1  # rank 0 reports; rank 1 only trained
    single = _train([easy_csv, "--out", tmp_path / "single", *common, "--batch-size", 16], nproc=1)
    assert single.returncode == 0, single.stderr[-3000:]

    record = read_record(tmp_path / "ddp")
    assert record.status == "finished" and record.device["world_size"] == 2
    assert sorted(p.name for p in (tmp_path / "ddp").iterdir()) == ["model", "run.json"]  # no stray files of rank 1
    acc_ddp = json.loads(lines[0])["accuracy"]
    acc_single = json.loads(single.stdout.splitlines()[-1])["accuracy"]
    assert acc_single > 0.9 and abs(acc_ddp - acc_single) <= 0.05
    # early stopping (validation reached 1.0) ended the run on both ranks together
    assert len(record.history) < 14 and "Early stopping" in ddp.stderr


def test_a_cancel_reaches_every_rank(tiny_models, easy_csv, tmp_path):
    run = tmp_path / "run"
    args = [easy_csv, "--out", run, "--model", tiny_models["bert"], "--epochs", 200, "--max-length", 16,
            "--batch-size", 4, "--device", "cpu", "--early-stopping-patience", 0]
    proc = _train(args, nproc=2, wait=False)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not (run / "checkpoint").exists():
        time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()[1][-3000:]
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the terminal reaches the launcher and both workers
    _, err = proc.communicate(timeout=120)
    assert read_record(run).status == "cancelled", err[-3000:]
    assert "Cancelled at step" in err and (run / "checkpoint" / "state.json").is_file()
    assert "Traceback" not in err.split("Cancelled at step")[0]  # no rank died in a collective before the cancel

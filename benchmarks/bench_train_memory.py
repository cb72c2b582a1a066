"""How much memory does `train` need for a large file? Peak memory of `classifier-studio train` up to its
second optimizer step, on a generated labeled CSV of a given size, against the same command on a 1 MB
file of the same kind (what the model, the optimizer and one training step cost whatever the file).

    python benchmarks/bench_train_memory.py [--mb 300] [--model NAME_OR_PATH]

Each size runs the real command in a fresh process (`python -m desktop_app train FILE --out RUN
--max-length 128 --batch-size 32`), stopped with Ctrl-C (SIGINT) once a step after the first is reported, so the
peak includes reading, checking, tokenizing, loading the model and two training steps. Peak
resident memory comes from the kernel's accounting of the child (``RUSAGE_CHILDREN`` of a one-child
wrapper). The texts are generated support-ticket-like word salads (5 to 100 words, one of five
labels), never a real data set. "data share" = (peak - peak on 1 MB) / file size: the issue's
target is about 2x.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WORDS = ("invoice refund charge card payment login password account locked reset parcel delivery tracking courier "
         "late address crash error update install slow broken dark mode export feature request please help thanks "
         "the my a is not it has been since yesterday again still").split()
LABELS = ["billing", "login", "delivery", "bug", "feature"]

# Runs one child, interrupts it after its second training step and prints its peak memory and times.
MEASURE = r"""
import re, resource, signal, subprocess, sys, time
t = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, bufsize=1)
first_step = None
buf = ""
while True:
    ch = child.stderr.read(1)
    if not ch:
        break
    buf = (buf + ch)[-200:]
    done = re.findall(r"step (\d+)/", buf)
    if first_step is None and done and int(done[-1]) >= 2:
        first_step = time.perf_counter() - t
        child.send_signal(signal.SIGINT)
code = child.wait()
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, first_step or -1, time.perf_counter() - t)
"""


def write_labeled(path: Path, mb: float, seed: int = 0) -> int:
    rng = random.Random(seed)
    target, rows = mb * 2**20, 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("text,label\n")
        while fh.tell() < target:
            label = rng.randrange(len(LABELS))
            words = [rng.choice(WORDS) for _ in range(rng.randint(5, 100))]
            words.insert(rng.randrange(len(words)), WORDS[label * 4])  # a word that gives the label away
            fh.write(f"{' '.join(words)},{LABELS[label]}\n")
            rows += 1
    return rows


def measure(path: Path, out: Path, model: str | None, home: Path) -> tuple[int, float, float, float]:
    import subprocess

    cmd = [sys.executable, "-m", "desktop_app", "train", str(path), "--out", str(out), "--max-length", "128",
           "--batch-size", "32", "--epochs", "1", "--method", "fine-tune"]
    if model:
        cmd += ["--model", model]
    env = {**os.environ, "CLASSIFIER_STUDIO_HOME": str(home)}
    result = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True, cwd=ROOT, env=env)
    code, peak_kb, first_step, seconds = result.stdout.split()
    if float(first_step) < 0:
        sys.exit(f"train on {path.name} never reached step 2 (exit {code}): {result.stderr[-2000:]}")
    return int(code), int(peak_kb) / 1024, float(first_step), float(seconds)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, nargs="+", default=[300.0])
    ap.add_argument("--model", default=None, help="default: the bundled all-MiniLM-L6-v2")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    base_file = tmp / "base.csv"
    write_labeled(base_file, 1)
    _, base_peak, base_first, _ = measure(base_file, tmp / "run_base", args.model, tmp / "home")
    print("| file | rows | peak memory | data share (peak - peak on 1 MB) / file | to step 2 |")
    print("|---|---|---|---|---|")
    print(f"| 1 MB | {sum(1 for _ in base_file.open()) - 1:,} | {base_peak:,.0f} MB | (baseline) | {base_first:.0f} s |", flush=True)
    for mb in args.mb:
        path = tmp / f"data{mb:g}.csv"
        rows = write_labeled(path, mb)
        size = path.stat().st_size / 2**20
        _, peak, first, _ = measure(path, tmp / f"run{mb:g}", args.model, tmp / "home")
        print(f"| {size:,.0f} MB | {rows:,} | {peak:,.0f} MB | {(peak - base_peak) / size:.2f}x | {first:.0f} s |", flush=True)
        path.unlink()


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"\n{time.perf_counter() - t0:.0f} s in all", file=sys.stderr)

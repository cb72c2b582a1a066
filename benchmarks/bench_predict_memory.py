"""Does `predict` stream? Peak memory of `classifier-studio predict` on 10k, 100k and 1M generated rows.

    python benchmarks/bench_predict_memory.py [--rows 10000 100000 1000000]

Each size runs the real command in a fresh process (`python -m desktop_app predict MODEL IN.csv
--out OUT.csv`) with a tiny BERT classifier built offline (tests/tiny_models.py), on generated
support-ticket-like texts of 5 to 60 words; peak resident memory comes from the kernel's
accounting of that process (``resource.getrusage(RUSAGE_CHILDREN)`` of a one-child wrapper). If
predict streams, the peak stays flat while the file grows a hundredfold.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

WORDS = ("invoice refund charge card payment login password account locked reset parcel delivery tracking courier "
         "late address crash error update install slow broken dark mode export feature request please help thanks "
         "the my a is not it has been since yesterday again still").split()

# Runs one child and prints its peak memory: a fresh interpreter per size, so one size's peak never hides another's.
MEASURE = """
import resource, subprocess, sys, time
t = time.perf_counter()
code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.perf_counter() - t)
"""


def write_rows(path: Path, n: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("id,text\n")
        for i in range(n):
            fh.write(f"{i},{' '.join(rng.choice(WORDS) for _ in range(rng.randint(5, 60)))}\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    args = ap.parse_args()
    from tiny_models import build_tiny_model
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tmp = Path(tempfile.mkdtemp())
    base = build_tiny_model("bert", tmp / "base", [" ".join(WORDS)], max_length=64)
    model_dir = tmp / "model"
    AutoModelForSequenceClassification.from_pretrained(base, num_labels=3, id2label={0: "billing", 1: "login", 2: "delivery"},
                                                       label2id={"billing": 0, "login": 1, "delivery": 2}).save_pretrained(model_dir)
    AutoTokenizer.from_pretrained(base).save_pretrained(model_dir)
    print("| rows | input MB | output MB | peak memory (MB) | seconds | rows/s |")
    print("|---|---|---|---|---|---|")
    for n in args.rows:
        src, out = tmp / f"in{n}.csv", tmp / f"out{n}.csv"
        write_rows(src, n)
        cmd = [sys.executable, "-m", "desktop_app", "predict", str(model_dir), str(src), "--out", str(out)]
        env = {**os.environ, "CLASSIFIER_STUDIO_HOME": str(tmp / "home")}  # the ONNX graph is cached there, not in yours
        result = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True, cwd=ROOT, env=env)
        code, peak_kb, seconds = result.stdout.split()
        if code != "0":
            sys.exit(f"predict failed on {n} rows (exit {code})")
        print(f"| {n:,} | {src.stat().st_size / 2**20:.0f} | {out.stat().st_size / 2**20:.0f} | {int(peak_kb) / 1024:.0f} "
              f"| {float(seconds):.0f} | {n / float(seconds):,.0f} |", flush=True)
        src.unlink()
        out.unlink()


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"\n{time.perf_counter() - t0:.0f} s in all", file=sys.stderr)

"""Where does few-shot stop winning? The default `train` (method auto) against today's plain fine-tune.

For each number of labeled rows per category (drawn with a fixed seed from the training file), the
command line is run exactly as a user runs it:

    classifier-studio train SUBSET --out RUN [--method M]      then      classifier-studio evaluate RUN TEST --json

and the test accuracy, the method the run recorded (run.json) and the wall time are tabulated.
"today" is `train --method fine-tune`: the FineTune recipe, the code path `train` took before
methods existed; with --today-checkout it is plain `train` of another checkout (a git worktree
of the engine as issue #14 found it, commit 61f58ac). The subsets and the test
rows are written to a temporary folder outside the project (the texts are read by path, never copied
into the repository).

    python benchmarks/bench_method_crossover.py --train ../shared/datasets/banking77/train.csv \\
        --test ../shared/datasets/banking77/test.csv --per-class 8,16,64 --methods auto,today --test-rows 1000
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def read_rows(path: str) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return [{"text": r["text"], "label": r["label"]} for r in csv.DictReader(fh)]


def per_class_subset(rows: list[dict], k: int, seed: int) -> list[dict]:
    """k rows of every label (all of a label's rows when it has fewer): random.Random(seed).sample, labels in sorted order."""
    if k <= 0:
        return list(rows)
    rng = random.Random(seed)
    by_label: dict[str, list[dict]] = {}
    for r in rows:
        by_label.setdefault(r["label"], []).append(r)
    out: list[dict] = []
    for label in sorted(by_label):
        group = by_label[label]
        out += rng.sample(group, min(k, len(group)))
    return out


def write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["text", "label"])
        writer.writeheader()
        writer.writerows(rows)


def cli(*args: str, log: Path, checkout: Path = ROOT) -> dict:
    """Run `python -m desktop_app ARGS` (niced) in `checkout`, return the last JSON line of stdout.

    `python -m` puts the working folder first on sys.path, so the engine of that checkout runs.
    """
    cmd = ["nice", sys.executable, "-m", "desktop_app", *args]
    with log.open("a", encoding="utf-8") as err:
        err.write(f"$ (in {checkout}) " + " ".join(cmd) + "\n")
        err.flush()
        done = subprocess.run(cmd, cwd=checkout, stdout=subprocess.PIPE, stderr=err, text=True)
    if done.returncode != 0:
        raise SystemExit(f"command failed ({done.returncode}): {' '.join(cmd)}; see {log}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def has_method_flag(checkout: Path) -> bool:
    out = subprocess.run([sys.executable, "-m", "desktop_app", "train", "--help"], cwd=checkout, capture_output=True, text=True)
    return "--method" in out.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--per-class", default="8,16,64", help="comma-separated; 0 = the whole training file")
    parser.add_argument("--methods", default="auto,today", help="auto, today (= fine-tune), few-shot, fine-tune, zero-shot")
    parser.add_argument("--test-rows", type=int, default=1000, help="fixed random subset of the test file (0 = all)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the training subsets")
    parser.add_argument("--train-args", default="", help="extra arguments for every train command")
    parser.add_argument("--work", help="folder for subsets, runs and logs (default: a new temporary folder)")
    parser.add_argument("--out-json", help="also write the table as JSON here")
    parser.add_argument("--today-checkout", help="run 'today' with the engine of this checkout, e.g. "
                        "`git worktree add /tmp/before-14 61f58ac` (the engine as issue #14 found it); "
                        "default: this checkout's `--method fine-tune`")
    args = parser.parse_args()

    work = Path(args.work or tempfile.mkdtemp(prefix="crossover-"))
    work.mkdir(parents=True, exist_ok=True)
    log = work / "log.txt"
    test = read_rows(args.test)
    if args.test_rows and args.test_rows < len(test):
        order = np.random.default_rng(0).permutation(len(test))[: args.test_rows]
        test = [test[i] for i in sorted(order)]
    test_path = work / "test.csv"
    write_csv(test_path, test)
    train = read_rows(args.train)
    today_checkout = Path(args.today_checkout).resolve() if args.today_checkout else ROOT
    method_flag = has_method_flag(today_checkout)
    results = []
    print(f"work folder {work}; test rows {len(test)}", flush=True)
    for k in [int(x) for x in args.per_class.split(",")]:
        subset = per_class_subset(train, k, args.seed)
        sub_path = work / f"train_{k or 'all'}.csv"
        write_csv(sub_path, subset)
        for method in args.methods.split(","):
            run_dir = work / f"run_{k or 'all'}_{method}"
            flag = [] if method == "auto" else ["--method", "fine-tune" if method == "today" else method]
            if method == "today" and not method_flag:
                flag = []
            extra = args.train_args.split() if args.train_args else []
            checkout = today_checkout if method == "today" else ROOT
            t0 = time.perf_counter()
            trained = cli("train", str(sub_path), "--out", str(run_dir), *flag, *extra, "--json", log=log, checkout=checkout)
            train_s = time.perf_counter() - t0
            scored = cli("evaluate", str(run_dir), str(test_path), "--json", log=log, checkout=checkout)
            record = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
            row = {"per_class": k or "all", "train_rows": len(subset), "method_asked": method,
                   "method_ran": record.get("method", "fine-tune"), "accuracy": round(scored["accuracy"], 4),
                   "macro_f1": round(scored["macro_f1"], 4), "train_s": round(train_s, 1),
                   "validation": trained.get("accuracy")}
            results.append(row)
            print(json.dumps(row), flush=True)
    print()
    print("| per category | training rows | method asked | method ran | test accuracy | macro-F1 | train time (s) |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['per_class']} | {r['train_rows']} | {r['method_asked']} | {r['method_ran']} | {r['accuracy']:.3f} "
              f"| {r['macro_f1']:.3f} | {r['train_s']:.0f} |")
    if args.out_json:
        Path(args.out_json).write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()

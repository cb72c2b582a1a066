"""Smart defaults vs. the textbook recipe on the shared datasets, through the real CLI.

    python benchmarks/bench_defaults.py [--datasets banking77,sms_spam] [--skip-textbook] [--time-budget 5]

For each dataset: `classifier-studio train DATA --out RUN` with no options (the defaults),
timed as a whole command, then `evaluate RUN test.csv`; and the textbook recipe
(lr 5e-5, 3 epochs, batch 32, max length 64) through the same engine. Prints the chosen
settings, times and test metrics as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEXTBOOK = ["--lr", "5e-5", "--epochs", "3", "--batch-size", "32", "--max-length", "64"]


def cli(*args: str) -> tuple[dict, float]:
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "desktop_app", *args, "--json"], cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"command failed ({r.returncode}): {' '.join(args)}\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1]), time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "datasets"))
    ap.add_argument("--datasets", default="banking77,sms_spam")
    ap.add_argument("--skip-textbook", action="store_true")
    ap.add_argument("--time-budget", type=float, help="also run banking77 with this budget (minutes)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    print(f"Run folders (kept, e.g. as a teacher for bench_distill.py): {tmp}", flush=True)
    rows = []
    for name in args.datasets.split(","):
        data = Path(args.shared) / name
        recipes = [("defaults", [])] + ([] if args.skip_textbook else [("textbook", TEXTBOOK)])
        if args.time_budget and name == "banking77":
            recipes.append((f"budget {args.time_budget:g} min", ["--time-budget", str(args.time_budget)]))
        for recipe, extra in recipes:
            run = tmp / f"{name}-{recipe.replace(' ', '_')}"
            trained, seconds = cli("train", str(data / "train.csv"), "--out", str(run), *extra)
            test, _ = cli("evaluate", str(run), str(data / "test.csv"))
            s = trained["settings"]
            chosen = f"lr {s['learning_rate']:g}, head {s['head_learning_rate']:g}, epochs {s['epochs']:g}, max_len {s['max_length']}, batch {s['batch_size']}, class weights {s['class_weights']}"
            rows.append((name, recipe, chosen, seconds / 60, test["accuracy"], test["macro_f1"], trained.get("best_epoch")))
            print(rows[-1], flush=True)
    print("\n| dataset | recipe | settings | train command (min) | test accuracy | test macro-F1 | best epoch |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:.1f} | {r[4]:.4f} | {r[5]:.4f} | {r[6]} |")


if __name__ == "__main__":
    main()

"""Long documents: long-document mode vs. truncation at 128 tokens and at the model's maximum, same
model and rows, in one run: training time, prediction time and test accuracy / macro-F1.

    python3 benchmarks/bench_long_documents.py --train LONG_TRAIN.csv --test LONG_TEST.csv --rows 400 --test-rows 300

LONG_TRAIN/LONG_TEST: labeled files of long texts (news articles, reports; text and label columns
guessed as everywhere in the app). Nothing is copied into the project. The three runs:

- truncate-128: ``--max-length 128 --long-documents off`` (everything after 128 tokens is lost)
- truncate-max: ``--max-length MODEL_MAX --long-documents off`` (one long window; attention cost grows with its square)
- long-documents: ``--max-length 128 --long-documents on`` (overlapping windows of 128, combination chosen on validation)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--rows", type=int, default=400)
    ap.add_argument("--test-rows", type=int, default=300)
    ap.add_argument("--epochs", type=float, default=3)
    ap.add_argument("--window", type=int, default=128)
    ap.add_argument("--model-max", type=int, default=None, help="default: what the model reads (at most 512)")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    from desktop_app.core.data import load_labeled
    from desktop_app.core.evaluate import evaluate
    from desktop_app.core.inference import quiet_transformers
    from desktop_app.core.models import describe_folder
    from desktop_app.core.resources import bundled_model_dir
    from desktop_app.core.settings import TrainSettings
    from desktop_app.core.training import TrainJob, train

    quiet_transformers()
    train_data = load_labeled(args.train, multi_label=False).data
    test_data = load_labeled(args.test, multi_label=False).data
    train_data = train_data.subset(range(min(args.rows, len(train_data))))
    test_data = test_data.subset(range(min(args.test_rows, len(test_data))))
    model_dir = bundled_model_dir()
    model_max = args.model_max or min(describe_folder(model_dir).max_length or 512, 512)
    tmp = Path(tempfile.mkdtemp())
    rows = []
    for name, max_length, mode in (("truncate-128", args.window, "off"), (f"truncate-{model_max}", model_max, "off"),
                                   ("long-documents", args.window, "on")):
        t0 = time.perf_counter()
        result = train(TrainJob(train=train_data, out_dir=tmp / name, model=str(model_dir), long_documents=mode,
                                settings=TrainSettings(epochs=args.epochs, max_length=max_length, seed=args.seed,
                                                       early_stopping_patience=0)))
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        ev = evaluate(tmp / name, test_data, device="cpu")
        predict_s = time.perf_counter() - t0
        long = result.record.long_documents
        rows.append({"run": name, "max_length": max_length, "combine": long.get("combine") if mode == "on" else "-",
                     "accuracy": ev.metrics["accuracy"], "macro_f1": ev.metrics["macro_f1"], "train_s": train_s,
                     "predict_s": predict_s, "test_longer_than_window": ev.long_documents["longer_than_window"]})
    print(f"\n{len(train_data)} training rows, {len(test_data)} test rows; bundled model, {args.epochs:g} epochs, seed {args.seed}")
    print("| run | window | combination | test accuracy | macro-F1 | train s | evaluate s | test docs longer than the window |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['run']} | {r['max_length']} | {r['combine']} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} | "
              f"{r['train_s']:.0f} | {r['predict_s']:.1f} | {r['test_longer_than_window']} |")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()

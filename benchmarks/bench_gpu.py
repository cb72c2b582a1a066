"""CUDA and mixed precision: our engine vs. the plain transformers Trainer/pipeline on one GPU.

    python benchmarks/bench_gpu.py [--data ../shared/datasets/banking77] [--model PATH] [--epochs 3]
        [--precisions fp32 bf16 fp16] [--rows 0]

For each precision, in one run, on the same rows, model, batch size, learning rate, warm-up, max
length and epochs: our ``train`` (length-grouped batches) and ``transformers.Trainer`` (dynamic
padding, ``bf16=``/``fp16=`` set to the same precision), then test accuracy of both and prediction
speed of our ``Classifier`` vs. ``pipeline`` on the GPU at batch 64. Needs a CUDA GPU; prints one
table in Markdown. The bundled model is the default (``--model`` takes any local folder).
"""

from __future__ import annotations

import argparse
import json
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
    ap.add_argument("--model", default=None, help="model folder (default: the bundled all-MiniLM-L6-v2)")
    ap.add_argument("--rows", type=int, default=0, help="training rows (0: all)")
    ap.add_argument("--epochs", type=float, default=3)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--precisions", nargs="+", default=["fp32", "bf16", "fp16"])
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    import numpy as np
    import torch
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer,
                              TrainingArguments, pipeline, set_seed)

    from desktop_app.core.data import LabeledData
    from desktop_app.core.evaluate import evaluate
    from desktop_app.core.inference import Classifier, quiet_transformers
    from desktop_app.core.settings import TrainSettings
    from desktop_app.core.training import TrainJob, train

    if not torch.cuda.is_available():
        sys.exit("bench_gpu needs a CUDA GPU.")
    quiet_transformers()
    if args.model is None:
        from desktop_app.core.resources import bundled_model_dir

        args.model = str(bundled_model_dir())
    data = Path(args.data)
    tr_x, tr_y = read(data / "train.csv", args.rows)
    te_x, te_y = read(data / "test.csv", 0)
    labels = sorted(set(tr_y))
    l2i = {l: i for i, l in enumerate(labels)}
    keep = [i for i, y in enumerate(te_y) if y in l2i]
    te_x, te_y = [te_x[i] for i in keep], [te_y[i] for i in keep]
    mk = lambda x, y, src: LabeledData(texts=x, labels=y, rows=list(range(2, len(x) + 2)), source=src)
    tok = AutoTokenizer.from_pretrained(args.model)
    tmp = Path(tempfile.mkdtemp())

    DS = lambda x, y: trainer_dataset(tok, x, y, l2i, args.max_length)  # noqa: E731

    rows = []
    for precision in args.precisions:
        settings = TrainSettings(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
                                 head_learning_rate=args.lr, max_length=args.max_length, warmup=0.1,
                                 early_stopping_patience=0, class_weights=False, seed=args.seed, keep_best=False,
                                 device="cuda", precision=precision)
        out = tmp / f"ours-{precision}"
        t = time.perf_counter()
        train(TrainJob(train=mk(tr_x, tr_y, "train"), valid=mk(te_x, te_y, "test"), out_dir=out, model=args.model,
                       settings=settings))
        ours_wall = time.perf_counter() - t
        record = json.loads((out / "run.json").read_text())
        ours_sps = record["timings"]["samples_per_s"]
        ours_acc = evaluate(out, mk(te_x, te_y, "test"), device="cuda").metrics["accuracy"]

        set_seed(args.seed)
        model = AutoModelForSequenceClassification.from_pretrained(args.model, num_labels=len(labels))
        targs = TrainingArguments(output_dir=str(tmp / f"trainer-{precision}"), per_device_train_batch_size=args.batch_size,
                                  per_device_eval_batch_size=64, learning_rate=args.lr, num_train_epochs=args.epochs,
                                  warmup_steps=0.1, weight_decay=0.01, save_strategy="no", report_to="none",
                                  disable_tqdm=True, logging_strategy="no", seed=args.seed,
                                  bf16=precision == "bf16", fp16=precision == "fp16")
        trainer = Trainer(model=model, args=targs, train_dataset=DS(tr_x, tr_y), data_collator=DataCollatorWithPadding(tok))
        t = time.perf_counter()
        metrics = trainer.train().metrics
        trainer_wall = time.perf_counter() - t
        pred = trainer.predict(DS(te_x, te_y))
        trainer_acc = float((pred.predictions.argmax(-1) == np.asarray([l2i[y] for y in te_y])).mean())
        del trainer, model
        torch.cuda.empty_cache()

        clf = Classifier.load(out, device="cuda", precision=precision)
        clf.predict_proba(te_x[:256], 64)
        torch.cuda.synchronize()
        t = time.perf_counter()
        clf.predict_proba(te_x, 64)
        torch.cuda.synchronize()
        ours_dps = len(te_x) / (time.perf_counter() - t)
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision, torch.float32)
        pipe = pipeline("text-classification", model=str(out / "model"), device=0, dtype=dtype)
        pipe(te_x[:256], batch_size=64, truncation=True, max_length=args.max_length)
        torch.cuda.synchronize()
        t = time.perf_counter()
        pipe(te_x, batch_size=64, truncation=True, max_length=args.max_length)
        torch.cuda.synchronize()
        pipe_dps = len(te_x) / (time.perf_counter() - t)
        rows.append((precision, ours_sps, metrics["train_samples_per_second"], ours_wall, trainer_wall, ours_acc,
                     trainer_acc, ours_dps, pipe_dps, record["device"]["precision"]))
        print(f"{precision}: done", file=sys.stderr, flush=True)

    print(f"\nGPU: {torch.cuda.get_device_name(0)}, torch {torch.__version__}; data {data.name} ({len(tr_x)} train rows, "
          f"{len(te_x)} test rows), {args.epochs:g} epochs, batch {args.batch_size}, lr {args.lr:g}, "
          f"max length {args.max_length}, seed {args.seed}\n")
    print("| precision | training samples/s (ours / Trainer) | ratio | wall s (ours / Trainer) | test accuracy (ours / Trainer) "
          "| prediction docs/s (ours / pipeline) | ratio |")
    print("|---|---|---|---|---|---|---|")
    for p, osps, tsps, ow, tw, oa, ta, od, pd, used in rows:
        print(f"| {p} (engine used {used}) | {osps:.0f} / {tsps:.0f} | {osps / tsps:.2f}x | {ow:.1f} / {tw:.1f} | "
              f"{oa:.4f} / {ta:.4f} | {od:.0f} / {pd:.0f} | {od / pd:.2f}x |")


if __name__ == "__main__":
    main()

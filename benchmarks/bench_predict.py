"""Prediction speed: our Classifier (ONNX Runtime, fp32 and int8) vs. transformers ``pipeline``, one run, same model and rows.

    python benchmarks/bench_predict.py [--run RUN_DIR] [--data ../shared/datasets/banking77] [--rows 2000]
        [--uniform-tokens 32] [--batch-size 64]

Three inputs, each side timed over the same texts after a warm-up batch, wall time including tokenization:

- varied: the test texts as they are, both sides truncating at the run's max length;
- uniform: every text made exactly ``--uniform-tokens`` tokens long (short texts repeated, then
  both sides truncate at that length), so sorting by length cannot help;
- int8: our fast variant (int8 ONNX) on the varied texts.

``pipeline("text-classification", batch_size=64, truncation=True, max_length=same)`` is the
reference. For each row: docs/s, the ratio to the pipeline, label agreement with the pipeline
(% identical labels) and accuracy on the test labels. Without ``--run`` the bundled default model
gets a fresh (random) classification head: still a fair speed comparison, but accuracy is then
chance level and says nothing. The texts are read from the data folder by path, never copied.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import read  # noqa: E402


def fresh_run(labels: list[str], out: Path, max_length: int) -> Path:
    """The bundled model with a new, untrained head for ``labels``, laid out as a run folder."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from desktop_app.core.resources import bundled_model_dir

    torch.manual_seed(0)
    src = bundled_model_dir()
    model = AutoModelForSequenceClassification.from_pretrained(
        src, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)})
    model.save_pretrained(out / "model")
    AutoTokenizer.from_pretrained(src).save_pretrained(out / "model")
    (out / "run.json").write_text(json.dumps({"status": "finished", "settings": {"max_length": max_length}}), encoding="utf-8")
    return out


def uniform_texts(tokenizer, texts: list[str], tokens: int) -> list[str]:
    """Each text repeated until it has at least ``tokens`` tokens: truncation then makes them all that long."""
    out = []
    for text in texts:
        grown = text or "empty"
        while len(tokenizer(grown)["input_ids"]) < tokens:
            grown = grown + " " + (text or "empty")
        out.append(grown)
    return out


def timed(fn, texts, batch_size: int):
    fn(texts[:batch_size])  # warm-up
    start = time.perf_counter()
    labels = fn(texts)
    return labels, len(texts) / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", help="a trained run folder (default: the bundled model with a fresh head)")
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets" / "banking77"),
                    help="folder with test.csv (text,label)")
    ap.add_argument("--rows", type=int, default=2000, help="test rows, evenly sampled (0: all)")
    ap.add_argument("--max-length", type=int, default=128, help="truncation for the varied input when there is no --run")
    ap.add_argument("--uniform-tokens", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args()

    import numpy as np
    import torch
    from transformers import AutoTokenizer, pipeline

    from desktop_app.core.inference import Classifier, quiet_transformers

    quiet_transformers()
    texts, gold = read(Path(args.data) / "test.csv", args.rows)
    tmp = Path(tempfile.mkdtemp())
    if args.run:
        run = Path(args.run)
        model_note = f"trained run {run}"
    else:
        run = fresh_run(sorted(set(gold)), tmp / "fresh-run", args.max_length)
        model_note = "bundled all-MiniLM-L6-v2 with a fresh, untrained head (speed only: accuracy is chance level)"
    model_dir = run / "model" if (run / "model" / "config.json").is_file() else run
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    bs = args.batch_size

    t0 = time.perf_counter()
    fp32 = Classifier.load(run, device="cpu")
    load_fp32 = time.perf_counter() - t0
    t0 = time.perf_counter()
    int8 = Classifier.load(run, device="cpu", precision="int8")
    load_int8 = time.perf_counter() - t0
    torch_clf = Classifier.load(run, device="cpu", engine="torch")
    max_length = fp32.max_length
    assert fp32.engine == "onnx-fp32" and int8.engine == "onnx-int8", (fp32.engine, fp32.engine_note)
    pipe = pipeline("text-classification", model=str(model_dir), tokenizer=str(model_dir), device=-1)

    def ours(clf, limit=None):
        def predict(batch):
            saved = clf.max_length
            clf.max_length = limit or saved
            try:
                probs = clf.predict_proba(batch, bs)
            finally:
                clf.max_length = saved
            return [clf.labels[i] for i in probs.argmax(1)]
        return predict

    def theirs(limit):
        return lambda batch: [r["label"] for r in pipe(batch, batch_size=bs, truncation=True, max_length=limit)]

    uniform = uniform_texts(tokenizer, texts, args.uniform_tokens)
    rows = []
    for name, inputs, limit in (("varied", texts, max_length), (f"uniform ({args.uniform_tokens} tokens)", uniform, args.uniform_tokens)):
        ref_labels, ref_dps = timed(theirs(limit), inputs, bs)
        rows.append((name, "pipeline (PyTorch)", ref_dps, ref_labels, ref_labels, ref_dps))
        for label, clf in (("ours, PyTorch engine", torch_clf), ("ours, ONNX fp32", fp32)) + ((("ours, ONNX int8", int8),) if name == "varied" else ()):
            got, dps = timed(ours(clf, limit), inputs, bs)
            rows.append((name, label, dps, got, ref_labels, ref_dps))
        print(f"measured {name}", file=sys.stderr, flush=True)

    lengths = [len(x) for x in fp32.encode(texts)]
    print(f"\nData: {Path(args.data) / 'test.csv'}, {len(texts)} rows (token lengths {min(lengths)}-{max(lengths)}, "
          f"mean {np.mean(lengths):.1f}); model: {model_note}; max length {max_length}; batch {bs}; "
          f"{torch.get_num_threads()} torch threads, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"loading took {load_fp32:.1f} s (fp32) and {load_int8:.1f} s (int8), the one-time ONNX export and "
          f"quantization included when RUN/onnx/ had no graph yet\n")
    print("| input | engine | docs/s | vs pipeline | labels identical to pipeline | accuracy |")
    print("|---|---|---|---|---|---|")
    for name, label, dps, got, ref, ref_dps in rows:
        agree = np.mean([a == b for a, b in zip(got, ref)])
        acc = np.mean([a == b for a, b in zip(got, gold)])
        print(f"| {name} | {label} | {dps:.0f} | {dps / ref_dps:.2f}x | {100 * agree:.2f}% | {acc:.4f} |")


if __name__ == "__main__":
    main()

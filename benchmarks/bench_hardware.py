"""How close do training and prediction come to what this machine can compute? Useful GFLOP/s of our
training loop and of prediction (PyTorch and ONNX Runtime), next to the machine's measured matmul peak.

    python3 benchmarks/bench_hardware.py --data ../shared/datasets/banking77 --rows 2000

- **Matmul peak**: fp32 ``torch.matmul`` of two 1024x1024 matrices (and 2048x2048), best of several
  repeats, with the thread count training uses: the most this CPU does on the operation a
  transformer spends most of its time in.
- **Useful work** counts only real tokens (padding is waste, not work). Per token and layer the
  forward pass of a BERT-style encoder costs 2 x (4 d^2 + 2 d I) multiply-adds for the projections
  and the feed-forward block, plus 2 x 2 L d for attention over a text of L tokens (d hidden size,
  I feed-forward size); training costs three times the forward pass (forward, and a backward pass of
  about twice its work). Embedding lookups, LayerNorm, softmax and the optimizer are not counted.
- **Training**: one epoch of our engine (``core.training.train``) on ``--rows`` rows of the training
  file, the bundled model, batch 32, max length 64; **prediction**: ``Classifier.predict_proba`` over
  the same texts with PyTorch and with the ONNX Runtime engine.
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


def matmul_peak(n: int, repeats: int = 10) -> float:
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.matmul(a, b)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        torch.matmul(a, b)
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def forward_flops_per_text(length: int, config) -> float:
    d, inner, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    per_token = 2 * (4 * d * d + 2 * d * inner) + 2 * 2 * length * d
    return layers * per_token * length


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="folder with train.csv (text,label)")
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--max-length", type=int, default=64)
    args = ap.parse_args()

    import torch
    from transformers import AutoConfig, AutoTokenizer

    from common import read
    from desktop_app.core.data import LabeledData
    from desktop_app.core.inference import Classifier, quiet_transformers
    from desktop_app.core.models import resolve_model
    from desktop_app.core.settings import TrainSettings
    from desktop_app.core.training import TrainJob, train

    quiet_transformers()
    texts, labels = read(Path(args.data) / "train.csv", args.rows)
    model = resolve_model(None)
    config = AutoConfig.from_pretrained(model)
    tokenizer = AutoTokenizer.from_pretrained(model)
    lengths = [len(x) for x in tokenizer(texts, truncation=True, max_length=args.max_length)["input_ids"]]
    forward = sum(forward_flops_per_text(n, config) for n in lengths)

    threads = torch.get_num_threads()
    peaks = {n: matmul_peak(n) for n in (1024, 2048)}
    peak = max(peaks.values())

    out = Path(tempfile.mkdtemp()) / "run"
    data = LabeledData(texts, labels, list(range(2, len(texts) + 2)), str(Path(args.data) / "train.csv"))
    result = train(TrainJob(train=data, out_dir=out, valid=data.subset(range(0, len(data), 10)), settings=TrainSettings(
        epochs=1, batch_size=32, max_length=args.max_length, early_stopping_patience=0, seed=42)))
    train_s = float(result.record.timings["train_s"])
    train_gflops = 3 * forward / train_s / 1e9

    rows = []
    for engine in ("torch", "onnx"):
        clf = Classifier.load(out, device="cpu", engine=engine)
        clf.predict_proba(texts[:64], 64)
        t = time.perf_counter()
        clf.predict_proba(texts, 64)
        seconds = time.perf_counter() - t
        rows.append((engine, seconds, forward / seconds / 1e9))

    print(f"{len(texts)} texts, {sum(lengths):,} real tokens (max length {args.max_length}), {threads} threads, "
          f"torch {torch.__version__}")
    print(f"matmul peak (fp32): {peaks[1024]:.1f} GFLOP/s at 1024, {peaks[2048]:.1f} at 2048\n")
    print("| work | seconds | useful GFLOP/s | share of the matmul peak |")
    print("|---|---|---|---|")
    print(f"| training, 1 epoch (our loop) | {train_s:.1f} | {train_gflops:.1f} | {train_gflops / peak:.0%} |")
    for engine, seconds, gflops in rows:
        print(f"| prediction, {'PyTorch' if engine == 'torch' else 'ONNX Runtime fp32'} | {seconds:.1f} | {gflops:.1f} "
              f"| {gflops / peak:.0%} |")
    print(json.dumps({"peak": peaks, "train_s": train_s, "train_gflops": train_gflops,
                      "predict": {e: {"s": s, "gflops": g} for e, s, g in rows}}))


if __name__ == "__main__":
    main()

"""The one way inference speed is measured: live charts, compare, distill, export, benchmarks.

Warm up first; length-sorted batches; wall time including tokenization; docs/s at a batch
size of 32 or 64, and per-document latency at batch size 1 reported as p50 and p95.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import numpy as np

PredictFn = Callable[[Sequence[str], int], object]  # (texts, batch_size) -> anything


@dataclass(frozen=True)
class SpeedReport:
    docs_per_s: float
    ms_per_doc: float
    batch_size: int
    n_docs: int
    p50_ms: float | None = None  # batch size 1
    p95_ms: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def throughput(predict: PredictFn, texts: Sequence[str], batch_size: int = 64, max_docs: int = 512,
               warmup: bool = True) -> SpeedReport:
    """docs/s over up to ``max_docs`` texts (evenly sampled, so lengths stay representative)."""
    sample = sample_texts(texts, max_docs)
    if warmup:
        predict(sample[: min(len(sample), batch_size)], batch_size)
    start = time.perf_counter()
    predict(sample, batch_size)
    elapsed = max(time.perf_counter() - start, 1e-9)
    return SpeedReport(len(sample) / elapsed, 1000 * elapsed / len(sample), batch_size, len(sample))


def latency(predict: PredictFn, texts: Sequence[str], n_docs: int = 64, warmup: int = 3) -> tuple[float, float]:
    """p50 and p95 milliseconds for one document at a time (batch size 1)."""
    sample = sample_texts(texts, n_docs)
    for text in sample[:warmup]:
        predict([text], 1)
    times = []
    for text in sample:
        start = time.perf_counter()
        predict([text], 1)
        times.append(1000 * (time.perf_counter() - start))
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def full_report(predict: PredictFn, texts: Sequence[str], batch_size: int = 32, max_docs: int = 512,
                latency_docs: int = 64) -> SpeedReport:
    base = throughput(predict, texts, batch_size, max_docs)
    p50, p95 = latency(predict, texts, latency_docs)
    return SpeedReport(base.docs_per_s, base.ms_per_doc, batch_size, base.n_docs, p50, p95)


def sample_texts(texts: Sequence[str], limit: int) -> list[str]:
    texts = [t for t in texts if t] or [""]
    if len(texts) <= limit:
        return list(texts)
    step = len(texts) / limit
    return [texts[int(i * step)] for i in range(limit)]


def training_rate(model_path: str, texts: Sequence[str], n_labels: int, batch_size: int, max_length: int,
                  device: str = "auto", threads: int | None = None, steps: int = 3,
                  should_stop: Callable[[], bool] | None = None) -> float | None:
    """Texts per second that training will learn from, measured before it starts: a few optimizer
    steps (forward, backward, AdamW) of the model on batches of the user's own texts, cut to
    ``max_length`` and grouped by length as the training loop groups them. The first step is a
    warm-up and is not timed. None when ``should_stop`` interrupts. The model is thrown away after."""
    import torch

    from . import batching
    from .device import adamw, resolve_device
    from .inference import quiet_transformers
    from .models import resolve_model

    quiet_transformers()
    from transformers import AutoModelForSequenceClassification

    from .model_files import load_model, load_tokenizer

    folder = resolve_model(model_path)
    tokenizer = load_tokenizer(folder)
    dev = resolve_device(device)
    if threads:
        torch.set_num_threads(int(threads))
    sample = sample_texts(texts, batch_size * (steps + 1))
    ids = batching.encode(tokenizer, sample, max_length)
    order = batching.training_batches([len(x) for x in ids], batch_size, seed=0)[: steps + 1]
    model = load_model(folder, AutoModelForSequenceClassification, num_labels=max(2, n_labels),
                                                               ignore_mismatched_sizes=True).to(dev)  # an earlier run as the start
    model.train()
    optimizer = adamw(model.parameters(), 1e-6, dev)
    pad = batching.pad_id_of(tokenizer)
    timed_s, timed_n = 0.0, 0
    for i, rows in enumerate(order):
        if should_stop is not None and should_stop():
            return None
        start = time.perf_counter()
        batch = batching.collate([ids[r] for r in rows], pad, dev)
        labels = torch.zeros(len(rows), dtype=torch.long, device=dev)
        loss = model(**batch, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        if i > 0 or len(order) == 1:
            timed_s += time.perf_counter() - start
            timed_n += len(rows)
    del model, optimizer
    return timed_n / max(timed_s, 1e-9) if timed_n else None

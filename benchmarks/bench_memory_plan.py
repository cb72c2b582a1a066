"""Calibrate and check core/memory.py: the measured activation memory per token against the real peak RSS
of training steps, and training speed by micro-batch size (CPU).

Run one configuration per process, under /usr/bin/time -v (its "Maximum resident set size" is the truth):

    /usr/bin/time -v python benchmarks/bench_memory_plan.py --rows 16 --length 512 [--attention-dropout-off]

Prints the probe's bytes per token, the plan's predicted peak and the seconds per step.
"""

from __future__ import annotations

import argparse
import time

import torch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=16)
    ap.add_argument("--length", type=int, default=512)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--attention-dropout-off", action="store_true")
    ap.add_argument("--threads", type=int, default=None)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    from transformers import AutoModelForSequenceClassification

    from desktop_app.core import memory
    from desktop_app.core.device import adamw
    from desktop_app.core.inference import quiet_transformers
    from desktop_app.core.model_files import load_model
    from desktop_app.core.models import resolve_model

    quiet_transformers()
    dev = torch.device("cpu")
    model = load_model(resolve_model("default"), AutoModelForSequenceClassification, num_labels=5)
    if a.attention_dropout_off:
        memory.attention_dropout_off(model)
    per_token = memory.measure_activations(model, a.length, dev)
    base = memory.process_bytes()
    params = sum(p.numel() for p in model.parameters())
    predicted = memory._peak(base, params, per_token, a.rows, a.length)
    print(f"attn={model.config._attn_implementation} attention_dropout={memory.attention_dropout(model)} "
          f"per_token_kb={per_token / 1024:.1f} base_gb={base / 2**30:.2f} predicted_peak_gb={predicted / 2**30:.2f}", flush=True)
    opt = adamw(model.parameters(), 1e-5, dev)
    model.train()
    ids = torch.randint(1000, 20000, (a.rows, a.length))
    mask = torch.ones_like(ids)
    labels = torch.zeros(a.rows, dtype=torch.long)
    times = []
    for _ in range(a.steps):
        t = time.perf_counter()
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - t)
    step = min(times)
    print(f"rows={a.rows} length={a.length} s_per_step={step:.2f} tokens_per_s={a.rows * a.length / step:.0f} "
          f"rss_now_gb={memory.process_bytes() / 2**30:.2f}", flush=True)


if __name__ == "__main__":
    main()

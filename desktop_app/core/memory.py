"""Memory planned before training, not hoped for (issue #22).

    plan_training(model, device, max_length, batch_size, grad_accum, ...) -> MemoryPlan   or UserInputError
    measure_activations(model, length, device) -> bytes held for backward per token (measured)
    available_bytes(device) -> (bytes, what limits it)

The activation memory of a transformer grows with the tokens in a micro-batch (rows x their length).
Instead of a fixed "batch 32 fits", the plan **measures** it on the model that will train: one forward
pass of 2 rows of ``max_length`` tokens in training mode, counting the bytes of every tensor autograd
keeps for the backward pass (``torch.autograd.graph.saved_tensors_hooks``; the model's own weights are
not counted). The peak of a step is then

    now in use (the process, or the GPU's allocations) + 12 bytes per parameter (gradients, AdamW's two moments)
        + BACKWARD_FACTOR x (bytes per token x rows x max_length)

``BACKWARD_FACTOR`` (the backward pass's own buffers on top of what the forward kept) was calibrated
by measuring peak RSS with /usr/bin/time -v (benchmarks/bench_memory_plan.py). The largest micro-batch
that divides the batch size and fits in a share of the memory actually free (MEMORY_SHARE, and on the
CPU at most ACTIVATION_CAP_BYTES of activations: larger micro-batches were not faster there) is used,
with gradient accumulation making up the batch, so a step still learns from ``batch_size`` rows. When
even one row at a time does not fit, training is refused before it starts, naming --max-length.

Attention: transformers runs these models with PyTorch's ``scaled_dot_product_attention`` ("sdpa").
On the CPU its memory-efficient (flash) kernel takes no attention-probability dropout; with dropout it
falls back to the kernel that keeps the whole (heads x length x length) attention matrix, which at
512 tokens is most of the memory (measured on the bundled model: 599 KB per token with dropout, 167
KB without). So when the batch does not fit with it, the attention dropout is switched off
(``attention_dropout_off``), the memory measured again, and the plan says so.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

import torch

from .errors import UserInputError

PROBE_ROWS = 2
OPTIMIZER_BYTES_PER_PARAMETER = 12  # fp32 gradients (4) + AdamW's exp_avg and exp_avg_sq (8)
BACKWARD_FACTOR = 1.6  # peak of a step / what the forward keeps for backward (calibrated, see module doc)
MEMORY_SHARE = 0.6  # of the memory free when training starts; the rest stays for the system and other programs
ACTIVATION_CAP_BYTES = 1.5 * 2**30  # CPU: larger micro-batches were not faster (benchmarks/bench_memory_plan.py)
GB = 2**30


@dataclass
class MemoryPlan:
    batch_size: int  # rows per forward/backward (micro-batch)
    grad_accum: int  # micro-batches per optimizer step
    bytes_per_token: float  # measured activation memory per token at max_length
    peak_bytes: float  # predicted peak of a training step
    available_bytes: float  # free when measured
    limited_by: str
    attention_dropout_off: bool = False
    reason: str = ""

    def to_dict(self) -> dict:
        return {"micro_batch": self.batch_size, "grad_accum": self.grad_accum,
                "activation_kb_per_token": round(self.bytes_per_token / 1024, 1),
                "predicted_peak_gb": round(self.peak_bytes / GB, 2), "available_gb": round(self.available_bytes / GB, 2),
                "limited_by": self.limited_by, "attention_dropout_off": self.attention_dropout_off}


# -- what is free ---------------------------------------------------------------------------------

def _meminfo_available() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return float(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _cgroup_room() -> float | None:
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit == "max":
            return None
        used = float(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        return max(0.0, float(limit) - used)
    except (OSError, ValueError):
        return None


def process_bytes() -> float:
    """Resident memory of this process now."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return float(line.split()[1]) * 1024
    except OSError:
        pass
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _address_space_room() -> float | None:
    """Room under an address-space limit (ulimit -v / prlimit --as), when one is set."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft in (resource.RLIM_INFINITY, -1):
        return None
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return max(0.0, soft - float(line.split()[1]) * 1024)
    except OSError:
        pass
    return None


def available_bytes(device: torch.device) -> tuple[float, str]:
    """Memory this process may still take on ``device``, and what limits it."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return float(free), "free GPU memory"
    found = []
    for value, what in ((_meminfo_available(), "free memory"), (_cgroup_room(), "the memory limit of this container"),
                        (_address_space_room(), "the address-space limit (ulimit -v)")):
        if value is not None:
            found.append((value, what))
    if not found:  # not Linux: psutil-free fallback, the physical memory
        try:
            return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")) / 2, "half the physical memory"
        except (ValueError, OSError, AttributeError):
            return 8.0 * GB, "an assumed 8 GB"
    return min(found)


def in_use_bytes(device: torch.device) -> float:
    if device.type == "cuda":
        return float(torch.cuda.memory_allocated(device))
    return process_bytes()


# -- attention ----------------------------------------------------------------------------------

_QUERY_NAMES = ("query", "q_lin", "q_proj", "in_proj", "Wqkv", "qkv", "query_proj")


def _attention_dropouts(model: torch.nn.Module) -> list[torch.nn.Dropout]:
    """The dropout on attention probabilities: a Dropout child of a module that computes queries."""
    found = []
    for module in model.modules():
        if any(hasattr(module, name) for name in _QUERY_NAMES):
            for child in module.children():
                if isinstance(child, torch.nn.Dropout):
                    found.append(child)
    return found


def attention_dropout(model: torch.nn.Module) -> float:
    return max((d.p for d in _attention_dropouts(model)), default=0.0)


def attention_dropout_off(model: torch.nn.Module) -> int:
    """Set the attention-probability dropout to 0 (so SDPA's memory-efficient kernel runs on the CPU);
    the config says so too, so a model saved from this run reloads the same. Returns how many were set."""
    drops = _attention_dropouts(model)
    for d in drops:
        d.p = 0.0
    config = getattr(model, "config", None)
    for name in ("attention_probs_dropout_prob", "attention_dropout"):
        if config is not None and isinstance(getattr(config, name, None), (int, float)):
            setattr(config, name, 0.0)
    return len(drops)


# -- measuring ----------------------------------------------------------------------------------

def measure_activations(model: torch.nn.Module, length: int, device: torch.device,
                        autocast_dtype: torch.dtype | None = None, rows: int = PROBE_ROWS) -> float:
    """Bytes autograd keeps for the backward pass, per token, for rows of ``length`` tokens (measured: one
    forward in training mode on ``rows`` rows; the weights are not counted). RNG state is left as it was."""
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor):
        try:
            storage = t.untyped_storage()
            ptr = storage.data_ptr()
            if ptr not in params:
                seen[ptr] = max(seen.get(ptr, 0), storage.nbytes())
        except (RuntimeError, NotImplementedError):  # a tensor without storage (sparse, meta)
            pass
        return t

    vocab = int(getattr(getattr(model, "config", None), "vocab_size", 0) or 100)
    ids = torch.arange(rows * length, device=device).reshape(rows, length) % max(1, vocab - 10) + 5
    mask = torch.ones_like(ids)
    mask[0, length // 2:] = 0  # padding, as real batches have (a mask may cost memory of its own)
    was_training = model.training
    cpu_rng = torch.get_rng_state()
    cuda_rng = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    model.train()
    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            with torch.autocast(device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
                out = model(input_ids=ids, attention_mask=mask).logits
        del out
    finally:
        torch.set_rng_state(cpu_rng)
        if cuda_rng is not None:
            torch.cuda.set_rng_state(cuda_rng, device)
        model.train(was_training)
    return sum(seen.values()) / (rows * length)


def _peak(base: float, parameters: int, per_token: float, rows: int, length: int) -> float:
    return base + OPTIMIZER_BYTES_PER_PARAMETER * parameters + BACKWARD_FACTOR * per_token * rows * length


def _divisors_desc(n: int) -> list[int]:
    return [d for d in range(n, 0, -1) if n % d == 0]


def plan_training(model: torch.nn.Module, device: torch.device, max_length: int, batch_size: int, grad_accum: int = 1,
                  autocast_dtype: torch.dtype | None = None, may_drop_attention_dropout: bool = True,
                  available: tuple[float, str] | None = None) -> MemoryPlan:
    """The micro-batch and gradient accumulation for ``batch_size`` rows of up to ``max_length`` tokens per
    micro-step (x ``grad_accum``), from the measured activation memory and the memory free now; UserInputError
    (naming --max-length) when even one row at a time cannot fit."""
    parameters = sum(p.numel() for p in model.parameters() if p.requires_grad)
    free, limited_by = available or available_bytes(device)
    base = in_use_bytes(device)
    room = free * MEMORY_SHARE  # beyond what is in use now
    cap = ACTIVATION_CAP_BYTES if device.type == "cpu" else float("inf")

    def fit(per_token: float) -> int | None:
        for rows in _divisors_desc(batch_size):
            acts = BACKWARD_FACTOR * per_token * rows * max_length
            if _peak(0, parameters, per_token, rows, max_length) <= room and (acts <= cap or rows == 1):
                return rows
        return None

    per_token = measure_activations(model, max_length, device, autocast_dtype)
    rows = fit(per_token)
    dropped = False
    if (rows is None or rows < batch_size) and may_drop_attention_dropout and device.type == "cpu" \
            and attention_dropout(model) > 0:
        saved = {id(d): d.p for d in _attention_dropouts(model)}
        attention_dropout_off(model)
        lighter = measure_activations(model, max_length, device, autocast_dtype)
        lighter_rows = fit(lighter)
        if lighter < per_token * 0.9 and (lighter_rows or 0) > (rows or 0):
            per_token, rows, dropped = lighter, lighter_rows, True
        else:  # no gain: keep the model as it was
            for d in _attention_dropouts(model):
                d.p = saved.get(id(d), d.p)
    if rows is None:
        one_row = _peak(base, parameters, per_token, 1, max_length)
        longest = int(max(16, (room - OPTIMIZER_BYTES_PER_PARAMETER * parameters) / max(1.0, BACKWARD_FACTOR * per_token)))
        longest = min(max_length - 1, 8 * (longest // 8)) if longest < max_length else max_length // 2
        raise UserInputError(
            f"Not enough memory to train on texts of {max_length} tokens: even one text at a time needs about "
            f"{one_row / GB:.1f} GB (measured: {per_token / 1024:.0f} KB per token for the backward pass, plus the "
            f"model and optimizer), and {free / GB:.1f} GB are free ({limited_by}).",
            where="--max-length",
            fix=f"Lower --max-length (to about {longest}), or close other programs, or choose a smaller model.")
    accum = grad_accum * (batch_size // rows)
    peak = _peak(base, parameters, per_token, rows, max_length)
    how = (f"{batch_size} rows per optimizer step" + (f" ({rows} at a time, {batch_size // rows} micro-batches added up)"
                                                     if rows < batch_size else ""))
    reason = (f"{how}: measured {per_token / 1024:.0f} KB of activations per token at {max_length} tokens "
              f"(one forward pass of {PROBE_ROWS} rows); a step then needs about {peak / GB:.1f} GB with the model and "
              f"optimizer, within {MEMORY_SHARE:.0%} of the {free / GB:.1f} GB free ({limited_by})"
              + ("; attention dropout is off so the memory-efficient attention kernel runs" if dropped else ""))
    return MemoryPlan(rows, accum, per_token, peak, free, limited_by, dropped, reason)

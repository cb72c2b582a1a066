"""Checkpoints a run can resume from, in formats that cannot run code when opened.

    RUN_DIR/checkpoint/weights.safetensors   model weights, optimizer tensors, torch RNG state
    RUN_DIR/checkpoint/state.json            loop position, optimizer settings, LR schedule,
                                             mixed-precision scaler, Python and NumPy RNG states

Nothing here unpickles: safetensors holds tensors only and JSON holds plain data, so a crafted
checkpoint can at worst fail to load (UserInputError), never run a command. A checkpoint folder
from older versions (``state.pt``, a pickle) is refused, not opened.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .errors import UserInputError

WEIGHTS = "weights.safetensors"
STATE = "state.json"
FORMAT = 1
LEGACY = "state.pt"


@dataclass
class Checkpoint:
    model: dict[str, torch.Tensor]
    optimizer: dict
    scheduler: dict
    scaler: dict | None
    state: dict  # the loop's position and counters (plain data)
    rng: dict
    extra: dict  # whatever the caller stored beside (plain data)


def is_complete(folder: Path) -> bool:
    return (Path(folder) / WEIGHTS).is_file() and (Path(folder) / STATE).is_file()


def rng_state() -> tuple[dict, dict[str, torch.Tensor]]:
    """(plain-data part, tensor part) of the Python, NumPy and torch generators."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    plain = {"python": [version, list(internal), gauss],
             "numpy": {"name": name, "keys": keys.tolist(), "pos": int(pos), "has_gauss": int(has_gauss),
                       "cached_gaussian": float(cached)}}
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = state
    return plain, tensors


def set_rng_state(plain: dict, tensors: dict[str, torch.Tensor]) -> None:
    version, internal, gauss = plain["python"]
    random.setstate((int(version), tuple(int(x) for x in internal), gauss))
    n = plain["numpy"]
    np.random.set_state((n["name"], np.asarray(n["keys"], dtype=np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"]))
    torch.set_rng_state(tensors["rng.torch"].to(torch.uint8))
    cuda = sorted(k for k in tensors if k.startswith("rng.cuda."))
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([tensors[k].to(torch.uint8) for k in cuda])


def _split_optimizer(state_dict: dict) -> tuple[dict, dict[str, torch.Tensor]]:
    plain_state: dict[str, dict] = {}
    tensors: dict[str, torch.Tensor] = {}
    for idx, values in state_dict["state"].items():
        plain_state[str(idx)] = {}
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{idx}.{name}"] = value
            else:
                plain_state[str(idx)][name] = value
    return {"param_groups": state_dict["param_groups"], "state": plain_state}, tensors


def _join_optimizer(plain: dict, tensors: dict[str, torch.Tensor]) -> dict:
    state: dict[int, dict] = {int(idx): dict(values) for idx, values in plain["state"].items()}
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            _, idx, name = key.split(".", 2)
            state.setdefault(int(idx), {})[name] = value
    return {"state": state, "param_groups": plain["param_groups"]}


def save(folder: Path, model: torch.nn.Module, optimizer, scheduler, scaler, state: dict, extra: dict | None = None) -> None:
    """Write a checkpoint into the (empty, temporary) ``folder``; the caller swaps it in atomically."""
    from safetensors.torch import save_file

    opt_plain, opt_tensors = _split_optimizer(optimizer.state_dict())
    rng_plain, rng_tensors = rng_state()
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    tensors.update(opt_tensors)
    tensors.update(rng_tensors)
    # safetensors wants contiguous CPU tensors that share no memory (tied weights): copy each
    save_file({k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}, str(Path(folder) / WEIGHTS))
    plain = {"format": FORMAT, "state": state, "optimizer": opt_plain, "scheduler": scheduler.state_dict(),
             "scaler": scaler.state_dict() if scaler is not None else None, "rng": rng_plain, "extra": extra or {}}
    (Path(folder) / STATE).write_text(json.dumps(plain), encoding="utf-8")


def load(folder: Path) -> Checkpoint:
    """Read a checkpoint (tensors on the CPU). UserInputError when it is missing, old or damaged."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    if not is_complete(folder):
        if (folder / LEGACY).exists():
            raise UserInputError(
                "This run's checkpoint was saved by an older version in a format that is not safe to open, so it is not read.",
                where=str(folder / LEGACY), fix="Start the run over with --restart.")
        raise UserInputError("This run has no complete checkpoint to resume from.", where=str(folder),
                             fix="Start the run over with --restart.")
    try:
        plain = json.loads((folder / STATE).read_text(encoding="utf-8"))
        tensors = load_file(str(folder / WEIGHTS), device="cpu")
        if not isinstance(plain, dict) or plain.get("format") != FORMAT:
            raise ValueError(f"unknown checkpoint format {plain.get('format') if isinstance(plain, dict) else plain!r}")
        model = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
        return Checkpoint(model=model, optimizer=_join_optimizer(plain["optimizer"], tensors), scheduler=plain["scheduler"],
                          scaler=plain.get("scaler"), state=plain["state"],
                          rng={"plain": plain["rng"], "tensors": {k: v for k, v in tensors.items() if k.startswith("rng.")}},
                          extra=plain.get("extra") or {})
    except (OSError, ValueError, KeyError, TypeError, SafetensorError) as exc:
        raise UserInputError(f"The checkpoint is damaged and cannot be resumed from ({type(exc).__name__}: {exc}).",
                             where=str(folder), fix="Start the run over with --restart.") from None


def restore(ckpt: Checkpoint, model: torch.nn.Module, optimizer, scheduler, scaler) -> None:
    """Put a loaded checkpoint's state into freshly built objects of the same shape."""
    try:
        model.load_state_dict(ckpt.model)
        optimizer.load_state_dict(ckpt.optimizer)
    except (RuntimeError, ValueError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0][:200]
        raise UserInputError(f"The checkpoint does not fit this model ({first}).", where="checkpoint",
                             fix="Start the run over with --restart.") from None
    scheduler.load_state_dict(ckpt.scheduler)
    if scaler is not None and ckpt.scaler:
        scaler.load_state_dict(ckpt.scaler)
    set_rng_state(ckpt.rng["plain"], ckpt.rng["tensors"])

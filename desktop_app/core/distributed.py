"""Multi-process data parallel training when launched by torchrun or ``accelerate launch``.

Both launchers set RANK / WORLD_SIZE / LOCAL_RANK; this module reads them, so the same
``classifier-studio train`` command scales from a laptop to a multi-GPU server:

    torchrun --nproc-per-node 4 -m desktop_app train data.csv --out RUN

Only rank 0 evaluates, writes files and reports events; the other ranks follow its decisions.
Every decision that ends or changes the loop (cancel, periodic checkpoint, early stop, time
budget) goes through ``Context.agree``, which every rank calls at the same points in the same
order, so no rank ever waits in a collective that another rank has left.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Context:
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    def shard(self, batches: list[list[int]]) -> list[list[int]]:
        """This rank's share of the epoch's batches (equal counts on every rank)."""
        if not self.enabled:
            return batches
        usable = len(batches) - len(batches) % self.world_size
        return batches[self.rank : usable : self.world_size]

    def agree(self, values: list[float], device: torch.device) -> list[float]:
        """The maximum of each value over all ranks, on every rank: one collective for several decisions.

        A flag any rank may raise (cancel) is passed as 0/1 by every rank; a value only rank 0
        knows (its clock, its validation score) is passed by the others as -inf.
        """
        if not self.enabled:
            return [float(v) for v in values]
        t = torch.tensor([float(v) for v in values], dtype=torch.float64, device=device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return t.tolist()

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()


def env_rank() -> int:
    return int(os.environ.get("RANK", "0")) if env_world_size() > 1 else 0


def env_world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def setup(device: torch.device) -> Context:
    world = env_world_size()
    if world <= 1:
        return Context()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Context(rank=dist.get_rank(), world_size=dist.get_world_size())


def wrap(model: torch.nn.Module, ctx: Context, device: torch.device) -> torch.nn.Module:
    if not ctx.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return getattr(model, "module", model)

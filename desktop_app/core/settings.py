"""Training settings. ``None`` means "let the engine choose" (see ``defaults.py``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass
class TrainSettings:
    epochs: float | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    head_learning_rate: float | None = None  # new classification head; None = chosen
    max_length: int | None = None
    warmup: float | None = None  # fraction of total steps (0.06 = 6%)
    weight_decay: float = 0.01
    grad_accum: int = 1
    group_by_length: bool = True  # training batches of similar length: far less padding; False: random batches
    seed: int = 42
    class_weights: bool | None = None  # None: on when the classes are strongly imbalanced
    early_stopping_patience: int | None = None  # epochs without improvement; None = chosen
    metric: str = "macro_f1"  # "macro_f1" or "accuracy": picks the best checkpoint
    keep_best: bool = True
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    precision: str = "auto"  # auto | fp32 | bf16 | fp16 (auto: bf16/fp16 on CUDA, fp32 elsewhere)
    time_budget_min: float | None = None
    valid_split: float = 0.1
    eval_every_epoch: bool = True
    threads: int | None = None  # CPU threads for torch; None = all cores

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainSettings":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def explicit(self) -> dict[str, Any]:
        """The settings that differ from a fresh TrainSettings(): what the user chose."""
        base = TrainSettings()
        return {k: v for k, v in self.to_dict().items() if getattr(base, k) != v}

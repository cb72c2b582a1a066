"""Typed events the engine emits while it works.

Every event is a frozen dataclass of plain Python data (numbers, strings, lists, dicts):
no tensors and no model objects, so it can cross a thread boundary (Qt signal), be printed
by the CLI, or be written to JSON as it is. ``to_dict()`` gives the JSON form.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Union


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """A phase change worth telling the user about (loading, tokenizing, saving ...)."""

    message: str
    kind: str = "status"


@dataclass(frozen=True, slots=True)
class StepEvent:
    """One optimizer step (emitted at most every few steps, never per batch on fast paths)."""

    step: int
    total_steps: int
    epoch: float  # fractional epoch, e.g. 1.5 = half way through the second epoch
    loss: float  # running mean of the training loss since the last StepEvent
    learning_rate: float
    samples_per_s: float
    eta_s: float
    kind: str = "step"


@dataclass(frozen=True, slots=True)
class EvalEvent:
    """Validation metrics after an epoch (or at the end)."""

    step: int
    epoch: float
    val_loss: float
    accuracy: float
    macro_f1: float
    labels: list[str]
    per_class: dict[str, dict[str, float]]  # label -> precision, recall, f1, support
    confusion_matrix: list[list[int]]  # rows: true label, columns: predicted, order of `labels`
    is_best: bool = False
    kind: str = "eval"


@dataclass(frozen=True, slots=True)
class SpeedEvent:
    """Inference speed measured on the validation texts after an evaluation."""

    epoch: float
    docs_per_s: float
    ms_per_doc: float
    batch_size: int
    device: str
    kind: str = "speed"


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """Progress of a long job that is not training (predicting a file, loading data)."""

    done: int
    total: int | None  # None when unknown
    message: str = ""
    kind: str = "progress"


@dataclass(frozen=True, slots=True)
class CheckpointEvent:
    epoch: int
    path: str
    kind: str = "checkpoint"


@dataclass(frozen=True, slots=True)
class FinishedEvent:
    run_dir: str
    metrics: dict[str, Any]
    kind: str = "finished"


@dataclass(frozen=True, slots=True)
class CancelledEvent:
    run_dir: str
    resumable: bool
    message: str
    kind: str = "cancelled"


@dataclass(frozen=True, slots=True)
class FailedEvent:
    reason: str  # one line for a person
    details: str = ""  # traceback or longer explanation
    kind: str = "failed"


@dataclass(frozen=True, slots=True)
class LeaderboardEvent:
    """A comparison measured one more candidate: the rows so far (plain dicts) and the recommendations."""

    rows: list
    recommendations: dict
    kind: str = "leaderboard"


Event = Union[
    StatusEvent,
    StepEvent,
    EvalEvent,
    SpeedEvent,
    ProgressEvent,
    CheckpointEvent,
    FinishedEvent,
    CancelledEvent,
    FailedEvent,
    LeaderboardEvent,
]

EventSink = Callable[[Event], None]


def to_dict(event: Event) -> dict[str, Any]:
    return asdict(event)


def ignore(_event: Event) -> None:
    """An EventSink that drops everything."""


@dataclass
class EventLog:
    """An EventSink that keeps every event (tests, benchmarks, run.json history)."""

    events: list = field(default_factory=list)

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: str) -> list:
        return [e for e in self.events if e.kind == kind]

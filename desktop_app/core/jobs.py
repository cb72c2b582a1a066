"""What a long job is doing, for people: a Qt-free state (Orange's TaskState idea).

The GUI runs every long operation (load, check, train, evaluate, classify, compare, shrink,
export) through one worker pattern (gui/workers.py); each running job has a ``JobState`` that
the engine's events update and the views read: a plain description, the progress (or none, for
an indeterminate bar), an estimate of the time left that is honest from the first step (it is
measured, never extrapolated from nothing), and what a cancel is waiting for.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

# The kinds of jobs, in words. One job of a kind runs at a time: a new one replaces the old.
TITLES = {
    "load": "Opening the file",
    "check": "Checking the data",
    "lengths": "Measuring text lengths",
    "train": "Training",
    "evaluate": "Measuring how well the model does",
    "predict": "Classifying",
    "compare": "Comparing models",
    "distill": "Shrinking the model",
    "export": "Exporting",
}
MIN_ELAPSED_FOR_ETA_S = 1.0  # below this, a rate is noise: say "estimating" instead of a number


@dataclass
class JobState:
    kind: str
    description: str = ""
    status: str = "running"  # running | cancelling | finished | cancelled | failed
    done: int = 0
    total: int | None = None  # None: indeterminate
    message: str = ""
    started: float = field(default_factory=time.monotonic)
    budget_s: float | None = None  # a time limit the job keeps (training with a time budget)
    engine_eta_s: float | None = None
    may_end_early: bool = False  # training: it stops early once the model stops improving, so the time left is at most
    _stride: int = 0  # work between the last two reports (the last steps may be done without another report)
    _first: tuple[float, int] | None = None  # (time, done) of the first progress report

    @property
    def title(self) -> str:
        return self.description or TITLES.get(self.kind, self.kind.capitalize())

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(1.0, max(0.0, self.done / self.total))

    @property
    def shown_fraction(self) -> float | None:
        """The share the bar shows: never 100% while the job still runs (the last check and the saving come after)."""
        fraction = self.fraction
        if fraction is None or self.status in ("finished",):
            return fraction
        return min(fraction, 0.99)

    @property
    def work_done(self) -> bool:
        """Every planned step is done; the job is finishing (a last check, saving)."""
        return bool(self.total) and self.done >= self.total

    def progress(self, done: int, total: int | None, message: str = "", eta_s: float | None = None,
                 now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if self._first is None or done < self._first[1]:
            self._first = (now, done)
        elif done > self.done:
            self._stride = int(done) - self.done
        self.done, self.total = int(done), (int(total) if total else None)
        self.engine_eta_s = eta_s
        if message:
            self.message = message

    def status_message(self, message: str) -> None:
        self.message = message

    def elapsed_s(self, now: float | None = None) -> float:
        return (time.monotonic() if now is None else now) - self.started

    def eta_s(self, now: float | None = None) -> float | None:
        """Seconds left, from the rate measured since the first report; None while it cannot be known."""
        now = time.monotonic() if now is None else now
        estimate = None
        if self.total and self._first is not None:
            t0, d0 = self._first
            elapsed, work = now - t0, self.done - d0
            if elapsed >= MIN_ELAPSED_FOR_ETA_S and work > 0:
                estimate = (self.total - self.done) * elapsed / work
        if estimate is None and self.engine_eta_s is not None and self.done > 0 and self.elapsed_s(now) >= MIN_ELAPSED_FOR_ETA_S:
            estimate = self.engine_eta_s
        if self.budget_s is not None:
            left = max(0.0, self.budget_s - self.elapsed_s(now))
            estimate = left if estimate is None else min(estimate, left)
        return estimate

    def time_left_text(self, now: float | None = None) -> str:
        """The time left in words, honest about what is not known: "about 40 seconds left"; for a job that may
        stop early (or ends at a time limit), "at most 2 minutes left; often less"; once every step is done,
        what it finishes. Known from the first second when a time limit bounds it."""
        if self.work_done:
            return "finishing (a last check and saving) …"
        eta = self.eta_s(now)
        if eta is None:
            return "estimating the time left …"
        if eta < 5 and self.total and self.total - self.done <= max(1, self._stride):
            return "almost done: the last steps, then a last check and saving …"  # not "1 second left" for 40 s
        words = duration_in_words(max(1.0, eta))
        if self.may_end_early:
            return f"at most {words} left; often less (it stops early once the model stops improving)"
        if self.budget_s is not None:
            return f"at most {words} left (the time limit)"
        return f"about {words} left"

    def cancel_requested(self) -> None:
        if self.status == "running":
            self.status = "cancelling"

    def cancelling_text(self) -> str:
        """What the user reads after pressing Cancel: what it waits for, never the job's last status line
        (a plan such as "Time budget 2 min: planned 12.70 epochs" is not what is being finished)."""
        return "Stopping after the current step…"


def duration_in_words(seconds: float | None) -> str:
    """'about 40 seconds', 'about 1 minute', 'about 2 hours 5 minutes'; '' when unknown."""
    if seconds is None or seconds != seconds or seconds < 0:
        return ""
    s = int(round(seconds))
    if s < 60:
        s = max(5, 5 * round(s / 5)) if s >= 5 else max(1, s)
        return f"{s} second{'s' if s != 1 else ''}"
    m = int(round(s / 60))
    if m < 60:
        return f"{m} minute{'s' if m != 1 else ''}"
    h, m = divmod(m, 60)
    return f"{h} hour{'s' if h != 1 else ''}" + (f" {m} minute{'s' if m != 1 else ''}" if m else "")


def progress_text(state: JobState) -> str:
    """One line for a progress bar's label: the description, what it does now, the time left."""
    if state.status == "cancelling":
        return state.cancelling_text()
    parts = [state.message or state.title]
    if state.total or state.budget_s is not None:
        parts.append(state.time_left_text())
    return " — ".join(parts)

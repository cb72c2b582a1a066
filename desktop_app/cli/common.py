"""Shared pieces of the sub-commands: data loading, progress output, JSON output, exit codes."""

from __future__ import annotations

import json
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

from ..core.events import Event

EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class CommandFailed(Exception):
    """A sub-command decided the exit code itself (e.g. cancelled -> 130)."""

    def __init__(self, code: int, message: str = ""):
        super().__init__(message)
        self.code = code
        self.message = message


def os_error_as_user_error(exc: BaseException, out=None):
    """A UserInputError (exit 2, with the fix) for a failure the user can fix on their side: a full disk
    (ENOSPC, also when safetensors or torch report it in their own words), no permission (EACCES, EPERM),
    a read-only disk (EROFS), too many open files (EMFILE, ENFILE). None for anything else (exit 1).
    ``out``: the command's --out, to say how much space is free there."""
    import errno
    import os
    import shutil
    from pathlib import Path

    from ..core.errors import UserInputError
    from ..core.runs import as_os_error

    seen, err = set(), None
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:  # the error itself or what caused it
        seen.add(id(current))
        candidate = as_os_error(current, None)
        if isinstance(candidate, OSError) and candidate.errno in _USER_ERRNOS:
            err = candidate
            break
        current = current.__cause__ or current.__context__
    if err is None:
        return None
    where = err.filename or out or os.getcwd()
    place = Path(str(where)).expanduser()
    while not place.exists() and place != place.parent:
        place = place.parent
    if err.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        try:
            free = f"{shutil.disk_usage(place).free / 2**20:.0f} MB free"
        except OSError:
            free = "no space left"
        return UserInputError(f"The disk is full: {free} on the disk of '{place}'; the files could not be written.",
                              where=str(where), fix="Free some space on that disk (or choose an --out folder on "
                              "another disk), then run the command again; an interrupted run continues with --resume.")
    if err.errno == errno.EROFS:
        return UserInputError(f"'{where}' is on a read-only disk, so nothing can be written there.", where=str(where),
                              fix="Choose a folder on a disk you can write to (--out).")
    if err.errno in (errno.EMFILE, errno.ENFILE):
        return UserInputError("Too many files are open at once (the system's limit was reached).", where=str(where),
                              fix="Close other programs, or raise the limit (for example `ulimit -n 4096` on Linux and "
                                  "macOS), then run the command again.")
    return UserInputError(f"No permission to write or read '{where}' ({err.strerror or 'permission denied'}).",
                          where=str(where), fix="Choose a folder you may write to (--out), or ask for access to that file.")


def _user_errnos() -> frozenset:
    import errno

    return frozenset(getattr(errno, n) for n in ("ENOSPC", "EDQUOT", "EROFS", "EMFILE", "ENFILE", "EACCES", "EPERM")
                     if hasattr(errno, n))


_USER_ERRNOS = _user_errnos()


def add_column_args(p) -> None:
    p.add_argument("--text-column", metavar="C", help="column holding the text (default: guessed)")
    p.add_argument("--label-column", metavar="C", help="column holding the label (default: guessed)")


def add_multi_label_args(p, train: bool = False) -> None:
    if train:
        p.add_argument("--multi-label", action="store_true",
                       help="each text may carry several labels (default: detected from the label column)")
    p.add_argument("--label-separator", metavar="SEP",
                   help="the separator between several labels in one label cell (default: detected among ; | ,)")
    p.add_argument("--label-columns", metavar="A,B,C", type=lambda v: [c.strip() for c in v.split(",") if c.strip()],
                   help="several 0/1 columns, one per label (multi-label), instead of one label column")


def run_is_multi_label(model_dir) -> bool:
    """Whether the run's model is multi-label (its config.json says so): then the label column holds label sets."""
    import json
    from pathlib import Path

    try:
        config = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return config.get("problem_type") == "multi_label_classification"


def add_long_documents_arg(p) -> None:
    p.add_argument("--long-documents", choices=["auto", "on", "off"], default="auto",
                   help="read texts longer than the max length in overlapping windows (auto: when a quarter of the "
                        "training texts are longer than the model reads; at predict/evaluate: as the run was trained)")


def load_labeled(path: str, text_column: str | None, label_column: str | None, sheet: str | None = None, *,
                 multi_label: bool | None = None, label_separator: str | None = None, label_columns=None):
    from ..core.data import load_labeled as load
    from ..core.data.limits import stop_reading_when
    from ..core.errors import TrainingCancelled

    try:  # Ctrl-C / SIGTERM while a large file is read: exit 130 at once, nothing was written
        with interruptible() as stop, stop_reading_when(stop.is_set):
            loaded = load(path, text_column=text_column, label_column=label_column, sheet=sheet,
                          on_progress=_reading_progress(path), multi_label=multi_label,
                          label_separator=label_separator, label_columns=label_columns)
    except TrainingCancelled:
        raise CommandFailed(EXIT_INTERRUPTED, f"Interrupted while reading {path}; nothing was written.") from None
    skipped = {k: len(v) for k, v in loaded.data.skipped.items() if v}
    parts = [f"{n} {k.replace('_', ' ')}" for k, n in skipped.items()]
    note = f" ({', '.join(parts)} skipped)" if skipped else ""
    info(f"Read {len(loaded.data)} labeled rows from {path} [text: '{loaded.text_column}', label: '{loaded.label_column}']{note}")
    how = loaded.data.multi_label_source
    if how:
        info("Multi-label: " + (f"labels from the 0/1 columns {', '.join(how['label_columns'])}" if how.get("label_columns")
                                else f"several labels per row joined by '{how['separator']}'")
             + f"; {len(loaded.data.label_names)} labels")
    return loaded


def _reading_progress(path: str, every_s: float = 2.0):
    """A progress callback for reading a large file: a line at most every ``every_s`` seconds."""
    import time

    last = [time.monotonic()]

    def report(done: int, total: int | None, unit: str) -> None:
        now = time.monotonic()
        if now - last[0] < every_s:
            return
        last[0] = now
        if total and unit == "bytes":
            info(f"Reading {path}: {done / total:.0%} ({done / 2**20:.0f} of {total / 2**20:.0f} MB)")
        else:
            info(f"Reading {path}: {done:,} {unit}")

    return report


def info(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def emit_json(obj: dict) -> None:
    """The last line of stdout: one JSON object."""
    sys.stdout.write(json.dumps(obj, default=str) + "\n")
    sys.stdout.flush()


class Progress:
    """Progress to stderr: a bar with ETA on a terminal, plain lines otherwise."""

    def __init__(self, plain_every_s: float = 5.0):
        self.tty = sys.stderr.isatty()
        self.bar = None
        self.plain_every_s = plain_every_s
        self._last_plain = 0.0

    def __call__(self, event: Event) -> None:
        import time

        kind = event.kind
        if kind == "step":
            if self.tty:
                self._bar(event.total_steps, "steps").update(event.step - self._bar(event.total_steps, "steps").n)
                self.bar.set_postfix_str(f"loss {event.loss:.3f}, {event.samples_per_s:.0f} samples/s", refresh=False)
            elif time.monotonic() - self._last_plain >= self.plain_every_s or event.step == event.total_steps:
                self._last_plain = time.monotonic()
                info(f"step {event.step}/{event.total_steps} epoch {event.epoch:.2f} loss {event.loss:.4f} "
                     f"lr {event.learning_rate:.2e} {event.samples_per_s:.1f} samples/s ETA {_fmt_s(event.eta_s)}")
        elif kind == "progress":
            if self.tty and event.total:
                self._bar(event.total, "docs").update(event.done - self.bar.n)
            else:
                info(event.message)
        elif kind == "eval":
            self._write(f"epoch {event.epoch:.2f}: validation accuracy {event.accuracy:.4f}, macro-F1 {event.macro_f1:.4f}, "
                        f"loss {event.val_loss:.4f}{' (best so far)' if event.is_best else ''}")
        elif kind == "speed":
            self._write(f"inference: {event.docs_per_s:.0f} docs/s ({event.ms_per_doc:.2f} ms/doc, batch {event.batch_size})")
        elif kind in {"status", "cancelled"}:
            self._write(event.message)
        elif kind == "checkpoint":
            self._write(f"checkpoint saved (epoch {event.epoch})")
        elif kind == "failed":
            self.close()

    def _bar(self, total: int, unit: str):
        if self.bar is None or self.bar.total != total:
            from tqdm import tqdm

            self.close()
            self.bar = tqdm(total=total, unit=unit, file=sys.stderr, dynamic_ncols=True, leave=True)
        return self.bar

    def _write(self, message: str) -> None:
        if self.bar is not None:
            self.bar.write(message, file=sys.stderr)
        else:
            info(message)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _fmt_s(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"


@contextmanager
def interruptible() -> Iterator[threading.Event]:
    """First Ctrl-C (or SIGTERM) asks the engine to stop cleanly; a second one aborts at once.

    The engine itself says whether it saved a checkpoint (it does when training had begun)."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum, frame):
        from ..core.data.limits import reading_now
        from ..core.errors import TrainingCancelled

        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        if reading_now():  # reading input writes nothing: stop at once, whatever the reader is doing
            info("\nInterrupted while reading the input; stopping.")
            raise TrainingCancelled()
        info("\nInterrupted: stopping at the next safe point (press Ctrl-C again to abort now)...")

    signals = [signal.SIGINT] + ([signal.SIGTERM] if hasattr(signal, "SIGTERM") else [])
    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def positive(kind):
    """argparse type: a number greater than zero (usage error, exit 2, otherwise)."""

    def parse(text: str):
        import argparse

        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a valid {kind.__name__}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
        return value

    return parse

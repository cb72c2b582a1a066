"""Run folders: RUN_DIR/model (a standard Hugging Face folder), RUN_DIR/run.json, checkpoints.

Every write is atomic: files go to a temporary name in the same folder and are moved into
place, and the model folder is swapped in whole, so a crash never leaves a half-written model
that looks complete.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Iterator

from .appdirs import user_dir

RUN_JSON = "run.json"
MODEL_DIR = "model"
CHECKPOINT_DIR = "checkpoint"


def default_runs_dir() -> Path:
    return user_dir("data") / "runs"


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a rename or a new file) to disk; a no-op where folders cannot be opened."""
    try:
        fd = os.open(str(folder), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def fsync_tree(folder: Path) -> None:
    for root, _dirs, files in os.walk(folder):
        for name in files:
            fsync_file(Path(root) / name)
        fsync_dir(Path(root))


@contextmanager
def atomic_path(target: Path, suffix: str = "") -> Iterator[Path]:
    """Yields a temporary path beside ``target``; on success flushes it to disk and renames it into place."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates the name with O_EXCL (and O_NOFOLLOW): a planted link there is never opened;
    # os.replace swaps the name ``target`` itself, so a link planted at the target is replaced, not followed
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or ".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        try:
            yield tmp_path
            _plain_file(tmp_path)
            fsync_file(tmp_path)
            os.replace(tmp_path, target)
            fsync_dir(target.parent)
        except Exception as exc:  # re-raised; a full disk said as one (OSError ENOSPC)
            _raise_as_os_error(exc, target.parent)
            raise
    finally:
        if tmp_path.is_symlink() or tmp_path.exists():
            tmp_path.unlink()


def _plain_file(path: Path) -> None:
    """What we wrote at a temporary name must still be a plain file (not replaced by a link) before it is moved in."""
    import stat

    if not stat.S_ISREG(os.lstat(path).st_mode):
        raise OSError(errno.EPERM, "the temporary file was replaced by a link or a folder", str(path))


def _raise_as_os_error(exc: Exception, folder: Path) -> None:
    err = as_os_error(exc, folder)
    if err is not exc:
        raise err from exc


_OS_ERROR_TEXT = re.compile(r"os error (\d+)")


def as_os_error(exc: BaseException, folder: Path | None = None) -> BaseException:
    """A write failure as the OSError it is underneath, so that callers say "the disk is full" (ENOSPC),
    "no permission" (EACCES), "read-only" (EROFS) or "too many open files" (EMFILE) with the fix.

    safetensors reports a full disk as ``SafetensorError('... No space left on device (os error 28)')`` and
    torch.save as a ``RuntimeError('... unexpected pos ...')``; a failure while the disk of ``folder`` has
    less than 1 MB left is taken for a full disk. Anything else (and every OSError) is returned as it is."""
    from .errors import TrainingCancelled, UserInputError

    if isinstance(exc, (OSError, UserInputError, TrainingCancelled)) or not isinstance(exc, Exception):
        return exc
    text = str(exc)
    found = _OS_ERROR_TEXT.search(text)
    if found:
        code = int(found.group(1))
        return OSError(code, os.strerror(code), str(folder) if folder else None)
    if "No space left on device" in text:
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder) if folder else None)
    if folder is not None:
        try:
            if shutil.disk_usage(folder).free < 2**20:
                return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder))
        except OSError:
            pass
    return exc


def write_json(path: Path, data: dict) -> None:
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(json.dumps(data, indent=2, default=_plain), encoding="utf-8")


def _plain(value):
    """numpy arrays and numbers as JSON lists and numbers (a run record keeps row numbers as one array)."""
    return value.tolist() if hasattr(value, "tolist") else str(value)


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE). False where that is not available."""
    if sys.platform != "linux":
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return fn(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), rename_exchange) == 0


@contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yields an empty temporary folder beside ``target``; on success flushes it and swaps it in whole.

    Where the system can exchange two folders in one step (Linux), ``target`` never stops existing;
    elsewhere the old folder is renamed aside for an instant and ``recover_folders`` puts it back
    if the process died in that instant.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        try:
            yield tmp
        except Exception as exc:  # re-raised; a full disk said as one (OSError ENOSPC)
            _raise_as_os_error(exc, target.parent)
            raise
        fsync_tree(tmp)
        if target.exists() and _exchange(tmp, target):
            fsync_dir(target.parent)  # tmp now holds the old folder; removed below
        else:
            old = None
            if target.exists():
                old = target.with_name(f".{target.name}.old-{os.getpid()}-{time.time_ns()}")
                os.replace(target, old)
            os.replace(tmp, target)
            fsync_dir(target.parent)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


TEMP_PREFIXES = tuple(f".{name}." for name in (MODEL_DIR, CHECKPOINT_DIR, RUN_JSON))


def recover_folders(run_dir: Path) -> list[str]:
    """Clean what a killed process left in ``run_dir``: put back a folder that was renamed aside
    in the middle of a swap (non-Linux), and remove hidden temporary files and folders.
    Call it only while holding the run's lock. Returns the names removed."""
    run_dir = Path(run_dir)
    removed: list[str] = []
    if not run_dir.is_dir():
        return removed
    for name in (MODEL_DIR, CHECKPOINT_DIR):
        olds = sorted(run_dir.glob(f".{name}.old-*"))
        if not (run_dir / name).exists() and olds:
            os.replace(olds[-1], run_dir / name)
    for entry in run_dir.iterdir():
        if entry.name.startswith(TEMP_PREFIXES):
            if entry.is_dir() and not entry.is_symlink():  # a link is removed itself, never what it points at
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry.name)
    if removed:
        fsync_dir(run_dir)
    return removed


class RunLock:
    """Holds ``outputs.lock_run_dir`` on a run folder from ``acquire()`` to ``release()`` (the loop opens
    and closes the folder in separate steps). The system releases the lock when the process dies, so
    a killed run never stays locked; another writer gets a UserInputError naming the holder."""

    def __init__(self, run_dir: Path):
        from .outputs import lock_run_dir

        self._hold = lock_run_dir(run_dir)
        self._held = False

    def acquire(self) -> "RunLock":
        self._hold.__enter__()
        self._held = True
        return self

    def release(self) -> None:
        if self._held:
            self._held = False
            self._hold.__exit__(None, None, None)


RECORD_FORMAT = 2
STATUSES = ("running", "cancelled", "failed", "finished")


@dataclass
class RunRecord:
    """run.json, typed. Written only through ``write_record`` (atomically), read through ``read_record``.

    Format 2 adds ``kind``, ``split`` (how the validation rows were chosen: enough to re-create
    them), ``data.fingerprint_valid``, the columns used, ``recipe`` (what the loop trained with)
    and ``error``. Format 1 files (no ``format`` 2 fields) still open; unknown keys are kept in
    ``extra`` and written back unchanged.
    """

    status: str = "running"  # running | cancelled | failed | finished
    kind: str = "train"  # train | distilled | few-shot | zero-shot
    method: str = "fine-tune"  # fine-tune | few-shot | zero-shot (distilled runs: fine-tune of a student)
    method_reason: str = ""  # why this method: chosen from the labels per category ("auto"), or "set by you"
    format: int = RECORD_FORMAT
    created: str = ""
    updated: str = ""
    model: dict = field(default_factory=dict)  # name, path, architecture, parameters, layers
    data: dict = field(default_factory=dict)  # source, text_column, label_column, fingerprint_all/_train/_valid, n_*
    split: dict = field(default_factory=dict)  # {"kind": "stratified", "fraction", "seed", "valid_positions"} | {"kind": "file", ...} | {"kind": "given"}
    labels: list = field(default_factory=list)
    label2id: dict = field(default_factory=dict)
    explicit_settings: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    settings_explained: dict = field(default_factory=dict)
    recipe: dict = field(default_factory=dict)  # the objective and model builder, e.g. {"objective": "cross_entropy"}
    history: list = field(default_factory=list)
    final_metrics: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    device: dict = field(default_factory=dict)
    distillation: dict | None = None
    error: str | None = None  # why a failed run stopped
    # "single_label_classification" | "multi_label_classification" (None: a run from before multi-label existed)
    problem_type: str | None = None
    thresholds: dict | None = None  # multi-label: {label: decision threshold}, tuned on validation
    # {"mode": "on"|"off", "reason", "asked": auto|on|off, "window", "overlap", "combine": mean|max|attention, ...}
    long_documents: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        for optional in ("distillation", "thresholds"):
            if out[optional] is None:
                del out[optional]
        return {**self.extra, **out}

    @property
    def multi_label(self) -> bool:
        return self.problem_type == "multi_label_classification"

    @classmethod
    def from_dict(cls, raw: dict) -> "RunRecord":
        known = {f.name for f in fields(cls)} - {"extra"}
        values = {k: v for k, v in raw.items() if k in known}
        values.setdefault("format", 1)
        if "kind" not in raw:
            values["kind"] = "distilled" if raw.get("distillation") else "train"
        return cls(**values, extra={k: v for k, v in raw.items() if k not in known})

    @property
    def finished(self) -> bool:
        return self.status == "finished"


def read_record(run_dir: str | Path) -> RunRecord:
    """The run record of ``run_dir``; UserInputError when there is none or it cannot be read."""
    from .errors import UserInputError

    path = Path(run_dir) / RUN_JSON
    if not path.is_file():
        raise UserInputError("This folder holds no run record (run.json).", where=str(run_dir),
                             fix="Pass the RUN_DIR written by `classifier-studio train`.")
    try:
        raw = read_json(path)
        if not isinstance(raw, dict):
            raise ValueError("not an object")
        return RunRecord.from_dict(raw)
    except (OSError, ValueError, TypeError) as exc:
        raise UserInputError(f"The run record cannot be read ({exc}).", where=str(path),
                             fix="Start the run over with --restart, or choose another folder.") from None


def write_record(run_dir: str | Path, record: RunRecord) -> None:
    record.updated = time.strftime("%Y-%m-%dT%H:%M:%S")
    write_json(Path(run_dir) / RUN_JSON, record.to_dict())


def has_checkpoint(run_dir: str | Path) -> bool:
    from .checkpoint import is_complete

    return is_complete(Path(run_dir) / CHECKPOINT_DIR)


@dataclass
class RunInfo:
    name: str
    path: str
    status: str
    created: str
    model: str
    labels: list[str] = field(default_factory=list)
    final_metrics: dict = field(default_factory=dict)
    data_source: str = ""
    resumable: bool = False  # unfinished: `train --resume` continues it (from its checkpoint if it has one)
    kind: str = "train"  # "train", "distilled" (a smaller model learned from ``teacher``), "few-shot" or "zero-shot"
    teacher: str = ""
    method: str = "fine-tune"  # fine-tune | few-shot | zero-shot
    method_reason: str = ""
    problem_type: str = "single_label_classification"  # or "multi_label_classification"
    long_documents: str = "off"  # "on": trained and predicts in windows (combined as run.json says)

    @classmethod
    def from_folder(cls, folder: Path) -> "RunInfo | None":
        from .errors import UserInputError

        try:
            run = read_record(folder)
        except UserInputError:
            return None
        return cls(
            name=folder.name,
            path=str(folder),
            status=str(run.status or "unknown"),
            created=str(run.created),
            model=str(run.model.get("name", "")),
            labels=list(run.labels),
            final_metrics=dict(run.final_metrics or {}),
            data_source=str(run.data.get("source", "")),
            resumable=not run.finished and run.kind != "zero-shot",  # from its checkpoint, or from the start with its recorded settings
            kind=str(run.kind or "train"),
            teacher=str((run.recipe or {}).get("teacher_run_dir", "")),
            method=str(run.method or "fine-tune"),
            method_reason=str(run.method_reason or ""),
            problem_type=str(run.problem_type or "single_label_classification"),
            long_documents=str((run.long_documents or {}).get("mode") or "off"),
        )


def list_runs(runs_dir: str | Path) -> list[RunInfo]:
    """Runs under ``runs_dir``, newest first."""
    root = Path(runs_dir)
    if not root.is_dir():
        return []
    folders = []
    for p in root.iterdir():
        if (p / RUN_JSON).is_file():
            folders.append(p)
        elif (p / "leaderboard.json").is_file():  # a comparison: one run per candidate
            folders.extend(q for q in sorted(p.iterdir()) if (q / RUN_JSON).is_file())
    runs = []
    for folder in folders:
        run = RunInfo.from_folder(folder)
        if run is not None:
            if folder.parent != root:
                run.name = f"{folder.parent.name}/{folder.name}"
            runs.append(run)
    return sorted(runs, key=lambda r: r.created, reverse=True)


def new_run_dir(runs_dir: Path, model_name: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in model_name)[:40].strip("-") or "run"
    path = Path(runs_dir) / f"{stamp}-{safe}"
    n = 2
    while path.exists():
        path = Path(runs_dir) / f"{stamp}-{safe}-{n}"
        n += 1
    return path


def library_versions() -> dict[str, str]:
    import platform

    import torch
    import transformers

    return {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__}

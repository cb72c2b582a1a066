"""Everything we write for people to open, and the folders we write into.

    safe_cell(value) -> str                  a CSV cell that a spreadsheet will not run as a formula
    open_table_writer(path, header)          stream rows into a CSV or XLSX (by suffix), atomically
    write_table(path, header, rows)          the same in one call
    convert_table(src_csv, target, numeric)  our CSV -> CSV/XLSX (the GUI's export)
    check_output_file(path)                  an --out file we may create (not a folder, not read-only)
    claim_output_dir(path, kind)             an --out folder that is new, empty or one of ours
    check_not_inside(out, protected)         an output never lands inside an input run or over an input file
    run_own_files(run_or_model_dir)          what of a run folder no output may touch
    lock_run_dir(path, command)              one writer per folder; a second one is told who holds it
    lock_output_file(path, command)          the same for one output file (predict --out)

Spreadsheet safety follows OWASP's guidance on CSV injection: a cell starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return gets a leading apostrophe in CSV, and every text cell
in XLSX is stored as a string (never a formula).
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import os
import re
import shutil
import socket
import stat
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from .errors import UserInputError
from .runs import atomic_path

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_ROWS = 1_048_576
XLSX_MAX_CELL = 32_767
LOCK_FILE = ".classifier-studio.lock"
# what marks a folder as ours, per kind of output
MARKERS = {"run": "run.json", "compare": "leaderboard.json", "export": "export.json"}
_KIND_WORDS = {"run": "a training run", "compare": "a model comparison", "export": "an export"}
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


# ----------------------------------------------------------------------------- cells

def safe_cell(value: Any) -> str:
    """``value`` as CSV text that Excel, LibreOffice and Google Sheets show as text, never run."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _unescape(text: str) -> str:
    """Undo ``safe_cell`` (for XLSX, where cells are typed strings and need no apostrophe)."""
    return text[1:] if len(text) > 1 and text[0] == "'" and text[1] in "=+-@\t\r" else text


# ----------------------------------------------------------------------------- atomic files

@contextmanager
def atomic_file(target: Path) -> Iterator[Path]:
    """``runs.atomic_path`` for a file a person asked for: checked first, and a full disk or a
    read-only folder becomes a UserInputError saying so."""
    target = check_output_file(Path(target))
    try:
        with atomic_path(target) as tmp:
            yield tmp
    except OSError as exc:
        raise _write_failed(target, exc) from exc


def _write_failed(target: Path, exc: OSError) -> UserInputError:
    import errno

    if exc.errno == errno.ENOSPC:
        try:
            free = f" ({shutil.disk_usage(target.parent).free / 2**20:.0f} MB free)"
        except OSError:
            free = ""
        return UserInputError(f"The disk is full: '{target.name}' could not be written{free}.", where=str(target.parent),
                              fix="Free some space on that disk, or choose a folder on another disk.")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return _not_writable(target.parent, exc)
    if exc.errno in (errno.EMFILE, errno.ENFILE):
        return UserInputError(f"'{target.name}' could not be written: too many files are open at once (the system's limit).",
                              where=str(target), fix="Close other programs, or raise the limit (for example "
                              "`ulimit -n 4096` on Linux and macOS), then run the command again.")
    return UserInputError(f"'{target.name}' could not be written: {exc.strerror or exc}.", where=str(target),
                          fix="Check that the file is not open in another program (Excel locks open files) and try again.")


def _not_writable(folder: Path, exc: OSError | None = None) -> UserInputError:
    reason = f" ({exc.strerror})" if exc is not None and exc.strerror else ""
    return UserInputError(f"Cannot write into the folder '{folder}'{reason}.", where=str(folder),
                          fix="Choose a folder you may write to, such as one in your Documents folder.")


# ----------------------------------------------------------------------------- tables

class _CsvWriter:
    def __init__(self, path: Path, header: Sequence[str]):
        self.fh = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed in close()
        self.writer = csv.writer(self.fh)
        self.writer.writerow([safe_cell(h) for h in header])

    def write(self, row: Sequence[Any]) -> None:
        self.writer.writerow([_csv_value(v) for v in row])

    def close(self) -> None:
        self.fh.flush()
        self.fh.close()


def _csv_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return safe_cell(value)


class _XlsxWriter:
    """openpyxl's write-only mode: rows stream to disk; text cells are typed strings."""

    def __init__(self, path: Path, header: Sequence[str], sheet: str = "predictions"):
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell

        self.path = path
        self.cell_type = WriteOnlyCell
        self.workbook = Workbook(write_only=True)
        self.sheet = self.workbook.create_sheet(sheet)
        self.rows = 0
        self.truncated = 0
        self.write(list(header))

    def _cell(self, value: Any):
        if isinstance(value, bool) or value is None:
            value = "" if value is None else str(value)
        if isinstance(value, (int, float)):
            return self.cell_type(self.sheet, value=value)
        text = _ILLEGAL_XML.sub("", str(value))
        if len(text) > XLSX_MAX_CELL:
            text = text[:XLSX_MAX_CELL]
            self.truncated += 1
        cell = self.cell_type(self.sheet, value=None)
        cell._value = text  # set directly: assigning .value would turn "=..." into a formula
        cell.data_type = "s"
        return cell

    def write(self, row: Sequence[Any]) -> None:
        self.rows += 1
        if self.rows > XLSX_MAX_ROWS:
            raise UserInputError(f"More than {XLSX_MAX_ROWS - 1:,} rows do not fit in an Excel sheet.",
                                 where=str(self.path), fix="Save the results as CSV instead (an --out name ending in .csv).")
        self.sheet.append([self._cell(v) for v in row])

    def close(self) -> None:
        self.workbook.save(self.path)


TABLE_SUFFIXES = (".csv", ".xlsx")


def table_kind(path: Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise UserInputError(f"Results can be saved as .csv or .xlsx, not '{suffix or 'no extension'}'.",
                             where=str(path), fix="End the output file name in .csv or .xlsx.")
    return suffix[1:]


@contextmanager
def open_table_writer(path: str | Path, header: Sequence[str]) -> Iterator[Any]:
    """Yields an object with ``write(row)``; the file appears under ``path`` only if the block succeeds.

    CSV cells go through ``safe_cell``; XLSX text cells are strings; floats are numbers
    (4 decimals in CSV). ``.truncated`` counts XLSX cells cut to Excel's 32,767 characters.
    """
    path = Path(path)
    kind = table_kind(path)
    with atomic_file(path) as tmp:
        writer = _XlsxWriter(tmp, header) if kind == "xlsx" else _CsvWriter(tmp, header)
        try:
            yield writer
        except BaseException:
            if kind == "csv":
                writer.close()
            raise
        writer.close()


def write_table(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write ``rows`` under ``header`` as CSV or XLSX (by suffix), atomically. Returns the row count."""
    n = 0
    with open_table_writer(path, header) as writer:
        for row in rows:
            writer.write(row)
            n += 1
    return n


def convert_table(src_csv: str | Path, target: str | Path, numeric_columns: Iterable[str] = ()) -> int:
    """Our own CSV (already safe) as CSV or XLSX at ``target``; ``numeric_columns`` become numbers in XLSX."""
    src_csv, target = Path(src_csv), Path(target)
    numeric = set(numeric_columns)
    xlsx = table_kind(target) == "xlsx"
    with open(src_csv, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = [_unescape(h) for h in next(reader, [])]
        numbers = [name in numeric for name in header]

        def rows() -> Iterator[list[Any]]:
            for row in reader:
                if not xlsx:
                    yield [_unescape(v) for v in row]
                    continue
                yield [_number(v) if is_num else _unescape(v) for v, is_num in zip(row, numbers)]

        return write_table(target, header, rows())


def _number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return _unescape(text)


# ----------------------------------------------------------------------------- paths

def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_not_inside(out_path: str | Path, protected_paths: Iterable[str | Path]) -> None:
    """Refuse an output that is an input file, or lies inside (or is) an input run or model folder."""
    out = Path(out_path).expanduser()
    out_resolved = out.resolve()
    for p in protected_paths:
        if p is None:
            continue
        protected = Path(p).expanduser()
        resolved = protected.resolve()
        if protected.is_file() and (out_resolved == resolved or _same_file(out, protected)):
            raise UserInputError(f"The output '{out}' would overwrite the input file '{protected}'.", where=str(out),
                                 fix="Choose another name for the output.")
        if out_resolved == resolved or resolved in out_resolved.parents:
            raise UserInputError(
                f"The output '{out}' would be written inside '{protected}', which is an input of this command "
                "(it would damage it).", where=str(out),
                fix=f"Choose an output outside '{protected}'.")


def run_own_files(path: str | Path) -> list[Path]:
    """What an output must never touch in a run folder (its model, checkpoint and record), or the
    model folder itself. Other files in a run folder (such as the app's predictions/) are allowed."""
    from .runs import CHECKPOINT_DIR, MODEL_DIR, RUN_JSON

    path = Path(path).expanduser()
    if (path / RUN_JSON).is_file() or (path / MODEL_DIR).is_dir():
        return [path / MODEL_DIR, path / CHECKPOINT_DIR, path / RUN_JSON, path / LOCK_FILE]
    return [path]


def check_output_file(path: str | Path) -> Path:
    """An output file we may (over)write: not a folder, its folder exists or can be made, and is writable."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise UserInputError(f"'{path}' is a folder, not a file name.", where=str(path),
                             fix=f"Add a file name, for example '{path / 'predictions.csv'}'.")
    parent = path.parent
    _no_file_above(path, [parent, *parent.parents])
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _not_writable(parent, exc) from exc
    if not _writable(parent) or (path.exists() and not os.access(path, os.W_OK)):
        raise UserInputError(f"'{path}' cannot be written: the file or its folder is read-only.", where=str(path),
                             fix="Choose a folder you may write to, such as one in your Documents folder.")
    return path


def _no_file_above(path: Path, ancestors) -> None:
    """The nearest existing one of ``ancestors`` must be a folder: nothing can be made under a file."""
    for ancestor in ancestors:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise UserInputError(f"'{ancestor}' is a file, so nothing can be saved under it.", where=str(path),
                                     fix="Choose an output in a folder.")
            return


def _writable(folder: Path) -> bool:
    """Try it: os.access is wrong on read-only mounts for root and on some network drives."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".write-test-", dir=folder)
    except OSError:
        return False
    os.close(fd)
    os.unlink(tmp)
    return True


_OUR_NAMES = ("model", "checkpoint", *MARKERS.values())


def _our_leftover(name: str) -> bool:
    """Our lock file, or a temporary we write beside our files (``.model.x1y2``, ``.run.json.abc.tmp``)."""
    return name == LOCK_FILE or any(name.startswith(f".{n}.") for n in _OUR_NAMES)


def _ours(folder: Path, kind: str) -> str | None:
    """Which of our kinds ``folder`` holds (by its marker), or None."""
    for other, marker in MARKERS.items():
        if (folder / marker).is_file():
            return other
    if kind == "compare":  # a comparison stopped before its leaderboard: only candidate runs inside
        entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
        if entries and all(p.is_dir() and (p / MARKERS["run"]).is_file() for p in entries):
            return "compare"
    return None


def claim_output_dir(path: str | Path, kind: str) -> Path:
    """The output folder for a ``kind`` ("run", "compare", "export"), created if missing.

    Refuses (UserInputError) a path that is a file, a non-empty folder that is not ours (or is ours
    but of another kind), and a folder we cannot write to. Returns the folder.
    """
    if kind not in MARKERS:
        raise ValueError(f"unknown output kind {kind!r}")
    path = Path(path).expanduser()
    word = _KIND_WORDS[kind]
    if path.exists() and not path.is_dir():
        raise UserInputError(f"'{path}' is a file, not a folder.", where=str(path),
                             fix="Choose a new folder name for --out (it is created for you).")
    if path.is_dir():
        try:
            entries = [p for p in path.iterdir() if not _our_leftover(p.name)]
        except OSError as exc:
            raise UserInputError(f"The folder '{path}' cannot be read: {exc.strerror or exc}.", where=str(path),
                                 fix="Choose another folder for --out.") from exc
        if entries:
            found = _ours(path, kind)
            if found is None:
                raise UserInputError(
                    f"The folder '{path}' already holds other files, and it is not {word} made by Classifier Studio; "
                    "writing into it could replace them.", where=str(path),
                    fix="Choose a new or empty folder for --out (it is created for you).")
            if found != kind:
                raise UserInputError(f"The folder '{path}' holds {_KIND_WORDS[found]}, not {word}.", where=str(path),
                                     fix="Choose a new or empty folder for --out.")
    else:
        _no_file_above(path, path.parents)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _not_writable(path.parent, exc) from exc
    if not _writable(path):
        raise _not_writable(path)
    return path


# ----------------------------------------------------------------------------- lock

def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if os.name == "nt":  # pragma: no cover - Windows
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)
        if handle:
            ctypes.windll.kernel32.CloseHandle(handle)
            return True
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _try_lock(fd: int) -> bool | None:
    """True: locked; False: another process holds it; None: this file system cannot lock."""
    import errno

    try:
        if os.name == "nt":  # pragma: no cover - Windows
            import msvcrt

            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK, errno.EDEADLK):
            return False
        return None


def _unlock(fd: int) -> None:
    try:
        if os.name == "nt":  # pragma: no cover - Windows
            import msvcrt

            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_UN)
    except OSError:
        pass


def read_lock_holder(lock: str | Path) -> dict | None:
    """What a lock file (or a folder's lock file) says about its writer (pid, host, command, started), or None."""
    lock = Path(lock)
    if lock.is_dir():
        lock = lock / LOCK_FILE
    try:  # never through a link: a planted one must not make us read (and show) another file
        fd = os.open(lock, os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                return None
            fh.seek(1)  # byte 0 is the locked byte on Windows
            data = fh.read(4096).decode("utf-8", errors="replace").strip()
        holder = json.loads(data) if data else None
        return holder if isinstance(holder, dict) else None
    except (OSError, ValueError):
        return None


def _held_error(folder: Path, lock_path: Path, holder: dict | None) -> UserInputError:
    if holder:
        started = holder.get("started", "")
        who = f"process {holder.get('pid', '?')} on {holder.get('host', '?')}"
        what = f" running `{holder['command']}`" if holder.get("command") else ""
        since = f" since {started}" if started else ""
        detail = f" ({who}{what}{since})"
    else:
        detail = ""
    return UserInputError(
        f"'{folder}' is being written by another Classifier Studio process{detail}.",
        where=str(folder),
        fix="Wait for it to finish or stop it, or choose another folder. If that process no longer runs, "
        f"delete the file '{lock_path}'.")


@contextmanager
def lock_run_dir(path: str | Path, command: str | None = None, *, beside: bool = False) -> Iterator[Path]:
    """Hold an exclusive write lock on the folder ``path`` (created if missing) for the block.

    A second writer gets UserInputError naming the holder. A lock left by a process that died is
    taken over (the operating system releases the lock itself; on file systems that cannot lock,
    the recorded process id is checked). ``beside=True`` keeps the lock file next to the folder
    (``.NAME.lock``), for folders that are swapped in whole (an export).
    """
    folder = Path(path).expanduser()
    try:
        (folder.parent if beside else folder).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _not_writable(folder.parent, exc) from exc
    lock_path = folder.parent / f".{folder.name}.lock" if beside else folder / LOCK_FILE
    with _hold_lock(lock_path, folder, command):
        yield folder


@contextmanager
def lock_output_file(path: str | Path, command: str | None = None) -> Iterator[Path]:
    """The same lock for one output file (``.NAME.lock`` beside it): two commands never write it at once."""
    target = check_output_file(path)
    with _hold_lock(target.parent / f".{target.name}.lock", target, command):
        remove_leftovers(target)  # what a killed writer of this file left: it is ours, and no one else writes it now
        yield target


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _open_lock_file(lock_path: Path) -> int:
    """Open (or create) a lock file without following links and without truncating anything.

    A folder received from someone else may hold a link named like our lock file (to a file outside
    it), or a second hard link of such a file. Opening with O_NOFOLLOW refuses the link; a name that
    is not a plain file with one link is removed (the name only: its target is never opened) and a
    lock file of our own created in its place with O_EXCL. Only a plain single-link file is written
    into (the holder record), and only after the lock is ours.

    Why not ``filelock`` (4.3.2 is installed): its Unix lock does open with O_NOFOLLOW and never
    truncates, but it has no holder record (pid, host, command) for the "held by" message, and its
    soft-lock fallback differs from ours on file systems that cannot lock; keeping one lock code here
    keeps those guarantees in one place."""
    base = os.O_RDWR | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(5):
        if not _NOFOLLOW and lock_path.is_symlink():  # Windows has no O_NOFOLLOW: look first
            _remove_name(lock_path)
        try:
            return os.open(lock_path, base | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            pass
        except OSError as exc:
            raise _not_writable(lock_path.parent, exc) from exc
        try:
            fd = os.open(lock_path, base | getattr(os, "O_NONBLOCK", 0))  # a planted FIFO must not block us
        except FileNotFoundError:
            continue  # removed by its holder meanwhile: create it
        except OSError as exc:
            if not _is_link_error(exc, lock_path):
                raise _not_writable(lock_path.parent, exc) from exc
            fd = -1
        if fd >= 0:
            info = os.fstat(fd)
            if stat.S_ISREG(info.st_mode) and info.st_nlink == 1:
                return fd
            os.close(fd)
        _remove_name(lock_path)  # a link, a second name of another file, a FIFO...: not our lock
    raise UserInputError(f"The lock file '{lock_path}' keeps being replaced by something that is not a plain file.",
                         where=str(lock_path), fix="Remove it, and make sure no other program writes into this folder.")


def _is_link_error(exc: OSError, path: Path) -> bool:
    import errno

    return exc.errno in (errno.ELOOP, errno.EMLINK) or path.is_symlink()


def _remove_name(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            raise UserInputError(f"'{path}' is a folder where Classifier Studio keeps its lock file.", where=str(path),
                                 fix="Remove or rename that folder.")
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise _not_writable(path.parent, exc) from exc


@contextmanager
def _hold_lock(lock_path: Path, what: Path, command: str | None) -> Iterator[None]:
    host = socket.gethostname()
    fd = -1
    for _ in range(5):
        fd = _open_lock_file(lock_path)
        got = _try_lock(fd)
        if got is False:
            os.close(fd)
            raise _held_error(what, lock_path, read_lock_holder(lock_path))
        if got is None:  # no locking here (some network drives): trust the record if its process lives
            holder = read_lock_holder(lock_path)
            if holder and holder.get("pid") != os.getpid() and (
                    holder.get("host") != host or _pid_alive(int(holder.get("pid", 0)))):
                os.close(fd)
                raise _held_error(what, lock_path, holder)
        try:  # the previous holder may have removed the file between our open and our lock
            same = os.name == "nt" or os.fstat(fd).st_ino == os.lstat(lock_path).st_ino
        except OSError:
            same = False
        if same:
            break
        _unlock(fd)
        os.close(fd)
        fd = -1
    if fd < 0:
        raise _held_error(what, lock_path, read_lock_holder(lock_path))
    record = {"pid": os.getpid(), "host": host, "command": command or _command_line(),
              "started": _dt.datetime.now().isoformat(timespec="seconds")}
    try:
        os.ftruncate(fd, 1)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, b"\n" + json.dumps(record).encode("utf-8"))
        os.fsync(fd)
    except OSError:
        pass
    try:
        yield
    finally:
        try:
            os.unlink(lock_path)
        except OSError:
            pass
        _unlock(fd)
        os.close(fd)


def remove_leftovers(target: str | Path) -> list[str]:
    """Remove the temporary files a killed process left beside the output file ``target``
    (``.NAME.XXXXXXXX.tmp``, as ``runs.atomic_path`` names them). Call it only while holding the
    file's lock. Plain files only; a link of that name is removed, never followed. Returns the names."""
    target = Path(target)
    pattern = re.compile(r"^\." + re.escape(target.name) + r"\.[A-Za-z0-9_]{8}\.tmp$")
    removed: list[str] = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        if pattern.match(entry.name) and not entry.is_dir(follow_symlinks=False):
            try:
                os.unlink(entry.path)
                removed.append(entry.name)
            except OSError:
                pass
    return removed


def _command_line() -> str:
    args = [Path(sys.argv[0]).name if sys.argv else "python", *sys.argv[1:]]
    if args and args[0] in {"__main__.py", "-m"}:
        args[0] = "classifier-studio"
    return " ".join(args)[:300]


__all__ = [
    "FORMULA_START", "LOCK_FILE", "MARKERS", "atomic_file", "check_not_inside", "check_output_file", "claim_output_dir",
    "convert_table", "lock_output_file", "lock_run_dir", "open_table_writer", "read_lock_holder", "remove_leftovers", "run_own_files", "safe_cell", "table_kind", "write_table",
]

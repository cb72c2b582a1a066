"""Entry point: ``classifier-studio`` with no arguments opens the app; otherwise the CLI.

The same function serves the pip-installed script, ``python -m desktop_app`` and the frozen
(PyInstaller) executable. Heavy modules (torch, transformers, Qt) are imported only when needed.
"""

from __future__ import annotations

import multiprocessing
import os
import sys

GUI_COMMANDS = {"gui", "screenshots"}


def _fix_std_streams() -> None:
    """Windowed frozen builds have no console: stdout/stderr are None."""
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    multiprocessing.freeze_support()
    _fix_std_streams()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in GUI_COMMANDS or argv[0].startswith("--sample"):
        try:
            from .gui.app import run_gui
        except ImportError as exc:  # e.g. Qt's platform libraries are missing
            sys.stderr.write(f"The desktop app cannot start: {exc}\nThe command line still works: classifier-studio --help\n")
            return 1
        return run_gui(argv)
    from .cli import main as cli_main

    code = cli_main(argv)
    if argv is None and code == 130:
        _exit_at_once(code)
    return code


def _exit_at_once(code: int) -> None:
    """An interrupted command (Ctrl-C, SIGTERM) has already stopped its work, released its locks and removed
    its temporary files; what is left is the interpreter's own shutdown with torch loaded, which took about
    2 s here. A process asked to stop leaves at once instead (only when run as a program, never when called)."""
    import logging

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":
    raise SystemExit(main())

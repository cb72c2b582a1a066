"""Argument parsing, dispatch and the exit-code contract.

0 success; 2 bad input or usage (a short message, never a traceback); 130 interrupted
(a first Ctrl-C saves a resumable checkpoint); 1 anything unexpected (names the log file).
"""

from __future__ import annotations

import argparse
import logging
import sys

from .. import __version__
from ..core.errors import TrainingCancelled, UserInputError
from . import agreement, common, compare, distill, evaluate, export, find_label_errors, label_next, models, predict, train

log = logging.getLogger(__name__)

COMMANDS = [models, train, evaluate, predict, compare, distill, export, label_next, find_label_errors, agreement]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # exit 2 with a short, helpful message
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\nRun '{self.prog} --help' for the options.\n")
        raise SystemExit(common.EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="classifier-studio", description="Fine-tune and use transformer text classifiers, offline.")
    parser.add_argument("--version", action="version", version=f"classifier-studio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from ..applog import setup_logging

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return common.EXIT_USAGE
    log_path = setup_logging()
    log.info("classifier-studio %s: %s", __version__, " ".join(argv))
    try:
        return int(args.run(args) or common.EXIT_OK)
    except UserInputError as exc:
        log.info("input error: %s", exc.describe())
        sys.stderr.write(f"Error: {exc.describe()}\n")
        return common.EXIT_USAGE
    except common.CommandFailed as exc:
        if exc.message:
            sys.stderr.write(exc.message + "\n")
        return exc.code
    except TrainingCancelled:
        sys.stderr.write("\nInterrupted.\n")
        return common.EXIT_INTERRUPTED
    except KeyboardInterrupt:
        sys.stderr.write("\nAborted.\n")
        return common.EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        user_error = common.os_error_as_user_error(exc, getattr(args, "out", None))  # disk full, no permission...
        if user_error is not None:
            log.info("system error: %s (%s: %s)", user_error.describe(), type(exc).__name__, exc)
            sys.stderr.write(f"Error: {user_error.describe()}\n")
            return common.EXIT_USAGE
        log.exception("unexpected error")
        sys.stderr.write(f"Unexpected error: {type(exc).__name__}: {exc}\nDetails are in the log file: {log_path}\n")
        return common.EXIT_UNEXPECTED

"""The command line: ``classifier-studio train|evaluate|predict|models ...``.

No Qt here (import-linter contract): the CLI runs on headless servers. Each sub-command lives
in its own module and registers itself through ``add_parser(subparsers)``.
"""

from .app import main

__all__ = ["main"]

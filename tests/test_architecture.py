"""Layering rules: the engine and the CLI never import Qt, so they run on headless servers."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QT = ("PySide6", "shiboken6", "pyqtgraph", "desktop_app.gui")


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_core_and_cli_have_no_qt_imports():
    offenders = [
        f"{p.relative_to(ROOT)}: {name}"
        for folder in ("desktop_app/core", "desktop_app/cli")
        for p in (ROOT / folder).rglob("*.py")
        for name in _imports(p)
        if name.startswith(QT)
    ]
    assert offenders == []


def test_import_linter_contracts_hold():
    exe = shutil.which("lint-imports")
    assert exe, "import-linter is a test dependency (pip install -e '.[test]')"
    r = subprocess.run([exe, "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_importing_the_engine_loads_no_qt():
    code = ("import sys, desktop_app.core.training, desktop_app.core.predict, desktop_app.cli.app; "
            "bad=[m for m in sys.modules if m.startswith(('PySide6','pyqtgraph'))]; print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr

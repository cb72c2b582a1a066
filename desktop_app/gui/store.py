"""Settings persisted as JSON under the user config folder (or $CLASSIFIER_STUDIO_HOME/config)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from ..core.appdirs import user_dir
from ..core.runs import write_json

log = logging.getLogger(__name__)
MAX_RECENT = 8


def config_dir() -> Path:
    return user_dir("config")


class Store:
    def __init__(self, path: Path | None = None):
        self.path = path or config_dir() / "settings.json"
        self.data: dict[str, Any] = {}
        try:
            self.data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(self.data, dict):
                self.data = {}
        except (OSError, ValueError):
            self.data = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value

    def add_recent(self, path: str) -> None:
        recent = [p for p in self.data.get("recent_files", []) if p != path]
        self.data["recent_files"] = [path] + recent[: MAX_RECENT - 1]

    def recent_files(self) -> list[str]:
        return list(self.data.get("recent_files", []))

    def runs_dir(self) -> Path:
        from ..core.runs import default_runs_dir

        value = self.data.get("runs_dir")
        return Path(value) if value else default_runs_dir()

    def save(self) -> None:
        try:
            write_json(self.path, self.data)
        except OSError:
            log.exception("could not save settings to %s", self.path)

"""The user's preferences: typed, saved as JSON under the user config folder (or $CLASSIFIER_STUDIO_HOME/config)
every time one changes, so a crash loses nothing."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..core.appdirs import user_dir
from ..core.runs import write_json

log = logging.getLogger(__name__)
MAX_RECENT = 8


def config_dir() -> Path:
    return user_dir("config")


@dataclass
class Preferences:
    runs_dir: str = ""  # "" = the default runs folder
    model_path: str = ""
    preset: str = "quick"  # quick | balanced | best | budget
    budget_minutes: int = 10
    train_settings: dict = field(default_factory=dict)  # TrainSettings.to_dict()
    method: str = "auto"  # how training learns: auto | zero-shot | few-shot | fine-tune
    long_documents: str = "auto"  # long texts read in pieces: auto | on | off
    extra_model_folders: list = field(default_factory=list)
    recent_files: list = field(default_factory=list)
    last_open_dir: str = ""
    last_label_file: str = ""  # the file last opened on the Label page ("Continue labeling")
    labels_dir: str = ""  # where the Label page saves labels; "" = beside the file (documents for the samples)
    last_export_dir: str = ""
    last_model_dir: str = ""
    geometry: str = ""
    resume_declined: list = field(default_factory=list)  # interrupted runs the user chose not to resume

    @classmethod
    def from_dict(cls, data: dict) -> "Preferences":
        """Known keys of the right type; anything else (an older or hand-edited file) falls back to the default."""
        prefs = cls()
        for f in fields(cls):
            value = data.get(f.name)
            default = getattr(prefs, f.name)
            if value is not None and isinstance(value, type(default)) and not (isinstance(default, int) and isinstance(value, bool)):
                setattr(prefs, f.name, value)
        return prefs


class Store:
    def __init__(self, path: Path | None = None):
        self.path = path or config_dir() / "settings.json"
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raw = {}
        self.prefs = Preferences.from_dict(raw if isinstance(raw, dict) else {})

    def get(self, key: str, default: Any = None) -> Any:
        value = getattr(self.prefs, key)
        return default if value in ("", None) and default is not None else value

    def set(self, key: str, value: Any) -> None:
        """Change one preference (a known one: a typo is an error) and save at once."""
        if key not in {f.name for f in fields(Preferences)}:
            raise KeyError(f"unknown preference {key!r}")
        if getattr(self.prefs, key) != value:
            setattr(self.prefs, key, value)
            self.save()

    def add_recent(self, path: str) -> None:
        recent = [p for p in self.prefs.recent_files if p != path]
        self.set("recent_files", [path] + recent[: MAX_RECENT - 1])

    def recent_files(self) -> list[str]:
        return list(self.prefs.recent_files)

    def runs_dir(self) -> Path:
        from ..core.runs import default_runs_dir

        return Path(self.prefs.runs_dir) if self.prefs.runs_dir else default_runs_dir()

    def save(self) -> None:
        try:
            write_json(self.path, asdict(self.prefs))
        except OSError:
            log.exception("could not save settings to %s", self.path)

"""The app's own folders: config, data (runs) and logs, per OS via platformdirs.

CLASSIFIER_STUDIO_HOME, when set, puts all three under one folder (tests, portable installs).
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "ClassifierStudio"
KINDS = {"config": "user_config_dir", "data": "user_data_dir", "logs": "user_log_dir"}


def user_dir(kind: str) -> Path:
    """``kind`` is "config", "data" or "logs"."""
    home = os.environ.get("CLASSIFIER_STUDIO_HOME")
    if home:
        return Path(home) / kind
    import platformdirs

    return Path(getattr(platformdirs, KINDS[kind])(APP_NAME, appauthor=False))

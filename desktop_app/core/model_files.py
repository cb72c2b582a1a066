"""Which files of a model or run folder we read, and the one way a model is loaded from one.

    allowed_model_file(name) -> bool     the allow-list of a model folder (config, tokenizer, safetensors, our head)
    ignored_files(folder) -> [names]     what else lies there (never read by us, never copied)
    check_folder(folder, weights=True)   refuse what would run code: auto_map / no standard model_type (custom
                                         code shipped with the model), pickle-only weights; returns config.json
    load_config / load_tokenizer / load_model(folder, ...)
                                         check_folder, then from_pretrained with trust_remote_code=False (and
                                         use_safetensors=True where weights load): never asked, never run
    copy_model_files(src, dst)           the allow-listed files only, config.json without auto_map (export)

A folder received from someone else may hold ``evil.py`` next to a config.json whose ``auto_map`` points
at it; transformers then asks "Do you wish to run the custom code? [y/N]" on a terminal (and runs it on
"y"). Every model load of Classifier Studio goes through this module, so that question never comes:
such a folder is refused (exit 2) before transformers sees it, and ``trust_remote_code=False`` is passed
explicitly besides. Weights load only from safetensors; a folder with nothing but a pickle
(``pytorch_model.bin``, ``*.pt``, ``*.pkl``, ``*.ckpt``) is refused as an unsafe model file, unopened.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
from pathlib import Path
from typing import Any

from .errors import UserInputError

CONFIG = "config.json"
# what a model folder may hold that we read or copy; anything else is ignored
TOKENIZER_FILES = frozenset({
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.txt",
    "vocab.json", "merges.txt", "spiece.model", "sentencepiece.bpe.model", "tokenizer.model", "spm.model",
})
HEAD_FILES = frozenset({"head.json", "head.safetensors"})  # sentence_head: few-shot / zero-shot runs
WEIGHT_FILES = frozenset({"model.safetensors", "model.safetensors.index.json"})
_SHARD = re.compile(r"^model-\d{5}-of-\d{5}\.safetensors$")
MODEL_FILES = frozenset({CONFIG}) | TOKENIZER_FILES | HEAD_FILES | WEIGHT_FILES
# weights in a format that unpickles (can run code when opened): never opened, never copied
PICKLE_PATTERNS = ("pytorch_model*.bin", "*.pt", "*.pth", "*.pkl", "*.pickle", "*.ckpt", "training_args.bin")

NEEDS_CODE = ("this model needs code that ships with it; Classifier Studio does not run code from model folders, "
              "so it was not loaded")
NEEDS_CODE_FIX = ("Choose a model of a standard architecture (BERT, DistilBERT, RoBERTa, DeBERTa, ELECTRA, ...), "
                  "such as the bundled default or one listed by `classifier-studio models`.")


def allowed_model_file(name: str) -> bool:
    """Whether a file of this name in a model folder is one we read (and an export may carry)."""
    return name in MODEL_FILES or bool(_SHARD.match(name))


def ignored_files(folder: str | Path) -> list[str]:
    """The names in ``folder`` outside the allow-list (stray code, pickles, notes): never read or copied by us."""
    folder = Path(folder)
    try:
        return sorted(p.name for p in folder.iterdir() if not allowed_model_file(p.name))
    except OSError:
        return []


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserInputError(f"The model folder has no readable {path.name} ({exc.__class__.__name__}).",
                             where=str(path), fix="Choose a folder saved by Hugging Face transformers "
                             "(it holds config.json, model.safetensors and the tokenizer files).") from None
    if not isinstance(data, dict):
        raise UserInputError(f"{path.name} of the model folder is not a JSON object.", where=str(path),
                             fix="Choose a folder saved by Hugging Face transformers.")
    return data


def _needs_code(folder: Path, why: str) -> UserInputError:
    return UserInputError(f"{why}: {NEEDS_CODE}.", where=str(folder), fix=NEEDS_CODE_FIX)


def _code_files(data: dict) -> str:
    refs = data.get("auto_map")
    names = set()
    for value in (refs.values() if isinstance(refs, dict) else [refs]):
        for item in (value if isinstance(value, (list, tuple)) else [value]):
            if isinstance(item, str) and "." in item:
                names.add(item.split("--")[-1].rsplit(".", 1)[0] + ".py")
    return ", ".join(sorted(names)) or "its own code"


def _pickles(folder: Path) -> list[Path]:
    found: set[Path] = set()
    for pattern in PICKLE_PATTERNS:
        found.update(folder.glob(pattern))
    return sorted(found)


def unsafe_weights_error(folder: Path, files: list[Path]) -> UserInputError:
    names = ", ".join(f"'{p.name}'" for p in files[:3])
    return UserInputError(
        f"Unsafe model file: the weights are only in {names}, a pickle that could run code when opened, so it was "
        "not loaded (Classifier Studio reads weights from safetensors only).", where=str(files[0] if files else folder),
        fix="Use only models from sources you trust, saved as safetensors (model.save_pretrained(folder) writes "
            "model.safetensors); or choose another model.")


def has_safetensors(folder: Path) -> bool:
    return (folder / "model.safetensors").is_file() or any(_SHARD.match(p.name) for p in folder.glob("model-*.safetensors"))


def check_folder(folder: str | Path, *, weights: bool = True) -> dict:
    """config.json of a model folder that is safe to load with transformers, or UserInputError (exit 2).

    Refused: config.json (or tokenizer_config.json) with ``auto_map`` (custom code shipped with the model),
    config.json without a ``model_type`` transformers knows (it would need such code), and with ``weights``
    a folder whose weights are only a pickle ("unsafe model file") or missing."""
    folder = Path(folder)
    config = _read_json(folder / CONFIG)
    if config.get("auto_map"):
        raise _needs_code(folder, f"config.json points at {_code_files(config)} (auto_map)")
    model_type = config.get("model_type")
    if not model_type:
        raise _needs_code(folder, "config.json names no standard architecture (no model_type)")
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    if model_type not in CONFIG_MAPPING_NAMES:
        raise _needs_code(folder, f"config.json names the architecture '{model_type}', which transformers does not have")
    tok_config = folder / "tokenizer_config.json"
    if tok_config.is_file():
        tok = _read_json(tok_config)
        if tok.get("auto_map"):
            raise _needs_code(folder, f"tokenizer_config.json points at {_code_files(tok)} (auto_map)")
    if weights and not has_safetensors(folder):
        pickles = _pickles(folder)
        if pickles:
            raise unsafe_weights_error(folder, pickles)
        raise UserInputError(f"The model folder '{folder}' has no weights file (model.safetensors).", where=str(folder),
                             fix="Copy the model folder again from where it came from; a folder saved by Hugging Face "
                                 "transformers holds config.json, model.safetensors and the tokenizer files.")
    return config


def load_config(folder: str | Path, **kwargs: Any):
    """AutoConfig of a checked model folder (no code from the folder runs)."""
    from transformers import AutoConfig

    check_folder(folder, weights=False)
    return AutoConfig.from_pretrained(folder, trust_remote_code=False, **kwargs)


def load_tokenizer(folder: str | Path, **kwargs: Any):
    """AutoTokenizer of a checked model folder (no code from the folder runs)."""
    from transformers import AutoTokenizer

    check_folder(folder, weights=False)
    return AutoTokenizer.from_pretrained(folder, trust_remote_code=False, **kwargs)


def load_model(folder: str | Path, auto_class=None, **kwargs: Any):
    """A model of a checked folder (default AutoModelForSequenceClassification): safetensors weights only,
    no code from the folder runs."""
    if auto_class is None:
        from transformers import AutoModelForSequenceClassification as auto_class
    check_folder(folder, weights=True)
    return auto_class.from_pretrained(folder, trust_remote_code=False, use_safetensors=True, **kwargs)


def copy_model_files(src: str | Path, dst: str | Path) -> list[str]:
    """Copy the allow-listed regular files of the model folder ``src`` into ``dst`` (config.json and
    tokenizer_config.json without ``auto_map``); links and everything else are left behind. Returns the names copied."""
    src, dst = Path(src), Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    copied = []
    for entry in sorted(src.iterdir()):
        if not allowed_model_file(entry.name):
            continue
        info = os.lstat(entry)
        if not stat.S_ISREG(info.st_mode):  # a link (maybe to a file outside) or a folder: not ours to carry
            raise UserInputError(f"'{entry.name}' in the model folder is not a plain file (a link?), so it is not exported.",
                                 where=str(entry), fix="Export a run written by Classifier Studio, unchanged.")
        if entry.name in (CONFIG, "tokenizer_config.json"):  # without auto_map: an export never points at code
            data = _read_json(entry)
            data.pop("auto_map", None)
            (dst / entry.name).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        else:
            shutil.copyfile(entry, dst / entry.name, follow_symlinks=False)
        copied.append(entry.name)
    return copied


__all__ = [
    "CONFIG", "MODEL_FILES", "NEEDS_CODE", "allowed_model_file", "check_folder",
    "copy_model_files", "has_safetensors", "ignored_files", "load_config", "load_model", "load_tokenizer",
    "unsafe_weights_error",
]

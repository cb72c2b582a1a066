"""Sentence embeddings: the mean of a model's token vectors, length-sorted batches, unit length.

The bundled all-MiniLM-L6-v2 was trained for exactly this (mean pooling, cosine similarity), so
similar texts get nearby vectors. Zero-shot, the label-next queue and few-shot training use it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from . import batching
from .device import choose
from .errors import TrainingCancelled

DEFAULT_BATCH = 64
MAX_LENGTH = 256  # all-MiniLM-L6-v2 was trained on at most 256 tokens (sentence_bert_config.json)


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of the token vectors where ``mask`` is 1, scaled to unit length."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    summed = (hidden * weights).sum(dim=1)
    pooled = summed / weights.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, dim=-1)


def _max_length(folder: Path, config, tokenizer) -> int:
    limit = int(getattr(config, "max_position_embeddings", 512) or 512)
    if getattr(config, "model_type", "") in {"roberta", "xlm-roberta", "camembert"}:
        limit -= 2
    try:
        limit = min(limit, int(json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))["max_seq_length"]))
    except (OSError, KeyError, ValueError, TypeError):
        limit = min(limit, MAX_LENGTH)
    return int(min(limit, getattr(tokenizer, "model_max_length", limit) or limit))


class Embedder:
    """An encoder and its tokenizer on one device. Thread-confined: use it from one thread."""

    def __init__(self, model, tokenizer, device: torch.device, max_length: int, source: str = ""):
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.max_length = int(max_length)
        self.pad_id = batching.pad_id_of(tokenizer)
        self.source = source

    @classmethod
    def load(cls, model: str | Path = "default", device: str = "auto") -> "Embedder":
        """The bundled model ("default"), a model folder, or the encoder of a run or few-shot model."""
        from transformers import AutoModel

        from .inference import quiet_transformers
        from .model_files import load_model, load_tokenizer
        from .models import resolve_model

        quiet_transformers()
        folder = resolve_model(model)
        tokenizer = load_tokenizer(folder)
        encoder = load_model(folder, AutoModel)
        target = choose(device, "fp32").device
        encoder.to(target).eval()
        return cls(encoder, tokenizer, target, _max_length(folder, encoder.config, tokenizer), str(folder))

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        return batching.encode(self.tokenizer, [t if t else "" for t in texts], self.max_length)

    def forward(self, ids: Sequence[Sequence[int]]) -> torch.Tensor:
        """Unit-length embeddings of one batch of token ids, with gradients when the model trains."""
        batch = batching.collate(ids, self.pad_id, self.device)
        hidden = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        return mean_pool(hidden, batch["attention_mask"])

    @torch.inference_mode()
    def embed_ids(self, ids: Sequence[Sequence[int]], batch_size: int = DEFAULT_BATCH,
                  should_stop: Callable[[], bool] | None = None) -> np.ndarray:
        if not len(ids):
            return np.zeros((0, self.dimension), dtype=np.float32)
        was_training = self.model.training
        self.model.eval()
        out: np.ndarray | None = None
        try:
            for batch_idx in batching.sorted_batches([len(x) for x in ids], batch_size):
                if should_stop is not None and should_stop():
                    raise TrainingCancelled()
                vectors = self.forward([ids[i] for i in batch_idx]).float().cpu().numpy()
                if out is None:
                    out = np.zeros((len(ids), vectors.shape[1]), dtype=np.float32)
                out[batch_idx] = vectors
        finally:
            if was_training:
                self.model.train()
        return out

    def embed(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH,
              should_stop: Callable[[], bool] | None = None) -> np.ndarray:
        """Unit-length vectors (rows in input order); cosine similarity is their dot product."""
        return self.embed_ids(self.encode(list(texts)), batch_size, should_stop)

    @property
    def dimension(self) -> int:
        return int(self.model.config.hidden_size if hasattr(self.model.config, "hidden_size") else self.model.config.dim)

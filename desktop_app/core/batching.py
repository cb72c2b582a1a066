"""Tokenize once, then batch by length: dynamic padding with little wasted compute."""

from __future__ import annotations

import random
from typing import Callable, Sequence

import numpy as np
import torch

TOKENIZE_CHUNK = 2048
# Batches per length-sorted chunk. The Trainer's group_by_length sorts chunks of 50 batches; that
# removes nearly all padding but also makes each batch's texts alike, which cost about a point of
# accuracy in short runs (benchmarks/bench_speed.py, README). Chunks of 4 batches keep most of the
# speed (1.5-1.7x the Trainer's samples/s in bench_speed, against 2.1x with chunks of 50) at the accuracy
# of random batches.
GROUP_MEGA_FACTOR = 4


def _chunked(tokenizer, texts: Sequence[str], should_stop: Callable[[], bool] | None,
             on_chunk: Callable[[int, int], None] | None = None, **options) -> list[list[int]]:
    """Token ids for each text, a chunk of texts at a time, stopping early when ``should_stop`` says so;
    ``on_chunk(done, total)`` hears the progress after each chunk."""
    ids: list[list[int]] = []
    for start in range(0, len(texts), TOKENIZE_CHUNK):
        if should_stop is not None and should_stop():
            break
        chunk = list(texts[start : start + TOKENIZE_CHUNK])
        # int32 arrays, not lists of Python ints: a 300 MB file holds tens of millions of tokens (36 -> 4 bytes each)
        ids.extend(np.asarray(x, dtype=np.int32) for x in tokenizer(chunk, padding=False, **options)["input_ids"])
        if on_chunk is not None:
            on_chunk(len(ids), len(texts))
    return ids


def encode(tokenizer, texts: Sequence[str], max_length: int, should_stop: Callable[[], bool] | None = None) -> list[list[int]]:
    """Token ids for each text, truncated to ``max_length``, without padding."""
    return _chunked(tokenizer, texts, should_stop, truncation=True, max_length=max_length)


def tokenize(tokenizer, texts: Sequence[str], should_stop: Callable[[], bool] | None = None,
             on_chunk: Callable[[int, int], None] | None = None, remember: bool = False) -> list[list[int]]:
    """Token ids for each text, whole (special tokens included): the run's one tokenizing pass.
    Their lengths choose the max length; ``truncate`` then cuts them to it.

    Texts this tokenizer already tokenized with ``remember=True`` (the app measures the lengths of
    the open data so) are not tokenized again: training in the same process reuses those ids."""
    cached = _CACHE.lookup(tokenizer, texts)
    if cached is not None:
        if on_chunk is not None:
            on_chunk(len(cached), len(texts))
        return cached
    ids = _chunked(tokenizer, texts, should_stop, on_chunk, truncation=False, verbose=False)
    if remember and len(ids) == len(texts):
        _CACHE.keep(tokenizer, texts, ids)
    return ids


class _TokenCache:
    """The whole-text token ids of the last texts tokenized with ``remember=True``, for one tokenizer.

    One entry (the open data's texts); a new ``keep`` replaces it. Not kept above ``MAX_TOKENS``
    tokens, so a huge file costs no second copy of its ids."""

    MAX_TOKENS = 50_000_000  # 200 MB of int32 ids

    def __init__(self) -> None:
        import threading

        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._ids: dict[str, np.ndarray] = {}

    @staticmethod
    def key_of(tokenizer) -> tuple:
        import os

        name = str(getattr(tokenizer, "name_or_path", "") or "")
        if name and os.path.isdir(name):
            name = os.path.realpath(name)
        return type(tokenizer).__name__, name, len(tokenizer) if hasattr(tokenizer, "__len__") else 0

    def keep(self, tokenizer, texts: Sequence[str], ids: list) -> None:
        if sum(len(x) for x in ids) > self.MAX_TOKENS:
            return
        with self._lock:
            self._key, self._ids = self.key_of(tokenizer), dict(zip(texts, ids))

    def lookup(self, tokenizer, texts: Sequence[str]) -> list | None:
        """The ids of every text, or None unless all of them are known for this tokenizer."""
        with self._lock:
            if self._key is None or not self._ids or self._key != self.key_of(tokenizer):
                return None
            known = self._ids
        try:
            return [known[t] for t in texts]
        except KeyError:
            return None

    def clear(self) -> None:
        with self._lock:
            self._key, self._ids = None, {}


_CACHE = _TokenCache()


def forget_remembered() -> None:
    """Drop the remembered token ids (the app's open data was closed)."""
    _CACHE.clear()


def truncate(tokenizer, texts: Sequence[str], ids: list[list[int]], max_length: int) -> list[list[int]]:
    """``ids`` cut to ``max_length``: only the texts that are too long are tokenized again (with the
    tokenizer's own truncation, which keeps the closing special tokens)."""
    long = [i for i, x in enumerate(ids) if len(x) > max_length]
    if long:
        redone = encode(tokenizer, [texts[i] for i in long], max_length)
        ids = list(ids)
        for i, x in zip(long, redone):
            ids[i] = x
    return ids


def token_lengths(tokenizer, texts: Sequence[str]) -> list[int]:
    """Untruncated token counts (special tokens included), for the max-length choice and histogram."""
    lengths: list[int] = []
    for start in range(0, len(texts), TOKENIZE_CHUNK):
        chunk = list(texts[start : start + TOKENIZE_CHUNK])
        lengths.extend(len(x) for x in tokenizer(chunk, truncation=False, padding=False)["input_ids"])
    return lengths


def training_batches(lengths: Sequence[int], batch_size: int, seed: int, grouped: bool = True) -> list[list[int]]:
    """One epoch's batches: grouped by length (fast), or random as in a plain DataLoader."""
    return length_grouped_batches(lengths, batch_size, seed, GROUP_MEGA_FACTOR if grouped else 1)


def length_grouped_batches(lengths: Sequence[int], batch_size: int, seed: int, mega_factor: int = GROUP_MEGA_FACTOR) -> list[list[int]]:
    """Shuffled batches of similar length (the idea of HF's LengthGroupedSampler).

    Indices are shuffled, cut into mega-chunks of ``mega_factor`` batches, each sorted by
    length and cut into batches; the batch order is shuffled again, so every epoch differs
    while padding stays small. The longest batch comes first to surface out-of-memory early.
    ``mega_factor=1`` gives random batches (each one merely sorted inside).
    """
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    mega = batch_size * mega_factor
    batches: list[list[int]] = []
    for start in range(0, len(order), mega):
        chunk = sorted(order[start : start + mega], key=lambda i: -lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    if not batches:
        return batches
    longest = max(range(len(batches)), key=lambda b: lengths[batches[b][0]])
    first = batches.pop(longest)
    rng.shuffle(batches)
    return [first] + batches


def sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Inference batches in length order: nearly no padding."""
    order = np.argsort(np.asarray(lengths, dtype=np.int64), kind="stable")
    return [order[i : i + batch_size].tolist() for i in range(0, len(order), batch_size)]


def collate(ids: Sequence[Sequence[int]], pad_id: int, device: torch.device | None = None) -> dict[str, torch.Tensor]:
    """Pad a batch to its own longest sequence."""
    width = max(len(x) for x in ids)
    input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for row, seq in enumerate(ids):
        input_ids[row, : len(seq)] = torch.as_tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
    batch = {"input_ids": input_ids, "attention_mask": mask}
    if device is not None and device.type != "cpu":
        batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
    return batch


def pad_id_of(tokenizer) -> int:
    pad = tokenizer.pad_token_id
    return 0 if pad is None else int(pad)

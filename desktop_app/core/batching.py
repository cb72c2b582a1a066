"""Tokenize once, then batch by length: dynamic padding with little wasted compute."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Callable

import numpy as np
import torch

TOKENIZE_CHUNK = 2048
# Batches per length-sorted chunk, chosen from the planned number of optimizer steps. The Trainer's
# group_by_length sorts chunks of 50 batches: that removes nearly all padding but makes each batch's
# texts alike, which cost about a point of accuracy in short runs (bench_speed, 375 steps). Chunks of
# 4 batches keep most of the speed there (1.5-1.7x the Trainer's samples/s against 2.1x) at the
# accuracy of random batches. Runs long enough to converge lose nothing with chunks of 50 (bench_defaults:
# banking77 0.9273 with 50 vs 0.9266 with 4, in 11.1 instead of 15.8 minutes), so they get those.
SHORT_RUN_SORT_CHUNK = 4
LONG_RUN_SORT_CHUNK = 50
LONG_RUN_STEPS = 1000


def sort_chunk_for(planned_steps: int, grouped: bool = True) -> int:
    """Batches per length-sorted chunk for a run of ``planned_steps``; 1 (random batches) when not grouped."""
    if not grouped:
        return 1
    return LONG_RUN_SORT_CHUNK if planned_steps >= LONG_RUN_STEPS else SHORT_RUN_SORT_CHUNK


class TokenIds(Sequence):
    """The token ids of many texts without an object per text: chunks of one flat array each, plus offsets.

    A 300 MB training file holds tens of millions of tokens; as Python lists they took 36 bytes each
    and as one numpy array per text still 112 bytes of overhead per text. Here a token takes 2 bytes
    when the vocabulary fits in 16 bits (BERT, DistilBERT, RoBERTa, MiniLM) and 4 otherwise.
    ``ids[i]`` is a numpy view; ``lengths`` are the stored lengths and ``full_lengths`` the lengths
    before any truncation (what the max-length choice and the length chart need).
    """

    def __init__(self, dtype=np.int32) -> None:
        self.dtype = np.dtype(dtype)
        self._flats: list[np.ndarray] = []
        self._offsets: list[np.ndarray] = []  # per chunk: len(chunk) + 1 positions into its flat array
        self._full: list[np.ndarray] = []  # per chunk: the lengths before truncation
        self._starts: list[int] = [0]  # the first row of each chunk, and one past the last row

    @classmethod
    def from_lists(cls, seqs: Sequence[Sequence[int]], dtype=np.int32) -> TokenIds:
        out = cls(dtype)
        out.append_chunk(seqs)
        return out

    def append_chunk(self, seqs: Sequence[Sequence[int]], full_lengths: Sequence[int] | None = None) -> None:
        lengths = np.fromiter((len(x) for x in seqs), dtype=np.int64, count=len(seqs))
        offsets = np.zeros(len(seqs) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        flat = np.fromiter((t for x in seqs for t in x), dtype=self.dtype, count=int(offsets[-1]))
        self._flats.append(flat)
        self._offsets.append(offsets)
        self._starts.append(self._starts[-1] + len(seqs))
        self._full.append((lengths if full_lengths is None else np.asarray(full_lengths)).astype(np.int32))

    def __len__(self) -> int:
        return self._starts[-1]

    def _locate(self, i: int) -> tuple[int, int]:
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        chunk = int(np.searchsorted(self._starts, i, side="right")) - 1
        return chunk, i - self._starts[chunk]

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        chunk, j = self._locate(int(i))
        offsets = self._offsets[chunk]
        return self._flats[chunk][offsets[j] : offsets[j + 1]]

    @property
    def full_lengths(self) -> np.ndarray:
        """Token counts per text before any truncation (special tokens included)."""
        return np.concatenate(self._full) if self._full else np.zeros(0, dtype=np.int32)

    @property
    def lengths(self) -> np.ndarray:
        """Stored token counts per text (after truncation)."""
        if not self._offsets:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([np.diff(o) for o in self._offsets])

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for part in (self._flats, self._offsets, self._full) for a in part)

    def truncated(self, max_length: int, layout: tuple[int, int]) -> TokenIds:
        """Every text cut to ``max_length`` tokens the way the tokenizer cuts it (the closing special
        tokens are kept), without tokenizing again. This store is consumed: its chunks move to the new
        one a chunk at a time, so memory does not double."""
        out = TokenIds(self.dtype)
        flats, offsets_list, fulls = self._flats[::-1], self._offsets[::-1], self._full[::-1]
        self._flats, self._offsets, self._full, self._starts = [], [], [], [0]
        while flats:
            flat, offsets, full = flats.pop(), offsets_list.pop(), fulls.pop()
            rows = [_cut(flat[offsets[j] : offsets[j + 1]], max_length, layout) for j in range(len(offsets) - 1)]
            del flat
            out.append_chunk(rows, full)
        return out


def special_layout(tokenizer) -> tuple[int, int]:
    """How many special tokens the tokenizer puts before and after a single text ([CLS] ... [SEP]: 1, 1)."""
    plain = tokenizer("a b c", add_special_tokens=False)["input_ids"]
    full = tokenizer("a b c")["input_ids"]
    for head in range(len(full) - len(plain) + 1):
        if list(full[head : head + len(plain)]) == list(plain):
            return head, len(full) - head - len(plain)
    return 0, 0


def _cut(seq, max_length: int, layout: tuple[int, int]):
    if len(seq) <= max_length:
        return seq
    tail = layout[1] if max_length > sum(layout) else 0
    if not tail:
        return seq[:max_length]
    return np.concatenate([seq[: max_length - tail], seq[len(seq) - tail :]])


def id_dtype(tokenizer):
    """2 bytes a token when every id fits in 16 bits."""
    return np.uint16 if len(tokenizer) <= np.iinfo(np.uint16).max else np.int32


def _chunked(tokenizer, texts: Sequence[str], should_stop: Callable[[], bool] | None,
             on_chunk: Callable[[int, int], None] | None = None, **options) -> list[np.ndarray]:
    """Token ids for each text, a chunk of texts at a time, stopping early when ``should_stop`` says so;
    ``on_chunk(done, total)`` hears the progress after each chunk."""
    ids: list[np.ndarray] = []
    for start in range(0, len(texts), TOKENIZE_CHUNK):
        if should_stop is not None and should_stop():
            break
        chunk = list(texts[start : start + TOKENIZE_CHUNK])
        ids.extend(np.asarray(x, dtype=np.int32) for x in tokenizer(chunk, padding=False, **options)["input_ids"])
        if on_chunk is not None:
            on_chunk(len(ids), len(texts))
    return ids


def encode(tokenizer, texts: Sequence[str], max_length: int, should_stop: Callable[[], bool] | None = None) -> list[np.ndarray]:
    """Token ids for each text, truncated to ``max_length``, without padding (a batch at prediction time)."""
    return _chunked(tokenizer, texts, should_stop, truncation=True, max_length=max_length)


def tokenize(tokenizer, texts: Sequence[str], should_stop: Callable[[], bool] | None = None,
             on_chunk: Callable[[int, int], None] | None = None, keep: int | None = None,
             remember: bool = False) -> TokenIds:
    """The run's one tokenizing pass: token ids for each text in a compact store, with the untruncated
    lengths (special tokens included) in ``full_lengths``; those choose the max length, and
    ``TokenIds.truncated`` then cuts the ids to it. ``keep`` caps what is stored, cut as the tokenizer
    would cut it.

    Texts this tokenizer already tokenized with ``remember=True`` (the app measures the lengths of
    the open data so) are not tokenized again: training in the same process reuses those ids."""
    layout = special_layout(tokenizer)
    cached = _CACHE.lookup(tokenizer, texts)
    if cached is not None:
        if on_chunk is not None:
            on_chunk(len(cached), len(texts))
        store = TokenIds.from_lists(cached, id_dtype(tokenizer))
        return store.truncated(keep, layout) if keep is not None else store
    store = TokenIds(id_dtype(tokenizer))
    for start in range(0, len(texts), TOKENIZE_CHUNK):
        if should_stop is not None and should_stop():
            break
        chunk = list(texts[start : start + TOKENIZE_CHUNK])
        rows = _whole_texts(tokenizer, chunk)
        full = [len(x) for x in rows]
        if keep is not None:
            rows = [x if len(x) <= keep else list(_cut(np.asarray(x), keep, layout)) for x in rows]
        store.append_chunk(rows, full)
        del rows
        if on_chunk is not None:
            on_chunk(len(store), len(texts))
    if remember and keep is None and len(store) == len(texts):
        _CACHE.keep(tokenizer, texts, store)
    return store


class _TokenCache:
    """The whole-text token ids of the last texts tokenized with ``remember=True``, for one tokenizer.

    One entry (the open data's texts); a new ``keep`` replaces it. Not kept above ``MAX_TOKENS``
    tokens, so a huge file costs no second copy of its ids."""

    MAX_TOKENS = 50_000_000  # 100 MB of 16-bit ids

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

    def keep(self, tokenizer, texts: Sequence[str], ids: TokenIds) -> None:
        if int(ids.lengths.sum()) > self.MAX_TOKENS:
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


def _whole_texts(tokenizer, texts: list[str]) -> list[list[int]]:
    """The tokenizer's ids of whole texts (special tokens included, nothing cut)."""
    return tokenizer(texts, padding=False, truncation=False, verbose=False,
                     return_attention_mask=False, return_token_type_ids=False)["input_ids"]


def lengths_of(ids) -> np.ndarray:
    """Token counts of a TokenIds store or a list of sequences."""
    if isinstance(ids, TokenIds):
        return ids.lengths
    return np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))


def token_lengths(tokenizer, texts: Sequence[str]) -> list[int]:
    """Untruncated token counts (special tokens included), for the max-length choice and histogram."""
    lengths: list[int] = []
    for start in range(0, len(texts), TOKENIZE_CHUNK):
        chunk = list(texts[start : start + TOKENIZE_CHUNK])
        lengths.extend(len(x) for x in tokenizer(chunk, truncation=False, padding=False)["input_ids"])
    return lengths


def training_batches(lengths: Sequence[int], batch_size: int, seed: int,
                     sort_chunk: int = SHORT_RUN_SORT_CHUNK) -> list[list[int]]:
    """One epoch's batches: grouped by length in chunks of ``sort_chunk`` batches (fast), or random as in a
    plain DataLoader (``sort_chunk=1``)."""
    return length_grouped_batches(lengths, batch_size, seed, sort_chunk)


def length_grouped_batches(lengths: Sequence[int], batch_size: int, seed: int, mega_factor: int = SHORT_RUN_SORT_CHUNK) -> list[list[int]]:
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
    input_ids = np.full((len(ids), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for row, seq in enumerate(ids):
        input_ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    batch = {"input_ids": torch.from_numpy(input_ids), "attention_mask": torch.from_numpy(mask)}
    if device is not None and device.type != "cpu":
        batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
    return batch


def pad_id_of(tokenizer) -> int:
    pad = tokenizer.pad_token_id
    return 0 if pad is None else int(pad)

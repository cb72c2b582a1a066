"""Stratified train/validation split and a stable fingerprint of labeled data."""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict

from .labeled import LabeledData


def split(data: LabeledData, valid_fraction: float = 0.1, seed: int = 42) -> tuple[LabeledData, LabeledData]:
    """(train, valid), stratified by label and deterministic for a seed; both keep file order.

    Every class with two or more examples keeps at least one in train; a class with one example
    stays in train; valid gets at least one example whenever some class has two. Multi-label data
    is stratified by each row's rarest label.
    """
    if not 0 <= valid_fraction < 1:
        raise ValueError(f"valid_fraction must be in [0, 1), got {valid_fraction}")
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(_strata(data)):
        by_label[label].append(i)
    rng = random.Random(seed)
    shuffled: dict[str, list[int]] = {}
    for label in sorted(by_label):
        idx = list(by_label[label])
        rng.shuffle(idx)
        shuffled[label] = idx
    take = _allocate({l: len(v) for l, v in shuffled.items()}, valid_fraction)
    valid = sorted(i for label, idx in shuffled.items() for i in idx[:take[label]])
    chosen = set(valid)
    train = [i for i in range(len(data)) if i not in chosen]
    return data.subset(train), data.subset(valid)


def _strata(data: LabeledData) -> list[str]:
    """What the split stratifies by: the label (single-label), or each row's rarest label (multi-label:
    label sets are mostly unique, so stratifying by the set would keep nearly every row in train)."""
    if data.label_sets is None:
        return list(data.labels)
    counts = data.class_counts()
    return [min(labels, key=lambda l: (counts[l], l)) if labels else "" for labels in data.label_sets]


def _allocate(sizes: dict[str, int], fraction: float) -> dict[str, int]:
    """Validation examples per class: largest remainder towards round(N * fraction), each <= size - 1."""
    caps = {l: max(0, n - 1) for l, n in sizes.items()}
    if fraction <= 0 or not any(caps.values()):
        return {l: 0 for l in sizes}
    total = sum(sizes.values())
    target = min(sum(caps.values()), max(1, round(total * fraction)))
    quota = {l: n * fraction for l, n in sizes.items()}
    take = {l: min(caps[l], int(quota[l])) for l in sizes}
    order = sorted(sizes, key=lambda l: (-(quota[l] - int(quota[l])), -sizes[l], l))
    while sum(take.values()) < target:
        grew = False
        for label in order:
            if sum(take.values()) >= target:
                break
            if take[label] < caps[label]:
                take[label] += 1
                grew = True
        if not grew:
            break
    return take


def fingerprint(data: LabeledData) -> str:
    """sha256 over the (text, label) pairs in order; the same data gives the same hex string."""
    h = hashlib.sha256()
    for text, label in zip(data.texts, data.labels):
        h.update(text.encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
        h.update(label.encode("utf-8", "surrogatepass"))
        h.update(b"\x1e")
    return h.hexdigest()

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


def validation_part(record: dict, data: LabeledData) -> tuple[LabeledData | None, str]:
    """The rows a run kept aside for validation, taken again from ``data`` (the file it was trained on):
    (rows, "") or (None, why not, in plain words). ``record``: the run's run.json as a dict.

    Only a held-out split can be re-created: a few-shot run learned from every labeled row (its score is
    cross-validated), a zero-shot run learned from none, and a run checked on a separate file is
    evaluated on that file. The rows are the ones the run recorded, checked against its fingerprint."""
    split_record = record.get("split") or {}
    kind = split_record.get("kind")
    if kind == "training-rows":
        return None, ("This model learned from every labeled text (few examples), so no texts were kept aside; "
                      "its score on the Evaluate page is a cross-check on those texts, which runs high. For a true "
                      "measure, evaluate on a labeled file it has not seen.")
    if kind == "none":
        return None, ("This model was made from the category names alone, so there is no validation part. "
                      "Evaluate it on a labeled file.")
    if kind in ("file", "given"):
        where = split_record.get("path")
        return None, (f"This run was checked on a separate file{f' ({where})' if where else ''}; evaluate on that file.")
    if (record.get("data") or {}).get("fingerprint_all") not in (None, fingerprint(data)):
        return None, "The open data is not the file this run was trained on; open that file on the Data page first."
    wanted = split_record.get("valid_rows")
    if wanted is not None:
        chosen = set(int(r) for r in wanted)
        part = data.subset([i for i, row in enumerate(data.rows) if row in chosen])
    else:  # older runs: the split again, with the run's own settings
        settings = record.get("settings") or {}
        part = split(data, float(settings.get("valid_split", 0.1)), int(settings.get("seed", 42)))[1]
    if split_record.get("fingerprint_valid") not in (None, fingerprint(part)):
        return None, "The validation rows of this run cannot be found again in the open data."
    if not len(part):
        return None, "This run kept no texts aside for validation."
    return part, ""

"""Fixes the engine can apply safely, named by the ``fix_id`` of a validation finding."""

from __future__ import annotations

from typing import Iterable

from .labeled import LabeledData
from .validation import FIX_IDS, duplicate_positions, label_variant_groups


def apply_fixes(data: LabeledData, fix_ids: Iterable[str]) -> LabeledData:
    """A new LabeledData with the fixes applied in a fixed order (merge labels, then drop repeats)."""
    wanted = list(fix_ids)
    unknown = [f for f in wanted if f not in FIX_IDS]
    if unknown:
        raise ValueError(f"unknown fix_id {unknown[0]!r}; known: {', '.join(FIX_IDS)}")
    out = data.subset(range(len(data)))
    if "merge_label_variants" in wanted:
        mapping = {variant: group[0] for group in label_variant_groups(out.labels) for variant in group[1:]}
        out.labels = [mapping.get(label, label) for label in out.labels]
    if "drop_duplicates" in wanted:
        drop = set(duplicate_positions(out))
        out = out.subset(i for i in range(len(out)) if i not in drop)
    if "drop_empty" in wanted:
        out.skipped = {}
    return out

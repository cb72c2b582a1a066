"""What the benchmarks share: reading a labeled CSV by path, and the plain recipe's dataset."""

from __future__ import annotations

import csv
from pathlib import Path


def read(path: Path, rows: int | None = None) -> tuple[list[str], list[str]]:
    """(texts, labels) of a CSV with text and label columns; ``rows`` evenly spaced rows (all if None or 0)."""
    with Path(path).open(encoding="utf-8") as fh:
        data = list(csv.DictReader(fh))
    if rows and rows < len(data):
        step = len(data) / rows
        data = [data[int(i * step)] for i in range(rows)]
    return [r["text"] for r in data], [r["label"] for r in data]


def trainer_dataset(tokenizer, texts: list[str], labels: list[str], label2id: dict, max_length: int):
    """The plain transformers recipe's dataset: tokenized once, unpadded (DataCollatorWithPadding pads)."""
    import torch

    class LabeledTexts(torch.utils.data.Dataset):
        def __init__(self):
            self.enc = tokenizer(texts, truncation=True, max_length=max_length)
            self.y = [label2id[v] for v in labels]

        def __len__(self):
            return len(self.y)

        def __getitem__(self, i):
            return {"input_ids": self.enc["input_ids"][i], "attention_mask": self.enc["attention_mask"][i], "labels": self.y[i]}

    return LabeledTexts()

"""Classify a file or folder, streaming: any size, constant memory, written atomically.

The output CSV holds the input's columns plus ``predicted_label``, ``confidence`` and one
``prob_<label>`` column per class.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Callable

from .data import describe_documents, iter_documents
from .errors import TrainingCancelled, UserInputError
from .events import EventSink, ProgressEvent, StatusEvent, ignore
from .inference import Classifier
from .runs import atomic_path

CHUNK_ROWS = 2048


def output_columns(input_columns: list[str], labels: list[str]) -> list[str]:
    ours = ["predicted_label", "confidence"] + [f"prob_{l}" for l in labels]
    return [c for c in input_columns if c not in ours] + ours


def _estimate_rows(path: Path) -> int | None:
    """Cheap newline count for progress; None for folders or huge files."""
    if path.is_dir():
        return sum(1 for _ in path.glob("*.txt"))
    if path.suffix.lower() == ".xlsx" or path.stat().st_size > 2 * 2**30:
        return None
    with path.open("rb") as fh:
        lines = sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 20), b""))
    return max(1, lines - (0 if path.suffix.lower() in {".txt", ".jsonl"} else 1))


def predict_file(classifier_or_path: Classifier | str | Path, input_path: str | Path, out_path: str | Path, *,
                 text_column: str | None = None, device: str = "auto", batch_size: int = 64,
                 on_event: EventSink = ignore, should_stop: Callable[[], bool] | None = None) -> dict:
    """Returns {"rows": n, "out": path, "counts": {label: n}}. The input is only read."""
    input_path, out_path = Path(input_path), Path(out_path)
    if out_path.resolve() == input_path.resolve():
        raise UserInputError("The output file would overwrite the input.", where=str(out_path),
                             fix="Choose another name for --out.")
    columns, text_col = describe_documents(input_path, text_column)
    clf = classifier_or_path if isinstance(classifier_or_path, Classifier) else None
    if clf is None:
        on_event(StatusEvent("Loading the model"))
        clf = Classifier.load(classifier_or_path, device=device)
    total = _estimate_rows(input_path)
    header = output_columns(columns, clf.labels)
    counts = {l: 0 for l in clf.labels}
    done = 0
    with atomic_path(out_path, suffix=".csv") as tmp:
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=header, extrasaction="ignore")
            writer.writeheader()
            for chunk in iter_documents(input_path, text_col, chunk_rows=CHUNK_ROWS):
                if should_stop is not None and should_stop():
                    raise TrainingCancelled()
                probs = clf.predict_proba(chunk.texts, batch_size, should_stop)
                for row, p in zip(chunk.rows, probs):
                    best = int(p.argmax())
                    out = dict(row)
                    out["predicted_label"] = clf.labels[best]
                    out["confidence"] = f"{p[best]:.4f}"
                    for label, value in zip(clf.labels, p):
                        out[f"prob_{label}"] = f"{value:.4f}"
                    writer.writerow(out)
                    counts[clf.labels[best]] += 1
                done += len(chunk.texts)
                on_event(ProgressEvent(done, max(total, done) if total else None, f"{done} documents classified"))
    return {"rows": done, "out": str(out_path), "counts": counts, "text_column": text_col}

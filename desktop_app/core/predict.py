"""Classify a file or folder, streaming: any size, constant memory, written atomically.

The output (CSV, or XLSX when --out ends in .xlsx) holds the input's columns plus
``predicted_label``, ``confidence`` and one ``prob_<label>`` column per class. Cells that a
spreadsheet would run as formulas are written as text (see ``outputs``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from .data import describe_documents, iter_documents
from .errors import TrainingCancelled
from .events import EventSink, ProgressEvent, StatusEvent, ignore
from .inference import Classifier
from .models import check_model_folder
from .outputs import check_not_inside, open_table_writer, run_own_files, table_kind

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
                 on_event: EventSink = ignore, should_stop: Callable[[], bool] | None = None,
                 protect: list[str | Path] = (), sheet: str | None = None) -> dict:
    """Returns {"rows": n, "out": path, "counts": {label: n}}. The input is only read.

    ``classifier_or_path``: a run or model folder, or any loaded classifier with ``labels`` and
    ``predict_proba(texts, batch_size, should_stop)`` (a ``Classifier``, a zero-shot classifier).

    ``out_path`` ends in .csv or .xlsx; it may not be the input, nor touch the run's model,
    checkpoint or record (``classifier_or_path`` when a path), nor lie in a folder of ``protect``.
    ``sheet``: the Excel sheet to read.
    """
    input_path, out_path = Path(input_path), Path(out_path)
    table_kind(out_path)
    given = not isinstance(classifier_or_path, (str, Path))  # a loaded classifier: labels + predict_proba
    inputs = [input_path, *protect]
    if not given:
        inputs += run_own_files(classifier_or_path)
    check_not_inside(out_path, inputs)
    columns, text_col = describe_documents(input_path, text_column, sheet=sheet)
    clf = classifier_or_path if given else None
    if clf is None:
        for warning in check_model_folder(classifier_or_path).warnings:
            on_event(StatusEvent(f"Warning: {warning}"))
        on_event(StatusEvent("Loading the model"))
        clf = Classifier.load(classifier_or_path, device=device)
    total = _estimate_rows(input_path)
    header = output_columns(columns, clf.labels)
    ours = len(header) - len(clf.labels) - 2
    inputs_kept = header[:ours]
    counts = {l: 0 for l in clf.labels}
    done = 0
    with open_table_writer(out_path, header) as writer:
        for chunk in iter_documents(input_path, text_col, chunk_rows=CHUNK_ROWS, sheet=sheet):
            if should_stop is not None and should_stop():
                raise TrainingCancelled()
            probs = clf.predict_proba(chunk.texts, batch_size, should_stop)
            for row, p in zip(chunk.rows, probs):
                best = int(p.argmax())
                label = clf.labels[best]
                writer.write([row.get(c, "") for c in inputs_kept] + [label, round(float(p[best]), 4)]
                             + [round(float(v), 4) for v in p])
                counts[label] += 1
            done += len(chunk.texts)
            on_event(ProgressEvent(done, max(total, done) if total else None, f"{done} documents classified"))
    return {"rows": done, "out": str(out_path), "counts": counts, "text_column": text_col,
            "truncated_cells": getattr(writer, "truncated", 0)}

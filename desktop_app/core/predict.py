"""Classify a file or folder, streaming: any size, constant memory, written atomically.

The output (CSV, or XLSX when --out ends in .xlsx) holds the input's columns plus
``predicted_label``, ``confidence`` and one ``prob_<label>`` column per class; for a multi-label run
``predicted_labels`` (the labels at or above their thresholds, joined by ";") and ``prob_<label>``.
Documents longer than one window are counted (``long_documents`` in the summary). Cells that a
spreadsheet would run as formulas are written as text (see ``outputs``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from .data import describe_documents, iter_documents
from .errors import TrainingCancelled, UserInputError
from .events import EventSink, ProgressEvent, StatusEvent, ignore
from .inference import Classifier
from .models import check_model_folder
from .outputs import check_not_inside, open_table_writer, run_own_files, table_kind

CHUNK_ROWS = 2048


def output_columns(input_columns: list[str], labels: list[str], multi_label: bool = False) -> list[str]:
    ours = (["predicted_labels"] if multi_label else ["predicted_label", "confidence"]) + [f"prob_{l}" for l in labels]
    return [c for c in input_columns if c not in ours] + ours


def _cut_warning(rows: list[int], name: str) -> str:
    from .data.limits import MAX_TEXT_CHARS
    from .data.table import describe_rows

    n = len(rows)
    return (f"Warning: {n} text{'s' if n != 1 else ''} of '{name}' ({describe_rows(rows, shown=5)}) "
            f"{'were' if n != 1 else 'was'} longer than {MAX_TEXT_CHARS:,} characters; only the first {MAX_TEXT_CHARS:,} "
            "were read (far more than the model uses).")


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
                 protect: list[str | Path] = (), sheet: str | None = None, long_documents: str | None = None) -> dict:
    """Returns {"rows": n, "out": path, "counts": {label: n}, "long_documents": {...}, "multi_label": bool}
    (multi-label: "counts" counts each label given, "no_label" the texts that got none). The input is only read.

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
    columns, text_col = describe_documents(input_path, text_column, sheet=sheet, should_stop=should_stop)
    clf = classifier_or_path if given else None
    if clf is None:
        for warning in check_model_folder(classifier_or_path).warnings:
            on_event(StatusEvent(f"Warning: {warning}"))
        on_event(StatusEvent("Loading the model"))
        clf = Classifier.load(classifier_or_path, device=device)
    if long_documents and hasattr(clf, "long_documents"):
        clf.long_documents = long_documents  # auto | on | off
    total = _estimate_rows(input_path)
    multi = bool(getattr(clf, "multi_label", False))
    header = output_columns(columns, clf.labels, multi)
    ours = len(header) - len(clf.labels) - (1 if multi else 2)
    inputs_kept = header[:ours]
    counts = {l: 0 for l in clf.labels}
    done = n_long = n_none = 0
    cut_rows: list[int] = []
    with open_table_writer(out_path, header) as writer:
        for chunk in iter_documents(input_path, text_col, chunk_rows=CHUNK_ROWS, sheet=sheet, should_stop=should_stop):
            if should_stop is not None and should_stop():
                raise TrainingCancelled()
            if chunk.cut_rows:
                cut_rows += chunk.cut_rows
                on_event(StatusEvent(_cut_warning(chunk.cut_rows, Path(input_path).name)))
            probs = clf.predict_proba(chunk.texts, batch_size, should_stop)
            n_long += int(getattr(clf, "last_long", 0) or 0)
            if multi:  # predicted_labels joined by ";", then one probability per label
                for row, p, cols in zip(chunk.rows, probs, clf.decide(probs)):
                    writer.write([row.get(c, "") for c in inputs_kept] + [";".join(clf.labels[j] for j in cols)]
                                 + [round(float(v), 4) for v in p])
                    for j in cols:
                        counts[clf.labels[j]] += 1
                    n_none += not cols
                done += len(chunk.texts)
                on_event(ProgressEvent(done, max(total, done) if total else None, f"{done} documents classified"))
                continue
            for row, p in zip(chunk.rows, probs):
                best = int(p.argmax())
                label = clf.labels[best]
                writer.write([row.get(c, "") for c in inputs_kept] + [label, round(float(p[best]), 4)]
                             + [round(float(v), 4) for v in p])
                counts[label] += 1
            done += len(chunk.texts)
            on_event(ProgressEvent(done, max(total, done) if total else None, f"{done} documents classified"))
        if done == 0:  # inside the block: no output file appears
            raise UserInputError(f"There is no text to classify in '{Path(input_path).name}' (column '{text_col}' "
                                 "has no rows).", where=str(input_path),
                                 fix="Check that this is the right file and that the texts are in it; nothing was written.")
    long = {}
    if hasattr(clf, "long_documents"):
        from .evaluate import long_documents_report

        clf.last_long = n_long
        long = long_documents_report(clf)
        if long.get("message"):
            on_event(StatusEvent(long["message"]))
    return {"rows": done, "out": str(out_path), "counts": counts, "text_column": text_col,
            "truncated_cells": getattr(writer, "truncated", 0), "multi_label": multi, "long_documents": long,
            "cut_texts": cut_rows,
            **({"no_label": n_none} if multi else {})}

"""Data import: read files, guess columns, validate, fix, split, and stream documents for prediction.

    read_table(path, sheet=None, on_progress=None) -> Table   csv / tsv / jsonl / xlsx / txt / folder of .txt
    sheet_names(path) -> list[str]                 the sheets of an .xlsx workbook (the app's sheet chooser)
        sheet: the Excel sheet (default: the first with data); on_progress(done, total, unit) while reading
    guess_columns(table) -> ColumnGuess            text and label column, with the reason
    to_labeled(table, text_col, label_col)         -> LabeledData (unusable rows skipped and counted)
    load_labeled(path, text_column, label_column, sheet=, on_progress=)  -> LoadedData (all of the above)
    validate(labeled, token_lengths, max_length)   -> ValidationReport (findings: severity, where, fix, fix_id)
    apply_fixes(labeled, fix_ids) -> LabeledData;  require_trainable(report)
    split(labeled, valid_fraction, seed)           -> (train, valid), stratified
    fingerprint(labeled) -> str                    sha256 of texts and labels
    iter_documents(path, text_column, chunk_rows, sheet=)  -> DocumentChunk stream; describe_documents(path)
    detect_separator(values) -> SeparatorGuess | None   a label column of joined labels (multi-label), see multilabel.py
    to_multi_label(table, text_col, label_col, separator=, label_columns=) -> LabeledData with label_sets

    limits: the bound on one text / row / Excel cell while reading, and the stop check of every reading loop

Every problem with the input raises ``UserInputError`` naming the file (and row/column) and a fix.
What is worth a warning but not an error (rows in a second encoding, "NaN" labels) becomes a
validation finding. Text files are streamed, never decoded whole in memory.
"""

from __future__ import annotations

from . import limits
from .columns import ColumnGuess, guess_columns
from .documents import DocumentChunk, describe_documents, iter_documents
from .fixes import apply_fixes
from .labeled import LabeledData, LoadedData, load_labeled, to_labeled
from .multilabel import SeparatorGuess, detect_separator, guess_label_columns, join_labels, to_multi_label
from .reading import read_table
from .sources import sheet_names
from .splitting import fingerprint, split, validation_part
from .table import Table
from .validation import Finding, ValidationReport, require_trainable, validate

__all__ = [
    "ColumnGuess",
    "DocumentChunk",
    "Finding",
    "LabeledData",
    "LoadedData",
    "Table",
    "SeparatorGuess",
    "ValidationReport",
    "apply_fixes",
    "detect_separator",
    "guess_label_columns",
    "join_labels",
    "limits",
    "to_multi_label",
    "describe_documents",
    "fingerprint",
    "guess_columns",
    "iter_documents",
    "load_labeled",
    "read_table",
    "require_trainable",
    "sheet_names",
    "split",
    "to_labeled",
    "validate",
    "validation_part",
]

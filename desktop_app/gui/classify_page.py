"""Page 5: classify typed text as you type (debounced) and whole files or folders; export the results."""

from __future__ import annotations

from html import escape

import csv
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPlainTextEdit, QProgressBar,
                               QPushButton, QTableView, QVBoxLayout, QWidget)

from . import workers
from .widgets import JobBar, RowsModel, hint, show_error

DEBOUNCE_MS = 300
PREVIEW_ROWS = 500


class ClassifyPage(QWidget):
    """A view of the session's current run and predictions; typed texts and files are classified by jobs."""

    predicted = Signal()
    batch_done = Signal()

    def __init__(self, window):
        super().__init__()
        self.win = window
        self.request_id = 0
        self.last_result: dict | None = None  # the typed text's answer, for the current run only
        self.output_path: str | None = None  # the current run's predictions file (drawn from the session)
        self.shown_run: str | None = None

        self.run_label = QLabel("")
        self.empty = hint("Train a model (or open a run in the Run library), then type a text here to classify it.")
        self.text = QPlainTextEdit()
        self.text.setPlaceholderText("Type or paste a text; its class appears as you type.")
        self.text.setMaximumHeight(self.fontMetrics().lineSpacing() * 5)
        self.text.textChanged.connect(self._text_changed)
        self.debounce = QTimer(self)
        self.debounce.setSingleShot(True)
        self.debounce.setInterval(DEBOUNCE_MS)
        self.debounce.timeout.connect(self._send)
        self.answer = QLabel("")
        answer_font = self.answer.font()
        answer_font.setPointSizeF(answer_font.pointSizeF() * 1.5)  # relative: follows the user's font size
        self.answer.setFont(answer_font)
        self.passage = QLabel("")  # a long text: the part that drove the answer
        self.passage.setWordWrap(True)
        self.passage.setTextFormat(Qt.RichText)
        self.passage.setToolTip("Long texts are read in overlapping pieces (windows) of the length the model reads; "
                                "the answers of the pieces are combined. This is the piece that weighed most.")
        self.passage.setVisible(False)
        self.bars_box = QGroupBox("How sure the model is, per class")
        self.bars_form = QFormLayout(self.bars_box)
        self.bars: dict[str, QProgressBar] = {}

        batch_box = QGroupBox("Classify a file or a folder of .txt files")
        bl = QVBoxLayout(batch_box)
        row = QHBoxLayout()
        self.file_button = QPushButton("Classify file…")
        self.file_button.clicked.connect(self.choose_file)
        self.folder_button = QPushButton("Classify folder…")
        self.folder_button.clicked.connect(self.choose_folder)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(lambda: self.win.tasks.stop("predict"))
        self.export_csv_button = QPushButton("Export CSV…")
        self.export_csv_button.clicked.connect(lambda: self.choose_export("csv"))
        self.export_xlsx_button = QPushButton("Export Excel…")
        self.export_xlsx_button.clicked.connect(lambda: self.choose_export("xlsx"))
        for b in (self.file_button, self.folder_button, self.cancel_button):
            row.addWidget(b)
        exports = QHBoxLayout()
        for b in (self.export_csv_button, self.export_xlsx_button):
            exports.addWidget(b)
        exports.addStretch(1)
        row.addLayout(exports, 1)
        self.batch_buttons, self.export_row = row, exports
        self.job = JobBar(window.tasks, "predict")
        self.batch_progress = self.job.bar
        self.batch_label = QLabel("")
        self.batch_label.setWordWrap(True)
        self.preview = QTableView()
        self.preview.setModel(RowsModel())
        bl.addLayout(row)
        bl.addWidget(self.job)
        bl.addWidget(self.batch_label)
        bl.addWidget(self.preview, 1)

        layout = QVBoxLayout(self)
        layout.addWidget(self.run_label)
        layout.addWidget(self.empty)
        layout.addWidget(self.text)
        layout.addWidget(self.answer)
        layout.addWidget(self.passage)
        layout.addWidget(self.bars_box)
        layout.addWidget(batch_box, 1)
        window.session_signals.changed.connect(self._session_changed)
        self.redraw()

    def _session_changed(self, change: str) -> None:
        from ..core.session import PREDICTIONS, RUN

        if change in (RUN, PREDICTIONS):
            self.redraw()

    def redraw(self) -> None:
        """Everything from the session: the run, its predictions; nothing of another run stays."""
        run = self.win.current_run
        if run != self.shown_run:
            self.shown_run = run
            self.last_result = None
            self._set_bars([])
            self.answer.setText("")
            self._show_passage(None)
            if run and self.text.toPlainText().strip():
                self._send()
        predictions = self.win.session.current_predictions()
        out = predictions.out_path if predictions is not None else None
        if out != self.output_path:
            self.output_path = out
            if predictions is None:
                self.preview.model().set_rows([], [])
                self.batch_label.setText("")
            else:
                self._show_predictions(predictions)
        self.run_label.setText(f"Model: {Path(run).name}" if run else "No model chosen yet.")
        self.empty.setVisible(not run)
        self.update_buttons()

    def set_narrow(self, narrow: bool) -> None:
        """The export buttons on a row of their own in a narrow window (the window calls this on resize)."""
        from PySide6.QtWidgets import QBoxLayout

        self.batch_buttons.setDirection(QBoxLayout.TopToBottom if narrow else QBoxLayout.LeftToRight)

    def update_buttons(self) -> None:
        run = self.win.current_run
        busy = self.win.tasks.is_running("predict")
        state = self.win.tasks.state("predict")
        self.text.setEnabled(bool(run))
        self.file_button.setEnabled(bool(run) and not busy)
        self.folder_button.setEnabled(bool(run) and not busy)
        self.cancel_button.setEnabled(busy and state is not None and state.status == "running")
        self.export_csv_button.setEnabled(bool(self.output_path) and not busy)
        self.export_xlsx_button.setEnabled(bool(self.output_path) and not busy)

    def _set_bars(self, labels: list[str]) -> None:
        if list(self.bars) == list(labels):
            return
        for bar in self.bars.values():
            self.bars_form.removeRow(bar)
        self.bars = {}
        for label in labels:
            bar = QProgressBar()
            bar.setRange(0, 1000)
            bar.setFormat("%p%")
            self.bars[label] = bar
            self.bars_form.addRow(label, bar)

    # -- typed text --------------------------------------------------------------------------------
    def _text_changed(self) -> None:
        self.debounce.start()

    def _send(self) -> None:
        text = self.text.toPlainText().strip()
        run = self.win.current_run
        if not text or not run or self.win.closing:
            return
        self.request_id += 1
        if not self.bars:
            self.answer.setText("Loading the model …")
        self.win.tasks.start("classify_text", workers.classify_text_task, run, text,
                             on_done=lambda r, i=self.request_id: self._prediction(i, r),
                             on_failed=self._text_failed, description="Classifying the text")

    def _text_failed(self, message: str, details: str) -> None:
        self.answer.setText(message)
        show_error(self, message, details)

    def _prediction(self, request_id: int, result: dict) -> None:
        from ..core.session import percent, run_id_of

        if request_id != self.request_id or run_id_of(result["run"]) != self.win.session.run_id:
            return  # an older text, or another run's answer
        probs = result["probabilities"]
        self._set_bars(result["labels"])
        multi = result.get("multi_label", False)
        best = max(probs, key=probs.get)
        chosen = list(result.get("chosen") or [])
        self.last_result = {"label": ";".join(chosen) if multi else best, "probabilities": probs, "multi_label": multi,
                            "labels": chosen, "driver": result.get("driver"), "passages": result.get("passages", [])}
        self.bars_box.setTitle("How sure the model is, per label (each label is a separate yes/no)" if multi
                               else "How sure the model is, per class")
        if multi:
            thresholds = result.get("thresholds") or {}
            if chosen:
                self.answer.setText("Labels: " + ", ".join(f"<b>{escape(l)}</b> ({percent(probs[l])})" for l in chosen))
            else:
                self.answer.setText(f"<b>No label</b> passed its cut-off (closest: {escape(best)}, {percent(probs[best])})")
            self.answer.setToolTip("Multi-label: a label is given when its probability reaches its cut-off "
                                   "(threshold): " + ", ".join(f"{l} {t:.2f}" for l, t in thresholds.items()))
        else:
            self.answer.setText(f"<b>{escape(best)}</b> ({percent(probs[best])} sure)")
            self.answer.setToolTip("")
        for label, p in probs.items():
            if label in self.bars:
                self.bars[label].setValue(int(round(p * 1000)))
                self.bars[label].setFormat(percent(p) + (" ✓" if multi and label in chosen else ""))
        self._show_passage(result)
        self.predicted.emit()

    def _show_passage(self, result: dict | None) -> None:
        """A long text: which part drove the answer, said below it and highlighted in the text box."""
        from PySide6.QtGui import QColor, QTextCursor
        from PySide6.QtWidgets import QTextEdit

        driver = result.get("driver") if result else None
        passages = result.get("passages", []) if result else []
        if driver is None or not passages:
            self.passage.setVisible(False)
            self.passage.setText("")
            self.text.setExtraSelections([])
            return
        part = passages[driver]
        shown = part["text"] if len(part["text"]) <= 600 else part["text"][:600] + " …"
        self.passage.setText(f"This text is longer than the model reads at once ({result['tokens']} tokens; it reads "
                             f"{result['max_length']}), so it was read in {len(passages)} pieces. <b>Piece "
                             f"{driver + 1} drove the answer</b> (highlighted above): “{escape(shown)}”")
        self.passage.setVisible(True)
        raw = self.text.toPlainText()
        offset = raw.find(raw.strip()) if raw.strip() else 0  # the text sent was stripped
        selection = QTextEdit.ExtraSelection()
        cursor = QTextCursor(self.text.document())
        cursor.setPosition(min(len(raw), offset + part["start_char"]))
        cursor.setPosition(min(len(raw), offset + part["end_char"]), QTextCursor.KeepAnchor)
        selection.cursor = cursor
        selection.format.setBackground(QColor(255, 214, 102))
        selection.format.setForeground(QColor(0, 0, 0))
        self.text.setExtraSelections([selection])

    # -- batch -----------------------------------------------------------------------------------
    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "File to classify", self.win.store.get("last_open_dir", ""),
                                              "Data files (*.csv *.tsv *.jsonl *.xlsx *.txt);;All files (*)")
        if path:
            self.classify_path(path)

    def choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder of .txt files to classify", self.win.store.get("last_open_dir", ""))
        if path:
            self.classify_path(path)

    def classify_path(self, path: str) -> None:
        from ..core.session import run_id_of

        run = self.win.current_run
        if not run:
            return
        src = Path(path)
        out = Path(run) / "predictions" / f"{src.stem or 'folder'}-predictions.csv"
        self.batch_label.setText("")
        self.win.tasks.start("predict", workers.predict_file_task, run, str(src), str(out),
                             on_done=lambda r, i=run_id_of(run), p=str(src): self._batch_done(r, i, p),
                             on_failed=self._batch_failed, on_cancelled=lambda: self.batch_label.setText("Cancelled."),
                             description=f"Classifying {src.name}")
        self.update_buttons()

    def _batch_failed(self, message: str, details: str) -> None:
        self.batch_label.setText(f"Failed: {message}")
        show_error(self, message, details)

    def _batch_done(self, result: dict, run_id: str, input_path: str) -> None:
        from ..core.session import Predictions

        predictions = Predictions.from_result(run_id, input_path, result)
        if self.win.session.set_predictions(predictions):
            self.batch_done.emit()

    def _show_predictions(self, predictions) -> None:
        self.batch_label.setText(f"{predictions.in_words()} Saved to {predictions.out_path}. "
                                 "Use Export to save a copy elsewhere.")
        try:
            with open(predictions.out_path, encoding="utf-8", newline="") as fh:
                reader = csv.DictReader(fh)
                rows = [r for _, r in zip(range(PREVIEW_ROWS), reader)]
                columns = list(reader.fieldnames or [])
        except OSError as exc:
            self.batch_label.setText(f"Could not read {predictions.out_path}: {exc}")
            return
        lead = [c for c in ("predicted_label", "predicted_labels", "confidence", predictions.text_column) if c in columns]
        self.preview.model().set_rows(rows, lead + [c for c in columns if c not in lead])
        self.preview.resizeColumnsToContents()

    def choose_export(self, fmt: str) -> None:
        if not self.output_path:
            return
        suffix = ".xlsx" if fmt == "xlsx" else ".csv"
        default = str(Path(self.win.store.get("last_export_dir", str(Path.home()))) / (Path(self.output_path).stem + suffix))
        path, _ = QFileDialog.getSaveFileName(self, "Export predictions", default,
                                              "Excel (*.xlsx)" if fmt == "xlsx" else "CSV (*.csv)")
        if path:
            self.win.store.set("last_export_dir", str(Path(path).parent))
            self.export(path)

    def export(self, path: str) -> None:
        """Save the predictions as CSV or Excel (text cells never become formulas; see core.outputs)."""
        if not self.output_path:
            return
        from ..core.errors import UserInputError
        from ..core.outputs import convert_table

        target = Path(path)
        with open(self.output_path, encoding="utf-8", newline="") as fh:
            header = next(csv.reader(fh), [])
        numeric = [c for c in header if c == "confidence" or c.startswith("prob_")]
        try:
            convert_table(self.output_path, target, numeric_columns=numeric)
        except UserInputError as exc:
            show_error(self, exc.message, exc.describe())
            return
        except OSError as exc:
            show_error(self, f"Could not save {target}: {exc}")
            return
        self.batch_label.setText(f"Exported to {target}")

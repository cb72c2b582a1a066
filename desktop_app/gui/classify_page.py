"""Page 5: classify typed text as you type (debounced) and whole files or folders; export the results."""

from __future__ import annotations

import csv
from pathlib import Path

from PySide6.QtCore import QThread, QTimer, Signal
from PySide6.QtWidgets import (QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPlainTextEdit, QProgressBar,
                               QPushButton, QTableView, QVBoxLayout, QWidget)

from . import workers
from .widgets import RowsModel, hint, show_error

DEBOUNCE_MS = 300
PREVIEW_ROWS = 500


class ClassifyPage(QWidget):
    predict_requested = Signal(int, str)
    load_requested = Signal(str)
    predicted = Signal()
    batch_done = Signal()

    def __init__(self, window):
        super().__init__()
        self.win = window
        self.loaded_path = ""
        self.request_id = 0
        self.last_result: dict | None = None
        self.output_path: str | None = None

        self.run_label = QLabel("")
        self.empty = hint("Train a model (or open a run in the Runs library), then type a text here to classify it.")
        self.text = QPlainTextEdit()
        self.text.setPlaceholderText("Type or paste a text; its class appears as you type.")
        self.text.setMaximumHeight(100)
        self.text.textChanged.connect(self._text_changed)
        self.debounce = QTimer(self)
        self.debounce.setSingleShot(True)
        self.debounce.setInterval(DEBOUNCE_MS)
        self.debounce.timeout.connect(self._send)
        self.answer = QLabel("")
        answer_font = self.answer.font()
        answer_font.setPointSizeF(answer_font.pointSizeF() * 1.5)  # relative: follows the user's font size
        self.answer.setFont(answer_font)
        self.bars_box = QGroupBox("Probability per class")
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
        for b in (self.file_button, self.folder_button, self.cancel_button, self.export_csv_button, self.export_xlsx_button):
            row.addWidget(b)
        row.addStretch(1)
        self.batch_progress = QProgressBar()
        self.batch_label = QLabel("")
        self.batch_label.setWordWrap(True)
        self.preview = QTableView()
        self.preview.setModel(RowsModel())
        bl.addLayout(row)
        bl.addWidget(self.batch_progress)
        bl.addWidget(self.batch_label)
        bl.addWidget(self.preview, 1)

        layout = QVBoxLayout(self)
        layout.addWidget(self.run_label)
        layout.addWidget(self.empty)
        layout.addWidget(self.text)
        layout.addWidget(self.answer)
        layout.addWidget(self.bars_box)
        layout.addWidget(batch_box, 1)

        self.thread = QThread()
        self.thread.setObjectName("classifier")
        self.worker = workers.ClassifierWorker()
        self.worker.moveToThread(self.thread)
        self.predict_requested.connect(self.worker.predict)
        self.load_requested.connect(self.worker.load)
        self.worker.loaded.connect(self._loaded)
        self.worker.prediction.connect(self._prediction)
        self.worker.failed.connect(self._worker_failed)
        self.thread.finished.connect(self.worker.deleteLater)
        self.thread.start()
        self.update_state()

    def shutdown(self) -> None:
        self.debounce.stop()
        if self.thread.isRunning():
            self.thread.quit()
            self.thread.wait()

    def update_state(self) -> None:
        run = self.win.current_run
        busy = self.win.tasks.is_running("predict")
        self.run_label.setText(f"Run: {Path(run).name}" if run else "No run chosen.")
        self.empty.setVisible(not run)
        self.text.setEnabled(bool(run))
        self.file_button.setEnabled(bool(run) and not busy)
        self.folder_button.setEnabled(bool(run) and not busy)
        self.cancel_button.setEnabled(busy)
        self.export_csv_button.setEnabled(bool(self.output_path) and not busy)
        self.export_xlsx_button.setEnabled(bool(self.output_path) and not busy)
        if run and run != self.loaded_path:
            self.loaded_path = run
            self.answer.setText("Loading the model …")
            self.load_requested.emit(run)

    def _loaded(self, path: str, labels: list) -> None:
        for bar in self.bars.values():
            self.bars_form.removeRow(bar)
        self.bars = {}
        for label in labels:
            bar = QProgressBar()
            bar.setRange(0, 1000)
            bar.setFormat("%p%")
            self.bars[label] = bar
            self.bars_form.addRow(label, bar)
        self.answer.setText("Model ready. Type a text above.")
        if self.text.toPlainText().strip():
            self._send()

    def _worker_failed(self, message: str, details: str) -> None:
        self.answer.setText(message)
        show_error(self, message, details)

    def _text_changed(self) -> None:
        self.debounce.start()

    def _send(self) -> None:
        text = self.text.toPlainText().strip()
        if not text or not self.win.current_run:
            return
        self.request_id += 1
        self.predict_requested.emit(self.request_id, text)

    def _prediction(self, request_id: int, text: str, probs: dict) -> None:
        if request_id != self.request_id:
            return  # an older text; a newer one is on its way
        best = max(probs, key=probs.get)
        self.last_result = {"label": best, "probabilities": probs}
        self.answer.setText(f"<b>{best}</b> ({probs[best]:.1%})")
        for label, p in probs.items():
            if label in self.bars:
                self.bars[label].setValue(int(round(p * 1000)))
        self.predicted.emit()

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
        run = self.win.current_run
        if not run:
            return
        src = Path(path)
        out = Path(run) / "predictions" / f"{src.stem or 'folder'}-predictions.csv"
        self.output_path = None
        self.batch_progress.setRange(0, 0)
        self.batch_label.setText(f"Classifying {path} …")
        self.win.tasks.start("predict", workers.predict_file_task, run, str(src), str(out), on_event=self._progress,
                             on_done=self._batch_done, on_failed=self._batch_failed,
                             on_cancelled=lambda: self._batch_ended("Cancelled."))
        self.update_state()

    def _progress(self, ev) -> None:
        if getattr(ev, "kind", "") == "progress":
            if ev.total:
                self.batch_progress.setRange(0, ev.total)
                self.batch_progress.setValue(ev.done)
            self.batch_label.setText(ev.message)

    def _batch_ended(self, text: str) -> None:
        self.batch_progress.setRange(0, 100)
        self.batch_label.setText(text)
        self.update_state()

    def _batch_failed(self, message: str, details: str) -> None:
        self._batch_ended(f"Failed: {message}")
        show_error(self, message, details)

    def _batch_done(self, result: dict) -> None:
        self.output_path = result["out"]
        self.batch_progress.setRange(0, 100)
        self.batch_progress.setValue(100)
        counts = ", ".join(f"{k}: {v}" for k, v in result["counts"].items())
        self.batch_label.setText(f"{result['rows']} documents classified ({counts}). Saved to {result['out']}. "
                                 "Use Export to save a copy elsewhere.")
        with open(self.output_path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            rows = [r for _, r in zip(range(PREVIEW_ROWS), reader)]
            columns = list(reader.fieldnames or [])
        lead = [c for c in ("predicted_label", "confidence", result.get("text_column")) if c in columns]
        self.preview.model().set_rows(rows, lead + [c for c in columns if c not in lead])
        self.preview.resizeColumnsToContents()
        self.update_state()
        self.batch_done.emit()

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

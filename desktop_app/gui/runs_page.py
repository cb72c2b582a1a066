"""The run library: earlier runs with their metrics. Open one to evaluate or classify with it, resume
an interrupted one, shrink one by distillation, or export one (Hugging Face, ONNX, int8)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QHeaderView, QLabel, QMessageBox, QPushButton, QSpinBox,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from ..core.defaults import why_not_shrinkable
from ..core.models import short_name
from ..core.session import in_window_words, percent
from . import workers
from .widgets import JobBar, hint, show_error

STATUS_WORDS = {"finished": "finished", "running": "stopped unexpectedly", "cancelled": "cancelled", "failed": "failed"}

FORMATS = {
    "hf": "Standard model folder (Hugging Face: for Python programs on any computer)",
    "onnx": "Portable model (ONNX: for other programs and languages; checked against the original)",
    "int8": "Small fast model for computers without a GPU (int8 ONNX: smaller, faster, nearly as accurate; runs with onnxruntime alone, no PyTorch)",
}


DATA_COL = 7
NARROW_HIDDEN = (2, 3)  # Created, Model: in the row's tooltip when the window is narrow
METHOD_WORDS = {"fine-tune": "full training", "few-shot": "few examples", "zero-shot": "category names only"}


def learned_words(run) -> str:
    """'few examples', 'full training · several labels · long texts in pieces': a run's method in plain words."""
    if run.kind == "distilled":
        words = ["shrunk from a larger run"]
    else:
        words = [METHOD_WORDS.get(run.method, run.method or "")]
    if run.problem_type == "multi_label_classification":
        words.append("several labels")
    if run.long_documents == "on":
        words.append("long texts in pieces")
    return " · ".join(w for w in words if w)


def model_words(run) -> str:
    """The model a run learned from, by name, never a file path: a shrunk run says what it was shrunk from."""
    text = str(run.model or "")
    shrunk = text.startswith("distilled:")
    if shrunk:
        text = text[len("distilled:"):]
    name = short_name(text) if text else ""
    path = Path(name)
    if path.is_absolute() or "\\" in name or name.startswith("~"):  # a folder that is gone: its name only
        name = path.parent.name if path.name == "model" and path.parent.name else path.name
    return f"smaller copy of {name}" if shrunk and name else name


class RunsPage(QWidget):
    open_run = Signal(str)

    def __init__(self, window):
        super().__init__()
        self.win = window
        self.runs: list = []
        self.last_summary: dict | None = None  # the last distillation or export result
        self.folder_label = QLabel("")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.open_button = QPushButton("Open run")
        self.open_button.setToolTip("Use this run on the Evaluate and Classify pages")
        self.open_button.clicked.connect(self._open_selected)
        self.resume_button = QPushButton("Resume…")
        self.resume_button.setToolTip("Continue an interrupted run from its last checkpoint (with the same data open)")
        self.resume_button.clicked.connect(self.resume_selected)
        self.distill_button = QPushButton("Shrink…")
        self.distill_button.setToolTip("Distill this run into a smaller, faster student with fewer layers")
        self.distill_button.clicked.connect(self.choose_distill)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Write a Hugging Face, ONNX or int8 folder with a model card and a standalone predict.py")
        self.export_button.clicked.connect(self.choose_export)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.job = JobBar(window.tasks, "distill", "export", "estimate")
        top = QHBoxLayout()
        self.folder_label.setWordWrap(True)
        self.folder_label.setMinimumWidth(1)  # a long folder wraps, never widening the page
        top.addStretch(1)
        for b in (self.refresh_button, self.open_button, self.resume_button, self.distill_button, self.export_button,
                  self.cancel_button):
            top.addWidget(b)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.empty = hint("No runs yet. Train a model on the Train page; every run is kept here.")
        self.table = QTableWidget(0, 8)
        self.table.setTextElideMode(Qt.ElideMiddle)  # long run names keep their start and end
        self.table.setHorizontalHeaderLabels(["Run", "Status", "Created", "Model", "How it learned", "Right",
                                              "Balanced score", "Data"])
        self.table.horizontalHeaderItem(4).setToolTip("The learning method (full training = fine-tuning, few examples = "
                                                      "few-shot, category names only = zero-shot), whether each text can "
                                                      "have several labels (multi-label), and whether long texts are read "
                                                      "in pieces. Hover a run to see why the method was chosen.")
        self.table.horizontalHeaderItem(5).setToolTip("Accuracy: share of the validation texts the model got right "
                                                      "(several labels per text: the share with all labels right)")
        self.table.horizontalHeaderItem(6).setToolTip("Macro-F1: the score averaged over the classes, so rare classes count as much")
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(DATA_COL, QHeaderView.Stretch)
        self.table.doubleClicked.connect(self._open_selected)
        self.table.itemSelectionChanged.connect(self.update_buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(self.folder_label)  # a row of its own: the buttons keep their room
        layout.addLayout(top)
        layout.addWidget(self.job)
        layout.addWidget(self.status)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)
        self.update_buttons()

    def set_narrow(self, narrow: bool) -> None:
        """In a narrow window (1024x700 at 200%) the run's date and model go to the tooltips, so the key
        columns (run, status, how it learned, right, balanced score) stay in view."""
        self.narrow = narrow
        for col in NARROW_HIDDEN:
            self.table.setColumnHidden(col, narrow)
        self._fit_key_columns()

    def _fit_key_columns(self) -> None:
        """A long run name is cut in the middle (the whole path is its tooltip) rather than pushing the scores out."""
        if getattr(self, "narrow", False):
            cap = max(120, self.table.viewport().width() // 3)
            if self.table.columnWidth(0) > cap:
                self.table.setColumnWidth(0, cap)

    def refresh(self) -> None:
        from ..core.runs import list_runs

        folder = self.win.store.runs_dir()
        self.folder_label.setText(f"Runs in {folder}")
        chosen = self.selected()  # kept by folder, not by row: a new run enters at the top
        self.runs = list_runs(folder)
        self.table.setRowCount(len(self.runs))
        for r, run in enumerate(self.runs):
            m = run.final_metrics
            status = STATUS_WORDS.get(run.status, run.status) + (" (can resume)" if run.resumable else "")
            if self.win.tasks.is_running("train") and self.win.train_page.run_dir and \
                    Path(run.path) == Path(self.win.train_page.run_dir):
                status = "training now"
            values = [run.name, status, run.created.replace("T", " "), model_words(run), learned_words(run),
                      percent(m["accuracy"]) if isinstance(m.get("accuracy"), (int, float)) else "",
                      percent(m["macro_f1"]) if isinstance(m.get("macro_f1"), (int, float)) else "",
                      Path(run.data_source).name if run.data_source else ""]
            for c, v in enumerate(values):
                item = QTableWidgetItem(v)
                tip = f"{run.path}\ndata: {run.data_source}" if c == DATA_COL else f"{run.path}\ncreated {values[2]} · model {values[3]}"
                if c == 4 and run.method_reason:
                    tip = f"Why: {in_window_words(run.method_reason)}"
                item.setToolTip(tip)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(DATA_COL, QHeaderView.Stretch)
        self._fit_key_columns()
        self.empty.setVisible(not self.runs)
        current = self._current_run_row()
        again = [i for i, run in enumerate(self.runs) if chosen is not None and run.path == chosen.path]
        if current is not None and self.win.session.run != getattr(self, "_highlighted_current", None):
            self._highlighted_current = self.win.session.run  # a new current run (just trained or opened) is highlighted
            self.table.selectRow(current)
        elif again:
            self.table.selectRow(again[0])
        elif self.runs and not self.table.selectionModel().selectedRows():
            self.table.selectRow(0)
        self.update_buttons()

    def _current_run_row(self) -> int | None:
        """The row of the session's current run (shown in bold), None when it is not in the library."""
        run = self.win.session.run
        if not run:
            return None
        rows = [i for i, r in enumerate(self.runs) if Path(r.path) == Path(run)]
        return rows[0] if rows else None

    def _mark_current(self) -> None:
        current = self._current_run_row()
        for r in range(self.table.rowCount()):
            item = self.table.item(r, 0)
            if item is not None and item.font().bold() != (r == current):
                font = item.font()
                font.setBold(r == current)
                item.setFont(font)

    def selected(self):
        rows = self.table.selectionModel().selectedRows()
        return self.runs[rows[0].row()] if rows and rows[0].row() < len(self.runs) else None

    def busy(self) -> bool:
        return self.win.tasks.is_running("distill") or self.win.tasks.is_running("export")

    def update_buttons(self) -> None:
        """From the selection and the jobs' state: called on every selection change and every job change (and on
        every session change: a new current run, just trained or opened, becomes the highlighted row)."""
        current = self._current_run_row()
        if current is not None and self.win.session.run != getattr(self, "_highlighted_current", None):
            self._highlighted_current = self.win.session.run
            self.table.selectRow(current)  # calls update_buttons again, now with this row
            return
        self._mark_current()
        run = self.selected()
        busy = self.busy()
        finished = run is not None and run.status == "finished"
        self.open_button.setEnabled(finished)
        self.resume_button.setEnabled(run is not None and run.resumable and not self.win.tasks.is_running("train"))
        refusal = why_not_shrinkable(run.method) if run is not None else None
        self.distill_button.setEnabled(finished and not busy and refusal is None)
        self.distill_button.setToolTip(refusal or "Distill this run into a smaller, faster student with fewer layers")
        self.export_button.setEnabled(finished and not busy)
        states = [self.win.tasks.state(k) for k in ("distill", "export")]
        self.cancel_button.setVisible(busy)
        self.cancel_button.setEnabled(any(s is not None and s.status == "running" for s in states))

    def _open_selected(self, *_):
        run = self.selected()
        if run is not None and run.status == "finished":
            self.open_run.emit(run.path)

    # -- resume ----------------------------------------------------------------------------------
    def resume_selected(self) -> None:
        run = self.selected()
        if run is None or not run.resumable:
            return
        if run.kind == "distilled":  # a shrink that was stopped: the distillation continues from its checkpoint
            self._resume_distill(run)
            return
        self.win.resume_run(run.path, run.data_source)

    def _resume_distill(self, run) -> None:
        data = self.win.training_data()
        if data is None or self.busy():
            QMessageBox.information(self, "Open the training data", "To continue shrinking, open "
                                    f"{run.data_source or 'the data the original model was trained on'} on the Data page first.")
            return
        self.win.tasks.start("distill", workers.distill_task, run.teacher, data, None, run.path, 3.0, resume=True,
                             on_done=self._distilled, on_failed=self._failed, on_cancelled=self._shrink_stopped,
                             description=f"Continuing to shrink {run.name}")
        self.update_buttons()

    def _shrink_stopped(self) -> None:
        self._ended("Shrinking stopped. If it had begun learning, select the new run and press Resume to continue it.")

    # -- shrink (distillation) -------------------------------------------------------------------
    def choose_distill(self) -> None:
        run = self.selected()
        if run is None:
            return
        if self.win.training_data() is None:
            QMessageBox.information(self, "Open the training data", "Distillation trains the student on the teacher's data: "
                                    f"open {run.data_source or 'the data this run was trained on'} on the Data page first.")
            return
        dialog, layers, epochs, show = self.distill_dialog(run)
        accepted = dialog.exec() == QDialog.Accepted
        self.win.session_signals.changed.disconnect(show)
        self.win.tasks.stop("estimate")  # measured already, or no longer wanted
        if accepted:
            self.distill_selected(layers.value(), epochs.value())

    def distill_dialog(self, run):
        """The Shrink dialog for ``run`` (not shown yet), with what to expect measured in the background:
        (dialog, layers box, passes box, the redraw to disconnect from the session's notices when done)."""
        from ..core.distill import teacher_layers

        n = teacher_layers(run.path)
        self.estimate_selected()
        dialog = QDialog(self)
        dialog.setWindowTitle(f"Shrink {run.name}")
        form = QFormLayout(dialog)
        intro = QLabel(f"The smaller model starts as a copy of this one with fewer of its {n} layers (every other one by "
                       "default, as DistilBERT did), then learns from this model's answers and the true labels.")
        intro.setWordWrap(True)
        form.addRow(intro)
        layers = QSpinBox()
        layers.setRange(1, max(1, n - 1))
        layers.setValue(max(1, n // 2))
        layers.setToolTip("Student layers: fewer layers are faster and smaller, usually a little less accurate")
        epochs = QDoubleSpinBox()
        epochs.setRange(0.5, 50)
        epochs.setValue(3)
        epochs.setToolTip("Epochs: how many times the smaller model reads all training texts")
        form.addRow("Layers to keep", layers)
        form.addRow("Passes over the texts", epochs)
        expect = QLabel("")
        expect.setWordWrap(True)
        expect.setMinimumWidth(self.fontMetrics().horizontalAdvance("M") * 40)
        intro.setMinimumWidth(expect.minimumWidth())

        def show(*_):
            expect.setText("<b>What to expect:</b> " + self.expectation(run.path, layers.value()))
            dialog.adjustSize()  # the estimate is longer than "measuring …": nothing is cut

        layers.valueChanged.connect(show)
        self.win.session_signals.changed.connect(show)
        show()
        form.addRow(expect)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Shrink")
        buttons.accepted.connect(dialog.accept)
        buttons.rejected.connect(dialog.reject)
        form.addRow(buttons)
        dialog.expect_label = expect
        return dialog, layers, epochs, show

    def estimate_selected(self) -> None:
        """Measure, in the background, what shrinking the selected run would give (unless measured already)."""
        run, data = self.selected(), self.win.training_data()
        if run is None or data is None or self.win.session.current_shrink_estimate(run.path) is not None:
            return
        self.win.tasks.start("estimate", workers.shrink_estimate_task, run.path, list(data.texts),
                             str(self.win.store.runs_dir()), on_done=self._estimated,
                             description="Measuring smaller versions of this model")

    def _estimated(self, estimate: dict | None) -> None:
        if estimate is not None:
            self.win.session.set_shrink_estimate(estimate)

    def expectation(self, run_dir: str, layers: int) -> str:
        """The estimate for ``layers`` in words (how it was made included), or what is being measured."""
        from ..core.compare import shrink_expectation

        estimate = self.win.session.current_shrink_estimate(run_dir)
        if estimate is None or layers not in estimate["options"]:
            return ("measuring the speed of the smaller model on your texts … (accuracy comes from earlier shrinks, "
                    "if any)")
        return shrink_expectation(estimate, layers)

    def distill_selected(self, layers: int, epochs: float = 3.0) -> None:
        from ..core.runs import new_run_dir

        run, data = self.selected(), self.win.training_data()
        if run is None or data is None or self.busy():
            return
        out = new_run_dir(self.win.store.runs_dir(), f"{short_name(run.model)}-{layers}layers")
        self.status.setText("")
        self.win.tasks.start("distill", workers.distill_task, run.path, data, layers, str(out), epochs,
                             on_done=self._distilled, on_failed=self._failed,
                             on_cancelled=self._shrink_stopped,
                             description=f"Shrinking {run.name} to {layers} layers")
        self.update_buttons()

    def _distilled(self, record: dict) -> None:
        d = record["distillation"]
        self.last_summary = d
        self._ended(f"The smaller model ({d['student_layers']} of {d['teacher_layers']} layers) gets "
                    f"{percent(d['student_accuracy'])} right, the original {percent(d['teacher_accuracy'])}; it is "
                    f"{d['speedup']:.1f} times as fast on the CPU and takes {megabytes(d['student_size_mb'])} instead of "
                    f"{megabytes(d['teacher_size_mb'])}. It is in the list as a new run.")
        self.win.session.set_shrink_estimate(None)  # a new measured shrink: the next estimate uses it
        self.win.model_page.refresh()

    # -- export ----------------------------------------------------------------------------------
    def choose_export(self) -> None:
        run = self.selected()
        if run is None:
            return
        dialog = QDialog(self)
        dialog.setWindowTitle(f"Export {run.name}")
        form = QFormLayout(dialog)
        fmt = QComboBox()
        for key, text in FORMATS.items():
            fmt.addItem(text, key)
        form.addRow("Format", fmt)
        form.addRow(QLabel("The folder also gets a model card (README.md) and a standalone predict.py."))
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(dialog.accept)
        buttons.rejected.connect(dialog.reject)
        form.addRow(buttons)
        if dialog.exec() != QDialog.Accepted:
            return
        key = fmt.currentData()
        out = self.ask_export_folder(run, key)
        if out:
            self.win.store.set("last_export_dir", str(Path(out).parent))
            self.export_selected(key, out)

    def ask_export_folder(self, run, key: str) -> str:
        """The folder to export into, typed or picked: a new name is welcome (it is made), unlike a folder
        chooser that answers "Directory not found" to a folder that does not exist yet."""
        start = Path(self.win.store.get("last_export_dir", str(Path.home()))) / f"{Path(run.path).name}-{key}"
        path, _ = QFileDialog.getSaveFileName(self, "Export to a folder (type a new folder's name, or pick an empty one)",
                                              str(start), "Folders (*)")
        return path

    def export_selected(self, fmt: str, out_dir: str) -> None:
        run = self.selected()
        if run is None or self.busy():
            return
        if Path(out_dir).exists() and any(Path(out_dir).iterdir()):
            show_error(self, f"{out_dir} already exists and is not empty.", "Choose another folder, or delete that one first.")
            return
        self.status.setText("")
        made = Path(out_dir)  # the outermost folder this export makes: removed again if it stays empty
        while not made.parent.exists() and made.parent != made.parent.parent:
            made = made.parent
        made = None if made.exists() else made
        self.win.tasks.start("export", workers.export_task, run.path, fmt, out_dir, self.win.training_data(),
                             on_done=self._exported, on_failed=lambda m, d: self._export_failed(m, d, out_dir, made),
                             on_cancelled=lambda: self._export_cancelled(out_dir, made),
                             description=f"Exporting {run.name} to {out_dir}")
        self.update_buttons()

    @staticmethod
    def _remove_empty(out_dir: str, made: Path | None) -> None:
        """Folders this export made and left empty go again (only empty ones: nothing of the user's is touched)."""
        if made is None:
            return
        folder = Path(out_dir)
        while True:
            try:
                folder.rmdir()  # only when empty
            except OSError:
                return
            if folder == made:
                return
            folder = folder.parent

    def _export_cancelled(self, out_dir: str, made: Path | None) -> None:
        self._remove_empty(out_dir, made)
        self._ended("Export cancelled; nothing was written.")

    def _export_failed(self, message: str, details: str, out_dir: str, made: Path | None) -> None:
        self._remove_empty(out_dir, made)
        self._failed(message, details)

    def _exported(self, summary: dict) -> None:
        self.last_summary = summary
        text = f"Exported to {summary['out_dir']}."
        check = summary.get("onnx") or {}
        if check.get("max_abs_diff") is not None:
            text += " The portable model gives the same answers as the original (checked)."
        q = summary.get("int8")
        if q:
            text += (f" The small model is {q['speedup']:.1f} times as fast and takes {megabytes(q['int8_size_mb'])} "
                     f"instead of {megabytes(q['fp32_size_mb'])}")
            if q.get("accuracy_change") is not None:
                text += f"; it gets {abs(q['accuracy_change']) * 100:.1f} points {'more' if q['accuracy_change'] > 0 else 'less'} right"
            text += "."
        self._ended(text)

    # -- shared ----------------------------------------------------------------------------------
    def cancel(self) -> None:
        self.win.tasks.stop("distill")
        self.win.tasks.stop("export")

    def _failed(self, message: str, details: str) -> None:
        self._ended(f"Failed: {message}")
        show_error(self, message, details)

    def _ended(self, message: str) -> None:
        self.status.setText(message)
        self.refresh()


def megabytes(mb: float) -> str:
    return f"{mb:.0f} MB" if mb >= 10 else f"{mb:.1f} MB"

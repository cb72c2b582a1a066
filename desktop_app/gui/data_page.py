"""Page 1: open a labeled file, preview it, pick columns, validate and fix, see the classes and lengths."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QPushButton, QSplitter, QTableView, QToolButton, QMenu, QVBoxLayout,
                               QWidget)

from . import workers
from ..core.session import LENGTHS, MODEL, SETTINGS, TokenLengths, percent, plural
from .widgets import TableModel, hint, plot_widget, show_error

FILE_FILTER = "Data files (*.csv *.tsv *.jsonl *.xlsx *.txt);;All files (*)"
SEVERITY_ICON = {"error": "⛔", "warning": "⚠", "info": "ℹ"}


class DataPage(QWidget):
    data_changed = Signal()  # labeled data (re)built

    def __init__(self, window):
        super().__init__()
        self.win = window
        self.table = None
        self.opening = ""  # the file being opened (or last opened)
        self.labeled = None
        self.report = None
        self.fixes_applied: list[str] = []

        top = QHBoxLayout()
        self.open_button = QPushButton("Open file…")
        self.open_button.setToolTip("Open a CSV, TSV, JSONL, Excel or text file with one text and one label per row (Ctrl+O)")
        self.open_button.clicked.connect(self.choose_file)
        self.sample_button = QPushButton("Open sample data")
        self.sample_button.clicked.connect(self.open_sample)
        self.recent_button = QToolButton()
        self.recent_button.setText("Recent")
        self.recent_button.setPopupMode(QToolButton.InstantPopup)
        self.recent_menu = QMenu(self)
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self.recent_button.setMenu(self.recent_menu)
        self.path_label = QLabel("No file open.")
        self.path_label.setMinimumWidth(1)  # a long name is cut here, never widening the page (full name: tooltip)
        self.path_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        for w in (self.open_button, self.sample_button, self.recent_button):
            top.addWidget(w)
        top.addWidget(self.path_label, 1)
        self.sheet_label = QLabel("Sheet:")
        self.sheet_box = QComboBox()  # an Excel workbook with several sheets: which one holds the table
        self.sheet_box.setToolTip("This workbook has several sheets: choose the one that holds your table")
        self.sheet_box.activated.connect(self._sheet_chosen)
        for w in (self.sheet_label, self.sheet_box):
            w.setVisible(False)
            top.addWidget(w)

        self.empty = hint("Open a file with your labeled examples (or drop it on this window): "
                          "one column with the text and one with its label. Try the sample data to see how it works.")

        columns = QFormLayout()
        self.text_combo = QComboBox()
        self.text_combo.setToolTip("The column that holds the text to classify")
        self.label_combo = QComboBox()
        self.label_combo.setToolTip("The column that holds the correct label of each text")
        self.text_combo.currentTextChanged.connect(self._columns_changed)
        self.label_combo.currentTextChanged.connect(self._columns_changed)
        self.guess_label = QLabel()
        self.guess_label.setWordWrap(True)
        columns.addRow("Text column:", self.text_combo)
        columns.addRow("Label column:", self.label_combo)
        columns.addRow(self.guess_label)
        # several labels per text: a banner when the file looks like it, and the switch
        self.multi_banner = QLabel("")
        self.multi_banner.setWordWrap(True)
        self.multi_check = QCheckBox("Several labels per text")
        self.multi_check.setToolTip("Multi-label: each text can have several labels (joined in one cell, like "
                                    "“sport;money”, or as 0/1 columns). The model learns a yes/no answer per label.")
        self.multi_check.toggled.connect(self._multi_toggled)
        self.multi_banner.setVisible(False)
        self.multi_check.setVisible(False)
        columns.addRow(self.multi_banner)
        columns.addRow(self.multi_check)
        self.multi_label = False
        self.label_columns: list[str] = []  # 0/1 label columns (multi-label without a label column)

        self.preview = QTableView()
        self.preview.setModel(TableModel())
        self.preview.verticalHeader().setDefaultSectionSize(22)
        self.preview.setWordWrap(False)

        report_box = QGroupBox("Checks")
        rl = QVBoxLayout(report_box)
        self.summary_label = QLabel("")
        self.summary_label.setWordWrap(True)
        self.findings = QListWidget()
        self.findings.setWordWrap(True)
        self.fix_button = QPushButton("Apply safe fixes")
        self.fix_button.setToolTip("Merge label spellings that differ only in case or spaces, drop repeated rows, "
                                   "leave out rows without text or label. Your file is not changed.")
        self.fix_button.clicked.connect(self.apply_safe_fixes)
        self.fix_button.setEnabled(False)
        self.label_these_button = QPushButton("Label these texts…")
        self.label_these_button.setToolTip("Opens this file on the Label page: label the texts with the keyboard while "
                                           "the app suggests a label for each, or make a model from the category names.")
        self.label_these_button.clicked.connect(self.label_these_texts)
        self.label_these_button.setVisible(False)
        rl.addWidget(self.summary_label)
        rl.addWidget(self.label_these_button)
        rl.addWidget(self.findings, 1)
        rl.addWidget(self.fix_button)

        self.class_plot = plot_widget("Examples per class", "examples", "")
        self.length_plot = plot_widget("Text length", "texts", "length in tokens (pieces of words)")
        self.length_label = QLabel("")
        self.length_label.setWordWrap(True)

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addLayout(columns)
        ll.addWidget(self.preview, 1)
        right = QWidget()
        rr = QVBoxLayout(right)
        rr.setContentsMargins(0, 0, 0, 0)
        rr.addWidget(report_box, 2)
        rr.addWidget(self.class_plot, 2)
        rr.addWidget(self.length_plot, 2)
        rr.addWidget(self.length_label)
        self.splitter = QSplitter(Qt.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.empty)
        layout.addWidget(self.splitter, 1)
        self.splitter.setVisible(False)
        window.session_signals.changed.connect(self._session_changed)

    def set_narrow(self, narrow: bool) -> None:
        """Preview above the checks and charts in a narrow window (the window calls this on resize)."""
        self.splitter.setOrientation(Qt.Vertical if narrow else Qt.Horizontal)
        lines = self.fontMetrics().height()
        self.preview.setMinimumHeight(lines * 12 if narrow else 0)
        for plot in (self.class_plot, self.length_plot):
            plot.setMinimumHeight(lines * 14 if narrow else 0)

    def _session_changed(self, change: str) -> None:
        if change == MODEL:
            self.request_lengths()
        elif change == LENGTHS:
            self.draw_lengths()
            if self.lengths is not None:
                self.run_checks()  # the checks that need token lengths (texts that will be cut)
        elif change == SETTINGS and self.lengths:
            self.draw_lengths()

    @property
    def lengths(self) -> tuple | None:
        """The open data's token lengths (from the session: measured by the engine's tokenizing pass)."""
        measured = self.win.session.current_lengths()
        return measured.lengths if measured is not None else None

    @property
    def model_max(self) -> int:
        measured = self.win.session.current_lengths()
        return measured.model_max if measured is not None else 512

    # -- opening ---------------------------------------------------------------------------------
    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.win.store.recent_files()
        if not recent:
            self.recent_menu.addAction("(no recent files)").setEnabled(False)
        for path in recent:
            self.recent_menu.addAction(path, lambda p=path: self.open_path(p))

    def choose_file(self) -> None:
        start = self.win.store.get("last_open_dir", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self, "Open labeled data", start, FILE_FILTER)
        if path:
            self.open_path(path)

    def open_sample(self) -> None:
        from ..core.resources import sample_training_file

        self.open_path(str(sample_training_file()))

    def open_path(self, path: str, sheet: str | None = None) -> None:
        self.opening = str(path)
        self.path_label.setText(f"Reading {path} …")
        self.win.tasks.start("load", workers.load_table_task, str(path), sheet, on_done=lambda r, p=str(path): self._loaded(p, r),
                             on_failed=self._load_failed, description=f"Opening {Path(path).name}")

    def _sheet_chosen(self, index: int) -> None:
        sheet = self.sheet_box.itemText(index)
        if sheet and (self.table is None or sheet != self.table.sheet or str(self.table.path) != self.opening):
            self.open_path(self.opening, sheet)

    def _show_sheets(self, sheets: list[str], current: str | None) -> None:
        several = len(sheets) > 1
        self.sheet_box.blockSignals(True)
        self.sheet_box.clear()
        self.sheet_box.addItems(list(sheets) if several else [])
        if several:
            self.sheet_box.setCurrentText(current or "")
        self.sheet_box.blockSignals(False)
        self.sheet_label.setVisible(several)
        self.sheet_box.setVisible(several)

    def update_buttons(self) -> None:
        """Buttons from the jobs' state (called whenever a job starts, reports or ends)."""
        loading = self.win.tasks.is_running("load")
        self.open_button.setEnabled(not loading)
        self.sample_button.setEnabled(not loading)
        self.fix_button.setEnabled(bool(self.safe_fix_ids()) and not self.win.tasks.is_running("check"))

    def _load_failed(self, message: str, details: str) -> None:
        from ..core.data import sheet_names

        self.path_label.setText("No file open." if self.table is None else str(self.table.path))
        sheets = sheet_names(self.opening)  # a workbook whose first sheet is no table: let the user pick another
        if len(sheets) > 1:
            self._show_sheets(sheets, None)
            message += " Choose another sheet in the Sheet list above."
        show_error(self, message, details)

    def _loaded(self, path: str, result) -> None:
        table, guess = result
        self.table = table
        self.fixes_applied = []
        self.labeled = self.report = None
        self.win.store.add_recent(path)
        self.win.store.set("last_open_dir", str(Path(path).parent))
        self.path_label.setText(f"{Path(path).name}  ({plural(table.n_rows, 'row')}, {table.format})")
        self.path_label.setToolTip(str(path))  # the name only on the page: a long folder must not widen it
        self._show_sheets(table.sheets, table.sheet)
        self.preview.model().set_table(table)
        self.preview.resizeColumnsToContents()
        for i in range(len(table.columns)):
            self.preview.setColumnWidth(i, min(self.preview.columnWidth(i), 320))
        self.empty.setVisible(False)
        self.splitter.setVisible(True)
        for combo, value in ((self.text_combo, guess.text), (self.label_combo, guess.label)):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(table.columns)
            if value:
                combo.setCurrentText(value)
            else:
                combo.setCurrentIndex(-1)
            combo.blockSignals(False)
        self.guess_label.setText(guess.reason)
        self._decide_multi_label(first=True)
        self._columns_changed()

    # -- several labels per text ---------------------------------------------------------------
    def _decide_multi_label(self, first: bool = False) -> None:
        """The banner from ``session.multi_label_hint``; a label column of joined labels is read as label sets
        at once (as the command line does), 0/1 columns only when the user says so."""
        from ..core.data import detect_separator, guess_label_columns
        from ..core.session import multi_label_hint

        text, label = self.text_combo.currentText() or None, self.label_combo.currentText() or None
        hint_text = multi_label_hint(self.table, text, label) if self.table is not None else None
        separated = bool(label and self.table is not None and label in self.table.data
                         and detect_separator(self.table.data[label]) is not None)
        self.label_columns = [] if separated or self.table is None else guess_label_columns(self.table, text)
        if first or hint_text is None:
            self.multi_label = separated
        self.multi_check.blockSignals(True)
        self.multi_check.setChecked(self.multi_label)
        self.multi_check.blockSignals(False)
        shown = bool(hint_text) or self.multi_label
        self.multi_check.setVisible(shown)
        self.multi_banner.setVisible(shown)
        if self.multi_label:
            how = (f"the 0/1 columns {', '.join(self.label_columns[:8])}" if self.label_columns and not separated
                   else f"the column “{label}”, split into labels")
            self.multi_banner.setText(f"<b>Several labels per text</b>: the labels come from {how}. "
                                      "Untick the box to read one label per text.")
        else:
            self.multi_banner.setText(f"<b>{hint_text}</b> Tick the box to use several labels per text."
                                      if hint_text else "")

    def _multi_toggled(self, on: bool) -> None:
        self.multi_label = bool(on)
        self._decide_multi_label()
        self._columns_changed(keep_multi=True)

    # -- columns, checks, fixes ------------------------------------------------------------------
    def _columns_changed(self, *_, keep_multi: bool = False):
        if self.table is None:
            return
        if not keep_multi:
            self._decide_multi_label(first=True)
        text, label = self.text_combo.currentText(), self.label_combo.currentText()
        self.labeled = self.report = None
        self.fixes_applied = []
        self._arrange_columns()
        no_labels = bool(text) and not label and not self.label_columns  # no column was taken for labels
        self.label_these_button.setVisible(no_labels)
        if not text or not label:
            self.summary_label.setText(
                "This file has no label column yet. Label its texts on the Label page (the app suggests a label for "
                "each and learns as you go), or make a model from the category names there."
                if no_labels else "Pick the text column and the label column.")
            self.findings.clear()
            self.win.session.set_data(None)
            return
        self.run_checks()

    def label_these_texts(self) -> None:
        """The open file on the Label page."""
        if self.table is None:
            return
        self.win.show_page(self.win.label_page)
        self.win.label_page.open_file(str(self.table.path))

    def _arrange_columns(self) -> None:
        """The label column first, then the text: both stay in view however wide the table is."""
        if self.table is None:
            return
        header = self.preview.horizontalHeader()
        for position, name in enumerate((self.label_combo.currentText(), self.text_combo.currentText())):
            if name in self.table.columns:
                header.moveSection(header.visualIndex(self.table.columns.index(name)), position)

    def run_checks(self) -> None:
        """Build the examples from the chosen columns (with the fixes applied so far) and check them, off the GUI thread."""
        if self.table is None:
            return
        text, label = self.text_combo.currentText(), self.label_combo.currentText()
        if not text or not label:
            return
        self.summary_label.setText("Checking the data …")
        measured = self.win.session.current_lengths()
        self.win.tasks.start("check", workers.check_task, self.table, text, label, list(self.fixes_applied),
                             measured.lengths if measured else None, measured.data_fingerprint if measured else None,
                             self.max_length(), self.multi_label, list(self.label_columns) if self.multi_label else None,
                             on_done=self._checked, on_failed=self._check_failed,
                             on_cancelled=lambda: self.summary_label.setText(
                                 "Checking was stopped. Choose the columns again, or open the file again, to check it."),
                             description="Checking the data")

    def _check_failed(self, message: str, details: str) -> None:
        self.summary_label.setText(message if not details else details)
        self.findings.clear()
        self.win.session.set_data(None)

    def _checked(self, result: dict) -> None:
        from ..core.session import OpenData

        if self.table is None or result["columns"] != (self.text_combo.currentText(), self.label_combo.currentText()) \
                or result.get("multi_label", False) != self.multi_label:
            return  # the user picked other columns meanwhile; their check is on its way
        self.labeled, self.report = result["labeled"], result["report"]
        self.show_report()
        self.win.session.set_data(OpenData(self.labeled, self.report, str(self.table.path), result["fingerprint"],
                                           self.table.n_rows, tuple(result["fixes"])))
        if self.lengths is None or len(self.lengths) != len(self.labeled):
            self.request_lengths()

    def show_report(self) -> None:
        report = self.report
        n_err, n_warn = len(report.errors), len(report.warnings)
        text = f"{plural(report.n_usable, 'example')} to train on, {plural(len(report.class_counts), 'class', 'classes')}. "
        if self.table is not None and report.n_usable != self.table.n_rows:
            text += f"({plural(self.table.n_rows, 'row')} in the file; the others are left out as listed below.) "
        text += "No problems found." if not report.findings else f"{plural(n_err, 'error')}, {plural(n_warn, 'warning')}."
        if self.fixes_applied:
            text += f" Fixes applied: {', '.join(f.replace('_', ' ') for f in self.fixes_applied)}."
        if not report.can_train:
            text += " Training is blocked until the errors are fixed."
        self.summary_label.setText(text)
        if self.table is not None:
            rows = f"{plural(self.table.n_rows, 'row')} in the file"
            kept = f", {plural(len(self.labeled), 'example')} after the fixes" if self.fixes_applied else ""
            self.path_label.setText(f"{Path(self.table.path).name}  ({rows}{kept}, {self.table.format})")
        self.findings.clear()
        n_texts = len(self.labeled) if getattr(self, "labeled", None) is not None else 0
        for f in report.findings:
            lines = [f"{SEVERITY_ICON.get(f.severity, '')} {shares_agree(f.message, n_texts)}"]
            if f.where:
                lines.append(f"Where: {f.where}")
            if f.fix:
                lines.append(f"Fix: {f.fix}" + ("  (safe fix available)" if f.fix_id else ""))
            item = QListWidgetItem("\n".join(lines))
            item.setData(Qt.UserRole, f.fix_id)
            self.findings.addItem(item)
        if not report.findings:
            self.findings.addItem("✓ No problems found: the data is ready for training.")
        self.update_buttons()
        self._draw_classes()

    def safe_fix_ids(self) -> list[str]:
        if self.report is None:
            return []
        return sorted({f.fix_id for f in self.report.findings if f.fix_id and f.fix_id not in self.fixes_applied})

    def apply_safe_fixes(self) -> None:
        ids = self.safe_fix_ids()
        if not ids or self.labeled is None:
            return
        self.fixes_applied += ids
        self.run_checks()

    # -- charts ----------------------------------------------------------------------------------
    def _draw_classes(self) -> None:
        import pyqtgraph as pg

        self.class_plot.clear()
        counts = self.report.class_counts if self.report else {}
        if not counts:
            return
        labels = list(counts)
        x = np.arange(len(labels))
        self.class_plot.addItem(pg.BarGraphItem(x=x, height=[counts[l] for l in labels], width=0.7, brush="#4c78a8"))
        self.class_plot.getAxis("bottom").setTicks([[(i, l if len(l) < 18 else l[:16] + "…") for i, l in enumerate(labels)]])

    def max_length(self) -> int | None:
        settings = self.win.session.settings
        if settings.max_length:
            return int(settings.max_length)
        if self.lengths:
            from ..core.defaults import max_length_for

            return max_length_for(self.lengths, self.model_max)[0]
        return None

    def request_lengths(self) -> None:
        model = self.win.model_path()
        if self.labeled is None or not model:
            self.length_label.setText("Pick a model on the Model page to measure the text lengths in tokens."
                                      if self.labeled is not None else "")
            return
        data = self.win.session.data
        if data is None or data.labeled is not self.labeled:
            return  # the checks of the new columns come first; they ask again
        if self.lengths is not None:
            return
        self.length_label.setText("Measuring text lengths with the model's tokenizer …")
        self.win.tasks.start("lengths", workers.token_lengths_task, model, list(self.labeled.texts),
                             on_done=lambda r, fp=data.fingerprint: self._lengths_done(fp, r),
                             on_failed=lambda m, d: self.length_label.setText(m),
                             on_cancelled=lambda: self.length_label.setText(
                                 "Measuring the text lengths was stopped; it starts again when you pick a model."),
                             description="Measuring text lengths with the model's tokenizer")

    def _lengths_done(self, fingerprint: str, result: dict | None) -> None:
        if result is None:
            return
        # refused (and never drawn) when the data or the model changed while it measured
        self.win.session.set_lengths(TokenLengths(result["model"], fingerprint, tuple(result["lengths"]), result["model_max"]))

    def draw_lengths(self) -> None:
        import pyqtgraph as pg

        self.length_plot.clear()
        if not self.lengths:
            return
        values = np.asarray(self.lengths)
        hist, edges = np.histogram(values, bins=min(50, max(5, len(np.unique(values)))))
        self.length_plot.addItem(pg.BarGraphItem(x0=edges[:-1], x1=edges[1:], height=hist, brush="#72b7b2"))
        ml = self.max_length()
        if ml:
            line = pg.InfiniteLine(pos=ml, angle=90, pen=pg.mkPen("#e45756", width=2), label=f"cut at {ml}",
                                   labelOpts={"position": 0.9, "color": "#e45756"})
            self.length_plot.addItem(line)
            from ..core.long_documents import length_report

            report = length_report([int(v) for v in values], ml, self.model_max)
            n_cut = report.over_max_length
            mode = self.win.session.long_documents
            pieces = mode == "on" or (mode == "auto" and report.long_documents)
            head = (f"Texts are read in pieces of words (tokens): half of them have up to {int(np.median(values))}, "
                    f"the longest {int(values.max())}. The model reads {ml} at a time, so ")
            if not n_cut:
                tail = "no text will be cut short."
            elif pieces:
                tail = (f"{plural(n_cut, 'text')} ({percent(n_cut / len(values))}) are longer: they will be read whole, "
                        "in overlapping pieces (slower: one pass per piece).")
            else:
                tail = (f"{plural(n_cut, 'text')} ({percent(n_cut / len(values))}) will be cut short"
                        + (f" ({plural(report.over_model_max, 'text')} are longer than the {report.model_max} tokens this "
                           "model can read at all)" if report.over_model_max else "")
                        + ". To read them whole, set “Long texts: read in pieces” to On (Model page → Advanced settings).")
            self.length_label.setText(head + tail)
            self.length_label.setToolTip("Max length (tokens): Model page → Advanced settings. " + report.message)


_SHARE_OF_TEXTS = re.compile(r"\b\d+% of the texts \(([\d,]+)\)")


def shares_agree(message: str, n_texts: int) -> str:
    """A finding's share said as everywhere on the page (session.percent): "0% of the texts (1)" of 500
    becomes "0.2% of the texts (1)", as the length chart's words say it."""
    from ..core.session import percent

    if n_texts <= 0:
        return message
    return _SHARE_OF_TEXTS.sub(lambda m: f"{percent(int(m.group(1).replace(',', '')) / n_texts)} of the texts ({m.group(1)})",
                               message)

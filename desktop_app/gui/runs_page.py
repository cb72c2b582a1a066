"""The run library: earlier runs with their metrics; open one to evaluate or classify with it."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from .widgets import hint


class RunsPage(QWidget):
    open_run = Signal(str)

    def __init__(self, window):
        super().__init__()
        self.win = window
        self.runs: list = []
        self.folder_label = QLabel("")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.open_button = QPushButton("Open run")
        self.open_button.setToolTip("Use this run on the Evaluate and Classify pages")
        self.open_button.clicked.connect(self._open_selected)
        top = QHBoxLayout()
        top.addWidget(self.folder_label, 1)
        top.addWidget(self.refresh_button)
        top.addWidget(self.open_button)
        self.empty = hint("No runs yet. Train a model on the Train page; every run is kept here.")
        self.table = QTableWidget(0, 7)
        self.table.setHorizontalHeaderLabels(["Run", "Status", "Created", "Model", "Accuracy", "Macro-F1", "Data"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(6, QHeaderView.Stretch)
        self.table.doubleClicked.connect(self._open_selected)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)

    def refresh(self) -> None:
        from ..core.runs import list_runs

        folder = self.win.store.runs_dir()
        self.folder_label.setText(f"Runs in {folder}")
        self.runs = list_runs(folder)
        self.table.setRowCount(len(self.runs))
        for r, run in enumerate(self.runs):
            m = run.final_metrics
            values = [run.name, run.status, run.created.replace("T", " "), run.model,
                      f"{m['accuracy']:.3f}" if isinstance(m.get("accuracy"), (int, float)) else "",
                      f"{m['macro_f1']:.3f}" if isinstance(m.get("macro_f1"), (int, float)) else "", run.data_source]
            for c, v in enumerate(values):
                item = QTableWidgetItem(v)
                item.setToolTip(run.path)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(6, QHeaderView.Stretch)
        self.empty.setVisible(not self.runs)
        self.open_button.setEnabled(bool(self.runs))

    def _open_selected(self, *_):
        rows = self.table.selectionModel().selectedRows()
        if rows:
            run = self.runs[rows[0].row()]
            self.open_run.emit(run.path)

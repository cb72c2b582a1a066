"""Page 6: compare models (or one model with several settings) on the same split.

A queue of candidates trains one after another in a worker (``core.compare``), with the same live
charts as a single run; then a leaderboard, an accuracy-vs-speed scatter chart (fp32 and int8 per
model) and the two recommendations.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QListWidget,
                               QPushButton, QSplitter, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from . import workers
from .live_charts import LiveCharts
from .widgets import JobBar, hint, plot_widget, show_error

COLUMNS = [("Model", "name"), ("Variant", "variant"), ("Right", "accuracy"), ("Balanced score", "macro_f1"),
           ("Texts/s (CPU)", "docs_per_s_cpu"), ("Texts/s (GPU)", "docs_per_s_gpu"), ("One text, typical (ms)", "p50_ms"),
           ("One text, slow case (ms)", "p95_ms"), ("Parameters", "parameters"), ("Size MB", "size_mb"), ("Training time", "train_s")]
VARIANT_WORDS = {"fp32": "as trained", "int8": "compressed for the CPU"}
COLUMN_TIPS = {
    "variant": "fp32: the model as trained. int8: a compressed copy for the CPU (smaller, usually faster)",
    "accuracy": "Accuracy: share of the validation texts the model got right",
    "macro_f1": "Macro-F1: the score averaged over the classes, so rare classes count as much",
    "docs_per_s_cpu": "How many texts per second the model classifies on this computer's CPU",
    "p50_ms": "p50 latency: half of the single texts take at most this long",
    "p95_ms": "p95 latency: 95 of 100 single texts take at most this long",
}


def settings_summary(settings) -> str:
    """The settings a user chose explicitly, in a few words ("auto" when none)."""
    shown = {"epochs": "epochs {}", "learning_rate": "lr {}", "batch_size": "batch {}", "max_length": "max length {}",
             "time_budget_min": "about {} min", "precision": "{}"}
    parts = [fmt.format(f"{value:g}" if isinstance(value, float) else value)
             for key, fmt in shown.items() if (value := getattr(settings, key)) not in (None, "auto")]
    return ", ".join(parts) or "automatic settings"


def cell_text(key: str, value) -> str:
    if value is None:
        return "–"
    if key in ("accuracy", "macro_f1"):
        from ..core.session import percent

        return percent(value)
    if key == "parameters":
        return f"{value / 1e6:.1f} M"
    if key == "train_s":
        return f"{value / 60:.1f} min" if value >= 60 else f"{value:.0f} s"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def trade_off_points(rows: list[dict]) -> list[dict]:
    """One scatter point per leaderboard row: x = CPU docs/s, y = accuracy, with its label."""
    return [{"x": r["docs_per_s_cpu"], "y": r["accuracy"], "variant": r["variant"],
             "label": f"{r['name'].split(' ')[0]} {r['variant']}"} for r in rows]


class ComparePage(QWidget):
    def __init__(self, window):
        super().__init__()
        self.win = window
        self.candidates: list[dict] = []  # {"model", "name", "settings"}
        self.added = 0
        self.rows: list[dict] = []
        self.recommendations: dict = {}
        self.out_dir: str | None = None

        # -- the queue
        self.queue = QListWidget()
        self.queue.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.queue.setWordWrap(True)
        self.queue.setToolTip("Candidates train one after another on the same training/validation split.")
        self.add_current_button = QPushButton("Add chosen model + settings")
        self.add_current_button.setToolTip("Adds the model and the settings chosen on the Model page. Change a setting "
                                           "and add again to compare one model with several settings.")
        self.add_current_button.clicked.connect(self.add_current)
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("Any model the app knows (bundled, folders, Hugging Face cache)")
        self.add_model_button = QPushButton("Add")
        self.add_model_button.setToolTip("Add this model with automatic settings")
        self.add_model_button.clicked.connect(self.add_from_combo)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        self.start_button = QPushButton("Start comparison")
        self.start_button.setToolTip("Train and measure every candidate (accuracy, CPU speed fp32 and int8)")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.empty = hint("Compare models on your data: open data on the Data page, then add two or more candidates "
                          "here, for example the bundled model and a larger one, or one model with two learning rates.")

        pick = QHBoxLayout()
        pick.addWidget(self.model_combo, 1)
        pick.addWidget(self.add_model_button)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(QLabel("<b>Candidates</b>"))
        lv.addWidget(self.queue, 1)
        lv.addWidget(self.add_current_button)
        lv.addLayout(pick)
        lv.addWidget(self.remove_button)
        lv.addSpacing(8)
        lv.addWidget(self.start_button)
        lv.addWidget(self.cancel_button)
        self.job = JobBar(window.tasks, "compare")
        lv.addWidget(self.job)
        lv.addWidget(self.status)

        # -- live charts and results
        import pyqtgraph as pg

        self.charts = LiveCharts()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([c[0] for c in COLUMNS])
        for c, (_, key) in enumerate(COLUMNS):
            if key in COLUMN_TIPS:
                self.table.horizontalHeaderItem(c).setToolTip(COLUMN_TIPS[key])
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        self.scatter = plot_widget("Right answers against speed", "share of validation texts right", "texts per second on the CPU")
        self.scatter.getAxis("left").enableAutoSIPrefix(False)
        self.scatter.getAxis("bottom").enableAutoSIPrefix(False)
        self.scatter.addLegend(offset=(-10, -10))
        self.points = {
            "fp32": pg.ScatterPlotItem(size=13, symbol="o", brush=pg.mkBrush("#4c78a8"), pen=pg.mkPen("w", width=1), name="fp32"),
            "int8": pg.ScatterPlotItem(size=13, symbol="t", brush=pg.mkBrush("#f58518"), pen=pg.mkPen("w", width=1), name="int8"),
        }
        for item in self.points.values():
            self.scatter.addItem(item)
        self.point_labels: list = []
        self.recommendation = QLabel("")
        self.recommendation.setWordWrap(True)
        self.recommendation.setTextInteractionFlags(Qt.TextSelectableByMouse)

        results = QWidget()
        rv = QVBoxLayout(results)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.addWidget(self.recommendation)
        split = QSplitter(Qt.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.scatter)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        rv.addWidget(split, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.charts, "Live training")
        self.tabs.addTab(results, "Leaderboard")

        main = QSplitter(Qt.Horizontal)
        main.addWidget(left)
        main.addWidget(self.tabs)
        main.setStretchFactor(0, 1)
        main.setStretchFactor(1, 3)
        main.setSizes([300, 900])
        layout = QVBoxLayout(self)
        layout.addWidget(self.empty)
        layout.addWidget(main, 1)
        self.update_state()

    # -- the queue -------------------------------------------------------------------------------
    def models_changed(self, models: list) -> None:
        current = self.model_combo.currentData()
        self.model_combo.clear()
        for m in models:
            self.model_combo.addItem(m.name, m.path)
        if current:
            i = self.model_combo.findData(current)
            if i >= 0:
                self.model_combo.setCurrentIndex(i)
        self.update_state()

    def add_candidate(self, model: str, name: str, settings=None) -> None:
        from ..core.settings import TrainSettings

        settings = settings or TrainSettings()
        self.added += 1  # numbers stay unique after removals
        label = f"#{self.added} {name} — {settings_summary(settings)}"
        self.candidates.append({"model": model, "name": label, "settings": settings})
        self.queue.addItem(label)
        self.queue.item(self.queue.count() - 1).setToolTip(f"{label}\n{model}")
        self.update_state()

    def add_current(self) -> None:
        model = self.win.model_path()
        if not model:
            return
        info = self.win.model_page.model_info()
        self.add_candidate(model, info.name if info else Path(model).name, self.win.session.settings)

    def add_from_combo(self) -> None:
        if self.model_combo.currentIndex() >= 0:
            self.add_candidate(self.model_combo.currentData(), self.model_combo.currentText())

    def remove_selected(self) -> None:
        for row in sorted((i.row() for i in self.queue.selectedIndexes()), reverse=True):
            self.queue.takeItem(row)
            del self.candidates[row]
        self.update_state()

    def is_running(self) -> bool:
        return self.win.tasks.is_running("compare")

    def update_state(self) -> None:
        self.update_buttons()

    def update_buttons(self) -> None:
        running = self.is_running()
        has_data = self.win.training_data() is not None
        self.start_button.setEnabled(not running and has_data and len(self.candidates) >= 1
                                     and not self.win.tasks.is_running("train"))
        state = self.win.tasks.state("compare")
        self.cancel_button.setEnabled(running and state is not None and state.status == "running")
        for w in (self.add_current_button, self.add_model_button, self.remove_button, self.model_combo):
            w.setEnabled(not running)
        self.add_current_button.setEnabled(not running and bool(self.win.model_path()))
        self.empty.setVisible(not has_data or not self.candidates)

    # -- running ---------------------------------------------------------------------------------
    def start(self) -> None:
        from ..core.compare import Candidate
        from ..core.runs import new_run_dir

        data = self.win.training_data()
        if data is None or not self.candidates or self.is_running():
            return
        base = self.win.session.settings
        threads = self.win.training_threads()
        candidates = [Candidate(c["model"], replace(c["settings"], threads=c["settings"].threads or threads), c["name"])
                      for c in self.candidates]
        self.out_dir = str(new_run_dir(self.win.store.runs_dir(), "compare"))
        self.rows, self.recommendations = [], {}
        self.show_rows()
        self.charts.reset()
        self.charts.start()
        self.tabs.setCurrentIndex(0)
        self.status.setText(f"Starting: {len(candidates)} candidates, results in {self.out_dir}")
        self.win.tasks.start("compare", workers.compare_task, data, candidates, self.out_dir,
                             replace(base, threads=base.threads or threads),
                             on_event=self.on_event, on_done=self._done, on_failed=self._failed, on_cancelled=self._cancelled,
                             description=f"Comparing {len(candidates)} candidates")
        self.update_buttons()

    def cancel(self) -> None:
        if self.is_running():
            self.win.tasks.stop("compare")

    def on_event(self, ev) -> None:
        kind = getattr(ev, "kind", "")
        if kind == "status":
            if ev.message.startswith("Model ") and ": training " in ev.message:
                self.charts.reset()
                self.charts.start()
            if ev.message.startswith("Model "):
                self.status.setText(ev.message)
        elif kind == "leaderboard":
            self.rows, self.recommendations = ev.rows, ev.recommendations
            self.show_rows()
        self.charts.on_event(ev)

    def _done(self, rows) -> None:
        self.rows = rows
        from ..core.compare import recommend

        self.recommendations = recommend(rows)
        self._end(f"Finished: {len(self.candidates)} candidates measured. The runs are in {self.out_dir} "
                  "and in the Run library.")
        self.tabs.setCurrentIndex(1)
        self.win.runs_page.refresh()
        self.win.model_page.refresh()

    def _cancelled(self) -> None:
        self._end("Cancelled. Rows measured before the cancel are kept in the results folder.")

    def _failed(self, message: str, details: str) -> None:
        self._end(f"Failed: {message}")
        show_error(self, f"The comparison failed: {message}", details)

    def _end(self, message: str) -> None:
        self.charts.stop()
        self.status.setText(message)
        self.show_rows()
        self.update_buttons()

    # -- results ---------------------------------------------------------------------------------
    def show_rows(self) -> None:
        import pyqtgraph as pg

        rows = self.rows
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, (_, key) in enumerate(COLUMNS):
                value = row.get(key)
                item = QTableWidgetItem(cell_text(key, value) if key != "name" else value.split(" — ")[0])
                item.setToolTip(f"{row['name']}\n{row.get('run_dir', '')}")
                if key != "name" and key != "variant":
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.table.setColumnHidden([key for _, key in COLUMNS].index("docs_per_s_gpu"),
                                   not any(r.get("docs_per_s_gpu") for r in rows))

        for label in self.point_labels:
            self.scatter.removeItem(label)
        self.point_labels = []
        points = trade_off_points(rows)
        for variant, item in self.points.items():
            mine = [p for p in points if p["variant"] == variant]
            item.setData([p["x"] for p in mine], [p["y"] for p in mine])
        for p in points:
            text = pg.TextItem(p["label"], anchor=(0, 1.2), color=self.palette().windowText().color())
            text.setPos(p["x"], p["y"])
            self.scatter.addItem(text)
            self.point_labels.append(text)
        if points:
            xs, ys = [p["x"] for p in points], [p["y"] for p in points]
            self.scatter.setXRange(0, max(xs) * 1.35 or 1)
            low = min(ys)
            self.scatter.setYRange(max(0.0, math.floor((low - 0.05) * 20) / 20), min(1.02, max(ys) + 0.04))

        rec = self.recommendations
        if rec:
            best, fast = rec["most_accurate"], rec["fastest_within_1_point"]
            from ..core.session import percent

            def who(r: dict) -> str:
                return f"{r['name']} ({VARIANT_WORDS.get(r['variant'], r['variant'])})"

            self.recommendation.setText(
                f"<b>Most accurate:</b> {who(best)}: {percent(best['accuracy'])} of the validation texts right.<br>"
                f"<b>Fastest within 1 point of it:</b> {who(fast)}: {percent(fast['accuracy'])} right, "
                f"{fast['docs_per_s_cpu']:.0f} texts per second on the CPU.")
        else:
            self.recommendation.setText("Results appear here as each candidate finishes.")

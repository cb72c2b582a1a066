"""Page 6: compare models (or one model with several settings) on the same split.

"Try these models" and "Try shorter or longer texts" add several candidates in one step; they are
named by what differs between them. One job (``core.compare``, on the one training loop) trains and
measures them one after another, with the same live charts as a single run and a status per
candidate; then a leaderboard, an accuracy-vs-speed chart (fp32 and int8 per model) and the two
recommendations. The results live in the session (``Session.comparison``): every row carries its
run folder and the data it was measured on, and a comparison of other data is never shown.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QListWidget,
                               QListWidgetItem, QPushButton, QScrollArea, QSplitter, QTableWidget, QTableWidgetItem,
                               QTabWidget, QVBoxLayout, QWidget)

from . import workers
from .live_charts import LiveCharts
from ..core.session import plural
from .widgets import JobBar, hint, plot_widget, show_error

COLUMNS = [("Candidate", "name"), ("Form", "variant"), ("Right", "accuracy"), ("Balanced score", "macro_f1"),
           ("Texts/s (CPU)", "docs_per_s_cpu"), ("Texts/s (GPU)", "docs_per_s_gpu"), ("One text, typical (ms)", "p50_ms"),
           ("One text, slow case (ms)", "p95_ms"), ("Parameters", "parameters"), ("Size MB", "size_mb"), ("Training time", "train_s")]
VARIANT_WORDS = {"fp32": "as trained", "int8": "compressed"}
COLUMN_TIPS = {
    "variant": "As trained (fp32), or a compressed copy for the CPU (int8: smaller, usually faster)",
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
             "label": short + (", compressed" if r["variant"] == "int8" else "")}
            for r, short in zip(rows, short_names([r["name"] for r in rows]))]


def short_names(names: list[str]) -> list[str]:
    """Candidate names without the parts every one of them shares ("MiniLM, 2 passes" -> "2 passes" when all
    are MiniLM): the chart's labels say only what tells the points apart."""
    split = [n.split(", ") for n in names]
    if len(set(names)) < 2:
        return [p[0] for p in split]
    shared = set.intersection(*(set(p) for p in split))
    return [", ".join(x for x in p if x not in shared) or p[0] for p in split]


class ComparePage(QWidget):
    def __init__(self, window):
        super().__init__()
        self.win = window
        self.candidates: list[dict] = []  # {"model", "name", "settings", "label", "state"}
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
        self.try_models = QListWidget()
        self.try_models.setWordWrap(True)
        self.try_models.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.try_models.setToolTip("Tick the models to compare; each trains with automatic settings on the same texts")
        self.try_models.itemChanged.connect(lambda _item: self.update_buttons())
        self.try_models_button = QPushButton("Add the ticked models")
        self.try_models_button.clicked.connect(self.add_ticked_models)
        self.try_lengths_label = QLabel("")
        self.try_lengths_label.setWordWrap(True)
        self.try_lengths_button = QPushButton("Add these text lengths")
        self.try_lengths_button.setToolTip("Max length (tokens): the chosen model trained with texts cut at each length. "
                                           "Shorter is faster; cutting too much loses what the texts say.")
        self.try_lengths_button.clicked.connect(self.add_lengths)
        self.try_training_button = QPushButton("Add 1, 3 and 6 passes")
        self.try_training_button.setToolTip("Epochs: the chosen model trained with 1, 3 and 6 passes over the training texts "
                                            "(no time limit). More passes take longer and often, not always, help.")
        self.try_training_button.clicked.connect(lambda _=False: self.add_training_lengths())
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        self.start_button = QPushButton("Start comparison")
        self.start_button.setToolTip("Train and measure every candidate (accuracy, CPU speed fp32 and int8)")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.empty = hint("Compare models on your data: open data on the Data page, then tick two or more models under "
                          "“Try these models”, or try the chosen model with shorter or longer texts.")

        pick = QHBoxLayout()
        pick.addWidget(self.model_combo, 1)
        pick.addWidget(self.add_model_button)
        inner = QWidget()
        lv = QVBoxLayout(inner)
        lv.setContentsMargins(0, 0, 0, 0)
        models_box = QGroupBox("Try these models")
        mb = QVBoxLayout(models_box)
        mb.addWidget(self.try_models)
        mb.addWidget(self.try_models_button)
        lengths_box = QGroupBox("Try shorter or longer texts")
        lb = QVBoxLayout(lengths_box)
        lb.addWidget(self.try_lengths_label)
        lb.addWidget(self.try_lengths_button)
        training_box = QGroupBox("Try shorter or longer training")
        tb = QVBoxLayout(training_box)
        tb.addWidget(self.try_training_button)
        lv.addWidget(models_box)
        lv.addWidget(lengths_box)
        lv.addWidget(training_box)
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
        left = QScrollArea()
        left.setWidgetResizable(True)
        left.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        left.setWidget(inner)
        self.try_models.setMinimumHeight(self.fontMetrics().height() * 5)
        self.try_models.setMaximumHeight(self.fontMetrics().height() * 9)
        self.queue.setMinimumHeight(self.fontMetrics().height() * 6)

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
        self.scatter = plot_widget("Right answers against speed", "share right", "texts per second on the CPU")
        self.scatter.getAxis("left").enableAutoSIPrefix(False)
        self.scatter.getAxis("bottom").enableAutoSIPrefix(False)
        self.scatter.addLegend(offset=(-10, -10))
        self.points = {
            "fp32": pg.ScatterPlotItem(size=13, symbol="o", brush=pg.mkBrush("#4c78a8"), pen=pg.mkPen("w", width=1), name="as trained"),
            "int8": pg.ScatterPlotItem(size=13, symbol="t", brush=pg.mkBrush("#f58518"), pen=pg.mkPen("w", width=1), name="compressed (int8)"),
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
        self.provenance = QLabel("")
        self.provenance.setWordWrap(True)
        self.provenance.setTextInteractionFlags(Qt.TextSelectableByMouse)
        rv.addWidget(self.provenance)
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

        main = self.main = QSplitter(Qt.Horizontal)
        self.left_panel = left
        main.addWidget(left)
        main.addWidget(self.tabs)
        main.setStretchFactor(0, 1)
        main.setStretchFactor(1, 3)
        main.setSizes([300, 900])
        layout = QVBoxLayout(self)
        layout.addWidget(self.empty)
        layout.addWidget(main, 1)
        window.session_signals.changed.connect(self._session_changed)
        self.update_state()

    def set_narrow(self, narrow: bool) -> None:
        """Candidates above the results in a narrow window (the window calls this on resize)."""
        self.main.setOrientation(Qt.Vertical if narrow else Qt.Horizontal)
        self.main.insertWidget(0 if narrow else 1, self.tabs)  # stacked: the results first, the candidates below
        self.tabs.setMinimumHeight(self.fontMetrics().height() * 44 if narrow else 0)
        self.left_panel.setMinimumHeight(self.fontMetrics().height() * 22 if narrow else 0)

    def _session_changed(self, change: str) -> None:
        from ..core.session import COMPARISON, DATA, LENGTHS, MODEL

        if change in (COMPARISON, DATA):
            self.show_rows()
        if change in (DATA, LENGTHS, MODEL):
            self.update_lengths()

    @property
    def comparison(self):
        return self.win.session.current_comparison()

    @property
    def rows(self) -> list[dict]:
        c = self.comparison
        return list(c.rows) if c is not None else []

    @property
    def recommendations(self) -> dict:
        c = self.comparison
        return dict(c.recommendations) if c is not None else {}

    # -- the queue -------------------------------------------------------------------------------
    def models_changed(self, models: list) -> None:
        current = self.model_combo.currentData()
        ticked = set(self.ticked_models())
        self.model_combo.clear()
        self.try_models.clear()
        for m in models:
            self.model_combo.addItem(m.name, m.path)
            if m.source != "run":  # earlier runs are already fine-tuned: they are opened, not compared from scratch
                item = QListWidgetItem(m.name)
                item.setData(Qt.UserRole, m.path)
                item.setToolTip(f"{m.note}\n{m.path}")
                item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
                item.setCheckState(Qt.Checked if m.path in ticked else Qt.Unchecked)
                self.try_models.addItem(item)
        if current:
            i = self.model_combo.findData(current)
            if i >= 0:
                self.model_combo.setCurrentIndex(i)
        self.update_state()

    def add_candidate(self, model: str, name: str, settings=None) -> None:
        from ..core.settings import TrainSettings

        self.candidates.append({"model": model, "name": name, "settings": settings or TrainSettings(), "state": "waiting"})
        self.relabel()

    def relabel(self) -> None:
        """Name every candidate by what differs from the others, and show its state."""
        from ..core.compare import describe_candidates

        labels = describe_candidates([(c["model"], c["name"], c["settings"]) for c in self.candidates])
        self.queue.clear()
        for c, label in zip(self.candidates, labels):
            c["label"] = label
            item = QListWidgetItem(f"{label}  ({c['state']})" if c["state"] else label)
            item.setToolTip(f"{label}\n{c['model']}\nsettings: {settings_summary(c['settings'])}")
            self.queue.addItem(item)
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

    def ticked_models(self) -> list[str]:
        return [self.try_models.item(i).data(Qt.UserRole) for i in range(self.try_models.count())
                if self.try_models.item(i).checkState() == Qt.Checked]

    def tick_models(self, paths: list[str]) -> None:
        wanted = {str(Path(p).resolve()) for p in paths}
        for i in range(self.try_models.count()):
            item = self.try_models.item(i)
            item.setCheckState(Qt.Checked if str(Path(item.data(Qt.UserRole)).resolve()) in wanted else Qt.Unchecked)

    def add_ticked_models(self) -> None:
        """Every ticked model as a candidate with the settings of the Model page (one step)."""
        names = {self.try_models.item(i).data(Qt.UserRole): self.try_models.item(i).text()
                 for i in range(self.try_models.count())}
        for path in self.ticked_models():
            self.add_candidate(path, names[path], self.win.session.settings)

    def length_choices(self) -> list[tuple[int, float]]:
        from ..core.compare import length_choices

        measured = self.win.session.current_lengths()
        return length_choices(measured.lengths, measured.model_max) if measured is not None else []

    def update_lengths(self) -> None:
        from ..core.session import percent

        choices = self.length_choices()
        info = self.win.model_page.model_info()
        if not choices or info is None:
            self.try_lengths_label.setText("Open your data and pick a model: the text lengths worth trying are chosen "
                                           "from your texts.")
        else:
            parts = [f"{n} tokens ({'cuts ' + percent(cut) + ' of your texts' if cut else 'cuts none'})"
                     for n, cut in choices]
            self.try_lengths_label.setText(f"{info.name} with texts cut at " + ", ".join(parts)
                                           + ". Tokens are pieces of words; shorter texts train and classify faster.")
        self.update_buttons()

    def add_lengths(self) -> None:
        """The chosen model once per text length worth trying (one step)."""
        model, info = self.win.model_path(), self.win.model_page.model_info()
        if not model:
            return
        for n, _ in self.length_choices():
            self.add_candidate(model, info.name if info else Path(model).name, replace(self.win.session.settings, max_length=n))

    def add_training_lengths(self, passes=(1.0, 3.0, 6.0)) -> None:
        """The chosen model with shorter and longer training (one step)."""
        model, info = self.win.model_path(), self.win.model_page.model_info()
        if not model:
            return
        for n in passes:
            self.add_candidate(model, info.name if info else Path(model).name,
                               replace(self.win.session.settings, epochs=float(n), time_budget_min=None))

    def remove_selected(self) -> None:
        for row in sorted((i.row() for i in self.queue.selectedIndexes()), reverse=True):
            del self.candidates[row]
        self.relabel()

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
        for w in (self.add_current_button, self.add_model_button, self.remove_button, self.model_combo, self.try_models):
            w.setEnabled(not running)
        self.add_current_button.setEnabled(not running and bool(self.win.model_path()))
        self.try_models_button.setEnabled(not running and bool(self.ticked_models()))
        self.try_lengths_button.setEnabled(not running and bool(self.win.model_path()) and bool(self.length_choices()))
        self.try_training_button.setEnabled(not running and bool(self.win.model_path()))
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
        candidates = [Candidate(c["model"], replace(c["settings"], threads=c["settings"].threads or threads), c["label"])
                      for c in self.candidates]
        for c in self.candidates:
            c["state"] = "waiting"
        self.relabel()
        self.out_dir = str(new_run_dir(self.win.store.runs_dir(), "compare"))
        self.started = self._comparison_of([], {}, "running")
        self.win.session.set_comparison(self.started)
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

    def _comparison_of(self, rows: list, recommendations: dict, status: str):
        from ..core.session import Comparison

        data = self.win.session.data
        n_valid = next((int(r.get("n_valid") or 0) for r in rows), 0)
        return Comparison(self.out_dir or "", data.fingerprint if data else "", data.path if data else "", n_valid,
                          tuple(rows), dict(recommendations), status)

    def _keep(self, rows: list, recommendations: dict, status: str) -> None:
        """Into the session, if the data it was measured on is still open (else it is in its folder only)."""
        started = getattr(self, "started", None)
        data = self.win.session.data
        if started is None or data is None or data.fingerprint != started.data_fingerprint:
            return
        self.win.session.set_comparison(self._comparison_of(rows, recommendations, status))

    def _set_state(self, label: str, state: str) -> None:
        for c in self.candidates:
            if c.get("label") == label:
                c["state"] = state
        self.relabel()

    def on_event(self, ev) -> None:
        from ..core.session import percent

        kind = getattr(ev, "kind", "")
        if kind == "status":
            if ev.message.startswith("Model ") and ": training " in ev.message:
                self.charts.reset()
                self.charts.start()
                self._set_state(ev.message.split(": training ", 1)[1], "training now")
            elif ev.message.startswith("Model ") and ": measuring " in ev.message:
                label = ev.message.split(": measuring ", 1)[1].split(" on the CPU")[0]
                self._set_state(label, "measuring its speed")
            if ev.message.startswith("Model "):
                self.status.setText(ev.message)
        elif kind == "leaderboard":
            for row in ev.rows:
                if row.get("variant") == "fp32":
                    self._set_state(row["name"], f"done: {percent(row['accuracy'])} right, "
                                                 f"{row['docs_per_s_cpu']:.0f} texts/s")
            self._keep(ev.rows, ev.recommendations, "running")
        self.charts.on_event(ev)

    def _done(self, rows) -> None:
        from ..core.compare import recommend

        self._keep(rows, recommend(rows), "finished")
        self._end(f"Finished: {plural(len(self.candidates), 'candidate')} measured. The runs are in {self.out_dir} "
                  "and in the Run library.")
        self.tabs.setCurrentIndex(1)
        self.win.runs_page.refresh()
        self.win.model_page.refresh()

    def _cancelled(self) -> None:
        c = self.comparison
        if c is not None:
            self._keep(list(c.rows), dict(c.recommendations), "cancelled")
        for cand in self.candidates:
            if cand["state"] in ("training now", "measuring its speed", "waiting"):
                cand["state"] = "not measured (cancelled)"
        self.relabel()
        self._end("Cancelled. Rows measured before the cancel are kept in the results folder.")

    def _failed(self, message: str, details: str) -> None:
        for cand in self.candidates:
            if cand["state"] in ("training now", "measuring its speed"):
                cand["state"] = "failed"
        self.relabel()
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
        comparison = self.comparison
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, (_, key) in enumerate(COLUMNS):
                value = row.get(key)
                shown = value if key == "name" else VARIANT_WORDS.get(value, value) if key == "variant" else cell_text(key, value)
                item = QTableWidgetItem(shown)
                item.setToolTip(f"{row['name']}\nrun: {row.get('run_dir', '')}\n"
                                f"measured on {plural(int(row.get('n_valid') or 0), 'validation text')}"
                                + (f" of {Path(comparison.data_source).name}" if comparison is not None else ""))
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
        right = max((p["x"] for p in points), default=0) * 0.55
        for p in points:  # labels of points on the right grow to the left, so none runs off the chart
            # as-trained labels above their point, compressed ones below: the pair of a model never overlaps
            text = pg.TextItem(p["label"], anchor=(1 if p["x"] > right else 0, 1.2 if p["variant"] != "int8" else -0.2),
                               color=self.palette().windowText().color())
            text.setPos(p["x"], p["y"])
            self.scatter.addItem(text)
            self.point_labels.append(text)
        if points:
            xs, ys = [p["x"] for p in points], [p["y"] for p in points]
            self.scatter.setXRange(0, max(xs) * 1.15 or 1)
            low = min(ys)
            self.scatter.setYRange(max(0.0, math.floor((low - 0.05) * 20) / 20), min(1.02, max(ys) + 0.04))

        c = comparison
        if c is not None and (rows or c.status == "running"):
            where = Path(c.data_source).name or "the open data"
            texts = f"the same {plural(c.n_valid, 'validation text')}" if c.n_valid else "the same validation texts"
            self.provenance.setText(f"Measured on {where}: every candidate trained on the same training texts and was "
                                    f"scored on {texts}. Speed: this computer's CPU. Runs kept in {c.out_dir}.")
            self.provenance.setToolTip(f"Data fingerprint {c.data_fingerprint}\n{c.data_source}")
        else:
            self.provenance.setText("")
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

"""The main window: a sidebar of steps, one page per step, menus, shortcuts and the task list."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QByteArray, QUrl, Qt
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QListWidget, QMainWindow, QMessageBox, QStackedWidget,
                               QWidget)

from .classify_page import ClassifyPage
from .compare_page import ComparePage
from .data_page import DataPage
from .evaluate_page import EvaluatePage
from .model_page import ModelPage
from .runs_page import RunsPage
from .store import Store
from .train_page import TrainPage
from . import main_thread_gc
from .workers import Tasks

log = logging.getLogger(__name__)
STEPS = ["Data", "Model", "Train", "Evaluate", "Classify", "Compare", "Runs"]


class MainWindow(QMainWindow):
    def __init__(self, store: Store | None = None):
        super().__init__()
        self.store = store or Store()
        self.tasks = Tasks(self)
        tasks = self.tasks
        main_thread_gc.install(busy=lambda: bool(tasks.running))  # before any worker starts: see main_thread_gc
        self.current_run: str | None = None
        self.closing = False
        self.confirm_close = self._ask_close  # tests replace this

        self.sidebar = QListWidget()
        self.sidebar.addItems(STEPS)
        self.sidebar.setFixedWidth(self.sidebar.fontMetrics().horizontalAdvance("✓ 5. Run library") + 48)
        self.stack = QStackedWidget()
        self.data_page = DataPage(self)
        self.model_page = ModelPage(self)
        self.train_page = TrainPage(self)
        self.evaluate_page = EvaluatePage(self)
        self.classify_page = ClassifyPage(self)
        self.compare_page = ComparePage(self)
        self.runs_page = RunsPage(self)
        self.pages = [self.data_page, self.model_page, self.train_page, self.evaluate_page, self.classify_page,
                      self.compare_page, self.runs_page]
        for page in self.pages:
            self.stack.addWidget(page)
        self.sidebar.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.sidebar.currentRowChanged.connect(self._page_shown)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.addWidget(self.sidebar)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.setAcceptDrops(True)

        self.data_page.data_changed.connect(self.refresh_state)
        self.model_page.model_changed.connect(self._model_changed)
        self.model_page.settings_changed.connect(self._settings_changed)
        self.train_page.state_changed.connect(self.refresh_state)
        self.train_page.run_finished.connect(self._run_finished)
        self.runs_page.open_run.connect(self.open_run)
        self.tasks.changed.connect(self._tasks_changed)

        self._build_menus()
        geometry = self.store.get("geometry")
        if geometry:
            self.restoreGeometry(QByteArray.fromBase64(geometry.encode()))
        else:
            self.resize(1280, 800)
        self.sidebar.setCurrentRow(0)
        self.statusBar().showMessage("Open your labeled data to begin (Ctrl+O).")
        self.refresh_state()

    def start_background(self) -> None:
        """Work that needs the engine's heavy imports: started after the window is shown."""
        self.model_page.refresh()
        self.runs_page.refresh()

    # -- menus -----------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_action = QAction("&Open data…", self, shortcut=QKeySequence.Open, triggered=self.data_page.choose_file)
        file_menu.addAction(self.open_action)
        file_menu.addAction(QAction("Open &sample data", self, triggered=self.data_page.open_sample))
        file_menu.addAction(QAction("Change &runs folder…", self, triggered=self.choose_runs_dir))
        file_menu.addSeparator()
        file_menu.addAction(QAction("&Quit", self, shortcut=QKeySequence.Quit, triggered=self.close))
        train_menu = self.menuBar().addMenu("&Train")
        self.train_action = QAction("&Start training", self, shortcut=QKeySequence("Ctrl+R"), triggered=self._start_training)
        self.cancel_action = QAction("&Cancel", self, shortcut=QKeySequence("Ctrl+."), triggered=self.cancel_current)
        train_menu.addAction(self.train_action)
        train_menu.addAction(self.cancel_action)
        QShortcut(QKeySequence(Qt.Key_Escape), self, activated=self.cancel_current)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(QAction("Open &log folder", self, triggered=self.open_log_folder))
        help_menu.addAction(QAction("&About Classifier Studio", self, triggered=self.about))
        for i in range(len(STEPS)):
            QShortcut(QKeySequence(f"Ctrl+{i + 1}"), self, activated=lambda i=i: self.sidebar.setCurrentRow(i))

    def _start_training(self) -> None:
        self.sidebar.setCurrentRow(2)
        self.train_page.repaint()  # paint the page before the worker's imports compete for the interpreter
        self.train_page.start()

    def cancel_current(self) -> None:
        if self.train_page.is_training():
            self.train_page.cancel()
        self.compare_page.cancel()
        for name in ("evaluate", "predict", "load"):
            self.tasks.stop(name)

    def choose_runs_dir(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for training runs", str(self.store.runs_dir()))
        if folder:
            self.store.set("runs_dir", folder)
            self.runs_page.refresh()
            self.model_page.refresh()

    def open_log_folder(self) -> None:
        from ..applog import log_dir

        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def about(self) -> None:
        from .. import __version__

        QMessageBox.about(self, "About Classifier Studio",
                          f"<b>Classifier Studio</b> {__version__}<p>Fine-tune transformer text classifiers on your own "
                          "computer, offline.</p><p>Log files: Help → Open log folder.</p>")

    # -- shared state ----------------------------------------------------------------------------
    def training_data(self):
        page = self.data_page
        if page.labeled is None or page.report is None or not page.report.can_train:
            return None
        return page.labeled

    def training_threads(self) -> int:
        from ..core.device import threads_beside_a_gui

        return threads_beside_a_gui()

    def model_path(self) -> str | None:
        return self.model_page.model_path()

    def open_run(self, path: str) -> None:
        self.current_run = path
        self.refresh_state()
        self.sidebar.setCurrentRow(3)

    def _run_finished(self, run_dir: str) -> None:
        self.current_run = run_dir
        self.runs_page.refresh()
        self.statusBar().showMessage(f"Training finished: {run_dir}", 10000)
        self.refresh_state()

    def _model_changed(self) -> None:
        self.data_page.request_lengths()
        self.refresh_state()

    def _settings_changed(self) -> None:
        if self.data_page.lengths:
            self.data_page.draw_lengths()
        self.refresh_state()

    def _tasks_changed(self) -> None:
        if not self.closing:
            self.refresh_state()

    def _page_shown(self, index: int) -> None:
        if self.pages[index] is self.runs_page:
            self.runs_page.refresh()

    def refresh_state(self) -> None:
        if self.closing:
            return
        self.train_page.update_buttons()
        self.model_page.update_plan()
        self.compare_page.update_state()
        self.evaluate_page.update_state()
        self.classify_page.update_state()
        done = [self.training_data() is not None, bool(self.model_path()), self.train_page.finished_run is not None,
                self.evaluate_page.result is not None, self.classify_page.last_result is not None
                or self.classify_page.output_path is not None, bool(self.compare_page.rows), False]
        for i, name in enumerate(STEPS):
            mark = "✓" if done[i] else "  "
            self.sidebar.item(i).setText(f"{mark} {i + 1}. {name}" if name != "Runs" else "    Run library")
        if self.train_page.is_training():
            self.statusBar().showMessage("Training …")
        elif self.compare_page.is_running():
            self.statusBar().showMessage("Comparing models …")
        elif self.training_data() is None:
            self.statusBar().showMessage("Open your labeled data to begin (Ctrl+O).")
        elif not self.model_path():
            self.statusBar().showMessage("Pick a model on the Model page.")
        elif not self.current_run:
            self.statusBar().showMessage("Ready to train (Ctrl+R).")
        else:
            self.statusBar().showMessage(f"Run: {self.current_run}")
        parts = ["Classifier Studio"]
        if self.data_page.table is not None:
            parts.append(Path(self.data_page.table.path).name)
        run = self.train_page.run_dir if self.train_page.is_training() else self.current_run
        if run:
            parts.append(f"run {Path(run).name}")
        self.setWindowTitle(" — ".join(parts))

    # -- drag and drop ---------------------------------------------------------------------------
    def dragEnterEvent(self, event):  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event):  # noqa: N802
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.sidebar.setCurrentRow(0)
            self.data_page.open_path(urls[0])
            event.acceptProposedAction()

    # -- closing ---------------------------------------------------------------------------------
    def _ask_close(self) -> bool:
        answer = QMessageBox.question(self, "Training is running",
                                      "Training is still running. Stop it and quit? The run keeps a checkpoint you can resume.",
                                      QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
        return answer == QMessageBox.Yes

    def closeEvent(self, event):  # noqa: N802
        if (self.train_page.is_training() or self.compare_page.is_running()) and not self.confirm_close():
            event.ignore()
            return
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop every worker and wait for its thread; save the settings."""
        self.closing = True
        self.train_page.charts.timer.stop()
        self.compare_page.charts.timer.stop()
        self.store.set("geometry", bytes(self.saveGeometry().toBase64()).decode())
        self.store.set("train_settings", self.model_page.settings().to_dict())
        self.store.save()
        self.tasks.stop_all()
        self.classify_page.shutdown()

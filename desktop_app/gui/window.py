"""The main window: a sidebar of steps, one page per step, menus, shortcuts and the task list.

The window owns the session (core/session.py) and the jobs (workers.Tasks). Pages are views:
each redraws from the session when ``session_signals.changed`` says what changed, and redraws
its buttons when ``tasks.changed`` says a job started, reported or ended.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QByteArray, QTimer, QUrl, Qt
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (QDialog, QFileDialog, QFrame, QScrollArea, QHBoxLayout, QLabel, QListWidget, QMainWindow, QMessageBox, QStackedWidget,
                               QTextBrowser, QVBoxLayout, QWidget, QDialogButtonBox)

from ..core import session as sess
from .classify_page import ClassifyPage
from .compare_page import ComparePage
from .data_page import DataPage
from .evaluate_page import EvaluatePage
from .model_page import ModelPage
from .label_page import LabelPage
from .runs_page import RunsPage
from .session_signals import SessionSignals
from .store import Store
from .train_page import TrainPage
from . import main_thread_gc, workers
from .workers import Tasks

log = logging.getLogger(__name__)
DEFAULT_SIZE = (1280, 800)
SCREEN_SHARE = 0.92  # never open larger than this share of the available screen


class MainWindow(QMainWindow):
    def __init__(self, store: Store | None = None):
        super().__init__()
        from ..core.settings import TrainSettings

        self.store = store or Store()
        saved = self.store.get("train_settings")
        self.session = sess.Session(TrainSettings.from_dict(saved) if saved else TrainSettings())
        self.session_signals = SessionSignals(self.session, self)
        self.tasks = Tasks(self)
        tasks = self.tasks
        main_thread_gc.install(busy=lambda: bool(tasks.running))  # before any worker starts: see main_thread_gc
        self.closing = False
        self.confirm_close = self._ask_close  # tests replace this
        self.ask_resume = self._ask_resume  # tests replace this
        self._pending_resume: str | None = None

        self.state_label = QLabel("")  # what the app is ready for (_update_chrome); timed messages cover it a while
        self.statusBar().addWidget(self.state_label, 1)
        self.sidebar = QListWidget()
        self.stack = QStackedWidget()
        self.steps: list[str] = []
        self.pages: list[QWidget] = []
        self.data_page = self.add_page("Data", DataPage(self))
        self.label_page = self.add_page("Label", LabelPage(self))  # texts without labels: label them, best ones first
        self.model_page = self.add_page("Model", ModelPage(self))
        self.train_page = self.add_page("Train", TrainPage(self))
        self.evaluate_page = self.add_page("Evaluate", EvaluatePage(self))
        self.classify_page = self.add_page("Classify", ClassifyPage(self))
        self.compare_page = self.add_page("Compare", ComparePage(self))
        self.runs_page = self.add_page("Run library", RunsPage(self))
        self.sidebar.setFixedWidth(self.sidebar.fontMetrics().horizontalAdvance("✓ 5. Run library") + 48)
        self.sidebar.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.sidebar.currentRowChanged.connect(self._page_shown)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.addWidget(self.sidebar)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.setAcceptDrops(True)

        self.session_signals.changed.connect(self._session_changed)
        self.tasks.changed.connect(self._tasks_changed)
        self.runs_page.open_run.connect(self.open_run)
        self.train_page.run_finished.connect(self._run_finished)
        self.evaluate_page.train_longer.connect(self.train_longer)
        self.evaluate_page.use_class_weights.connect(self.use_class_weights)
        self.label_page.labeled.connect(self._update_chrome)

        self._build_menus()
        self._place()
        self.sidebar.setCurrentRow(0)
        self._update_chrome()

    def add_page(self, title: str, page: QWidget, index: int | None = None) -> QWidget:
        """Add a step to the sidebar (at ``index``, default: before the Run library, or last)."""
        if index is None:
            index = self.steps.index("Run library") if "Run library" in self.steps else len(self.steps)
        self.steps.insert(index, title)
        self.pages.insert(index, page)
        # In a scroll area: on a small screen (or at 200%) a page scrolls instead of making the window
        # larger than the screen.
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setWidget(page)
        self.stack.insertWidget(index, scroll)
        self.sidebar.insertItem(index, title)
        return page

    NARROW_EM = 62  # below this many characters of width, side-by-side pages stack their parts

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt
        super().resizeEvent(event)
        self.arrange_pages()

    def arrange_pages(self) -> None:
        """Pages with parts side by side (``set_narrow``) stack them when the window is narrow (1024x700 at
        200%): the page then scrolls down instead of cutting its right-hand part."""
        narrow = self.stack.width() < self.NARROW_EM * self.fontMetrics().horizontalAdvance("M")
        for page in self.pages:
            if hasattr(page, "set_narrow"):
                page.set_narrow(narrow)

    def page_index(self, page: QWidget) -> int:
        return self.pages.index(page)

    def show_page(self, page: QWidget) -> None:
        self.sidebar.setCurrentRow(self.page_index(page))

    def _place(self) -> None:
        """Restore the saved geometry or open at 1280x800, never larger than the available screen."""
        geometry = self.store.get("geometry")
        if geometry:
            self.restoreGeometry(QByteArray.fromBase64(geometry.encode()))
        else:
            self.resize(*DEFAULT_SIZE)
        self.fit_to_screen()

    def fit_to_screen(self) -> None:
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return
        area = screen.availableGeometry()
        w = min(self.width(), int(area.width() * SCREEN_SHARE))
        h = min(self.height(), int(area.height() * SCREEN_SHARE))
        if (w, h) != (self.width(), self.height()):
            self.resize(w, h)
        frame = self.frameGeometry()
        if not area.contains(frame):
            self.move(area.left() + max(0, (area.width() - frame.width()) // 2),
                      area.top() + max(0, (area.height() - frame.height()) // 2))

    def start_background(self) -> None:
        """Work that needs the engine's heavy imports: started after the window is shown."""
        self.model_page.refresh()
        self.runs_page.refresh()
        QTimer.singleShot(0, self.offer_resume)

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
        self.guide_action = QAction("&Guide", self, shortcut=QKeySequence.HelpContents, triggered=self.show_guide)
        help_menu.addAction(self.guide_action)
        help_menu.addAction(QAction("Open &log folder", self, triggered=self.open_log_folder))
        help_menu.addAction(QAction("&About Classifier Studio", self, triggered=self.about))
        for i in range(9):
            QShortcut(QKeySequence(f"Ctrl+{i + 1}"), self,
                      activated=lambda i=i: i < len(self.pages) and self.sidebar.setCurrentRow(i))

    def _start_training(self) -> None:
        """Train > Start training (Ctrl+R) from any page: the Train page opens with its "Before you start"
        check; a warning that has a fix stops there, so the user sees it before pressing Start (a check still
        measuring the speed does not hold training up: training measures its own)."""
        self.show_page(self.train_page)
        page = self.train_page
        page.update_check()
        if not page.is_training() and page.check_box.isVisible() and any(a.action for a in page.check_advice):
            page.log.appendPlainText("Not started yet: read “Before you start” above, then press Start training.")
            return
        page.repaint()  # paint the page before the worker's imports compete for the interpreter
        page.start()

    def cancel_current(self) -> None:
        """Esc / Ctrl+.: cancel every running job."""
        if self.tasks.is_running("train"):
            self.cancelled_on_purpose(self.train_page.run_dir)
        for name in list(self.tasks.running):
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

    def show_guide(self) -> QDialog:
        """The offline guide (resources/help/guide.html) in a non-modal window."""
        from ..core.resources import resources_dir

        dialog = QDialog(self)
        dialog.setWindowTitle("Classifier Studio guide")
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        browser = QTextBrowser()
        browser.setOpenExternalLinks(False)
        guide = resources_dir() / "help" / "guide.html"
        try:
            browser.setHtml(guide.read_text(encoding="utf-8"))
        except OSError:
            browser.setPlainText(f"The guide is missing ({guide}).")
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(dialog.close)
        layout = QVBoxLayout(dialog)
        layout.addWidget(browser)
        layout.addWidget(buttons)
        dialog.resize(min(720, self.width()), min(640, self.height()))
        dialog.show()
        self.guide = dialog
        return dialog

    def about(self) -> None:
        from .. import __version__

        QMessageBox.about(self, "About Classifier Studio",
                          f"<b>Classifier Studio</b> {__version__}<p>Fine-tune transformer text classifiers on your own "
                          "computer, offline.</p><p>How it works: Help → Guide. Log files: Help → Open log folder.</p>")

    # -- shared state ----------------------------------------------------------------------------
    def training_data(self):
        return self.session.training_data()

    @property
    def current_run(self) -> str | None:
        return self.session.run

    def training_threads(self) -> int:
        from ..core.device import threads_beside_a_gui

        return threads_beside_a_gui()

    def model_path(self) -> str | None:
        return self.session.model_path

    def open_run(self, path: str, evaluate: bool = True) -> None:
        """Make ``path`` the current run: its own results show at once; with the data it was trained
        on open, its validation part is evaluated again in the background for the examples."""
        self.session.set_run(path)
        record = sess.record_evaluation(path)
        if record is not None:
            self.session.set_evaluation(record)
        self.show_page(self.evaluate_page)
        if evaluate:
            self.evaluate_page.evaluate_validation_if_same_data()

    def train_longer(self) -> None:
        """The advice's "Train longer": no time limit (Best accuracy), on the same data, started at once."""
        self.model_page.preset_buttons["best"].setChecked(True)
        if self.session.settings.epochs is not None and self.session.settings.epochs < 3:
            self.model_page.update_settings(epochs=None)  # let the app choose enough passes
        self._start_training()

    def use_class_weights(self) -> None:
        """The advice's "Turn on class weights": set it, and show where it is set."""
        self.model_page.update_settings(class_weights=True)
        self.model_page.advanced.setChecked(True)
        self.show_page(self.model_page)
        self.statusBar().showMessage("Class weights are on (Advanced settings). Press Start training (Ctrl+R) to train again.",
                                     15000)

    def _run_finished(self, run_dir: str) -> None:
        self.runs_page.refresh()
        self.model_page.refresh()
        self.open_run(run_dir)

    def _session_changed(self, change: str) -> None:
        if self.closing:
            return
        if change in (sess.DATA, sess.MODEL) and self._pending_resume:
            self._continue_resume()
        self._update_buttons()

    def _tasks_changed(self) -> None:
        self._update_buttons()

    def _update_buttons(self) -> None:
        """Every page's buttons are drawn from the session and the jobs: redrawn when either changes."""
        if self.closing:
            return
        for page in self.pages:
            update = getattr(page, "update_buttons", None)
            if update is not None:
                update()
        self._update_chrome()

    def _page_shown(self, index: int) -> None:
        if 0 <= index < len(self.pages) and self.pages[index] is self.runs_page:
            self.runs_page.refresh()

    def _update_chrome(self) -> None:
        """Sidebar marks, status bar and title: drawn from the session and the jobs."""
        if self.closing:
            return
        s = self.session
        trained = bool(s.run) and s.run_method != "zero-shot"  # a model from category names was not trained
        done = {"Data": s.training_data() is not None, "Model": bool(s.model_path), "Train": trained,
                "Evaluate": s.current_evaluation() is not None, "Classify": s.current_predictions() is not None,
                "Compare": bool(getattr(self.compare_page, "rows", None))}
        numbered = [t for t in self.steps if t != "Run library"]
        for i, title in enumerate(self.steps):
            item = self.sidebar.item(i)
            if title == "Run library":
                item.setText("    Run library")
            else:
                mark = "✓" if done.get(title) else "  "
                item.setText(f"{mark} {numbered.index(title) + 1}. {title}")
        # the state line is a normal status-bar widget: a timed message (showMessage) covers it for its
        # seconds and then it shows again, instead of the next redraw wiping the message at once
        if self.tasks.is_running("train"):
            state = "Training …"
        elif self.tasks.is_running("compare"):
            state = "Comparing models …"
        elif s.training_data() is None and self.label_page.store is not None:
            labeled = len(self.label_page.store.labels)
            state = (f"Labeling {self.label_page.store.source.name}: {labeled} labeled, saved as you go."
                     + (f" Current model: {Path(s.run).name}" if s.run else ""))
        elif s.training_data() is None and s.run:
            state = f"Current model: {Path(s.run).name}"
        elif s.training_data() is None:
            state = "Open your labeled data to begin (Ctrl+O), or start with no labels on the Label page."
        elif not s.model_path:
            state = "Pick a model on the Model page."
        elif not s.run:
            state = "Ready to train (Ctrl+R)."
        else:
            state = f"Current model: {Path(s.run).name}"
        self.state_label.setText(state)
        parts = ["Classifier Studio"]
        if s.data is not None:
            parts.append(Path(s.data.path).name)
        run = self.train_page.run_dir if self.tasks.is_running("train") else s.run
        if run:
            parts.append(f"run {Path(run).name}")
        self.setWindowTitle(" — ".join(parts))

    # -- resume after a crash or a quit ----------------------------------------------------------
    def offer_resume(self) -> None:
        """If a run was interrupted (a crash, or the app closed while it trained), offer to resume it: once per run,
        whatever the answer. A run cancelled on purpose is not offered (the Train page's Resume button is there)."""
        if self.closing or self.tasks.is_running("train"):
            return
        asked = set(self.store.get("resume_declined") or [])  # runs offered once, or cancelled on purpose
        runs = [r for r in sess.find_interrupted_runs(self.store.runs_dir()) if r.path not in asked]
        if not runs:
            return
        run = runs[0]
        self.store.set("resume_declined", sorted(asked | {run.path}))  # never asked twice
        if self.ask_resume(run):
            self.resume_run(run.path, run.data_source)

    def cancelled_on_purpose(self, run_dir: str | None) -> None:
        """The user cancelled this run: the next start does not offer to resume it."""
        if run_dir:
            asked = set(self.store.get("resume_declined") or [])
            self.store.set("resume_declined", sorted(asked | {str(run_dir)}))

    def _ask_resume(self, run) -> bool:
        how = ("the app was closed while it trained" if run.status == "cancelled"
               else "the app stopped unexpectedly")
        answer = QMessageBox.question(
            self, "Resume training?",
            f"Training of {run.name} stopped before it finished ({how}). "
            f"It kept a checkpoint.\n\nResume it now? The app opens its data ({Path(run.data_source).name or 'the same file'}) "
            "and continues from the checkpoint. (You are asked once.)", QMessageBox.Yes | QMessageBox.No, QMessageBox.Yes)
        return answer == QMessageBox.Yes

    def resume_run(self, run_dir: str, data_source: str = "") -> None:
        """Resume ``run_dir``: with its data open at once; otherwise open that data first, then resume."""
        self.train_page.resumable_run = run_dir
        self.show_page(self.train_page)
        if self._resume_ready(run_dir):
            self.train_page.resume()
            return
        self._pending_resume = run_dir
        if data_source and Path(data_source).exists() and (self.session.data is None or self.session.data.path != data_source):
            self.data_page.open_path(data_source)
        else:
            self.train_page.update_buttons()

    def _resume_ready(self, run_dir: str) -> bool:
        from ..core.runs import RUN_JSON, read_json

        data = self.session.data
        if data is None or not data.can_train:
            return False
        try:
            wanted = read_json(Path(run_dir) / RUN_JSON)["data"]["fingerprint_all"]
        except (OSError, ValueError, KeyError):
            return False
        return wanted == data.fingerprint

    def _continue_resume(self) -> None:
        run = self._pending_resume
        if run and self._resume_ready(run) and not self.tasks.is_running("train"):
            self._pending_resume = None
            self.train_page.resumable_run = run
            self.train_page.resume()

    # -- drag and drop ---------------------------------------------------------------------------
    def dragEnterEvent(self, event):  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event):  # noqa: N802
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.show_page(self.data_page)
            self.data_page.open_path(urls[0])
            event.acceptProposedAction()

    # -- closing ---------------------------------------------------------------------------------
    def _ask_close(self) -> bool:
        answer = QMessageBox.question(self, "A job is running",
                                      "Training or a comparison is still running. Stop it and quit? A training run keeps "
                                      "a checkpoint, and the app offers to resume it at the next start.",
                                      QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
        return answer == QMessageBox.Yes

    def closeEvent(self, event):  # noqa: N802
        if (self.tasks.is_running("train") or self.tasks.is_running("compare")) and not self.confirm_close():
            event.ignore()
            return
        self.statusBar().showMessage("Saving a checkpoint and stopping …")
        self.setEnabled(False)
        self.repaint()
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop every worker and wait for its thread; save the settings."""
        self.closing = True
        self.train_page.charts.timer.stop()
        self.train_page.eta_timer.stop()
        self.compare_page.charts.timer.stop()
        self.store.set("geometry", bytes(self.saveGeometry().toBase64()).decode())
        self.store.set("train_settings", self.session.settings.to_dict())
        self.store.save()
        self.classify_page.debounce.stop()
        self.label_page.closing = True  # no retrain starts while the workers stop
        self.tasks.stop_all()
        workers.forget_classifier()
        self.session_signals.detach()

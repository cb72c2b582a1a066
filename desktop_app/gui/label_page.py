"""The Label page: label unlabeled texts with the keyboard, helped by the model's suggestion.

Open texts, type the category names, then, in the text being labeled (it has the keyboard and is on
screen; keys typed anywhere else never label): 1-9 picks a category, Enter accepts the suggestion,
Backspace undoes, S skips. Every label is saved at once to ``<input>.labeled.csv`` beside the input
(core/labeling.py). Every few labels the suggestions are retrained in the background (zero-shot from
the names, then nearest-centroid, then few-shot training) through the one worker pattern, and the
queue shows the most useful texts first. Usable alone (``LabelPage()``) or inside the main window.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFileDialog, QFrame, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton,
                               QVBoxLayout, QWidget)

from . import workers
from .widgets import Series, hint, plot_widget, show_error

RETRAIN_EVERY = 5  # labels between background retrains
KEYS_HELP = "Keys: 1-9 choose a category · Enter accepts the suggestion · Backspace undoes · S skips"


def suggest_task(texts: list[str], categories: list[str], labeled: dict[int, str], model: str, *, report, should_stop):
    import torch

    from ..core.device import threads_beside_a_gui
    from ..core.labeling import suggest

    torch.set_num_threads(threads_beside_a_gui())  # as for training beside the window: all cores busy stall both

    return suggest(texts, categories, labeled, model=model, on_event=report, should_stop=should_stop)


def read_texts_task(path: str, *, report, should_stop) -> dict:
    from ..core.events import StatusEvent
    from ..core.labeling import read_for_labeling

    report(StatusEvent(f"Reading {path}"))
    return read_for_labeling(path)


class LabelPage(QWidget):
    suggestions_updated = Signal()  # a background retrain finished and its suggestions are shown
    labeled = Signal()  # a label, skip or undo was saved

    def __init__(self, window=None, model: str = "default", retrain_every: int = RETRAIN_EVERY):
        super().__init__()
        self.win = window
        self.tasks = window.tasks if window is not None else workers.Tasks(self)
        self.model = model
        self.retrain_every = retrain_every
        self.store = None
        self.suggestions = None
        self.current: int | None = None
        self.labels_at_last_train = -1
        self.retraining = False  # a retrain is running; its results have not arrived yet
        self.stale = False  # a retrain was cancelled: the next change starts one
        self.closing = False
        self.chart_series = Series()
        self.setFocusPolicy(Qt.StrongFocus)  # focusing the page focuses the text being labeled (its focus proxy)

        self.open_button = QPushButton("Open texts…")
        self.open_button.clicked.connect(self._choose_file)
        self.file_label = QLabel("")
        self.categories_edit = QLineEdit()
        self.categories_edit.setPlaceholderText("Type the category names, separated by commas, e.g. Billing, Delivery, Login")
        self.categories_edit.editingFinished.connect(self._categories_edited)
        self.categories_edit.returnPressed.connect(self.focus_text)  # Enter here applies the names, and only that
        self.empty = hint("Open a file of texts that have no labels yet (CSV, TSV, JSONL, XLSX, TXT or a folder of .txt files), "
                          "then type the category names.")

        self.progress_label = QLabel("")
        self.text_view = QPlainTextEdit()
        self.text_view.setReadOnly(True)
        # the labeling keys act only here: while the text being labeled has the focus and is on screen, so keys
        # typed elsewhere (a path, a category name, Enter in a text box) never label or skip a text unseen
        self.text_view.setFocusPolicy(Qt.StrongFocus)
        self.text_view.setToolTip("Click here, then: " + KEYS_HELP[len("Keys: "):])
        self.text_view.installEventFilter(self)
        self.setFocusProxy(self.text_view)
        self.text_view.setMinimumHeight(90)
        self.suggestion_label = QLabel("")
        font = self.suggestion_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.suggestion_label.setFont(font)
        self.buttons_box = QWidget()
        self.buttons_layout = QGridLayout(self.buttons_box)
        self.buttons_layout.setContentsMargins(0, 0, 0, 0)
        self.category_buttons: list[QPushButton] = []
        self.method_label = QLabel("")
        self.method_label.setWordWrap(True)
        self.saved_label = QLabel("")
        self.saved_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.saved_label.setWordWrap(True)
        self.folder_button = QPushButton("Change folder…")
        self.folder_button.setFocusPolicy(Qt.NoFocus)
        self.folder_button.clicked.connect(self._choose_labels_folder)
        self.model_button = QPushButton("Make a model from the category names")
        self.model_button.setToolTip("A model that recognises the categories from their names alone, ready at once to "
                                     "classify files. Available at any time, with or without labels.")
        self.model_button.setFocusPolicy(Qt.NoFocus)
        self.model_button.clicked.connect(self.model_from_names)
        self.model_button.setVisible(window is not None)
        self.train_button = QPushButton("Train a model on these labels…")
        self.train_button.setToolTip("With labels for at least two categories: opens the labeled file for training (the app "
                                     "picks the way to learn).")
        self.train_button.setFocusPolicy(Qt.NoFocus)
        self.train_button.clicked.connect(self.train_on_labels)
        self.train_button.setVisible(window is not None)
        self.chart = plot_widget("Estimated accuracy: suggestions that matched your labels (on the hardest texts, so it runs low)",
                                 "accuracy", "labels so far")
        self.chart.setYRange(0, 1)
        self.chart.setMinimumHeight(160)
        self.chart.setMaximumHeight(280)  # the text and the buttons come first; the chart is a glance
        self.chart_curve = self.chart.plot([], [], symbol="o", symbolSize=5)
        self.chart_hint = hint("After a few labels, a chart here shows how often the suggestions matched your labels, "
                               "so you can see when more labels stop helping.")
        self.keys_hint = hint(KEYS_HELP + " (while the text above is selected: click it)")

        self.continue_button = QPushButton("")  # "Continue labeling X": the last file labeled, when its labels are saved
        self.continue_button.setFocusPolicy(Qt.NoFocus)
        self.continue_button.clicked.connect(lambda: self.open_file(self._last_file()))
        self.continue_button.setVisible(False)

        top = QHBoxLayout()
        top.addWidget(self.open_button)
        top.addWidget(self.continue_button)
        top.addWidget(self.file_label, 1)
        models = QHBoxLayout()  # a row of their own: both ways to a model always show (one above the other when narrow)
        self.models_row = models
        models.addWidget(self.model_button)
        models.addWidget(self.train_button)
        models.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(QLabel("Categories:"))
        layout.addWidget(self.categories_edit)
        layout.addLayout(models)
        layout.addWidget(self.empty)
        line = QFrame()
        line.setFrameShape(QFrame.HLine)
        layout.addWidget(line)
        layout.addWidget(self.progress_label)
        layout.addWidget(self.text_view, 1)
        layout.addWidget(self.suggestion_label)
        layout.addWidget(self.buttons_box)
        layout.addWidget(self.keys_hint)
        layout.addWidget(self.method_label)
        layout.addWidget(self.chart)
        layout.addWidget(self.chart_hint)
        saved_row = QHBoxLayout()
        saved_row.addWidget(self.saved_label, 1)
        saved_row.addWidget(self.folder_button)
        layout.addLayout(saved_row)
        # before a file is open only the first steps show; the labeling area and the chart come with the texts
        self.session_widgets = [self.progress_label, self.text_view, self.suggestion_label, self.buttons_box,
                                self.keys_hint, self.method_label, self.saved_label, self.folder_button, line]
        self._refresh()

    # -- opening -------------------------------------------------------------------------------
    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open unlabeled texts", "",
                                              "Texts (*.csv *.tsv *.jsonl *.xlsx *.txt);;All files (*)")
        if path:
            self.open_file(path)

    def open_file(self, path: str | Path) -> None:
        """Read the texts in the background; the labels saved earlier for this input come back."""
        self.tasks.start("label-read", read_texts_task, str(path), on_done=self._opened,
                         on_failed=lambda message, details: show_error(self, message, details))

    def _last_file(self) -> str | None:
        """The file labeled last time (remembered by the window), while it and its saved labels exist."""
        from ..core.labeling import store_paths

        path = self.win.store.get("last_label_file") if self.win is not None else None
        if not path or not Path(path).exists() or not (store_paths(path, self.labels_dir())[0].is_file()
                                                       or store_paths(path)[0].is_file()):
            return None
        return str(path)

    def _opened(self, result: dict) -> None:
        from ..core.labeling import LabelStore

        if self.win is not None:
            self.win.store.set("last_label_file", result["path"])

        self.store = LabelStore.open(result["path"], result["texts"], result["rows"], result.get("given"),
                                     folder=self.labels_dir())
        self.suggestions = None
        self.labels_at_last_train = -1
        self._redraw_chart_from_store()  # this file's own points (labels saved earlier come back), nothing of the last file
        given = len(result.get("given") or {})
        words = [f"{Path(result['path']).name}: {len(result['texts'])} texts (column '{result['column']}')"]
        if given and len(self.store.labels) == given and not self.store.history:
            words.append(f"{given} already labeled in the file")
        if result.get("note"):
            words.append(result["note"])
        self.file_label.setText(" · ".join(words))
        self.file_label.setWordWrap(True)
        typed = self.categories_edit.text()
        if not self.store.categories and typed.strip():  # names typed before the file was open are kept
            self.store.set_categories(typed.split(","))  # the store has no labels yet, so nothing is refused
        self.categories_edit.setText(", ".join(self.store.categories))
        self._rebuild_buttons()
        self._advance()
        self._maybe_retrain(force=True)
        if not self.categories_edit.hasFocus():
            self.focus_text()  # the keys label at once
        if self.win is not None:
            self.win._update_chrome()  # the status line names the file being labeled

    def labels_dir(self) -> str | None:
        """The folder the user chose for labels (None: beside each file; the samples' under the documents)."""
        return (self.win.store.get("labels_dir") or None) if self.win is not None else None

    def _choose_labels_folder(self) -> None:
        from ..core.labeling import labels_folder

        start = str(labels_folder(self.store.source, self.labels_dir())) if self.store is not None else ""
        folder = QFileDialog.getExistingDirectory(self, "Folder for your labels", start)
        if folder:
            self.set_labels_folder(folder)

    def set_labels_folder(self, folder: str) -> None:
        """Save the labels in ``folder`` from now on (the labels so far are written there at once)."""
        if self.win is not None:
            self.win.store.set("labels_dir", str(folder))
        if self.store is not None:
            from ..core.labeling import store_paths

            self.store.folder = Path(folder)
            self.store._paths = store_paths(self.store.source, folder)
            if self.store.history or self.store.labels:
                self.store.save(force=True)
        self._refresh()

    # -- categories ----------------------------------------------------------------------------
    def set_categories(self, names) -> None:
        if isinstance(names, str):
            names = names.split(",")
        if self.store is None:
            return
        try:
            self.store.set_categories(names)
        except Exception as exc:  # UserInputError: a category in use
            show_error(self, getattr(exc, "message", str(exc)), getattr(exc, "describe", lambda: "")())
        self.categories_edit.setText(", ".join(self.store.categories))
        self._rebuild_buttons()
        self._maybe_retrain(force=True)
        self._refresh()
        self.setFocus()

    def _categories_edited(self) -> None:
        if self.store is not None and [c.strip() for c in self.categories_edit.text().split(",") if c.strip()] != self.store.categories:
            self.set_categories(self.categories_edit.text())
        self.setFocus()

    def _rebuild_buttons(self) -> None:
        for button in self.category_buttons:
            button.deleteLater()
        self.category_buttons = []
        for i, name in enumerate(self.store.categories if self.store else []):
            button = QPushButton(f"{i + 1}  {name}" if i < 9 else name)
            button.setFocusPolicy(Qt.NoFocus)
            button.clicked.connect(lambda _=False, n=name: self.give_label(n))
            self.category_buttons.append(button)
        self._place_buttons()

    def _buttons_per_row(self) -> int:
        """As many category buttons in a row as fit the page's width (at most 5), so a narrow or
        200%-scaled window wraps them into more rows instead of scrolling sideways."""
        if not self.category_buttons:
            return 5
        widest = max(b.sizeHint().width() for b in self.category_buttons) + self.buttons_layout.spacing()
        room = max(1, self._visible_width() - 2 * self.layout().contentsMargins().left())
        return max(1, min(5, room // max(1, widest)))

    def _visible_width(self) -> int:
        """The width the page is shown in: the scroll area's viewport when the window scrolls its pages
        (the page itself is as wide as its widest row, which is what must shrink)."""
        from PySide6.QtWidgets import QScrollArea

        widget = self.parentWidget()
        while widget is not None and not isinstance(widget, QScrollArea):
            widget = widget.parentWidget()
        return widget.viewport().width() if widget is not None else self.width()

    def _place_buttons(self) -> None:
        per_row = self._buttons_per_row()
        for i, button in enumerate(self.category_buttons):
            self.buttons_layout.removeWidget(button)
            self.buttons_layout.addWidget(button, i // per_row, i % per_row)
        self._buttons_placed_per_row = per_row

    def _replace_buttons_if_needed(self) -> None:
        if self.category_buttons and self._buttons_per_row() != getattr(self, "_buttons_placed_per_row", None):
            self._place_buttons()

    def set_narrow(self, narrow: bool) -> None:
        """Called by the window on every resize: re-wrap the category buttons once the new width is laid out."""
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QBoxLayout

        self.models_row.setDirection(QBoxLayout.TopToBottom if narrow else QBoxLayout.LeftToRight)
        QTimer.singleShot(0, self._replace_buttons_if_needed)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self._replace_buttons_if_needed()

    # -- labeling ------------------------------------------------------------------------------
    def current_suggestion(self) -> tuple[str, float] | None:
        if self.suggestions is None or self.current is None:
            return None
        return self.suggestions.for_position(self.current)

    def give_label(self, name: str) -> None:
        if self.store is None or self.current is None:
            return
        suggestion = self.current_suggestion()
        if suggestion is not None and not self.suggestions.counts_for_estimate(self.current):
            suggestion = None  # a category's likeliest text tests nothing: it stays out of the estimate
        self.store.label(self.current, name, suggestion[0] if suggestion else None)
        if suggestion:
            self._add_chart_point(len(self.store.labels))
        self._after_change()

    def accept_suggestion(self) -> None:
        suggestion = self.current_suggestion()
        if suggestion is not None and self.store is not None and suggestion[0] in self.store.categories:
            self.give_label(suggestion[0])

    def skip(self) -> None:
        if self.store is not None and self.current is not None:
            self.store.skip(self.current)
            self._after_change()

    def undo(self) -> None:
        if self.store is None:
            return
        position = self.store.undo()
        if position is not None:
            self.current = position
            self._redraw_chart_from_store()
            self._refresh()
            self.labeled.emit()

    def _after_change(self) -> None:
        self._advance()
        self.labeled.emit()
        self._maybe_retrain()

    def _advance(self) -> None:
        remaining = self.store.next_positions(self.suggestions.queue if self.suggestions else ())
        self.current = remaining[0] if remaining else None
        self._refresh()

    def focus_text(self) -> None:
        """Give the keyboard to the text being labeled (after the categories are typed, after opening a file)."""
        if self.text_view.isVisible():
            self.text_view.setFocus(Qt.OtherFocusReason)

    def labeling_keys_active(self) -> bool:
        """The labeling keys act only while the text being labeled has the focus and is on screen."""
        view = self.text_view
        return (self.store is not None and view.isVisible() and view.hasFocus()
                and not view.visibleRegion().isEmpty())

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        from PySide6.QtCore import QEvent

        if watched is self.text_view and event.type() == QEvent.KeyPress and self.labeling_key(event):
            return True
        return super().eventFilter(watched, event)

    def labeling_key(self, event) -> bool:
        """Act on a labeling key pressed in the text being labeled; False: not one (or not now), nothing done."""
        if not self.labeling_keys_active():
            return False
        key, text = event.key(), event.text()
        if text.isdigit() and text != "0":
            index = int(text) - 1
            if index < len(self.store.categories):
                self.give_label(self.store.categories[index])
            return True
        if key in (Qt.Key_Return, Qt.Key_Enter):
            self.accept_suggestion()
        elif key == Qt.Key_Backspace or (key == Qt.Key_Z and event.modifiers() & Qt.ControlModifier):
            self.undo()
        elif key == Qt.Key_S and not event.modifiers() & ~Qt.ShiftModifier:
            self.skip()
        else:
            return False
        return True

    # -- from labels to a model ------------------------------------------------------------------
    def make_model(self) -> None:
        """Labels for two or more categories: the labeled file opens on the Data page and the Model page shows
        how it will learn (few labels: few-shot), one press of Start training away. No labels yet: a zero-shot
        run from the typed names, made at once and opened (Classify works with it)."""
        if self.win is None or self.store is None or len(self.store.categories) < 2:
            return
        if len(set(self.store.labels.values())) >= 2:
            self.train_on_labels()
            return
        self.model_from_names()

    def train_on_labels(self) -> None:
        """The labeled file opens on the Data page and the Model page shows how it will learn."""
        if self.win is None or self.store is None or len(set(self.store.labels.values())) < 2:
            return
        self.win.data_page.open_path(str(self.store.csv_path))
        self.win.show_page(self.win.model_page)
        self.win.statusBar().showMessage("Your labels are open for training: check the plan, then press Start training "
                                         "(Ctrl+R).", 15000)

    def model_from_names(self) -> None:
        """A zero-shot run from the typed names, made at once and opened (Classify works with it), labels or not."""
        if self.win is None or self.store is None or len(self.store.categories) < 2:
            return
        from ..core.runs import new_run_dir

        out = new_run_dir(self.win.store.runs_dir(), "category-names")
        self.model_button.setEnabled(False)
        self.win.tasks.start("zero-shot", workers.zero_shot_run_task, list(self.store.categories),
                             self.win.model_path() or "default", str(out), on_done=self._zero_shot_ready,
                             on_failed=self._zero_shot_failed, on_cancelled=lambda: self.model_button.setEnabled(True),
                             description="Making a model from the category names")

    def _update_model_button(self) -> None:
        """Say what the button will do: train on the labels, or a model from the names alone."""
        ready = self.store is not None and len(self.store.categories) >= 2
        busy = self.win is not None and self.win.tasks.is_running("zero-shot")
        self.model_button.setEnabled(ready and not busy)
        labeled = ready and len(set(self.store.labels.values())) >= 2
        self.train_button.setEnabled(labeled)
        self.train_button.setToolTip("Opens the labeled file for training (the app picks the way to learn)." if labeled else
                                     "Label texts of at least two categories first.")

    def _zero_shot_ready(self, result) -> None:
        self.model_button.setEnabled(True)
        self.win.runs_page.refresh()
        self.win.open_run(str(result.run_dir), evaluate=False)
        self.win.show_page(self.win.classify_page)
        self.win.statusBar().showMessage("A model from the category names is ready: classify texts or files with it. "
                                         "Label a few texts per category for a better one.", 15000)

    def _zero_shot_failed(self, message: str, details: str) -> None:
        self.model_button.setEnabled(True)
        show_error(self, message, details)

    # -- background retraining -----------------------------------------------------------------
    def _maybe_retrain(self, force: bool = False) -> None:
        if self.store is None or len(self.store.categories) < 2 or self.closing:
            return
        n = len(self.store.labels)
        if not force and not self._retrain_due():
            return
        if self.retraining and not force:
            return  # one retrain at a time; when it ends, the labels given meanwhile start the next
        self.labels_at_last_train = n
        self.retraining, self.stale = True, False
        self.method_label.setText(self.method_label.text().split(" (updating")[0] + " (updating the suggestions in the background…)")
        self.tasks.start("label-suggest", suggest_task, list(self.store.texts), list(self.store.categories), dict(self.store.labels),
                         self.model, on_done=self._suggestions_ready, on_failed=self._retrain_failed,
                         on_cancelled=self._retrain_cancelled, description="Updating the suggestions")

    def _retrain_due(self) -> bool:
        """Every few labels, and at once when every category reaches two labels (few-shot training can start)."""
        n = len(self.store.labels)
        if self.stale or n - self.labels_at_last_train >= self.retrain_every:
            return True
        counts = self.store.class_counts()
        few_shot_possible = bool(counts) and min(counts.values()) >= 2
        return few_shot_possible and n != self.labels_at_last_train and (self.suggestions is None or self.suggestions.method != "few-shot")

    def _retrain_cancelled(self) -> None:
        """Esc stopped the background retrain: labeling goes on with the suggestions shown; the next label retrains."""
        self.retraining = False
        self.stale = True
        self.method_label.setText(self.method_label.text().split(" (updating")[0])

    def _retrain_failed(self, message: str, details: str) -> None:
        self.retraining = False
        show_error(self, message, details)

    def _suggestions_ready(self, suggestions) -> None:
        self.retraining = False
        if self.store is None or suggestions.categories != self.store.categories:
            return  # the categories changed meanwhile; a newer retrain is on its way
        self.suggestions = suggestions
        self.method_label.setText(f"Suggestions: {suggestions.reason}")
        if self.current is None or self.current in self.store.labels or self.current in self.store.skipped:
            self._advance()
        else:
            self._refresh()
        self.suggestions_updated.emit()
        self._maybe_retrain()

    # -- display -------------------------------------------------------------------------------
    def _add_chart_point(self, n: int) -> None:
        from ..core.labeling import SUGGESTION_WINDOW

        hits = [ok for m, ok in self.store.hits if m <= n][-SUGGESTION_WINDOW:]
        if len(hits) >= 5:
            self.chart_series.append(n, sum(hits) / len(hits))
            self._draw_chart()

    def _redraw_chart_from_store(self) -> None:
        self.chart_series = Series()
        for n, _ in self.store.hits:
            self._add_chart_point(n)
        self._draw_chart()

    def _draw_chart(self) -> None:
        """The points so far; the x axis counts whole labels (at least 0-20, so early points are not stretched)."""
        x, y = self.chart_series.view()
        self.chart_curve.setData(x, y)
        self.chart.setXRange(0, max(20.0, float(x[-1]) * 1.05) if len(x) else 20.0, padding=0)
        self._show_chart()

    def _show_chart(self) -> None:
        has_points = self.store is not None and self.chart_series.n > 0
        self.chart.setVisible(has_points)
        self.chart_hint.setVisible(self.store is not None and not has_points)

    def _refresh(self) -> None:
        has_store = self.store is not None
        last = None if has_store else self._last_file()
        self.continue_button.setVisible(last is not None)
        if last is not None:
            self.continue_button.setText(f"Continue labeling {Path(last).name}")
            self.continue_button.setToolTip(f"{last}: your labels are saved beside it and come back")
        self.empty.setVisible(not has_store or len(self.store.categories) < 2)
        for widget in self.session_widgets:
            widget.setVisible(has_store)
        self._show_chart()
        self._update_model_button()
        if not has_store:
            self.progress_label.setText("")
            self.suggestion_label.setText("")
            return
        labeled, skipped = len(self.store.labels), len(self.store.skipped)
        left = len(self.store.texts) - labeled - skipped
        estimate = self.store.estimated_accuracy()
        extra = f" · suggestions right {100 * estimate:.0f}% of the time lately" if estimate is not None else ""
        self.progress_label.setText(f"{labeled} labeled · {skipped} skipped · {left} to go{extra}")
        if self.current is None:
            self.text_view.setPlainText("")
            self.suggestion_label.setText("Everything is labeled or skipped." if self.store.texts else "")
        else:
            self.text_view.setPlainText(self.store.texts[self.current])
            suggestion = self.current_suggestion()
            if len(self.store.categories) < 2:
                self.suggestion_label.setText("Type at least two category names to start.")
            elif suggestion is None:
                self.suggestion_label.setText("Suggestion: not ready yet (working in the background)")
            else:
                self.suggestion_label.setText(f"Suggestion: <b>{suggestion[0]}</b> ({100 * suggestion[1]:.0f}% sure) — Enter accepts")
        # the name and the folder on the page (word-wrapped: a long folder must not widen it), the whole path in the tooltip
        where = self.store.csv_path.parent
        place = f"beside {self.store.source.name}" if where == self.store.source.parent else f"in {where}"
        if self.store.csv_path.is_file():
            self.saved_label.setText(f"Saved as you go to {self.store.csv_path.name}, {place}")
        else:
            self.saved_label.setText(f"From the first label, saved as you go to {self.store.csv_path.name}, {place}")
        self.saved_label.setToolTip(str(self.store.csv_path))

    def closeEvent(self, event) -> None:  # noqa: N802 - standalone use: stop our own workers
        if self.win is None:
            self.closing = True  # typed categories still get saved as the focus leaves, but no new work starts
            self.tasks.stop_all()
        super().closeEvent(event)

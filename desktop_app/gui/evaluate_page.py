"""Page 4: metrics of a run on the validation part or another labeled file; confusion matrix with examples."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QGroupBox, QHBoxLayout, QHeaderView, QLabel,
                               QPushButton, QSplitter, QTableView, QTableWidget, QTableWidgetItem, QTabWidget,
                               QVBoxLayout, QWidget)

from . import workers
from .widgets import JobBar, RowsModel, heat_color, heat_scale, hint, readable_text_color, show_error

EXAMPLE_COLUMNS = ["row", "label", "predicted", "confidence", "text"]
LABEL_ERROR_COLUMNS = ["row", "missed", "added", "label", "predicted", "text"]  # multi-label: labels missed / added
SINGLE_COLUMNS = (["Class", "Found", "Correct", "Score", "Texts"],
                  ["", "Found (recall): of the texts of this class, the share the model found",
                   "Correct (precision): of the texts the model put in this class, the share that belong there",
                   "Score (F1): one number from Found and Correct (100% is perfect)", "Texts of this class evaluated"])
MULTI_COLUMNS = (["Label", "Found", "Correct", "Score", "Texts", "Missed", "Added", "Cut-off"],
                 ["", "Found (recall): of the texts with this label, the share the model gave it",
                  "Correct (precision): of the texts the model gave this label, the share that have it",
                  "Score (F1): one number from Found and Correct (100% is perfect)", "Texts that have this label",
                  "Texts that have this label but did not get it (false negatives). Click to see them.",
                  "Texts that got this label without having it (false positives). Click to see them.",
                  "The model gives the label when its probability reaches this value (threshold, tuned on validation)"])
MISSED_COL, ADDED_COL = 5, 6


class ConfusionTable(QTableWidget):
    """The confusion matrix as a heatmap: rows are the true class, columns the predicted class; each cell
    is colored by its share of the row (green on the diagonal, red-orange off it) and says so in its tooltip."""

    recolored = Signal()  # after the colors were (re)computed, e.g. for a new palette

    CORNER_TEXT = "true \\ predicted"
    FILL_UP_TO = 12  # classes

    def __init__(self, parent=None):
        super().__init__(0, 0, parent)
        self.matrix: list[list[int]] = []
        self.labels: list[str] = []
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setToolTip("Rows: true class, columns: predicted class. Click a cell to see its examples.")
        self.horizontalHeader().setMinimumSectionSize(44)
        self.horizontalHeader().setTextElideMode(Qt.ElideMiddle)  # long class names: the full name is in the tooltip
        self.setCornerButtonEnabled(False)
        self.corner = QLabel(self.CORNER_TEXT, self)
        self.corner.setAlignment(Qt.AlignCenter)
        self.corner.setToolTip("Rows: the true class. Columns: the class the model predicted.")
        self.corner.setAutoFillBackground(True)  # palette roles, not a style sheet: they follow a theme change
        self.corner.setBackgroundRole(QPalette.Button)
        self.corner.setForegroundRole(QPalette.ButtonText)
        font = QFont(self.corner.font())
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
        self.corner.setFont(font)
        self.verticalHeader().setMinimumWidth(self.corner.sizeHint().width() + 6)

    def set_matrix(self, labels: list[str], matrix) -> None:
        self.labels = [str(l) for l in labels]
        self.matrix = [[int(v) for v in row] for row in matrix]
        k = len(self.labels)
        self.clear()  # the corner label is a child widget, not an item: it stays
        self.setRowCount(k)
        self.setColumnCount(k)
        for i, label in enumerate(self.labels):
            h = QTableWidgetItem(label)
            h.setToolTip(f"predicted: {label}")
            self.setHorizontalHeaderItem(i, h)
            v = QTableWidgetItem(label)
            v.setToolTip(f"true: {label} ({sum(self.matrix[i])} examples)")
            self.setVerticalHeaderItem(i, v)
        for r in range(k):
            total = sum(self.matrix[r])
            for c in range(k):
                n = self.matrix[r][c]
                item = QTableWidgetItem(str(n))
                item.setTextAlignment(Qt.AlignCenter)
                share = n / total if total else 0.0
                item.setToolTip(f"true {self.labels[r]} → predicted {self.labels[c]}: {n} ({share:.1%} of {self.labels[r]})"
                                + ("\nClick to see these examples." if n else ""))
                if r == c:
                    font = QFont(item.font())
                    font.setBold(True)
                    item.setFont(font)
                self.setItem(r, c, item)
        self.recolor()
        # A few classes: the matrix fills its box (big cells, no scrolling). Many: cells fit their numbers, and it scrolls.
        fill = QHeaderView.Stretch if k <= self.FILL_UP_TO else QHeaderView.ResizeToContents
        self.horizontalHeader().setSectionResizeMode(fill)
        self.verticalHeader().setSectionResizeMode(fill)
        self._place_corner()

    def share(self, row: int, column: int) -> float:
        total = sum(self.matrix[row])
        return self.matrix[row][column] / total if total else 0.0

    def recolor(self) -> None:
        """Colors from the current palette's base color, so a light or dark theme both read well."""
        base = self.palette().base().color()
        correct, wrong = heat_scale(base)
        for r in range(self.rowCount()):
            for c in range(self.columnCount()):
                item = self.item(r, c)
                if item is None:
                    continue
                share = self.share(r, c)
                background = heat_color(share, correct if r == c else wrong, base)
                item.setBackground(background)
                item.setForeground(readable_text_color(background))
        self.recolored.emit()

    def changeEvent(self, event):  # noqa: N802
        super().changeEvent(event)
        if event.type() == QEvent.PaletteChange:
            self.recolor()

    def updateGeometries(self):  # noqa: N802 - called whenever the headers change size
        super().updateGeometries()
        self._place_corner()

    def _place_corner(self) -> None:
        frame = self.frameWidth()
        w, h = self.verticalHeader().width(), self.horizontalHeader().height()
        self.corner.setGeometry(frame, frame, w, h)
        self.corner.setVisible(w > 0 and h > 0)
        self.corner.raise_()


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#%02x%02x%02x" % rgb


class EvaluatePage(QWidget):
    """A view of the session's evaluation: drawn from ``session.current_evaluation()`` on every change."""

    evaluated = Signal()
    train_longer = Signal()
    use_class_weights = Signal()

    def __init__(self, window):
        super().__init__()
        self.win = window
        self.shown = None  # the Evaluation drawn now
        self.run_label = QLabel("")
        self.run_label.setWordWrap(True)
        self._part_cache = None  # (run, data object, run.json's time, validation_part's answer)
        self.valid_button = QPushButton("Evaluate on the validation part")
        self.valid_button.setToolTip("The examples kept aside during training (the same split the run used)")
        self.valid_button.clicked.connect(self.evaluate_validation)
        self.file_button = QPushButton("Evaluate on a labeled file…")
        self.file_button.setToolTip("Any file with texts and their correct labels, for example a test set")
        self.file_button.clicked.connect(self.choose_file)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(lambda: self.win.tasks.stop("evaluate"))
        self.cancel_button.setEnabled(False)
        top = self.top_row = QHBoxLayout()
        for b in (self.valid_button, self.file_button, self.cancel_button):
            top.addWidget(b)
        top.addStretch(1)
        self.job = JobBar(window.tasks, "evaluate")
        self.empty = hint("Train a model (or open a run in the Run library): its results appear here.")

        self.headline = QLabel("")
        big = QFont(self.headline.font())
        big.setPointSizeF(big.pointSizeF() * 1.4)
        self.headline.setFont(big)  # a font, not a style sheet: a style sheet would pin the colors of the theme it started with
        self.headline.setWordWrap(True)
        self.words = QLabel("")
        self.words.setWordWrap(True)
        self.metrics_label = QLabel("")
        self.metrics_label.setWordWrap(True)
        self.advice_box = QGroupBox("What to do next")
        self.advice_layout = QVBoxLayout(self.advice_box)
        self.advice_box.setVisible(False)

        self.per_class = QTableWidget(0, 5)
        self.per_class.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.per_class.verticalHeader().setVisible(False)
        self.per_class.cellClicked.connect(self.show_label_cell)
        self._set_columns(False)
        self.confusion = ConfusionTable()
        self.confusion.cellClicked.connect(self.show_cell)
        self.confusion.recolored.connect(self._update_legend)
        self.confusion_legend = QLabel()
        self.confusion_legend.setWordWrap(True)
        self._update_legend()
        self.examples_title = QLabel("Click a cell of the table of answers to see its examples.")
        self.examples_title.setWordWrap(True)
        self.examples = QTableView()
        self.examples.setModel(RowsModel(EXAMPLE_COLUMNS))
        self.examples.horizontalHeader().setStretchLastSection(True)
        self.mistakes = QTableView()
        self.mistakes.setModel(RowsModel(EXAMPLE_COLUMNS))
        self.mistakes.horizontalHeader().setStretchLastSection(True)

        cm_box = QGroupBox("Answers: true class (rows) against the model's answer (columns)")
        cm_box.setToolTip("The confusion matrix. The diagonal holds the right answers.")
        cm_layout = QVBoxLayout(cm_box)
        cm_layout.addWidget(self.confusion, 1)
        cm_layout.addWidget(self.confusion_legend)
        pc_box = self.pc_box = QGroupBox("Per class")
        QVBoxLayout(pc_box).addWidget(self.per_class)
        upper = self.upper = QSplitter(Qt.Horizontal)
        upper.addWidget(pc_box)
        upper.addWidget(cm_box)
        self.cm_box = cm_box
        upper.setStretchFactor(0, 2)
        upper.setStretchFactor(1, 3)  # the matrix needs the room more than the per-class table
        ex_widget = QWidget()
        el = QVBoxLayout(ex_widget)
        el.setContentsMargins(0, 0, 0, 0)
        el.addWidget(self.examples_title)
        el.addWidget(self.examples)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.mistakes, "Mistakes, most confident first")
        self.tabs.addTab(ex_widget, "Examples of a cell")
        self.multi_label = False  # the evaluation shown is multi-label (several labels per text)
        self.body = QSplitter(Qt.Vertical)
        self.body.addWidget(upper)
        self.body.addWidget(self.tabs)
        self.body.setVisible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.run_label)
        layout.addLayout(top)
        layout.addWidget(self.job)
        layout.addWidget(self.empty)
        layout.addWidget(self.headline)
        layout.addWidget(self.words)
        layout.addWidget(self.advice_box)
        layout.addWidget(self.metrics_label)
        layout.addWidget(self.body, 1)
        window.session_signals.changed.connect(self._session_changed)
        self.update_buttons()

    def _set_columns(self, multi: bool) -> None:
        """Per class (one label per text) or per label (several): the table's columns and their tooltips."""
        names, tips = MULTI_COLUMNS if multi else SINGLE_COLUMNS
        self.per_class.setColumnCount(len(names))
        self.per_class.setHorizontalHeaderLabels(names)
        for c, tip in enumerate(tips):
            self.per_class.horizontalHeaderItem(c).setToolTip(tip)
        self.per_class.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        for c in range(1, len(names)):  # numbers: as wide as they need, the names get the rest
            self.per_class.horizontalHeader().setSectionResizeMode(c, QHeaderView.ResizeToContents)

    @property
    def result(self):
        """The examples behind the evaluation shown (None when it has none, or nothing is shown)."""
        return self.shown.result if self.shown is not None else None

    def _update_legend(self) -> None:
        correct, wrong = heat_scale(self.confusion.palette().base().color())
        self.confusion_legend.setText(
            f'<span style="background:{_hex(correct)}">&nbsp;&nbsp;&nbsp;&nbsp;</span> right &nbsp; '
            f'<span style="background:{_hex(wrong)}">&nbsp;&nbsp;&nbsp;&nbsp;</span> mistakes &nbsp; '
            "stronger color = larger share of the true class (row). <i>Click a cell to see its examples.</i>")

    def _session_changed(self, change: str) -> None:
        from ..core.session import DATA, EVALUATION, RUN

        if change in (RUN, EVALUATION, DATA):
            self.redraw()
            self.update_buttons()

    def set_narrow(self, narrow: bool) -> None:
        """The per-class table above the answers table in a narrow window (the window calls this on resize)."""
        from PySide6.QtWidgets import QBoxLayout

        self.upper.setOrientation(Qt.Vertical if narrow else Qt.Horizontal)
        self.top_row.setDirection(QBoxLayout.TopToBottom if narrow else QBoxLayout.LeftToRight)
        lines = self.fontMetrics().height()
        self.upper.setMinimumHeight(lines * 30 if narrow else 0)
        self.tabs.setMinimumHeight(lines * 12 if narrow else 0)

    def update_buttons(self) -> None:
        run = self.win.current_run
        busy = self.win.tasks.is_running("evaluate")
        self.run_label.setText(f"Model: {Path(run).name}" if run else "No model chosen yet.")
        part_why = self.validation_part()[1] if run else "Choose a model first."
        self.valid_button.setEnabled(bool(run) and not busy and not part_why)
        self.valid_button.setToolTip(part_why or "The examples kept aside during training (the same split the run used)")
        self.file_button.setEnabled(bool(run) and not busy)
        state = self.win.tasks.state("evaluate")
        self.cancel_button.setEnabled(busy and state is not None and state.status == "running")

    # -- running ---------------------------------------------------------------------------------
    def validation_part(self):
        """(the current run's validation rows from the open data, or None and why not): core.data.validation_part."""
        from ..core.data import validation_part
        from ..core.runs import read_json

        run, data = self.win.current_run, self.win.training_data()
        if not run:
            return None, "Choose a model first."
        if data is None:
            return None, "Open the labeled data the model was trained on, on the Data page."
        try:
            stamp = (Path(run) / "run.json").stat().st_mtime_ns
            cached = self._part_cache
            if cached is not None and cached[0] == run and cached[1] is data and cached[2] == stamp:
                return cached[3]  # the buttons ask on every change; the answer only moves with run or data
            record = read_json(Path(run) / "run.json")
        except (OSError, ValueError):
            return None, "This run has no record of its validation part."
        answer = validation_part(record, data)
        self._part_cache = (run, data, stamp, answer)
        return answer

    def evaluate_validation_if_same_data(self) -> bool:
        """Evaluate the current run on its validation part when the data it was trained on is open
        (never for a run without one: a few-shot run's cross-validated score stays as it is)."""
        data = self.win.session.data
        if data is None or not data.can_train:
            return False
        part, _ = self.validation_part()
        if part is None:
            return False
        self.run_evaluation(part, "validation")
        return True

    def evaluate_validation(self) -> None:
        part, why = self.validation_part()
        if part is None:
            show_error(self, why)
            return
        self.run_evaluation(part, "validation")

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Labeled file to evaluate on", self.win.store.get("last_open_dir", ""),
                                              "Data files (*.csv *.tsv *.jsonl *.xlsx *.txt);;All files (*)")
        if path:
            self.evaluate_file(path)

    def evaluate_file(self, path: str) -> None:
        """Read ``path`` and evaluate on it, both in the worker."""
        self.run_evaluation(str(path), str(path))

    def run_evaluation(self, data, on: str) -> None:
        from ..core.session import run_id_of

        run = self.win.current_run
        if not run:
            return
        fingerprint = self.win.session.data.fingerprint if on == "validation" and self.win.session.data else ""
        what = "the validation part" if on == "validation" else Path(on).name
        self.win.tasks.start("evaluate", workers.evaluate_task, run, data,
                             on_done=lambda r, i=run_id_of(run), f=fingerprint, o=on: self._evaluated(r, i, f, o),
                             on_failed=self._failed, description=f"Measuring how well the model does on {what}")
        self.update_buttons()

    def _evaluated(self, result, run_id: str, fingerprint: str, on: str) -> None:
        from ..core.session import Evaluation, record_evaluation

        record = record_evaluation(self.win.current_run) if self.win.current_run else None
        evaluation = Evaluation(run_id, fingerprint, on, result.metrics, result,
                                history=record.history if record else (),
                                class_counts=record.class_counts if record else {},
                                planned_epochs=record.planned_epochs if record else None)
        if self.win.session.set_evaluation(evaluation):
            self.evaluated.emit()

    def _failed(self, message: str, details: str) -> None:
        show_error(self, f"Evaluation failed: {message}", details)

    # -- drawing ---------------------------------------------------------------------------------
    def redraw(self) -> None:
        from ..core.session import percent, plural, summarize

        evaluation = self.win.session.current_evaluation()
        if evaluation is self.shown:
            return
        self.shown = evaluation
        self.examples.model().set_rows([])
        self.mistakes.model().set_rows([])
        self.examples_title.setText("Click a cell of the table of answers to see its examples.")
        if evaluation is None:
            for w in (self.headline, self.words, self.metrics_label):
                w.setText("")
            self.advice_box.setVisible(False)
            self.body.setVisible(False)
            self.empty.setVisible(True)
            self.per_class.setRowCount(0)
            self.confusion.set_matrix([], [])
            return
        m = evaluation.metrics
        summary = summarize(m, evaluation.on, evaluation.history, evaluation.class_counts, evaluation.planned_epochs)
        self.headline.setText(summary.headline)
        self.words.setText(" ".join(summary.details))
        self._show_advice(summary.advice)
        n = int(m.get("n") or sum(sum(r) for r in m.get("confusion_matrix", [])))
        source = ("measured when training ended" if evaluation.on == "record" else "measured just now")
        if evaluation.on == "record" and m.get("evaluated_on") == "cross-validation":
            source = ("cross-validated when training ended (no texts were kept aside; evaluate on a labeled file "
                      "for a true measure and examples of mistakes)")
        multi = m.get("problem_type") == "multi_label_classification"
        self.multi_label = multi
        long = (evaluation.result.long_documents if evaluation.result is not None else {}) or {}
        message = long.get("message") or ""
        if "--long-documents" in message:  # the command line's words: the app's setting instead
            message = (message.split("; --long-documents")[0] + ". Training with “Long texts: read in pieces” On "
                       "(Model page → Advanced settings) reads them whole")
        long_words = f" {message}." if message else ""
        if multi:
            self.metrics_label.setText(
                f"All labels right {percent(m.get('exact_match', m.get('accuracy', 0)))} · "
                f"score over all labels (micro-F1) {percent(m.get('micro_f1', 0))} · "
                f"balanced over labels (macro-F1) {percent(m['macro_f1'])} · {plural(n, 'text')}, {source}." + long_words)
            self.metrics_label.setToolTip("All labels right (exact match): the share of texts whose labels were all "
                                          "right, none missed and none added. Micro-F1: F1 over every label decision. "
                                          "Macro-F1: F1 averaged over the labels, so a rare label counts as much as a common one.")
        else:
            self.metrics_label.setText(
                f"Accuracy {percent(m['accuracy'])} · balanced over classes (macro-F1) {percent(m['macro_f1'])} · "
                f"{plural(n, 'text')}, {source}." + long_words)
            self.metrics_label.setToolTip("Accuracy: the share of texts the model got right. Macro-F1: the F1 score "
                                          "averaged over the classes, so a rare class counts as much as a common one.")
        self.empty.setVisible(False)
        self.body.setVisible(True)
        labels = list(m["labels"])
        pc = m.get("per_label" if multi else "per_class", {}) or m.get("per_class", {})
        self._set_columns(multi)
        self.pc_box.setTitle("Per label: click Missed or Added to see those texts" if multi else "Per class")
        self.cm_box.setVisible(not multi)  # a multi-label run has no table of answers: the per-label table says it
        self.tabs.setTabText(0, "Texts with labels missed or added" if multi else "Mistakes, most confident first")
        self.tabs.setTabText(1, "Texts of a label" if multi else "Examples of a cell")
        self.per_class.setRowCount(len(labels))
        thresholds = m.get("thresholds") or {}
        confusion = m.get("label_confusion") or {}
        for r, label in enumerate(labels):
            row = pc.get(label, {})
            values = [label] + [percent(row.get(k, 0)) for k in ("recall", "precision", "f1")] + [str(int(row.get("support", 0)))]
            if multi:
                (_tn, fp), (fn, _tp) = confusion.get(label, [[0, 0], [0, 0]])
                values += [str(int(fn)), str(int(fp)), f"{thresholds[label]:.2f}" if label in thresholds else ""]
            for c, v in enumerate(values):
                item = QTableWidgetItem(v)
                if c:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                if multi and c in (MISSED_COL, ADDED_COL) and v != "0":
                    item.setToolTip(f"Click to see the texts where “{label}” was {'missed' if c == MISSED_COL else 'added'}")
                self.per_class.setItem(r, c, item)
        self.confusion.set_matrix([] if multi else labels, [] if multi else m["confusion_matrix"])
        if multi:
            self.examples_title.setText("Click a number under Missed or Added to see those texts.")
        if evaluation.result is not None:
            if multi:
                self.mistakes.model().set_rows(evaluation.result.label_errors(), LABEL_ERROR_COLUMNS)
            else:
                self.mistakes.model().set_rows(evaluation.result.misclassified(), EXAMPLE_COLUMNS)
            self.mistakes.resizeColumnsToContents()
        else:
            self.examples_title.setText("Press “Evaluate on the validation part” (with the run's data open) to see the "
                                        "texts behind each " + ("number." if multi else "cell."))

    def show_label_cell(self, row: int, column: int) -> None:
        """Multi-label: the texts where this row's label was missed (Missed column) or added (Added column)."""
        if not self.multi_label or self.result is None or column not in (MISSED_COL, ADDED_COL):
            return
        label = self.result.metrics["labels"][row]
        kind = "missed" if column == MISSED_COL else "added"
        rows = self.result.examples_for_label(label, kind)
        self.examples_title.setText(f"“{label}” {'missed (the text has it, the model did not give it)' if kind == 'missed' else 'added (the model gave it, the text does not have it)'}: "
                                    f"{len(rows)} text{'s' if len(rows) != 1 else ''}")
        self.examples.model().set_rows(rows, LABEL_ERROR_COLUMNS)
        self.examples.resizeColumnsToContents()
        self.tabs.setCurrentIndex(1)

    def _show_advice(self, advice) -> None:
        while self.advice_layout.count():
            item = self.advice_layout.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        for a in advice:
            text = QLabel("• " + a.text)
            text.setWordWrap(True)
            holder = QWidget()
            hl = QHBoxLayout(holder)
            hl.setContentsMargins(0, 0, 0, 0)
            hl.addWidget(text, 1)
            if a.action == "train_longer":
                button = QPushButton("Train longer")
                button.setToolTip("Choose “Best accuracy” (no time limit) and start training again")
                button.clicked.connect(self.train_longer.emit)
                hl.addWidget(button)
            elif a.action == "class_weights":
                button = QPushButton("Turn on class weights")
                button.setToolTip("Rare classes count more in training (Model page → Advanced settings → Class weights)")
                button.clicked.connect(self.use_class_weights.emit)
                hl.addWidget(button)
            self.advice_layout.addWidget(holder)
        self.advice_box.setVisible(bool(advice))

    def show_cell(self, row: int, column: int) -> None:
        if self.result is None or self.multi_label:
            return
        labels = self.result.metrics["labels"]
        true, predicted = labels[row], labels[column]
        rows = self.result.examples_for(true, predicted)
        self.examples_title.setText(f"True {true}, the model said {predicted}: {len(rows)} example{'s' if len(rows) != 1 else ''}")
        self.examples.model().set_rows(rows, EXAMPLE_COLUMNS)
        self.examples.resizeColumnsToContents()
        self.tabs.setCurrentIndex(1)

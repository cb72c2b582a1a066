"""Page 4: metrics of a run on the validation part or another labeled file; confusion matrix with examples."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QGroupBox, QHBoxLayout, QHeaderView, QLabel,
                               QPushButton, QSplitter, QTableView, QTableWidget, QTableWidgetItem, QTabWidget,
                               QVBoxLayout, QWidget)

from . import workers
from .widgets import RowsModel, heat_color, heat_scale, hint, readable_text_color, show_error

EXAMPLE_COLUMNS = ["row", "label", "predicted", "confidence", "text"]


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
    evaluated = Signal()

    def __init__(self, window):
        super().__init__()
        self.win = window
        self.result = None
        self.run_label = QLabel("")
        self.valid_button = QPushButton("Evaluate on the validation part")
        self.valid_button.setToolTip("The examples kept aside during training (the same split the run used)")
        self.valid_button.clicked.connect(self.evaluate_validation)
        self.file_button = QPushButton("Evaluate on a labeled file…")
        self.file_button.clicked.connect(self.choose_file)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(lambda: self.win.tasks.stop("evaluate"))
        self.cancel_button.setEnabled(False)
        top = QHBoxLayout()
        top.addWidget(self.run_label, 1)
        for b in (self.valid_button, self.file_button, self.cancel_button):
            top.addWidget(b)
        self.empty = hint("Train a model (or open a run in the Runs library), then evaluate it here.")
        self.metrics_label = QLabel("")
        big = QFont(self.metrics_label.font())
        big.setPointSizeF(15)
        self.metrics_label.setFont(big)  # a font, not a style sheet: a style sheet would pin the colors of the theme it started with

        self.per_class = QTableWidget(0, 5)
        self.per_class.setHorizontalHeaderLabels(["Class", "Precision", "Recall", "F1", "Examples"])
        self.per_class.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.per_class.verticalHeader().setVisible(False)
        self.per_class.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        for c in range(1, 5):  # numbers: as wide as they need, the class names get the rest
            self.per_class.horizontalHeader().setSectionResizeMode(c, QHeaderView.ResizeToContents)
        self.confusion = ConfusionTable()
        self.confusion.cellClicked.connect(self.show_cell)
        self.confusion.recolored.connect(self._update_legend)
        self.confusion_legend = QLabel()
        self.confusion_legend.setWordWrap(True)
        self._update_legend()
        self.examples_title = QLabel("Click a cell of the confusion matrix to see its examples.")
        self.examples = QTableView()
        self.examples.setModel(RowsModel(EXAMPLE_COLUMNS))
        self.examples.horizontalHeader().setStretchLastSection(True)
        self.mistakes = QTableView()
        self.mistakes.setModel(RowsModel(EXAMPLE_COLUMNS))
        self.mistakes.horizontalHeader().setStretchLastSection(True)

        cm_box = QGroupBox("Confusion matrix (rows: true class, columns: predicted)")
        cm_layout = QVBoxLayout(cm_box)
        cm_layout.addWidget(self.confusion, 1)
        cm_layout.addWidget(self.confusion_legend)
        pc_box = QGroupBox("Per class")
        QVBoxLayout(pc_box).addWidget(self.per_class)
        upper = QSplitter(Qt.Horizontal)
        upper.addWidget(pc_box)
        upper.addWidget(cm_box)
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
        self.body = QSplitter(Qt.Vertical)
        self.body.addWidget(upper)
        self.body.addWidget(self.tabs)
        self.body.setVisible(False)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.empty)
        layout.addWidget(self.metrics_label)
        layout.addWidget(self.body, 1)
        self.update_state()

    def _update_legend(self) -> None:
        correct, wrong = heat_scale(self.confusion.palette().base().color())
        self.confusion_legend.setText(
            f'<span style="background:{_hex(correct)}">&nbsp;&nbsp;&nbsp;&nbsp;</span> correct &nbsp; '
            f'<span style="background:{_hex(wrong)}">&nbsp;&nbsp;&nbsp;&nbsp;</span> mistakes &nbsp; '
            "stronger color = larger share of the true class (row). <i>Click a cell to see its examples.</i>")

    def update_state(self) -> None:
        run = self.win.current_run
        busy = self.win.tasks.is_running("evaluate")
        self.run_label.setText(f"Run: {Path(run).name}" if run else "No run chosen.")
        self.valid_button.setEnabled(bool(run) and not busy and self.win.training_data() is not None)
        self.file_button.setEnabled(bool(run) and not busy)
        self.cancel_button.setEnabled(busy)

    def validation_data(self):
        data = self.win.training_data()
        if data is None:
            return None
        from ..core.data import split

        s = self.win.model_page.settings()
        settings = s
        run = self.win.current_run
        if run:
            try:
                from ..core.runs import read_json

                settings = type(s).from_dict(read_json(Path(run) / "run.json").get("settings", {}))
            except (OSError, ValueError):
                settings = s
        return split(data, settings.valid_split, settings.seed)[1]

    def evaluate_validation(self) -> None:
        data = self.validation_data()
        if data is None:
            show_error(self, "Open the labeled data on the Data page first.")
            return
        self.run_evaluation(data)

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Labeled file to evaluate on", self.win.store.get("last_open_dir", ""),
                                              "Data files (*.csv *.tsv *.jsonl *.xlsx *.txt);;All files (*)")
        if path:
            self.evaluate_file(path)

    def evaluate_file(self, path: str) -> None:
        from ..core.data import load_labeled
        from ..core.errors import UserInputError

        try:
            data = load_labeled(path).data
        except UserInputError as exc:
            show_error(self, exc.message, exc.describe())
            return
        self.run_evaluation(data)

    def run_evaluation(self, data) -> None:
        run = self.win.current_run
        if not run:
            return
        self.metrics_label.setText(f"Evaluating on {len(data)} examples …")
        self.win.tasks.start("evaluate", workers.evaluate_task, run, data, on_done=self.show_result,
                             on_failed=self._failed, on_cancelled=lambda: self._ended("Cancelled."))
        self.update_state()

    def _ended(self, text: str) -> None:
        self.metrics_label.setText(text)
        self.update_state()

    def _failed(self, message: str, details: str) -> None:
        self._ended(f"Evaluation failed: {message}")
        show_error(self, message, details)

    def show_result(self, result) -> None:
        self.result = result
        m = result.metrics
        labels = list(m["labels"])
        self.metrics_label.setText(f"Accuracy <b>{m['accuracy']:.1%}</b> &nbsp; Macro-F1 <b>{m['macro_f1']:.3f}</b> "
                                   f"&nbsp; on {len(result.true)} examples")
        self.empty.setVisible(False)
        self.body.setVisible(True)
        pc = m.get("per_class", {})
        self.per_class.setRowCount(len(labels))
        for r, label in enumerate(labels):
            row = pc.get(label, {})
            values = [label] + [f"{row.get(k, 0):.3f}" for k in ("precision", "recall", "f1")] + [str(int(row.get("support", 0)))]
            for c, v in enumerate(values):
                self.per_class.setItem(r, c, QTableWidgetItem(v))
        self.confusion.set_matrix(labels, m["confusion_matrix"])
        self.mistakes.model().set_rows(result.misclassified())
        self.mistakes.resizeColumnsToContents()
        self.update_state()
        self.evaluated.emit()

    def show_cell(self, row: int, column: int) -> None:
        if self.result is None:
            return
        labels = self.result.metrics["labels"]
        true, predicted = labels[row], labels[column]
        rows = self.result.examples_for(true, predicted)
        self.examples_title.setText(f"True {true}, predicted {predicted}: {len(rows)} examples")
        self.examples.model().set_rows(rows)
        self.examples.resizeColumnsToContents()
        self.tabs.setCurrentIndex(1)

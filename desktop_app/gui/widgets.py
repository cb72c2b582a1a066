"""Small shared widgets: the table model over a core Table, an error dialog, plot helpers."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QEvent, QModelIndex, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QHeaderView, QLabel, QMessageBox, QTableWidget, QWidget


class TableModel(QAbstractTableModel):
    """Read-only view of a core ``Table`` (columns of strings): O(1) per cell, fine for 100k rows."""

    def __init__(self, table=None, parent=None):
        super().__init__(parent)
        self.table = table

    def set_table(self, table) -> None:
        self.beginResetModel()
        self.table = table
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if self.table is None or parent.isValid() else self.table.n_rows

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if self.table is None or parent.isValid() else len(self.table.columns)

    def data(self, index, role=Qt.DisplayRole):
        if self.table is None or not index.isValid():
            return None
        if role in (Qt.DisplayRole, Qt.ToolTipRole):
            value = self.table.data[self.table.columns[index.column()]][index.row()]
            if value is None:
                return "" if role == Qt.DisplayRole else "(empty)"
            return value if role == Qt.ToolTipRole or len(value) < 300 else value[:300] + "…"
        return None

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802
        if role != Qt.DisplayRole or self.table is None:
            return None
        if orientation == Qt.Horizontal:
            return self.table.columns[section]
        return str(self.table.row_numbers[section])


class RowsModel(QAbstractTableModel):
    """Rows of dicts (examples, predictions) with chosen columns."""

    def __init__(self, columns: list[str] | None = None, parent=None):
        super().__init__(parent)
        self.columns = list(columns or [])
        self.rows: list[dict] = []

    def set_rows(self, rows: list[dict], columns: list[str] | None = None) -> None:
        self.beginResetModel()
        self.rows = rows
        if columns is not None:
            self.columns = list(columns)
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        if role in (Qt.DisplayRole, Qt.ToolTipRole):
            column = self.columns[index.column()]
            value = self.rows[index.row()].get(column, "")
            if is_share_column(column):
                return share_text(value)
            if isinstance(value, float):
                return f"{value:.3f}"
            if isinstance(value, (list, tuple)):  # label sets: "sport, money"
                return ", ".join(str(v) for v in value)
            return "" if value is None else str(value)
        if role == Qt.TextAlignmentRole and is_share_column(self.columns[index.column()]):
            return int(Qt.AlignRight | Qt.AlignVCenter)
        return None

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802
        if role == Qt.DisplayRole and orientation == Qt.Horizontal:
            column = self.columns[section]
            if column.startswith("prob_"):
                return f"Chance: {column[5:]}"
            return column.replace("_", " ").capitalize()
        return None


def is_share_column(column: str) -> bool:
    """Columns that hold a probability (0..1): shown as percentages, like every confidence in the app."""
    return column == "confidence" or column.startswith("prob_")


def share_text(value) -> str:
    """0.6905 or "0.6905" -> "69%" (the app's one format for confidence); anything else as it is."""
    from ..core.session import percent

    try:
        share = float(value)
    except (TypeError, ValueError):
        return "" if value is None else str(value)
    return percent(share) if 0.0 <= share <= 1.0 else str(value)


class JobBar(QWidget):
    """The progress of the running job(s) of some kinds: a bar (or a busy bar when the amount of work is
    unknown) and one line of words with the time left; hidden when none runs. Redraws from
    ``Tasks.changed`` and, while a job runs, twice a second (the time left moves on its own)."""

    def __init__(self, tasks, *kinds: str, parent=None):
        super().__init__(parent)
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QHBoxLayout, QProgressBar

        self.tasks, self.kinds = tasks, kinds
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(self.fontMetrics().horizontalAdvance("M") * 18)
        self.label = QLabel("")
        self.label.setWordWrap(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar)
        layout.addWidget(self.label, 1)
        self.timer = QTimer(self)
        self.timer.setInterval(500)
        self.timer.timeout.connect(self.redraw)
        tasks.changed.connect(self.redraw)
        tasks.progressed.connect(self.redraw)
        self.setVisible(False)

    def state(self):
        for kind in self.kinds:
            state = self.tasks.state(kind)
            if state is not None:
                return state
        return None

    def redraw(self) -> None:
        from ..core.jobs import progress_text

        state = self.state()
        if state is None:
            self.timer.stop()
            self.setVisible(False)
            return
        if not self.timer.isActive():
            self.timer.start()
        fraction = state.shown_fraction  # never 100% before the end
        if fraction is None:
            self.bar.setRange(0, 0)
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(fraction * 1000))
        self.label.setText(progress_text(state))
        self.setVisible(True)


def show_error(parent: QWidget | None, message: str, details: str = "", title: str = "Classifier Studio") -> QMessageBox:
    """A non-blocking error box: the plain message; for bad input (UserInputError.describe()) where it is
    and how to fix it are shown under it, a traceback only behind "Show Details"."""
    box = QMessageBox(QMessageBox.Warning, title, message, QMessageBox.Ok, parent)
    extra = details.strip()[len(message.strip()):].strip() if details.strip().startswith(message.strip()) else ""
    if extra and extra.startswith(("Where:", "Fix:")) and "Traceback" not in extra:
        box.setInformativeText(extra)
    elif details and details.strip() != message.strip():
        box.setDetailedText(details)
    box.setAttribute(Qt.WA_DeleteOnClose)
    box.setWindowModality(Qt.NonModal)
    box.show()
    return box


HINT_TEXT_SHARE = 0.7  # hint color: 70% text color, 30% background, so it reads softer yet stays legible


class Hint(QLabel):
    """A softer italic sentence telling the user what to do next (empty states).

    Its color is mixed from the theme's text and background colors (contrast about 5:1 on light
    and dark themes, unlike palette(mid)) and follows theme changes.
    """

    def __init__(self, text: str):
        super().__init__(text)
        self.setWordWrap(True)
        font = self.font()
        font.setItalic(True)
        self.setFont(font)
        self._apply_colors()

    def _apply_colors(self) -> None:
        app_palette = QApplication.palette()
        fg, bg = app_palette.color(QPalette.WindowText), app_palette.color(QPalette.Window)
        mixed = QColor.fromRgbF(*(HINT_TEXT_SHARE * a + (1 - HINT_TEXT_SHARE) * b
                                  for a, b in zip(fg.getRgbF()[:3], bg.getRgbF()[:3])))
        palette = self.palette()
        if palette.color(QPalette.WindowText) != mixed:
            palette.setColor(QPalette.WindowText, mixed)
            self.setPalette(palette)

    def event(self, event) -> bool:
        handled = super().event(event)
        if event.type() == QEvent.ApplicationPaletteChange:  # the theme changed (not delivered to changeEvent)
            self._apply_colors()
        return handled


def hint(text: str) -> QLabel:
    """The app's one way to show a hint (see Hint)."""
    return Hint(text)


def fit_columns(table: QTableWidget, stretch: int, cap_share: float = 0.3) -> None:
    """Columns sized to their contents, none wider than ``cap_share`` of the table (long names
    are elided; the tooltip has them whole), and column ``stretch`` taking the room left, so
    short columns such as numbers stay visible even with large fonts or 200% scaling."""
    header = table.horizontalHeader()
    table.resizeColumnsToContents()
    limit = max(120, int(table.viewport().width() * cap_share))
    for col in range(table.columnCount()):
        if col != stretch and table.columnWidth(col) > limit:
            table.setColumnWidth(col, limit)
    header.setSectionResizeMode(stretch, QHeaderView.Stretch)


class Series:
    """A growing numpy buffer for one chart line (preallocated, doubled when full)."""

    def __init__(self, capacity: int = 1024):
        self.x = np.zeros(capacity, dtype=np.float64)
        self.y = np.zeros(capacity, dtype=np.float64)
        self.n = 0

    def append(self, x: float, y: float) -> None:
        if self.n == len(self.x):
            self.x = np.concatenate([self.x, np.zeros_like(self.x)])
            self.y = np.concatenate([self.y, np.zeros_like(self.y)])
        self.x[self.n] = x
        self.y[self.n] = y
        self.n += 1

    def clear(self) -> None:
        self.n = 0

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x[: self.n], self.y[: self.n]


def plot_widget(title: str, left: str, bottom: str):
    import pyqtgraph as pg

    widget = pg.PlotWidget()
    widget.setBackground(None)
    widget.setTitle(title)
    widget.setLabel("left", left)
    widget.setLabel("bottom", bottom)
    widget.showGrid(x=True, y=True, alpha=0.2)
    widget.setMinimumHeight(160)
    return widget


def format_count(n: int | None) -> str:
    if n is None:
        return "?"
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def format_bytes(n: int) -> str:
    for unit, size in (("GB", 2**30), ("MB", 2**20), ("kB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def format_duration(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return "–"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


# -- heatmap colors (confusion matrix) -------------------------------------------------------------

# The color a cell reaches at 100 % of its row: green on the diagonal (correct), red-orange off it.
# Dark on a light background, bright on a dark one, so that more always means more contrast.
HEAT_CORRECT = (0x00, 0x6D, 0x2C)
HEAT_WRONG = (0xB8, 0x2E, 0x12)
HEAT_CORRECT_ON_DARK = (0x6C, 0xD0, 0x7A)
HEAT_WRONG_ON_DARK = (0xFF, 0x8A, 0x50)


def relative_luminance(color: QColor) -> float:
    """WCAG relative luminance of a QColor (0 = black, 1 = white)."""

    def channel(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(color.redF()) + 0.7152 * channel(color.greenF()) + 0.0722 * channel(color.blueF())


def readable_text_color(background: QColor) -> QColor:
    """Black or white, whichever contrasts more with ``background``."""
    lum = relative_luminance(background)
    # contrast with black: (lum + .05) / .05, with white: 1.05 / (lum + .05)
    return QColor(0, 0, 0) if (lum + 0.05) ** 2 > 0.05 * 1.05 else QColor(255, 255, 255)


def heat_scale(base: QColor) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """(correct, wrong) full-share colors for a background: dark ones on light, bright ones on dark."""
    if relative_luminance(base) < 0.25:
        return HEAT_CORRECT_ON_DARK, HEAT_WRONG_ON_DARK
    return HEAT_CORRECT, HEAT_WRONG


def heat_color(share: float, strong: tuple[int, int, int], base: QColor) -> QColor:
    """An opaque cell color: ``base`` (the table's background, so light and dark palettes both work)
    blended towards ``strong`` by ``share`` (0..1). Any non-zero share gets a visible tint."""
    share = min(1.0, max(0.0, float(share)))
    t = 0.0 if share <= 0 else 0.12 + 0.88 * share
    return QColor(*(round(b + (s - b) * t) for b, s in zip((base.red(), base.green(), base.blue()), strong)))

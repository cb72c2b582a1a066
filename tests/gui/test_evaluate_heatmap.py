"""The confusion matrix reads as a heatmap: color follows the share of the true class, tooltips say it in words."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette

from desktop_app.core.evaluate import EvaluationResult
from desktop_app.core.metrics import classification_metrics
from desktop_app.gui.widgets import HEAT_CORRECT_ON_DARK, relative_luminance

LABELS = ["billing", "bug", "other"]
# rows: true class, columns: predicted
MATRIX = [[37, 3, 0],
          [2, 18, 0],
          [0, 5, 15]]


def make_result() -> EvaluationResult:
    true, pred = [], []
    for r, row in enumerate(MATRIX):
        for c, n in enumerate(row):
            true += [r] * n
            pred += [c] * n
    return EvaluationResult(
        metrics=classification_metrics(true, pred, LABELS),
        texts=[f"text {i}" for i in range(len(true))],
        true=[LABELS[i] for i in true],
        predicted=[LABELS[i] for i in pred],
        confidence=[0.9] * len(true),
        rows=list(range(2, len(true) + 2)),
    )


def show(window, result) -> None:
    """An evaluation of the current run on a labeled file, put in the session as the app does."""
    from desktop_app.core.session import Evaluation

    window.session.set_run("/tmp/some-run")
    assert window.session.set_evaluation(Evaluation(window.session.run_id, "", "/tmp/test.csv", result.metrics, result))


def contrast(a: QColor, b: QColor) -> float:
    hi, lo = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def cell_colors(table, r, c) -> tuple[QColor, QColor]:
    item = table.item(r, c)
    return item.background().color(), item.foreground().color()


def test_confusion_matrix_is_a_readable_heatmap(qtbot, window):
    ev = window.evaluate_page
    window.show_page(ev)
    show(window, make_result())
    table = ev.confusion
    qtbot.waitUntil(table.isVisible)
    assert table.rowCount() == 3 and table.item(0, 1).text() == "3"

    # a large share of the row is darker than a small one; an empty cell is not tinted at all
    big, small, empty = cell_colors(table, 0, 0)[0], cell_colors(table, 0, 1)[0], cell_colors(table, 0, 2)[0]
    assert big != small
    assert relative_luminance(big) < relative_luminance(small)
    assert empty == table.palette().base().color()
    # mistakes look different from correct predictions at a similar share: green diagonal vs red-orange
    correct, wrong = cell_colors(table, 2, 2)[0], cell_colors(table, 2, 1)[0]
    assert correct.green() > correct.red() and wrong.red() > wrong.green()

    # every cell's number is readable on its color
    for r in range(3):
        for c in range(3):
            assert contrast(*cell_colors(table, r, c)) >= 4.5, (r, c)

    tip = table.item(0, 1).toolTip()
    assert tip.startswith("true billing → predicted bug: 3 (7.5% of billing)")
    assert table.corner.text() == "true \\ predicted" and table.corner.isVisible()
    assert table.corner.width() >= table.corner.sizeHint().width()  # the whole "true \ predicted" fits
    assert table.horizontalHeaderItem(1).text() == "bug" and table.verticalHeaderItem(0).text() == "billing"
    assert "Click a cell" in ev.confusion_legend.text()
    assert table.horizontalHeader().length() <= table.viewport().width()  # a few classes: every column in view

    # clicking a cell still lists its examples
    table.cellClicked.emit(0, 1)
    assert ev.examples.model().rowCount() == 3
    assert ev.tabs.currentIndex() == 1


def test_heatmap_follows_a_dark_palette(qtbot, window):
    ev = window.evaluate_page
    show(window, make_result())
    table = ev.confusion
    dark = QPalette(table.palette())
    dark.setColor(QPalette.Base, QColor(30, 30, 30))
    dark.setColor(QPalette.Text, QColor(230, 230, 230))
    table.setPalette(dark)  # a palette change recolors
    assert cell_colors(table, 0, 2)[0] == QColor(30, 30, 30)
    for r in range(3):
        for c in range(3):
            assert contrast(*cell_colors(table, r, c)) >= 4.5, (r, c)
    small = cell_colors(table, 0, 1)
    assert small[1] == QColor(Qt.white)  # a faint tint on a dark base: white text
    assert "#%02x%02x%02x" % HEAT_CORRECT_ON_DARK in ev.confusion_legend.text()  # the legend follows

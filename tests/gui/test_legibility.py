"""Legibility with any theme and font size: hints keep readable contrast, short table columns stay visible."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QTableWidget, QTableWidgetItem

from desktop_app.gui.widgets import fit_columns, hint


def _luminance(color: QColor) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in color.getRgbF()[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: QColor, b: QColor) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _dark_palette() -> QPalette:
    palette = QPalette()
    palette.setColor(QPalette.Window, QColor(32, 33, 36))
    palette.setColor(QPalette.WindowText, QColor(232, 234, 237))
    return palette


def test_hints_are_readable_on_light_and_dark_themes(qapp, qtbot):
    original = QApplication.palette()
    try:
        for palette in (original, _dark_palette()):
            QApplication.setPalette(palette)
            label = hint("Load a CSV to start.")
            qtbot.addWidget(label)
            text = label.palette().color(QPalette.WindowText)
            background = palette.color(QPalette.Window)
            # WCAG AA asks 4.5:1 for body text; the hint must also look softer than normal text
            assert _contrast(text, background) >= 4.5
            assert _contrast(text, background) < _contrast(palette.color(QPalette.WindowText), background)
            assert label.font().italic()
    finally:
        QApplication.setPalette(original)


def test_hint_follows_a_theme_change_while_shown(qapp, qtbot):
    original = QApplication.palette()
    label = hint("Pick a model.")
    qtbot.addWidget(label)
    light_text = label.palette().color(QPalette.WindowText)
    try:
        QApplication.setPalette(_dark_palette())
        qtbot.waitUntil(lambda: label.palette().color(QPalette.WindowText) != light_text, timeout=2000)
        assert _contrast(label.palette().color(QPalette.WindowText), QColor(32, 33, 36)) >= 4.5
    finally:
        QApplication.setPalette(original)


def test_long_names_do_not_push_numbers_out_of_view_with_a_large_font(qapp, qtbot):
    table = QTableWidget(1, 4)
    qtbot.addWidget(table)
    font = QFont(table.font())
    font.setPointSizeF(font.pointSizeF() * 2)  # like 200% scaling
    table.setFont(font)
    table.resize(700, 300)
    table.show()
    qtbot.waitExposed(table)
    values = ["a-fine-tuned-model-with-a-very-long-name-" * 3, "/home/analyst/models/" * 4, "22.7M", "what to expect"]
    for col, value in enumerate(values):
        table.setItem(0, col, QTableWidgetItem(value))
    fit_columns(table, stretch=3)
    parameters_right_edge = table.columnViewportPosition(2) + table.columnWidth(2)
    assert parameters_right_edge <= table.viewport().width()  # visible without scrolling
    assert table.columnWidth(2) >= table.fontMetrics().horizontalAdvance("22.7M")

"""The live training charts (loss, validation accuracy/macro-F1, inference speed), shared by the Train
and Compare pages.

Engine events only append to preallocated buffers; a timer redraws at ~15 Hz, and only when
something changed (pyqtgraph's scrolling-plots recipe: buffers, setData from a timer,
downsampling and clip-to-view).
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QGridLayout, QWidget

from .widgets import Series, plot_widget

REDRAW_MS = 66  # ~15 Hz
KEYS = ("loss", "val_loss", "accuracy", "f1", "speed")


class LiveCharts(QWidget):
    redrawn = Signal()  # after a redraw that had something new

    def __init__(self, parent=None):
        super().__init__(parent)
        import pyqtgraph as pg

        self.series = {k: Series() for k in KEYS}
        self.counts = {"step": 0, "eval": 0, "speed": 0}
        self.last_step = None  # the latest StepEvent
        self._dirty = False
        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self.redraw)

        self.loss_plot = plot_widget("Training error (lower is better)", "loss", "step")
        self.loss_plot.setToolTip("The loss: how wrong the model is on the texts it learns from (blue) and on the "
                                  "validation texts it never learns from (red).")
        self.loss_plot.addLegend(offset=(-10, 10))
        self.metric_plot = plot_widget("Validation texts right", "share right", "pass over the texts")
        self.metric_plot.setToolTip("Accuracy: the share of validation texts the model gets right. Macro-F1: the same "
                                    "idea averaged over the classes, so a rare class counts as much as a common one.")
        self.metric_plot.addLegend(offset=(-10, -10))
        self.speed_plot = plot_widget("Speed", "texts per second", "pass over the texts")

        def marked(color: str, symbol: str = "o", name: str | None = None):
            return dict(pen=pg.mkPen(color, width=2), symbol=symbol, symbolSize=7, symbolBrush=color, name=name)

        self.curves = {
            "loss": self.loss_plot.plot(pen=pg.mkPen("#4c78a8", width=2), name="train loss"),
            "val_loss": self.loss_plot.plot(**marked("#e45756", name="validation loss")),
            "accuracy": self.metric_plot.plot(**marked("#54a24b", name="accuracy")),
            "f1": self.metric_plot.plot(**marked("#f58518", "s", "balanced over classes (macro-F1)")),
            "speed": self.speed_plot.plot(**marked("#b279a2")),
        }
        self.metric_plot.setYRange(0, 1.02)
        for plot in (self.loss_plot, self.metric_plot, self.speed_plot):
            plot.getAxis("left").enableAutoSIPrefix(False)
        for curve in self.curves.values():
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.loss_plot, 0, 0, 1, 2)
        grid.addWidget(self.metric_plot, 1, 0)
        grid.addWidget(self.speed_plot, 1, 1)

    def start(self) -> None:
        self.timer.start()

    def stop(self) -> None:
        """Stop the timer after one last redraw."""
        self.timer.stop()
        self._dirty = True
        self.redraw()

    def reset(self) -> None:
        for s in self.series.values():
            s.clear()
        self.counts = {"step": 0, "eval": 0, "speed": 0}
        self.last_step = None
        for plot in (self.loss_plot, self.speed_plot):  # fit the new run, not the axes of the last one
            plot.enableAutoRange()
        self.metric_plot.setYRange(0, 1.02)
        self._dirty = True
        self.redraw()

    def on_event(self, ev) -> None:
        kind = getattr(ev, "kind", "")
        if kind == "step":
            self.series["loss"].append(ev.step, ev.loss)
            self.last_step = ev
        elif kind == "eval":
            self.series["val_loss"].append(ev.step, ev.val_loss)
            self.series["accuracy"].append(ev.epoch, ev.accuracy)
            self.series["f1"].append(ev.epoch, ev.macro_f1)
        elif kind == "speed":
            self.series["speed"].append(ev.epoch, ev.docs_per_s)
        else:
            return
        self.counts[kind] += 1
        self._dirty = True

    def redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        for key, curve in self.curves.items():
            x, y = self.series[key].view()
            curve.setData(x, y)
        self.redrawn.emit()

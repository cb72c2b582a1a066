"""Page 3: start, cancel and resume training; live charts redrawn from a timer, never per event."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (QGridLayout, QHBoxLayout, QLabel, QPlainTextEdit, QProgressBar, QPushButton,
                               QSplitter, QVBoxLayout, QWidget)
from PySide6.QtCore import Qt

from . import workers
from .widgets import Series, format_duration, hint, plot_widget, show_error

REDRAW_MS = 66  # ~15 Hz


class TrainPage(QWidget):
    run_finished = Signal(str)  # run dir
    state_changed = Signal()

    def __init__(self, window):
        super().__init__()
        self.win = window
        self.run_dir: str | None = None
        self.resumable_run: str | None = None
        self.finished_run: str | None = None
        self.counts = {"step": 0, "eval": 0, "speed": 0, "status": 0}
        self.series = {k: Series() for k in ("loss", "val_loss", "accuracy", "f1", "speed")}
        self._dirty = False
        self.redraw_timer = QTimer(self)
        self.redraw_timer.setInterval(REDRAW_MS)
        self.redraw_timer.timeout.connect(self.redraw)

        self.start_button = QPushButton("Start training")
        self.start_button.setToolTip("Fine-tune the chosen model on your data (Ctrl+R)")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop after the current step and keep a checkpoint to resume from (Esc)")
        self.cancel_button.clicked.connect(self.cancel)
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the cancelled run from its last checkpoint")
        self.resume_button.clicked.connect(self.resume)
        buttons = QHBoxLayout()
        for b in (self.start_button, self.cancel_button, self.resume_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.eta_label = QLabel("")
        self.speed_label = QLabel("")
        self.device_label = QLabel("")
        info = QHBoxLayout()
        info.addWidget(self.progress, 2)
        info.addWidget(self.eta_label)
        info.addWidget(self.speed_label)
        info.addWidget(self.device_label)
        self.empty = hint("Open your data on the Data page and pick a model, then press Start training.")

        import pyqtgraph as pg

        self.loss_plot = plot_widget("Loss", "loss", "step")
        self.loss_plot.addLegend(offset=(-10, 10))
        self.metric_plot = plot_widget("Validation accuracy and macro-F1", "score", "epoch")
        self.metric_plot.addLegend(offset=(-10, -10))
        self.speed_plot = plot_widget("Inference speed", "docs/s", "epoch")
        self.curves = {
            "loss": self.loss_plot.plot(pen=pg.mkPen("#4c78a8", width=2), name="train loss"),
            "val_loss": self.loss_plot.plot(pen=pg.mkPen("#e45756", width=2), symbol="o", symbolSize=7,
                                            symbolBrush="#e45756", name="validation loss"),
            "accuracy": self.metric_plot.plot(pen=pg.mkPen("#54a24b", width=2), symbol="o", symbolSize=7,
                                              symbolBrush="#54a24b", name="accuracy"),
            "f1": self.metric_plot.plot(pen=pg.mkPen("#f58518", width=2), symbol="s", symbolSize=7,
                                        symbolBrush="#f58518", name="macro-F1"),
            "speed": self.speed_plot.plot(pen=pg.mkPen("#b279a2", width=2), symbol="o", symbolSize=7, symbolBrush="#b279a2"),
        }
        self.metric_plot.setYRange(0, 1.02)
        for plot in (self.loss_plot, self.metric_plot, self.speed_plot):
            plot.getAxis("left").enableAutoSIPrefix(False)
        for curve in self.curves.values():
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)

        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(5000)
        self.log.setPlaceholderText("Messages from training appear here.")

        charts = QWidget()
        grid = QGridLayout(charts)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.loss_plot, 0, 0, 1, 2)
        grid.addWidget(self.metric_plot, 1, 0)
        grid.addWidget(self.speed_plot, 1, 1)
        splitter = QSplitter(Qt.Vertical)
        splitter.addWidget(charts)
        splitter.addWidget(self.log)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addLayout(info)
        layout.addWidget(self.empty)
        layout.addWidget(splitter, 1)
        self.update_buttons()

    # -- state -----------------------------------------------------------------------------------
    def is_training(self) -> bool:
        return self.win.tasks.is_running("train")

    def update_buttons(self) -> None:
        training = self.is_training()
        ready = self.win.training_data() is not None and bool(self.win.model_path())
        self.start_button.setEnabled(not training and ready)
        self.cancel_button.setEnabled(training)
        self.resume_button.setEnabled(not training and self.resumable_run is not None and self.win.training_data() is not None)
        if training:
            self.empty.setText("Training … you can watch the charts, or cancel and resume later.")
        elif not ready:
            missing = []
            if self.win.training_data() is None:
                missing.append("open your labeled data on the Data page (and fix any errors)")
            if not self.win.model_path():
                missing.append("pick a model on the Model page")
            self.empty.setText("To train: " + " and ".join(missing) + ".")
        else:
            self.empty.setText("Ready: press Start training (Ctrl+R).")

    def reset_charts(self) -> None:
        for s in self.series.values():
            s.clear()
        self.counts = {"step": 0, "eval": 0, "speed": 0, "status": 0}
        self._dirty = True
        self.redraw()

    # -- actions ---------------------------------------------------------------------------------
    def start(self) -> None:
        from ..core.runs import new_run_dir

        data = self.win.training_data()
        model = self.win.model_path()
        if data is None or not model or self.is_training():
            self.update_buttons()
            return
        info = self.win.model_page.model_info()
        name = info.name if info else Path(model).name
        out = new_run_dir(self.win.store.runs_dir(), name.replace(" (bundled)", ""))
        self._launch(data, model, out, resume=False)

    def resume(self) -> None:
        data = self.win.training_data()
        if self.resumable_run is None or data is None or self.is_training():
            return
        self._launch(data, self.win.model_path() or "default", Path(self.resumable_run), resume=True)

    def _launch(self, data, model: str, out: Path, resume: bool) -> None:
        from ..core.training import TrainJob

        settings = self.win.model_page.settings()
        if settings.threads is None:
            # Leave one core to the window: with every core busy in torch, both the GUI and the
            # training itself slow down badly on small machines (measured: ~20x on 2 cores).
            import os
            from dataclasses import replace

            settings = replace(settings, threads=max(1, (os.cpu_count() or 2) - 1))
        job = TrainJob(train=data, out_dir=Path(out), model=model, settings=settings, resume=resume)
        self.run_dir = str(out)
        self.finished_run = None
        if not resume:
            self.reset_charts()
            self.log.clear()
        self.resumable_run = None
        self.progress.setValue(0)
        self.log.appendPlainText(("Resuming " if resume else "Starting ") + f"run {out}")
        self.win.tasks.start("train", workers.train_task, job, on_event=self.on_event, on_done=self._done,
                             on_failed=self._failed, on_cancelled=self._cancelled_exc)
        self.redraw_timer.start()
        self.update_buttons()
        self.state_changed.emit()

    def cancel(self) -> None:
        if self.is_training():
            self.log.appendPlainText("Cancelling after the current step …")
            self.win.tasks.stop("train")
            self.cancel_button.setEnabled(False)

    # -- events (GUI thread, queued) -------------------------------------------------------------
    def on_event(self, ev) -> None:
        kind = getattr(ev, "kind", "")
        if kind == "step":
            self.series["loss"].append(ev.step, ev.loss)
            self.counts["step"] += 1
            self._last_step = ev
        elif kind == "eval":
            self.series["val_loss"].append(ev.step, ev.val_loss)
            self.series["accuracy"].append(ev.epoch, ev.accuracy)
            self.series["f1"].append(ev.epoch, ev.macro_f1)
            self.counts["eval"] += 1
            self.log.appendPlainText(f"Epoch {ev.epoch:g}: validation accuracy {ev.accuracy:.3f}, macro-F1 {ev.macro_f1:.3f}, "
                                     f"loss {ev.val_loss:.4f}" + (" (best so far)" if ev.is_best else ""))
        elif kind == "speed":
            self.series["speed"].append(ev.epoch, ev.docs_per_s)
            self.counts["speed"] += 1
            self.device_label.setText(f"Device: {ev.device}")
        elif kind == "status":
            self.counts["status"] += 1
            import time

            self.log.appendPlainText(f"[{time.strftime('%H:%M:%S')}] {ev.message}")
        elif kind == "checkpoint":
            self.log.appendPlainText(f"Checkpoint saved after epoch {ev.epoch}")
        elif kind == "failed":
            self.log.appendPlainText(f"Failed: {ev.reason}")
        elif kind == "cancelled":
            self.log.appendPlainText(ev.message)
            if ev.resumable:
                self.resumable_run = ev.run_dir
        elif kind == "finished":
            self.finished_run = ev.run_dir
            m = ev.metrics
            self.log.appendPlainText("Finished. " + ", ".join(f"{k}: {v:.3f}" if isinstance(v, float) else f"{k}: {v}"
                                                                for k, v in m.items() if not isinstance(v, (dict, list))))
        self._dirty = True

    def redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        for key, curve in self.curves.items():
            x, y = self.series[key].view()
            curve.setData(x, y)
        last = getattr(self, "_last_step", None)
        if last is not None and self.series["loss"].n:
            self.progress.setValue(int(100 * last.step / max(1, last.total_steps)))
            self.progress.setFormat(f"step {last.step} of {last.total_steps} (%p%)")
            self.eta_label.setText(f"about {format_duration(last.eta_s)} left")
            self.speed_label.setText(f"{last.samples_per_s:.1f} samples/s")

    def _end(self) -> None:
        self.redraw_timer.stop()
        self._dirty = True
        self.redraw()
        self.update_buttons()
        self.state_changed.emit()

    def _done(self, result) -> None:
        self._last_step = None
        if result.status == "finished":
            self.progress.setValue(100)
            self.eta_label.setText("done")
            self.finished_run = str(result.run_dir)
            self._end()
            self.run_finished.emit(str(result.run_dir))
        else:
            self.resumable_run = str(result.run_dir)
            self.eta_label.setText("cancelled")
            self._end()

    def _cancelled_exc(self) -> None:  # cancelled before the first step (while tokenizing)
        self.eta_label.setText("cancelled")
        self.log.appendPlainText("Cancelled before training started.")
        self._end()

    def _failed(self, message: str, details: str) -> None:
        self.eta_label.setText("failed")
        self.log.appendPlainText(f"Training failed: {message}")
        self._end()
        show_error(self, f"Training failed: {message}", details)

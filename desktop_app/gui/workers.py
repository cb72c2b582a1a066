"""One worker pattern: a QObject moved to a QThread runs a plain Python function.

The function is called as ``fn(*args, report=callback, should_stop=flag.is_set, **kwargs)``;
``report`` emits plain data (engine events) through a Qt signal, so the GUI only ever sees
queued signals. ``Tasks`` keeps the running threads, and stops and joins them all on close.

Every long operation goes through ``Tasks.start(kind, fn, ...)``: one job per kind (a new one
replaces the old, whose results are then ignored), a ``core.jobs.JobState`` per running job that
the engine's events keep up to date (progress, time left, what a cancel waits for), a ``changed``
signal whenever a job starts, is asked to stop or ends (views redraw their buttons from it, so no
button stays stuck after a job) and ``progressed`` when a job reports (progress bars redraw).
"""

from __future__ import annotations

import logging
import threading
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

log = logging.getLogger(__name__)


class Worker(QObject):
    event = Signal(object)  # an engine event or other plain data
    done = Signal(object)  # the function's result
    failed = Signal(str, str)  # message, details
    cancelled = Signal()
    ended = Signal()  # always last

    def __init__(self, fn: Callable, *args: Any, **kwargs: Any):
        super().__init__()
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.stop_flag = threading.Event()

    @Slot()
    def run(self) -> None:
        from ..core.errors import TrainingCancelled, UserInputError

        try:
            result = self.fn(*self.args, report=self.event.emit, should_stop=self.stop_flag.is_set, **self.kwargs)
        except TrainingCancelled:
            self.cancelled.emit()
        except UserInputError as exc:
            self.failed.emit(exc.message, exc.describe())
        except Exception as exc:  # noqa: BLE001 - reported to the user, logged
            log.exception("task %s failed", getattr(self.fn, "__name__", self.fn))
            self.failed.emit(f"{type(exc).__name__}: {exc}", traceback.format_exc())
        else:
            if self.stop_flag.is_set() and result is None:
                self.cancelled.emit()
            else:
                self.done.emit(result)
        finally:
            self.ended.emit()


class _Relay(QObject):
    """Lives in the GUI thread: the worker's signals reach it queued, and it calls plain callables there.

    (A lambda or plain function connected straight to a worker signal would run in the worker thread.)
    """

    def __init__(self, on_event=None, on_done=None, on_failed=None, on_cancelled=None, parent=None):
        super().__init__(parent)
        self.callbacks = {"event": on_event, "done": on_done, "failed": on_failed, "cancelled": on_cancelled}

    def _call(self, name, *args):
        fn = self.callbacks.get(name)
        if fn is not None:
            fn(*args)

    @Slot(object)
    def relay_event(self, value):
        self._call("event", value)

    @Slot(object)
    def relay_done(self, value):
        self._call("done", value)

    @Slot(str, str)
    def relay_failed(self, message, details):
        self._call("failed", message, details)

    @Slot()
    def relay_cancelled(self):
        self._call("cancelled")


class Task:
    """A running worker and its thread."""

    def __init__(self, name: str, worker: Worker, thread: QThread, relay: "_Relay | None" = None, state=None):
        from ..core.jobs import JobState

        self.name, self.worker, self.thread, self.relay = name, worker, thread, relay
        self.state = state or JobState(name)

    def stop(self) -> None:
        self.worker.stop_flag.set()
        self.state.cancel_requested()

    def is_running(self) -> bool:
        return self.thread.isRunning()


class Tasks(QObject):
    """Starts workers on threads and keeps them alive until they end."""

    changed = Signal()  # a job started, was asked to stop, or ended: buttons redraw
    progressed = Signal()  # a running job reported progress or what it does now: progress bars redraw

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.running: dict[str, Task] = {}
        self.retired: list[Task] = []

    def start(self, name: str, fn: Callable, *args: Any, on_event: Callable | None = None, on_done: Callable | None = None,
              on_failed: Callable | None = None, on_cancelled: Callable | None = None, description: str = "",
              budget_s: float | None = None, **kwargs: Any) -> Task:
        from ..core.jobs import JobState

        old = self.running.get(name)
        if old is not None:  # superseded: let it end on its own, its results are ignored
            old.stop()
            old.relay.callbacks = {}
            self.retired.append(old)
        thread = QThread()
        thread.setObjectName(f"task-{name}")
        worker = Worker(fn, *args, **kwargs)
        worker.moveToThread(thread)
        state = JobState(name, description=description, budget_s=budget_s)

        def event(ev, on_event=on_event):
            self._track(state, ev)
            if on_event is not None:
                on_event(ev)

        relay = _Relay(event, on_done, on_failed, on_cancelled)
        task = Task(name, worker, thread, relay, state)
        worker.event.connect(relay.relay_event, Qt.QueuedConnection)
        worker.done.connect(relay.relay_done, Qt.QueuedConnection)
        worker.failed.connect(relay.relay_failed, Qt.QueuedConnection)
        worker.cancelled.connect(relay.relay_cancelled, Qt.QueuedConnection)
        worker.ended.connect(thread.quit)
        thread.started.connect(worker.run)
        thread.finished.connect(self._thread_finished, Qt.QueuedConnection)
        self.running[name] = task
        thread.start()
        self.changed.emit()
        return task

    @Slot()
    def _thread_finished(self) -> None:
        for task in [t for t in self.retired if t.thread.isFinished()]:
            self.retired.remove(task)
            task.worker.deleteLater()
            task.thread.deleteLater()
        for name, task in list(self.running.items()):
            if not task.thread.isRunning() and task.thread.isFinished():
                self._forget(task)

    def _forget(self, task: Task) -> None:
        if self.running.get(task.name) is task:
            del self.running[task.name]
        task.worker.deleteLater()
        task.thread.deleteLater()
        self.changed.emit()

    def _track(self, state, ev) -> None:
        """Keep a job's state up to date from an engine event (GUI thread)."""
        kind = getattr(ev, "kind", "")
        if kind == "progress":
            state.progress(ev.done, ev.total, ev.message)
        elif kind == "step":
            state.progress(ev.step, ev.total_steps, "", eta_s=ev.eta_s)
        elif kind == "status":
            state.status_message(ev.message)
        else:
            return
        self.progressed.emit()

    def is_running(self, name: str) -> bool:
        task = self.running.get(name)
        return task is not None and task.is_running()

    def settled(self, *names: str) -> bool:
        """No job of these kinds (of any kind, when none are named) is running or waiting to be cleaned up:
        the views have redrawn after the last one ended."""
        return not any(n in self.running for n in (names or list(self.running)))

    def state(self, name: str):
        """The JobState of the running job of this kind, or None."""
        task = self.running.get(name)
        return task.state if task is not None and task.is_running() else None

    def stop(self, name: str) -> None:
        task = self.running.get(name)
        if task is not None:
            task.stop()
            self.changed.emit()

    def stop_all(self, wait_ms: int = 120_000) -> None:
        tasks = list(self.running.values()) + list(self.retired)
        for task in tasks:
            task.stop()
        for task in tasks:
            task.thread.quit()
            task.thread.wait(wait_ms)
        self.running.clear()
        self.retired.clear()


# -- the plain Python functions the workers run --------------------------------------------------

_import_lock = threading.Lock()


def _transformers_ready() -> None:
    """Import transformers' entry points once, one thread at a time: two jobs importing its lazy modules at
    the same moment (the length chart and the Shrink estimate, say) made one fail with "cannot import
    name 'AutoConfig'"."""
    with _import_lock:
        from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer  # noqa: F401


def needs_transformers(fn: Callable) -> Callable:
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        _transformers_ready()
        return fn(*args, **kwargs)

    return wrapper


def load_table_task(path: str, sheet: str | None = None, *, report, should_stop) -> tuple:
    from ..core.data import guess_columns, read_table
    from ..core.events import StatusEvent

    report(StatusEvent(f"Reading {path}" + (f", sheet '{sheet}'" if sheet else "")))
    table = read_table(path, sheet=sheet)
    return table, guess_columns(table)


def check_task(table, text_column: str, label_column: str, fixes: list[str], lengths, lengths_fingerprint, max_length,
               multi_label: bool = False, label_columns: list[str] | None = None, *, report, should_stop) -> dict:
    """Labeled examples from two columns (label sets when ``multi_label``: a separated label column, or
    ``label_columns`` of 0/1 values), the safe fixes chosen so far, the checks, and a fingerprint."""
    from ..core.data import apply_fixes, to_labeled, to_multi_label, validate
    from ..core.data.splitting import fingerprint
    from ..core.events import StatusEvent

    report(StatusEvent("Checking the data"))
    if multi_label and label_columns:
        labeled = to_multi_label(table, text_column, label_columns=list(label_columns))
    elif multi_label:
        labeled = to_multi_label(table, text_column, label_column)
    else:
        labeled = to_labeled(table, text_column, label_column)
    if fixes:
        labeled = apply_fixes(labeled, list(fixes))
    data_print = fingerprint(labeled)
    # the lengths of exactly these texts (measured for this data's fingerprint), or none
    usable_lengths = list(lengths) if lengths is not None and lengths_fingerprint == data_print else None
    checks = validate(labeled, usable_lengths, max_length if usable_lengths is not None else None)
    return {"labeled": labeled, "report": checks, "fingerprint": data_print, "columns": (text_column, label_column),
            "fixes": list(fixes), "multi_label": bool(multi_label)}


@needs_transformers
def token_lengths_task(model_path: str, texts: list[str], *, report, should_stop) -> dict | None:
    """Whole-text token lengths for the length chart, by the engine's own tokenizing pass
    (``batching.tokenize``): the ids are remembered, so training these texts in this process does
    not tokenize them again. None when cancelled."""
    from ..core import batching
    from ..core.events import ProgressEvent
    from ..core.inference import quiet_transformers
    from ..core.models import describe_folder, resolve_model

    quiet_transformers()
    from ..core.model_files import load_tokenizer

    folder = resolve_model(model_path)
    tokenizer = load_tokenizer(folder)  # core.model_files: checked, never runs code from the folder
    info = describe_folder(folder)

    def progress(done: int, total: int) -> None:
        report(ProgressEvent(done, total, f"Measuring text lengths: {done:,} of {total:,} texts"))

    ids = batching.tokenize(tokenizer, texts, should_stop, progress, remember=True)
    if len(ids) != len(texts):
        return None  # stopped
    return {"model": model_path, "lengths": ids.full_lengths.tolist(), "model_max": min(info.max_length or 512, 512)}


def list_models_task(extra_folders: list[str], runs_dir: str, *, report, should_stop) -> list:
    from ..core.models import list_models

    return list_models(extra_folders, runs_dir)


def hardware_task(*, report, should_stop) -> dict:
    from ..core.device import hardware_summary

    return hardware_summary()


@needs_transformers
def train_task(job, method: str = "fine-tune", *, report, should_stop):
    """Train ``job`` with ``method`` (auto | zero-shot | few-shot | fine-tune; a resumed run keeps its own)."""
    from ..core.methods import train_with_method

    return train_with_method(job, method, on_event=report, should_stop=should_stop)


@needs_transformers
def zero_shot_run_task(categories: list[str], model: str, out_dir: str, *, report, should_stop):
    """A zero-shot run from category names alone (no labeled file): ready at once, through the engine."""
    from ..core.methods import train_zero_shot
    from ..core.training import TrainJob

    from pathlib import Path

    return train_zero_shot(TrainJob(train=None, out_dir=Path(out_dir), model=model), categories, on_event=report,
                           should_stop=should_stop)


@needs_transformers
def compare_task(data, candidates: list, out_dir: str, settings, *, report, should_stop) -> list:
    from ..core.compare import compare

    return compare(data, candidates, out_dir, settings, on_event=report, should_stop=should_stop)


@needs_transformers
def distill_task(teacher_run: str, data, layers: int | None, out_dir: str, epochs: float, *, report, should_stop,
                 resume: bool = False) -> dict:
    from ..core.distill import distill

    return distill(teacher_run, data, layers, out_dir, epochs, on_event=report, should_stop=should_stop, resume=resume)


def stop_between_steps(report, should_stop):
    """An event sink for an engine function without ``should_stop``: it passes each event on, then
    ends the job (TrainingCancelled) if a cancel was asked for. The function's steps each report
    an event, so it stops between steps; its atomic writes leave nothing half-written."""
    from ..core.errors import TrainingCancelled

    def sink(event):
        report(event)
        if should_stop():
            raise TrainingCancelled()

    return sink


@needs_transformers
def export_task(run_dir: str, fmt: str, out_dir: str, data, *, report, should_stop) -> dict:
    import inspect

    from ..core.errors import TrainingCancelled
    from ..core.export import export_run

    if "should_stop" in inspect.signature(export_run).parameters:
        return export_run(run_dir, fmt, out_dir, data, on_event=report, should_stop=should_stop)
    if should_stop():
        raise TrainingCancelled()
    return export_run(run_dir, fmt, out_dir, data, on_event=stop_between_steps(report, should_stop))


@needs_transformers
def evaluate_task(run_dir: str, data, *, report, should_stop):
    """``data``: LabeledData, or the path of a labeled file (read here, off the GUI thread)."""
    from ..core.evaluate import evaluate
    from ..core.events import StatusEvent

    if isinstance(data, str):
        from ..core.data import load_labeled

        report(StatusEvent(f"Reading {data}"))
        data = load_labeled(data).data
    return evaluate(run_dir, data, on_event=report, should_stop=should_stop)


@needs_transformers
def predict_file_task(run_dir: str, input_path: str, out_path: str, text_column: str | None = None, *, report, should_stop) -> dict:
    from ..core.predict import predict_file

    return predict_file(run_dir, input_path, out_path, text_column=text_column, on_event=report, should_stop=should_stop)


_classifier_lock = threading.Lock()
_classifier: dict = {}  # {"path": str, "model": Classifier}: the last one used, reused for the next typed text


@needs_transformers
def classify_text_task(run_dir: str, text: str, *, report, should_stop) -> dict:
    """One typed text: {run, labels, probabilities}. The model stays loaded for the next text of the same run."""
    import numpy as np

    from ..core.inference import Classifier

    with _classifier_lock:
        if _classifier.get("path") != run_dir:
            _classifier.clear()
            _classifier.update(path=run_dir, model=Classifier.load(run_dir))
        clf = _classifier["model"]
        n_tokens = len(clf.tokenizer(text, truncation=False, verbose=False)["input_ids"])
        passages: list[dict] = []
        driver = None
        if n_tokens > clf.max_length:  # a long text: read in windows, and say which part drove the answer
            from ..core.long_documents import explain

            explained = explain(clf, text)
            probs = np.asarray([explained.probabilities[label] for label in clf.labels])
            passages = [{"start_char": w.start_char, "end_char": w.end_char, "text": w.text, "weight": w.weight,
                         "probabilities": dict(w.probabilities)} for w in explained.windows]
            driver = explained.driver if explained.long else None
        else:
            probs = clf.predict_proba([text])[0]
        chosen = [clf.labels[j] for j in clf.decide(np.asarray(probs)[None, :])[0]]
    return {"run": run_dir, "labels": list(clf.labels),
            "probabilities": {label: float(p) for label, p in zip(clf.labels, probs)},
            "multi_label": bool(clf.multi_label), "chosen": chosen,
            "thresholds": {label: float(t) for label, t in zip(clf.labels, clf.thresholds)} if clf.multi_label else {},
            "tokens": int(n_tokens), "max_length": int(clf.max_length), "passages": passages, "driver": driver}


def forget_classifier() -> None:
    with _classifier_lock:
        _classifier.clear()


@needs_transformers
def training_rate_task(model_path: str, texts: list[str], n_labels: int, batch_size: int, max_length: int, device: str,
                       threads: int | None, *, report, should_stop) -> dict | None:
    """Texts per second training will learn from (a few real optimizer steps on the user's texts), or None when stopped."""
    from ..core.events import StatusEvent
    from ..core.speed import training_rate

    report(StatusEvent("Measuring how fast training runs on your texts"))
    rate = training_rate(model_path, texts, n_labels, batch_size, max_length, device=device, threads=threads,
                         should_stop=should_stop)
    return None if rate is None else {"texts_per_s": rate}


@needs_transformers
def shrink_estimate_task(run_dir: str, texts: list[str], runs_dir: str, *, report, should_stop) -> dict | None:
    """What each number of layers would give (speed and size measured now, accuracy from earlier shrinks)."""
    from ..core.compare import estimate_shrink
    from ..core.events import StatusEvent

    report(StatusEvent("Measuring the speed of smaller versions of this model on your texts"))
    return estimate_shrink(run_dir, texts, runs_dir, should_stop)

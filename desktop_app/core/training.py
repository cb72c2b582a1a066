"""The training loop: one loop for every way of learning, used by the CLI, the GUI, compare and distill.

``train(job, on_event, should_stop)`` is a plain function. It reports through ``on_event``
(typed events of plain data, see events.py) and polls ``should_stop`` before every optimizer
step, so a cancel takes effect within one step and leaves a resumable checkpoint.

The loop owns the run folder (lock, clean-up, run record, checkpoints, model), the data checks,
tokenizing (once per run), batching, the learning-rate schedule, optimizer steps, mixed
precision, cancel/resume, the time budget, early stopping, DDP and the events. What varies is a
``Recipe``: which model to build (a fresh classification head, a student with some of a
teacher's layers), which labels, how to fill in settings, and which ``Objective`` (objectives.py)
to minimise. ``FineTune`` is the default recipe; distill.py supplies ``DistillRecipe``.
"""

from __future__ import annotations

import ctypes
import errno
import math
import random
import shlex
import shutil
import sys
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from . import batching, checkpoint, defaults, distributed, speed
from .data import LabeledData, fingerprint, load_labeled, require_trainable, split, validate
from .device import DeviceChoice, adamw, choose, free_memory, hardware_summary
from .errors import TrainingCancelled, UserInputError
from .events import (
    CancelledEvent,
    CheckpointEvent,
    EvalEvent,
    EventSink,
    FailedEvent,
    FinishedEvent,
    ProgressEvent,
    SpeedEvent,
    StatusEvent,
    StepEvent,
    ignore,
)
from .inference import Classifier, quiet_transformers
from . import long_documents as long_docs
from .metrics import classification_metrics, cross_entropy
from .models import ModelInfo, describe_folder, resolve_model
from .objectives import CrossEntropy, Objective
from .outputs import check_not_inside, claim_output_dir
from .runs import (
    CHECKPOINT_DIR,
    MODEL_DIR,
    RUN_JSON,
    RunLock,
    RunRecord,
    atomic_dir,
    has_checkpoint,
    library_versions,
    read_record,
    recover_folders,
    write_record,
)
from .settings import TrainSettings

STEP_EVENT_INTERVAL_S = 0.25
TOKENIZE_PROGRESS_S = 2.0
CALIBRATION_STEPS = 8
SPEED_DOCS = 256


def never() -> bool:
    return False


@dataclass
class TrainJob:
    train: LabeledData | None  # None with resume=True: read again from the file the run record names
    out_dir: Path
    model: str = "default"  # ignored on resume: the run record names the model
    valid: LabeledData | None = None
    settings: TrainSettings = field(default_factory=TrainSettings)  # ignored on resume: the run record's
    resume: bool = False  # continue the unfinished run in out_dir
    restart: bool = False  # discard the unfinished run in out_dir and start anew
    recipe: "Recipe | None" = None  # None: FineTune (a fresh head, cross-entropy)
    text_column: str | None = None  # recorded, so that resume can read the file again
    label_column: str | None = None
    valid_path: str | None = None  # the file job.valid came from (recorded for resume)
    checkpoint_every_min: float = 10.0  # also save a checkpoint this often within long epochs (0: only after epochs)
    keep_data: bool = True  # False: train() drops job.train once it is tokenized, so a large file's texts leave memory
    long_documents: str = "auto"  # auto | on | off: texts longer than max_length read in windows (long_documents.py)


@dataclass
class RunResult:
    run_dir: Path
    status: str  # finished | cancelled
    final_metrics: dict
    settings: dict
    reasons: dict
    record: RunRecord | None = None


@dataclass
class Prepared:
    """What a recipe may use when it builds the model and the objective."""

    train_ids: batching.TokenIds
    y_train: np.ndarray
    valid_ids: batching.TokenIds
    y_valid: np.ndarray
    labels: list[str]
    device: torch.device
    settings: TrainSettings
    model_path: Path
    should_stop: Callable[[], bool]
    emit: EventSink
    validation_on_training_rows: bool = False  # the recipe validates on the training rows itself (few-shot: cross-validation)
    train_doc: np.ndarray | None = None  # long-document mode: the training text of each training window (else None)


class Recipe:
    """The parts of training that vary between ways of learning. Subclass and override.

    The loop calls, in order: ``model_path``, ``labels``, ``resolve_settings``, ``prepare``,
    ``build_model``, ``objective``; after the last evaluation, ``finish`` may add to the record.
    """

    kind = "train"
    method = "fine-tune"  # run.json "method"; ``method_reason`` says why it was chosen
    method_reason = ""
    holds_out_validation = True  # False: no validation split; the recipe validates on the training rows
    min_patience = 0  # early stopping waits at least this many evaluations without progress, whatever the preset says
    min_passes_in_budget = 0.0  # a time budget that fits fewer passes (measured in the first steps) is refused
    min_passes_reason = ""  # why, in words, for the refusal

    def model_path(self, job: TrainJob, previous: RunRecord | None) -> Path:
        """The folder the tokenizer (and usually the starting weights) come from."""
        if previous is not None and previous.model.get("path") and Path(previous.model["path"]).is_dir():
            return Path(previous.model["path"])
        return resolve_model(job.model)

    def labels(self, data: LabeledData) -> list[str]:
        return sorted(set(data.labels))

    def targets(self, data: LabeledData, label2id: dict[str, int]) -> np.ndarray:
        """What the objective learns per row: the class index (single-label), a 0/1 row (multi-label)."""
        return np.asarray([label2id[l] for l in data.labels], dtype=np.int64)

    def known_rows(self, data: LabeledData, label2id: dict[str, int]) -> list[int]:
        """Positions of the rows this recipe can learn from with these labels."""
        return [i for i, l in enumerate(data.labels) if l in label2id]

    def check_validation(self, data: LabeledData, labels: list[str]) -> None:
        """Refuse validation data that cannot be scored (UserInputError); single-label rows of other labels are dropped."""

    def score(self, logits: np.ndarray, targets: np.ndarray, labels: list[str]) -> tuple[dict, float]:
        """Validation metrics (plain data, with "accuracy" and "macro_f1") and the validation loss."""
        return classification_metrics(targets, logits.argmax(axis=1), labels), cross_entropy(logits, targets)

    def resolve_settings(self, settings: TrainSettings, facts: defaults.Facts) -> tuple[TrainSettings, dict]:
        return defaults.plan(settings, facts)

    def still_learning(self, history: list[dict]) -> bool:
        """True while validation shows the model still learning although the metric did not gain (such an
        evaluation does not count towards early stopping)."""
        return False

    def prepare(self, p: Prepared) -> None:
        """One-time work before the model is built (e.g. a teacher's logits)."""

    def build_model(self, p: Prepared) -> torch.nn.Module:
        raise NotImplementedError

    def objective(self, p: Prepared) -> Objective:
        raise NotImplementedError

    def model_record(self, info: ModelInfo, model_path: Path, model: torch.nn.Module, name: str) -> dict:
        return {"name": name, "path": str(model_path), "architecture": info.architecture,
                "parameters": info.parameters, "layers": info.layers}

    def describe(self) -> dict:
        return {}

    def training_batches(self, lengths, batch_size: int, seed: int, sort_chunk: int) -> list[list[int]]:
        """One epoch's batches of training-row positions (``sort_chunk``: batches per length-sorted chunk)."""
        return batching.training_batches(lengths, batch_size, seed, sort_chunk)

    def classifier(self, model: torch.nn.Module, p: Prepared, tokenizer, autocast_dtype) -> Classifier:
        """What validation scores and saves: by default the model being trained."""
        return Classifier(model, tokenizer, p.labels, p.device, p.settings.max_length, autocast_dtype)

    def validation_logits(self, clf: Classifier, valid_ids: list[list[int]]) -> np.ndarray:
        return clf.logits_for_ids(valid_ids, batch_size=64)

    def save_model(self, folder: Path, model: torch.nn.Module, tokenizer, clf: Classifier) -> None:
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)

    def finish(self, record: RunRecord, run_dir: Path, valid_texts: list[str], emit: EventSink) -> None:
        """Called on rank 0 after training finished and the best model is saved."""

    def resume_command(self, run_dir: Path, record: RunRecord | None) -> str:
        return f"classifier-studio train --resume --out {shlex.quote(str(run_dir))}"

    def restart_command(self, run_dir: Path, record: RunRecord | None) -> str:
        source = (record.data.get("source") if record else None) or "DATA"
        return f"classifier-studio train {shlex.quote(str(source))} --out {shlex.quote(str(run_dir))} --restart"


class FineTune(Recipe):
    """A pretrained encoder with a freshly initialised classification head, trained with cross-entropy."""

    def build_model(self, p: Prepared) -> torch.nn.Module:
        from transformers import AutoModelForSequenceClassification

        from .model_files import load_model

        label2id = {l: i for i, l in enumerate(p.labels)}
        torch.manual_seed(p.settings.seed)  # the new classification head's initial weights follow the seed
        model = load_model(
            p.model_path, AutoModelForSequenceClassification, num_labels=len(p.labels), id2label={i: l for l, i in label2id.items()}, label2id=label2id,
            ignore_mismatched_sizes=True)
        model.config.problem_type = "single_label_classification"
        return model

    def objective(self, p: Prepared) -> Objective:
        return CrossEntropy(p.y_train, len(p.labels), bool(p.settings.class_weights), p.device)

    def describe(self) -> dict:
        return {"builder": "fresh_head"}


@dataclass
class _State:
    """Everything that must survive a resume (plain data: it goes into the checkpoint's JSON)."""

    epoch: int = 0  # epochs completed
    batch_in_epoch: int = 0  # micro-batches of the current epoch already done
    step: int = 0  # optimizer steps done
    samples: int = 0
    best_metric: float = -1.0
    best_epoch: int = 0
    epochs_without_improvement: int = 0  # epochs without progress: a gain of at least MIN_PROGRESS
    progress_mark: float = -1.0  # the validation score when progress was last made
    history: list = field(default_factory=list)
    train_seconds: float = 0.0
    plan_epochs: float | None = None


# Validation must gain at least this much (half a point of the metric) to count as progress for early
# stopping; smaller gains still keep the better model. So a run stops once validation has converged, not
# after a fixed step count (#13: 2 of 10 planned epochs already reached the final accuracy on 5,452 short
# questions).
MIN_PROGRESS = 0.005


def _padded_tokens(batch: list[int], lengths) -> int:
    """Work in a batch after dynamic padding: rows times its longest row."""
    return len(batch) * max(lengths[i] for i in batch)


class _Calibration:
    """Speed in the first steps, per padded token, so that a batch of long texts early on (the
    longest batch comes first) does not make the whole epoch look slower than it is."""

    def __init__(self):
        self.tokens = 0
        self.seconds = 0.0
        self.epoch_tokens = 0

    def add(self, step: int, tokens: int, seconds: float) -> None:
        if step > 1:  # the first step pays for one-time allocations
            self.tokens += tokens
            self.seconds += seconds

    def epoch_seconds(self) -> float:
        return self.seconds / max(1, self.tokens) * self.epoch_tokens


class _Plan:
    """Total steps; a time budget re-plans it after the first steps and after each epoch (LR schedule follows)."""

    def __init__(self, steps_per_epoch: int, epochs: float, warmup: float):
        self.steps_per_epoch = steps_per_epoch
        self.epochs = epochs
        self.warmup = warmup

    @property
    def total_steps(self) -> int:
        return max(1, math.ceil(self.steps_per_epoch * self.epochs))

    def lr_factor(self, step: int) -> float:
        warm = max(1, int(self.total_steps * self.warmup))
        if step < warm:
            return (step + 1) / warm
        return max(0.0, (self.total_steps - step) / max(1, self.total_steps - warm))


def train(job: TrainJob, on_event: EventSink = ignore, should_stop: Callable[[], bool] = never) -> RunResult:
    """Train as ``job`` says. Raises UserInputError for bad input (the data, a setting, the folder,
    out of memory, a full disk), TrainingCancelled for a cancel before training began (nothing
    saved); a cancel during training returns status "cancelled" with a checkpoint to resume from.

    Ends with a FinishedEvent or CancelledEvent; errors emit FailedEvent and mark the run "failed".
    """
    trainer = _Trainer(job, on_event, should_stop)
    try:
        return trainer.run()
    except UserInputError as exc:
        trainer.mark_failed(exc.message)
        on_event(FailedEvent(exc.message, exc.describe()))
        raise
    except TrainingCancelled:
        trainer.cancelled_before_training()
        raise
    except Exception as exc:
        user_error = trainer.as_user_error(exc)
        if user_error is not None:
            trainer.mark_failed(user_error.message)
            on_event(FailedEvent(user_error.message, user_error.describe()))
            raise user_error from exc
        trainer.mark_failed(f"{type(exc).__name__}: {exc}")
        on_event(FailedEvent(f"{type(exc).__name__}: {exc}", traceback.format_exc()))
        raise
    finally:
        trainer.close()


class _Trainer:
    def __init__(self, job: TrainJob, on_event: EventSink, should_stop: Callable[[], bool]):
        self.job = job
        self.recipe: Recipe = job.recipe or _recorded_recipe(job)
        self.run_dir = Path(job.out_dir)
        self.should_stop = should_stop
        self.t0 = time.perf_counter()
        self._emit = on_event
        self.ctx = distributed.Context()
        self.lock: RunLock | None = None
        self.created_dir = False
        self.record: RunRecord | None = None  # set once the run record is written
        self.previous: RunRecord | None = None
        self.settings: TrainSettings = job.settings
        self.device: DeviceChoice | None = None
        self.model = self.ddp_model = None
        self.state = _State()
        self.valid_doc: np.ndarray | None = None  # long-document mode: the document of each validation window

    def emit(self, event) -> None:
        if self.ctx.is_main:
            self._emit(event)

    # -- the run folder -----------------------------------------------------------------------
    def _open_folder(self) -> RunRecord | None:
        """Lock the folder, clean what a killed run left, and decide: new run, resume or refuse."""
        job, run_dir = self.job, self.run_dir
        if not self.ctx.is_main:  # rank 0 owns the folder; the others only read the record
            return read_record(run_dir) if job.resume and (run_dir / RUN_JSON).exists() else None
        inputs = [job.model] + [d.source for d in (job.train, job.valid) if d is not None]
        check_not_inside(run_dir, [p for p in inputs if p and Path(str(p)).exists()])
        self.created_dir = not run_dir.exists()
        # a file, a read-only place or a folder of someone else's files: exit 2, nothing in it touched
        claim_output_dir(run_dir, "run")
        try:
            self.lock = RunLock(run_dir).acquire()
        except OSError as exc:
            if isinstance(exc, PermissionError) or exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise UserInputError("The run folder cannot be written (no permission, or a read-only disk).",
                                     where=str(run_dir), fix="Choose a folder you can write to with --out.") from None
            raise
        recover_folders(run_dir)
        previous = None
        if (run_dir / RUN_JSON).exists():
            try:
                previous = read_record(run_dir)
            except UserInputError:
                if not job.restart:
                    raise UserInputError("The run record of this folder is damaged.", where=str(run_dir / RUN_JSON),
                                         fix=f"Start the run over: {self.recipe.restart_command(run_dir, None)}") from None
                self._discard()
                return None
        if previous is None:
            if job.resume:
                raise UserInputError("There is no interrupted run to resume in this folder.", where=str(run_dir),
                                     fix="Leave out --resume to start a new run, or pass the folder of the interrupted run.")
            return None
        if previous.finished:
            raise UserInputError("This folder already holds a finished run." + (" There is nothing to resume." if job.resume else ""),
                                 where=str(run_dir), fix="Choose a new --out folder; the finished run is kept as it is.")
        # `train` may start a few-shot run over an unfinished fine-tune run (--restart) and the reverse
        same_command = {previous.kind, self.recipe.kind} <= {"train", "few-shot"} and not job.resume
        if previous.kind != self.recipe.kind and not same_command:
            raise UserInputError(f"This folder holds a '{previous.kind}' run, not a '{self.recipe.kind}' run.",
                                 where=str(run_dir), fix="Choose a new --out folder.")
        if job.restart:
            self._discard()
            return None
        if not job.resume:
            how = (f"continue it with: {self.recipe.resume_command(run_dir, previous)}; or start it over with: "
                   f"{self.recipe.restart_command(run_dir, previous)}")
            raise UserInputError(f"This folder holds an unfinished run (status: {previous.status}).", where=str(run_dir),
                                 fix=how[0].upper() + how[1:] + ". Or choose a new --out folder.")
        return previous

    def _discard(self) -> None:
        """--restart: remove the unfinished run's record, checkpoint and model (only our own names)."""
        self.emit(StatusEvent("Discarding the unfinished run in this folder and starting anew"))
        for name in (CHECKPOINT_DIR, MODEL_DIR):  # the record goes last: a kill in between leaves a run, not a stray folder
            shutil.rmtree(self.run_dir / name, ignore_errors=True)
        (self.run_dir / RUN_JSON).unlink(missing_ok=True)

    def _tokenizing_progress(self):
        """A progress event while a large file is tokenized: at most one every TOKENIZE_PROGRESS_S seconds."""
        last, every_s = [time.perf_counter()], TOKENIZE_PROGRESS_S

        def on_chunk(done: int, total: int) -> None:
            now = time.perf_counter()
            if now - last[0] >= every_s or done == total and now - self.t0 >= every_s:
                last[0] = now
                self.emit(ProgressEvent(done, total, f"Tokenizing: {done:,} of {total:,} texts"))

        return on_chunk

    def _resume_data(self, previous: RunRecord) -> LabeledData:
        job = self.job
        if job.train is not None:
            data = job.train
        else:
            source = previous.data.get("source")
            if not source or not Path(source).is_file():
                raise UserInputError("The training file of this run is no longer where it was.", where=str(source),
                                     fix="Pass the training file as DATA together with --resume.")
            data = load_labeled(source, text_column=previous.data.get("text_column"),
                                label_column=previous.data.get("label_column"), **_label_options(previous)).data
        if previous.data.get("fingerprint_all") != fingerprint(data):
            raise UserInputError(
                "The training data differs from the data this run started with, so it cannot be resumed.",
                where=f"{data.source} vs. {previous.data.get('source')}",
                fix=f"Resume with the same file and columns, or start over: {self.recipe.restart_command(self.run_dir, previous)}")
        return data

    def _resume_valid(self, previous: RunRecord) -> LabeledData | None:
        """The validation data the run started with: from its file, or None to re-create the split."""
        how = previous.split.get("kind") or ("stratified" if "split" in str(previous.data.get("valid_source", "")) else "given")
        if how in ("stratified", "training-rows"):
            return None
        if self.job.valid is not None:
            valid = self.job.valid
        elif how == "file" and previous.split.get("path") and Path(previous.split["path"]).is_file():
            valid = load_labeled(previous.split["path"], text_column=previous.data.get("text_column"),
                                 label_column=previous.data.get("label_column"), **_label_options(previous)).data
        else:
            raise UserInputError("This run was validated on a separate file, which is needed to resume it.",
                                 where=str(previous.split.get("path") or previous.data.get("valid_source")),
                                 fix="Pass the validation file again (--valid FILE) together with --resume.")
        expected = previous.split.get("fingerprint_valid")
        if expected and expected != fingerprint(valid):
            raise UserInputError("The validation data differs from the data this run was validated on.",
                                 where=valid.source, fix="Resume with the same validation file, or start a new run.")
        return valid

    # -- setup --------------------------------------------------------------------------------
    def run(self) -> RunResult:
        resuming = self._prepare()  # its locals (the texts, the table's rows) are gone once it returns
        if not self.job.keep_data:  # the command line with a file of any size; the app keeps its data open
            _give_back_freed_memory()
        return self._loop(resuming)

    def _prepare(self) -> bool:
        """Open the folder, check and tokenize the data, resolve the settings, build the model; True when resuming."""
        job = self.job
        quiet_transformers()
        from .model_files import load_tokenizer

        self.ctx = distributed.Context(rank=distributed.env_rank(), world_size=distributed.env_world_size())
        previous = self.previous = self._open_folder()
        settings = TrainSettings.from_dict(previous.explicit_settings) if previous else job.settings
        if settings.threads:
            torch.set_num_threads(int(settings.threads))
        self.device = choose(settings.device, settings.precision)
        self.ctx = distributed.setup(self.device.device)

        data = self._resume_data(previous) if previous else job.train
        if data is None:
            raise UserInputError("No training data was given.", where="DATA", fix="Pass a labeled file.")
        report = validate(data)
        for finding in report.warnings:
            self.emit(StatusEvent(f"Warning: {finding.message} ({finding.where}). {finding.fix}"))
        require_trainable(report)
        given_valid = self._resume_valid(previous) if previous else job.valid

        self.emit(StatusEvent("Loading the model"))
        model_path = self.recipe.model_path(job, previous)
        with _unreadable_model(model_path):
            info = describe_folder(model_path, name=str(job.model))
            tokenizer = load_tokenizer(model_path)
        self.device = _precision_for_size(self.device, settings.precision, info.parameters, self.emit)
        model_max = min(info.max_length or 512, 512)
        if settings.max_length and settings.max_length > (info.max_length or 512):
            raise UserInputError(f"--max-length {settings.max_length} is more than this model can read "
                                 f"({info.max_length or 512} tokens).", where="--max-length",
                                 fix=f"Use at most --max-length {info.max_length or 512}, or leave it out to let the app choose.")

        labels = previous.labels if previous else self.recipe.labels(data)
        label2id = {l: i for i, l in enumerate(labels)}
        known = self.recipe.known_rows(data, label2id)
        if len(known) < len(data):
            self.emit(StatusEvent(f"{len(data) - len(known)} rows with labels the model does not know are left out"))
        usable = data.subset(known) if len(known) < len(data) else data
        if len(labels) < 2:
            raise UserInputError(
                f"Training needs at least two classes; the training data has only '{labels[0] if labels else ''}'.",
                where=data.source, fix="Add examples of at least one more class.")
        if given_valid is None and not self.recipe.holds_out_validation:
            train_data, valid_data = usable, usable
            split_record = {"kind": "training-rows", "fingerprint_valid": fingerprint(usable), "n_valid": len(usable)}
        elif given_valid is None:
            train_data, valid_data = split(usable, settings.valid_split, settings.seed)
            split_record = {"kind": "stratified", "fraction": settings.valid_split, "seed": settings.seed,
                            "valid_rows": np.asarray(valid_data.rows, dtype=np.int64), "fingerprint_valid": fingerprint(valid_data),
                            "n_valid": len(valid_data)}
        else:
            train_data, valid_data = usable, given_valid
            split_record = {"kind": "file" if job.valid_path or (previous and previous.split.get("path")) else "given",
                            "path": job.valid_path or (previous.split.get("path") if previous else None),
                            "fingerprint_valid": fingerprint(given_valid), "n_valid": len(given_valid)}
        if previous and previous.split.get("fingerprint_valid") and given_valid is None \
                and previous.split["fingerprint_valid"] != split_record["fingerprint_valid"]:
            raise UserInputError("The validation rows of this run cannot be re-created.", where=data.source,
                                 fix=f"Start over: {self.recipe.restart_command(self.run_dir, previous)}")
        self.recipe.check_validation(valid_data, labels)
        valid_data = self._known_labels_only(valid_data, label2id)
        if len(train_data) == 0 or len(valid_data) == 0:
            raise UserInputError("Too few labeled rows to train and validate on.", where=data.source,
                                 fix="Add more labeled rows, or pass a separate --valid file.")

        self.emit(StatusEvent(f"Tokenizing {len(train_data) + len(valid_data):,} texts"))
        t_tok = time.perf_counter()
        # whole texts (2 bytes a token): long-document mode needs their tails; otherwise they are cut below
        train_ids = batching.tokenize(tokenizer, train_data.texts, self.should_stop, self._tokenizing_progress())
        self._check_stop()
        lengths = train_ids.full_lengths
        if previous:
            resolved, reasons = TrainSettings.from_dict(previous.settings), previous.settings_explained
        else:
            facts = defaults.Facts(
                n_train=len(train_data), class_counts=train_data.class_counts(), token_lengths=lengths,
                model_parameters=info.parameters, model_max_length=model_max, device_type=self.device.device.type,
                gpu_memory_gb=_gpu_memory_gb(self.device.device))
            resolved, reasons = self.recipe.resolve_settings(settings, facts)
            if self.recipe.method_reason:  # "What training will use, and why" starts with the method
                reasons = {"method": {"value": self.recipe.method, "reason": self.recipe.method_reason}, **reasons}
        self.settings = resolved
        y_train = self.recipe.targets(train_data, label2id)
        y_valid = self.recipe.targets(valid_data, label2id)
        long_choice = self._long_documents(previous, lengths, model_max, resolved.max_length)
        layout = batching.special_layout(tokenizer)
        if long_choice["mode"] == "on":  # train on windows (each with its document's target), validate per document
            windows, train_doc = long_docs.split_all(train_ids, resolved.max_length, *layout, max_windows=long_docs.MAX_TRAIN_WINDOWS)
            train_ids = batching.TokenIds.from_lists(windows, train_ids.dtype)
            del windows
            y_train = y_train[train_doc]
            if split_record["kind"] == "training-rows":
                # the recipe scores the training rows themselves (few-shot: out-of-fold logits, one per training
                # window), so the validation windows are the training windows and combine by the same documents
                valid_ids, self.valid_doc = train_ids, train_doc
            else:
                valid_whole = batching.tokenize(tokenizer, valid_data.texts, self.should_stop)
                windows, self.valid_doc = long_docs.split_all(valid_whole, resolved.max_length, *layout)
                valid_ids = batching.TokenIds.from_lists(windows, valid_whole.dtype)
            self.emit(StatusEvent(f"Long-document mode: {len(train_data)} training texts read as {len(train_ids)} "
                                  f"windows of at most {resolved.max_length} tokens ({long_choice['reason']})"))
        else:
            train_doc = None
            train_ids = train_ids.truncated(resolved.max_length, layout)
            valid_ids = batching.tokenize(tokenizer, valid_data.texts, self.should_stop, keep=resolved.max_length)
        self._check_stop()
        tokenize_s = time.perf_counter() - t_tok

        prepared = self.prepared = Prepared(train_ids, y_train, valid_ids, y_valid, labels, self.device.device, resolved,
                                            model_path, self.should_stop, self.emit, split_record["kind"] == "training-rows",
                                            train_doc)
        self.recipe.prepare(prepared)
        self._check_stop()
        self.emit(StatusEvent(f"Preparing {info.architecture} on {self.device.name}"))
        with _unreadable_model(model_path):
            model = self.recipe.build_model(prepared)
        model.to(self.device.device)
        memory_plan = self._plan_memory(model, resolved, reasons, previous)
        self.objective = self.recipe.objective(prepared)
        self.tokenizer, self.labels, self.info = tokenizer, labels, info
        self.train_ids, self.y_train = train_ids, y_train
        # a sample of the validation texts (fresh strings) for the speed measurement: holding all of them, spread
        # over the file's memory, would keep the memory of every text in use (Python frees it only in whole arenas)
        self.valid_ids, self.y_valid = valid_ids, y_valid
        self.valid_texts = [t.encode("utf-8", "surrogatepass").decode("utf-8", "surrogatepass")
                            for t in speed.sample_texts(valid_data.texts, SPEED_DOCS)]
        self.model = model
        self.ddp_model = distributed.wrap(model, self.ctx, self.device.device)

        record = previous or RunRecord(
            kind=self.recipe.kind, created=time.strftime("%Y-%m-%dT%H:%M:%S"),
            model=self.recipe.model_record(info, model_path, model, str(job.model)),
            data={"source": data.source, "text_column": job.text_column, "label_column": job.label_column,
                  "fingerprint_all": fingerprint(data), "fingerprint_train": fingerprint(train_data),
                  "fingerprint_valid": fingerprint(valid_data),
                  "valid_source": (job.valid_path or given_valid.source) if given_valid is not None
                  else "the training rows" if split_record["kind"] == "training-rows"
                  else f"{settings.valid_split:.0%} stratified split",
                  "n_train": len(train_data), "n_valid": len(valid_data), "class_counts": train_data.class_counts()},
            split=split_record, labels=labels, label2id=label2id, explicit_settings=settings.to_dict(),
            settings=resolved.to_dict(), settings_explained=reasons,
            recipe={**self.recipe.describe(), **self.objective.describe(), "memory": memory_plan}, versions=library_versions(),
            method=self.recipe.method, method_reason=self.recipe.method_reason,
            problem_type=getattr(self.recipe, "problem_type", None) or _problem_type(data), long_documents=long_choice)
        if data.multi_label_source is not None:
            record.data.setdefault("multi_label", dict(data.multi_label_source))
        record.status, record.error = "running", None
        record.timings["tokenize_s"] = round(tokenize_s, 2)
        record.device = {"name": self.device.name, "type": self.device.device.type, "precision": self.device.precision,
                         "world_size": self.ctx.world_size, "hardware": hardware_summary()}
        self.record = record
        self._write_record()
        if not previous:
            for name, item in reasons.items():
                if item["reason"] != "set by you":
                    self.emit(StatusEvent(f"{name} = {item['value']}: {item['reason']}"))
        if not job.keep_data:  # tokenized: a large file's texts need not stay in memory for the whole run
            job.train = None
        return previous is not None

    def _plan_memory(self, model: torch.nn.Module, settings: TrainSettings, reasons: dict,
                     previous: RunRecord | None) -> dict:
        """Measure what a training step needs and fit it to the memory free now (memory.py): a smaller
        micro-batch with gradient accumulation when the batch does not fit at once; UserInputError (nothing
        trained, nothing written) when even one text at a time does not. A resumed run keeps its batches."""
        from . import memory

        self.emit(StatusEvent("Measuring the memory a training step needs"))
        recorded = dict((previous.recipe or {}).get("memory") or {}) if previous is not None else {}
        if recorded.get("attention_dropout_off"):
            memory.attention_dropout_off(model)
        plan = memory.plan_training(model, self.device.device, int(settings.max_length), int(settings.batch_size),
                                    int(settings.grad_accum or 1), self.device.autocast_dtype,
                                    may_drop_attention_dropout=previous is None)
        if previous is not None:
            if plan.batch_size < settings.batch_size:
                raise UserInputError(
                    f"Not enough memory free to resume this run: it trains {settings.batch_size} texts of up to "
                    f"{settings.max_length} tokens at a time, and {plan.available_bytes / memory.GB:.1f} GB are free "
                    f"({plan.limited_by}).", where=self.device.name,
                    fix="Close other programs and resume again, or start over (a new run plans for the memory free "
                        f"then): {self.recipe.restart_command(self.run_dir, previous)}")
            return recorded or plan.to_dict()
        set_by_you = (reasons.get("batch_size") or {}).get("reason") == "set by you"
        effective = settings.batch_size
        if plan.batch_size < settings.batch_size:
            settings.batch_size, settings.grad_accum = plan.batch_size, plan.grad_accum
            reasons["grad_accum"] = {"value": plan.grad_accum, "reason": f"{plan.grad_accum} micro-batches of {plan.batch_size} "
                                     f"add up to one optimizer step of {plan.grad_accum * plan.batch_size} texts"}
        reasons["batch_size"] = {"value": settings.batch_size, "reason": ("set by you to " + str(effective) + "; " if set_by_you
                                                                          else "") + plan.reason}
        return plan.to_dict()

    def _check_stop(self) -> None:
        if self.ctx.agree([float(self.should_stop())], self._dev())[0]:
            raise TrainingCancelled()

    def _dev(self) -> torch.device:
        return self.device.device if self.device is not None else torch.device("cpu")

    def _long_documents(self, previous: RunRecord | None, lengths: list[int], model_max: int, window: int) -> dict:
        """run.json's "long_documents": on or off, why, the window; the combination is chosen on validation."""
        if previous is not None and (previous.long_documents or {}).get("mode"):
            return dict(previous.long_documents)
        on, reason = long_docs.decide(self.job.long_documents, lengths, model_max)
        n_long = sum(1 for n in lengths if n > window)
        choice = {"mode": "on" if on else "off", "reason": reason, "asked": self.job.long_documents or "auto",
                  "window": window, "overlap": long_docs.OVERLAP, "texts_longer_than_window": n_long,
                  "texts_longer_than_model": sum(1 for n in lengths if n > model_max)}
        if not on and n_long and (self.job.long_documents or "auto") == "auto":
            self.emit(StatusEvent(f"{n_long} of {len(lengths)} training texts are longer than {window} tokens and are cut; "
                                  "--long-documents on reads them whole in windows"))
        return choice

    def _known_labels_only(self, data: LabeledData, label2id: dict) -> LabeledData:
        keep = self.recipe.known_rows(data, label2id)
        if len(keep) < len(data):
            dropped = sorted({l for l in data.labels if l not in label2id})
            self.emit(StatusEvent(f"Validation rows with labels not in the training data are ignored: {', '.join(dropped[:5])}"))
            data = data.subset(keep)
        return data

    # -- the loop -----------------------------------------------------------------------------
    def _loop(self, resuming: bool) -> RunResult:
        s = self.settings
        dev = self.device.device
        random.seed(s.seed)
        np.random.seed(s.seed)
        torch.manual_seed(s.seed)

        lengths = self.train_ids.lengths
        # decided once from the planned steps (settings, not the time budget), so a resumed run batches the same
        planned = math.ceil(math.ceil(len(lengths) / s.batch_size / self.ctx.world_size) / max(1, s.grad_accum) * float(s.epochs))
        sort_chunk = batching.sort_chunk_for(planned, s.group_by_length)
        micro_per_epoch = len(self.ctx.shard(self.recipe.training_batches(lengths, s.batch_size, s.seed, sort_chunk)))
        steps_per_epoch = max(1, math.ceil(micro_per_epoch / max(1, s.grad_accum)))
        plan = _Plan(steps_per_epoch, float(s.epochs), float(s.warmup or 0.0))

        optimizer = self._optimizer()
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, plan.lr_factor)
        scaler = torch.amp.GradScaler("cuda") if self.device.needs_grad_scaler else None

        state = self.state = _State()
        if resuming and (self.run_dir / CHECKPOINT_DIR).exists():  # complete, or refused (never half-read)
            ckpt = checkpoint.load(self.run_dir / CHECKPOINT_DIR)
            checkpoint.restore(ckpt, self.model, optimizer, scheduler, scaler)
            state = self.state = _State(**ckpt.state)
            plan.epochs = float(state.plan_epochs or self.record.settings["epochs"])
            self.emit(StatusEvent(f"Resuming at epoch {state.epoch + 1}, step {state.step}"))
        elif resuming:
            self.emit(StatusEvent("No checkpoint was saved before the run stopped: starting it again from the "
                                  "beginning with the same settings"))
        budget_s = s.time_budget_min * 60 if s.time_budget_min else None
        calibrated = resuming or budget_s is None
        every_s = (self.job.checkpoint_every_min or 0) * 60
        self.ddp_model.train()
        last_emit = last_ckpt = time.perf_counter()
        running_loss, running_n = 0.0, 0
        epoch_times: list[float] = []
        calibration = _Calibration()
        patience = max(int(s.early_stopping_patience), int(self.recipe.min_patience)) if s.early_stopping_patience else 0

        while state.epoch < math.ceil(plan.epochs) and state.step < plan.total_steps:
            epoch_start = time.perf_counter()
            batches = self.ctx.shard(self.recipe.training_batches(lengths, s.batch_size, s.seed + state.epoch, sort_chunk))
            if not calibrated:
                calibration.epoch_tokens = sum(_padded_tokens(b, lengths) for b in batches)
            micro = state.batch_in_epoch
            optimizer.zero_grad(set_to_none=True)
            while micro < len(batches) and state.step < plan.total_steps:
                # one collective per step, reached by every rank: cancel (any rank) and a periodic checkpoint (rank 0's clock)
                due = self.ctx.is_main and every_s > 0 and time.perf_counter() - last_ckpt >= every_s
                stop, save_now = self.ctx.agree([float(self.should_stop()), float(due)], dev)
                state.batch_in_epoch = micro
                if stop:
                    return self._cancel(state, optimizer, scheduler, scaler, plan)
                if save_now:
                    self._save_checkpoint(state, optimizer, scheduler, scaler, plan)
                    last_ckpt = time.perf_counter()
                step_start = time.perf_counter()
                group = batches[micro : micro + s.grad_accum]
                n_in_group = sum(len(b) for b in group)
                for b in group:
                    loss = self._forward_backward(b, scaler, len(b) / n_in_group)
                    running_loss += loss * len(b)
                    running_n += len(b)
                self._optimizer_step(optimizer, scaler)
                scheduler.step()
                micro += len(group)
                state.step += 1
                state.samples += n_in_group * self.ctx.world_size
                step_seconds = time.perf_counter() - step_start
                state.train_seconds += step_seconds

                if not calibrated:
                    calibration.add(state.step, sum(_padded_tokens(b, lengths) for b in group), step_seconds)
                    # an epoch of few, slow steps (long documents) calibrates within its first third, so that a
                    # time budget shorter than one epoch is planned before the epoch ends (#22: 6 steps of 54 s)
                    if state.step > min(CALIBRATION_STEPS, max(2, plan.steps_per_epoch // 3)):
                        calibrated = True
                        self._apply_budget(plan, state, budget_s, calibration.epoch_seconds())
                now = time.perf_counter()
                if now - last_emit >= STEP_EVENT_INTERVAL_S or micro >= len(batches) or state.step >= plan.total_steps:
                    self.emit(self._step_event(state, plan, running_loss / max(1, running_n), scheduler))
                    running_loss, running_n, last_emit = 0.0, 0, now

            finished_epoch = micro >= len(batches)
            state.epoch += 1 if finished_epoch else 0
            state.batch_in_epoch = 0
            epoch_fraction = state.epoch if finished_epoch else state.step / plan.steps_per_epoch
            progressed, perfect = self._evaluate_and_keep(state, epoch_fraction)
            state.epochs_without_improvement = 0 if progressed else state.epochs_without_improvement + 1
            epoch_times.append(time.perf_counter() - epoch_start)
            if budget_s is not None:
                self._refit_budget(plan, state, budget_s, epoch_times)
            stop_early = bool(patience) and (state.epochs_without_improvement >= patience or perfect)
            more = not stop_early and finished_epoch and state.epoch < math.ceil(plan.epochs) and state.step < plan.total_steps
            if more:
                self._save_checkpoint(state, optimizer, scheduler, scaler, plan)
                last_ckpt = time.perf_counter()
            if stop_early and state.epochs_without_improvement >= patience:
                self.emit(StatusEvent(f"Early stopping: validation {s.metric} gained less than {MIN_PROGRESS * 100:g} points "
                                      f"in {patience} epochs, so training has converged"))
            elif stop_early:
                self.emit(StatusEvent(f"Early stopping: validation {s.metric} is 1.0, so no later epoch can do better"))
            if not more:
                break
        return self._finish(state)

    def _optimizer(self) -> torch.optim.Optimizer:
        s = self.settings
        head_names = _head_parameter_names(self.model)
        groups: dict[tuple, list] = {}
        for name, param in self.model.named_parameters():
            if not param.requires_grad:
                continue
            is_head = name in head_names
            no_decay = param.ndim < 2 or "LayerNorm" in name or "layer_norm" in name
            groups.setdefault((is_head, no_decay), []).append(param)
        param_groups = [
            {"params": params, "lr": (s.head_learning_rate or s.learning_rate) if is_head else s.learning_rate,
             "weight_decay": 0.0 if no_decay else s.weight_decay}
            for (is_head, no_decay), params in sorted(groups.items())
        ]
        return adamw(param_groups, s.learning_rate, self.device.device)

    def _forward_backward(self, batch_idx: list[int], scaler, scale: float) -> float:
        dev = self.device.device
        batch = batching.collate([self.train_ids[i] for i in batch_idx], batching.pad_id_of(self.tokenizer), dev)
        dtype = self.device.autocast_dtype
        with torch.autocast(dev.type, dtype=dtype, enabled=dtype is not None):
            logits = self.ddp_model(**batch).logits
            loss = self.objective.loss(logits.float(), batch_idx)
        if not torch.isfinite(loss):
            raise UserInputError(
                "Training diverged: the loss became NaN or infinite.",
                where=f"learning rate {self.settings.learning_rate:g}",
                fix="Lower the learning rate (for example by 2-5x), or use fp32 precision; then start over with --restart.",
            )
        scaled = loss * scale
        (scaler.scale(scaled) if scaler is not None else scaled).backward()
        return float(loss.detach())

    def _optimizer_step(self, optimizer, scaler) -> None:
        if scaler is not None:
            scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def _step_event(self, state: _State, plan: _Plan, loss: float, scheduler) -> StepEvent:
        rate = state.samples / max(state.train_seconds, 1e-9)
        remaining = max(0, plan.total_steps - state.step) * self.settings.batch_size * self.settings.grad_accum
        evals_left = max(0, math.ceil(plan.epochs) - state.epoch)
        eta = remaining / max(rate, 1e-9) + evals_left * len(self.valid_ids) / max(rate * 3, 1e-9)
        return StepEvent(step=state.step, total_steps=plan.total_steps, epoch=state.step / plan.steps_per_epoch,
                         loss=loss, learning_rate=float(scheduler.get_last_lr()[0]), samples_per_s=rate, eta_s=eta)

    # -- time budget --------------------------------------------------------------------------
    def _refit_budget(self, plan: _Plan, state: _State, budget_s: float, epoch_times: list[float]) -> None:
        if state.step >= plan.total_steps:  # the schedule has run out: done, never restart it
            return
        self._apply_budget(plan, state, budget_s, max(epoch_times[-1], 1e-3), measured=True)

    def _apply_budget(self, plan: _Plan, state: _State, budget_s: float, epoch_s: float, measured: bool = False) -> None:
        """Re-plan the epochs to fit the budget. Rank 0's clock decides; every rank adopts its plan."""
        elapsed = time.perf_counter() - self.t0
        eval_s = 0.0 if measured else epoch_s * len(self.valid_ids) / max(1, len(self.train_ids)) / 2
        save_s = 3.0
        left = budget_s * 0.95 - elapsed - save_s
        done_epochs = state.step / plan.steps_per_epoch
        fit = done_epochs + max(0.0, left) / (epoch_s + eval_s)
        chosen = max(done_epochs + 1 / plan.steps_per_epoch, min(float(self.settings.epochs), fit))
        chosen = chosen if chosen < 1 else max(round(chosen, 2), done_epochs)
        chosen = self.ctx.agree([chosen if self.ctx.is_main else -math.inf], self.device.device)[0]
        if not measured:
            self._refuse_too_short_budget(chosen, budget_s, epoch_s + eval_s, elapsed + save_s)
        if abs(chosen - plan.epochs) >= 0.01:  # shorter if slower than planned, longer (up to the cap) if faster
            plan.epochs = chosen
            self.emit(StatusEvent(f"Time budget {budget_s / 60:g} min: planned {plan.epochs:.2f} epochs ({plan.total_steps} steps)"))
            self.record.settings["epochs"] = plan.epochs
            self.record.settings_explained["epochs"] = {
                "value": plan.epochs, "reason": f"what fits into the {budget_s / 60:g}-minute budget at the measured speed"}

    def _refuse_too_short_budget(self, fits: float, budget_s: float, pass_s: float, spent_s: float) -> None:
        """A recipe that needs ``min_passes_in_budget`` passes (multi-label) is refused, with the time it needs,
        when the budget fits fewer at the speed measured in the first steps: a model that learned nothing
        usable is worse than the plain reason (#22). Nothing is kept of the run."""
        need = float(self.recipe.min_passes_in_budget or 0)
        if not need or fits >= min(need, float(self.settings.epochs)) - 1e-6:
            return
        minutes = math.ceil((spent_s + need * pass_s) / 0.95 / 60)
        why = self.recipe.min_passes_reason or f"this way of training needs at least {need:g} passes over the texts"
        error = UserInputError(
            f"The time limit of {budget_s / 60:g} minutes is too short: at the speed measured in the first steps it reads "
            f"the {len(self.train_ids):,} training texts {fits:.1f} times, and {why}.", where="--time-budget",
            fix=f"Give it about {minutes} minutes (--time-budget {minutes}, or a longer preset), or leave the time limit out.")
        if self.ctx.is_main and self.record is not None and self.previous is None:
            for name in (CHECKPOINT_DIR, MODEL_DIR):  # refused: no half-trained run to offer for resuming
                shutil.rmtree(self.run_dir / name, ignore_errors=True)
            (self.run_dir / RUN_JSON).unlink(missing_ok=True)
            self.record = None
        raise error

    # -- evaluation, checkpoints --------------------------------------------------------------
    def validation_classifier(self) -> Classifier:
        return self.recipe.classifier(self.model, self.prepared, self.tokenizer, self.device.autocast_dtype)

    def _evaluate_and_keep(self, state: _State, epoch: float) -> tuple[bool, bool]:
        """Rank 0 evaluates and saves (any gain keeps the better model); every rank gets its verdict
        (progressed by MIN_PROGRESS, perfect) in one collective."""
        improved = progressed = False
        if self.ctx.is_main:
            clf = self.validation_classifier()
            logits = self.recipe.validation_logits(clf, self.valid_ids)
            metrics, val_loss = self._score(logits)
            score = metrics[self.settings.metric]
            improved = score > state.best_metric + 1e-6
            self.emit(EvalEvent(state.step, float(epoch), val_loss, metrics["accuracy"], metrics["macro_f1"], self.labels,
                                metrics["per_class"], metrics["confusion_matrix"], improved))
            rep = speed.throughput(lambda t, b: clf.predict_proba(t, b), self.valid_texts, 64, SPEED_DOCS)
            self.emit(SpeedEvent(float(epoch), rep.docs_per_s, rep.ms_per_doc, rep.batch_size, self.device.name))
            state.history.append({
                "epoch": round(float(epoch), 3), "step": state.step, "val_loss": val_loss,
                "accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"],
                "docs_per_s": rep.docs_per_s, "ms_per_doc": rep.ms_per_doc,
                "elapsed_s": round(time.perf_counter() - self.t0, 1),
            })
            if improved:
                state.best_metric, state.best_epoch = score, state.epoch
            progressed = score >= state.progress_mark + MIN_PROGRESS
            if progressed:
                state.progress_mark = score
            elif self.recipe.still_learning(state.history):
                progressed = True  # the score has not settled yet: this evaluation is no sign of convergence
                self.emit(StatusEvent(f"Validation {self.settings.metric} did not gain, but the validation loss is still "
                                      "falling: training goes on"))
            if improved or not self.settings.keep_best:
                self._save_model(metrics, rep, state, clf)
        low = -math.inf
        progressed_f, best = self.ctx.agree([float(progressed) if self.ctx.is_main else low,
                                             state.best_metric if self.ctx.is_main else low], self.device.device)
        state.best_metric = best
        return bool(progressed_f), best >= 1.0 - 1e-9

    def _score(self, logits: np.ndarray) -> tuple[dict, float]:
        """Validation metrics; in long-document mode per document, with the combination that scores best."""
        if self.valid_doc is None:
            return self.recipe.score(logits, self.y_valid, self.labels)
        if len(logits) != len(self.valid_doc):  # a recipe's validation logits must be one row per validation window
            raise RuntimeError(f"{type(self.recipe).__name__} scored {len(logits)} windows, but validation has "
                               f"{len(self.valid_doc)} windows")
        multi = self.record.problem_type == "multi_label_classification"
        metric = self.settings.metric
        method, doc_logits, scores = long_docs.choose_combination(
            logits, self.valid_doc, len(self.y_valid),
            lambda doc: self.recipe.score(doc, self.y_valid, self.labels)[0][metric], multi)
        metrics, val_loss = self.recipe.score(doc_logits, self.y_valid, self.labels)
        metrics["long_documents"] = {"combine": method, "scores": scores, "windows": int(len(logits)),
                                     "documents": int(len(self.y_valid))}
        return metrics, val_loss

    def _save_model(self, metrics: dict, rep: speed.SpeedReport, state: _State, clf: Classifier) -> None:
        self.emit(StatusEvent("Saving the model"))
        if metrics.get("thresholds"):
            self.record.thresholds = metrics["thresholds"]
        if metrics.get("long_documents"):
            self.record.long_documents["combine"] = metrics["long_documents"]["combine"]
            self.record.long_documents["combine_scores"] = metrics["long_documents"]["scores"]
        self.model.config.classifier_studio = {  # travels with the model folder and every export (config.json)
            "problem_type": self.record.problem_type, "thresholds": self.record.thresholds,
            "long_documents": self.record.long_documents, "max_length": self.settings.max_length}
        with atomic_dir(self.run_dir / MODEL_DIR) as tmp:
            self.recipe.save_model(tmp, self.model, self.tokenizer, clf)
        self.record.final_metrics = {
            **metrics, "val_loss": state.history[-1]["val_loss"], "epoch": state.history[-1]["epoch"],
            "docs_per_s": rep.docs_per_s, "ms_per_doc": rep.ms_per_doc,
            # few-shot keeps no rows aside: each training row was scored by a head that did not see it
            "evaluated_on": "cross-validation" if self.record.split.get("kind") == "training-rows" else "validation",
        }
        self._write_record()

    def _write_record(self) -> None:
        """The one place the run record is written (rank 0, atomically)."""
        if not self.ctx.is_main or self.record is None:
            return
        state = self.state
        self.record.history = state.history
        self.record.timings["train_s"] = round(state.train_seconds, 1)
        self.record.timings["samples_per_s"] = round(state.samples / max(state.train_seconds, 1e-9), 2)
        self.record.timings["total_s"] = round(time.perf_counter() - self.t0, 1)
        write_record(self.run_dir, self.record)

    def _save_checkpoint(self, state: _State, optimizer, scheduler, scaler, plan: _Plan) -> None:
        state.plan_epochs = plan.epochs
        if self.ctx.is_main:
            with atomic_dir(self.run_dir / CHECKPOINT_DIR) as tmp:
                checkpoint.save(tmp, self.model, optimizer, scheduler, scaler, dict(state.__dict__))
            self._write_record()
            self.emit(CheckpointEvent(state.epoch, str(self.run_dir / CHECKPOINT_DIR)))
        self.ctx.barrier()

    def _cancel(self, state: _State, optimizer, scheduler, scaler, plan: _Plan) -> RunResult:
        self.emit(StatusEvent("Cancelling: saving a checkpoint to resume from"))
        self._save_checkpoint(state, optimizer, scheduler, scaler, plan)
        self.record.status = "cancelled"
        self._write_record()
        msg = f"Cancelled at step {state.step}; resume to continue from there."
        self.emit(CancelledEvent(str(self.run_dir), True, msg))
        return self._result("cancelled")

    def _finish(self, state: _State) -> RunResult:
        self.record.status = "finished"
        self.record.final_metrics["best_epoch"] = state.best_epoch
        if self.ctx.is_main:
            self.recipe.finish(self.record, self.run_dir, self.valid_texts, self.emit)
        self._write_record()
        if self.ctx.is_main:
            shutil.rmtree(self.run_dir / CHECKPOINT_DIR, ignore_errors=True)
        self.ctx.barrier()
        self.emit(FinishedEvent(str(self.run_dir), self.record.final_metrics))
        return self._result("finished")

    def _result(self, status: str) -> RunResult:
        r = self.record
        return RunResult(self.run_dir, status, r.final_metrics, r.settings, r.settings_explained, r)

    # -- endings ------------------------------------------------------------------------------
    def mark_failed(self, reason: str) -> None:
        if self.record is None or not self.ctx.is_main or self.record.status == "finished":
            return
        self.record.status, self.record.error = "failed", reason
        try:
            self._write_record()
        except OSError:
            pass

    def cancelled_before_training(self) -> None:
        resumable = has_checkpoint(self.run_dir)
        if self.record is not None and self.ctx.is_main:
            self.record.status = "cancelled"
            self._write_record()
        msg = ("Cancelled before training continued; the run can still be resumed from its last checkpoint."
               if resumable else "Cancelled before training began; nothing was saved.")
        self.emit(CancelledEvent(str(self.run_dir), resumable, msg))

    def as_user_error(self, exc: Exception) -> UserInputError | None:
        """Errors the user can fix (memory, disk space, permissions) as a UserInputError with advice."""
        s = self.settings
        if isinstance(exc, (torch.OutOfMemoryError, MemoryError)) or "out of memory" in str(exc).lower():
            bs, ml = s.batch_size, s.max_length
            return UserInputError(
                f"Out of memory while training (batch size {bs}, max length {ml}).",
                where=self.device.name if self.device else None,
                fix=f"Lower --batch-size (for example to {max(1, (bs or 2) // 2)}) or --max-length, then start over: "
                    f"{self.recipe.restart_command(self.run_dir, self.record)} (with the lower setting).")
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            params = (self.record.model.get("parameters") if self.record else None) or 0
            need_mb = max(1, int(params * 4 * 4 * 2 / 2**20))  # model + checkpoint (weights, 2 Adam moments), written beside the old
            try:
                free_mb = shutil.disk_usage(self.run_dir).free // 2**20
            except OSError:
                free_mb = 0
            return UserInputError(
                f"The disk is full: saving needs about {need_mb} MB free, {free_mb} MB are free.", where=str(self.run_dir),
                fix=f"Free at least {max(1, need_mb - free_mb)} MB (or choose another --out folder), then "
                    f"{'resume: ' + self.recipe.resume_command(self.run_dir, self.record) if self.record else 'run the command again'}.")
        if isinstance(exc, PermissionError) or (isinstance(exc, OSError) and exc.errno == errno.EROFS):
            return UserInputError("The run folder cannot be written (no permission, or a read-only disk).",
                                  where=str(getattr(exc, "filename", None) or self.run_dir),
                                  fix="Choose a folder you can write to with --out.")
        return None

    def close(self) -> None:
        if self.model is not None:
            self.model = self.ddp_model = None
            if self.device is not None:
                free_memory(self.device.device)
        if self.lock is not None:
            self.lock.release()
            self.lock = None
            if self.created_dir:
                try:
                    self.run_dir.rmdir()  # only if nothing was written (a cancel or error before training)
                except OSError:
                    pass


def _recorded_recipe(job: TrainJob) -> Recipe:
    """No recipe given: on --resume the one the run started with (few-shot, multi-label or fine-tune), else
    the one the data calls for (``default_recipe``)."""
    if job.resume and (Path(job.out_dir) / RUN_JSON).is_file():
        try:
            record = read_record(job.out_dir)
        except UserInputError:
            return FineTune()
        if record.kind == "few-shot":
            from .few_shot import FewShotRecipe

            return FewShotRecipe(record.method_reason)
        if record.problem_type == "multi_label_classification":
            from .multilabel import MultiLabelFineTune

            return MultiLabelFineTune()
    return default_recipe(job.train)


def _give_back_freed_memory() -> None:
    """Return the memory of freed texts to the system before the model's first training step needs it.

    glibc keeps freed blocks in its heap; after a large file's texts are dropped that is hundreds of
    MB that the training step (which allocates its tensors elsewhere) would add to. ``malloc_trim``
    hands the free pages back (measured: 300 MB file, benchmarks/bench_train_memory.py). No gc.collect()
    here: the texts are freed by reference counting, and a collection outside the GUI thread may
    destroy Qt objects there (gui/main_thread_gc.py)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc (musl): nothing to trim
            pass


@contextmanager
def _unreadable_model(model_path: Path):
    """A model folder whose files are missing or damaged is the user's to fix: exit 2, not a traceback."""
    try:
        yield
    except (OSError, ValueError, RuntimeError, EnvironmentError) as exc:
        if isinstance(exc, (torch.OutOfMemoryError, MemoryError)) or "out of memory" in str(exc).lower():
            raise
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EACCES):
            raise
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise UserInputError(f"The model cannot be loaded: its files are missing, damaged or do not fit ({first}).",
                             where=str(model_path),
                             fix="Choose another model, or copy the model folder again.") from None


# Mixed precision pays for its casts only when the matrices are large: with the bundled 22.7M-parameter
# model on an H200 (benchmarks/bench_gpu.py, batch 32, max length 64) bf16 trained at half the speed
# of fp32 (837 vs 1641 samples/s) with the same accuracy, and the Trainer showed the same (934 vs 1277).
SMALL_MODEL_PARAMETERS = 30_000_000


def _precision_for_size(choice: DeviceChoice, requested: str | None, parameters: int | None, emit) -> DeviceChoice:
    """On a GPU, "auto" precision keeps fp32 for small models (measured faster) and mixed precision otherwise."""
    if choice.device.type != "cuda" or (requested or "auto") != "auto" or not parameters or choice.precision == "fp32":
        return choice
    if parameters >= SMALL_MODEL_PARAMETERS:
        return choice
    emit(StatusEvent(f"Precision fp32: a model of {parameters / 1e6:.0f}M parameters trains faster in full precision "
                     "on a GPU than in mixed precision (measured)"))
    return DeviceChoice(choice.device, "fp32", choice.name)


def _head_parameter_names(model: torch.nn.Module) -> set[str]:
    """Parameters of the newly added classification head (not in the pretrained body)."""
    base = getattr(model, "base_model_prefix", "")
    return {name for name, _ in model.named_parameters() if base and not name.startswith(base + ".")}


def _gpu_memory_gb(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    return torch.cuda.get_device_properties(device).total_memory / 2**30



def default_recipe(data: LabeledData | None) -> Recipe:
    """FineTune, or multilabel.MultiLabelFineTune for data with label sets."""
    if data is not None and data.label_sets is not None:
        from .multilabel import MultiLabelFineTune

        return MultiLabelFineTune()
    return FineTune()


def _problem_type(data: LabeledData) -> str:
    return "multi_label_classification" if data.label_sets is not None else "single_label_classification"


def _label_options(record: RunRecord) -> dict:
    """How a run read its labels (multi-label separator or 0/1 columns), to read its files again alike."""
    how = record.data.get("multi_label")
    if not how:
        return {"multi_label": False} if record.problem_type == "single_label_classification" else {}
    if how.get("label_columns"):
        return {"label_columns": list(how["label_columns"])}
    return {"multi_label": True, "label_separator": how.get("separator")}

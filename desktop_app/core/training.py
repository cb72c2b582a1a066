"""The training loop: one way to fine-tune, used by the CLI, the GUI and the benchmarks.

``train(job, on_event, should_stop)`` is a plain function. It reports through ``on_event``
(typed events of plain data, see events.py) and polls ``should_stop`` before every optimizer
step, so a cancel takes effect within one step and leaves a resumable checkpoint.

Fast by design: texts are tokenized once; training batches are grouped by length and padded
per batch; validation and speed measurement use length-sorted batches.
"""

from __future__ import annotations

import math
import random
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from . import batching, defaults, distributed, speed
from .data import LabeledData, fingerprint, split
from .device import DeviceChoice, choose, free_memory, hardware_summary
from .errors import TrainingCancelled, UserInputError
from .events import (
    CancelledEvent,
    CheckpointEvent,
    EvalEvent,
    EventSink,
    FailedEvent,
    FinishedEvent,
    SpeedEvent,
    StatusEvent,
    StepEvent,
    ignore,
)
from .inference import Classifier, quiet_transformers
from .metrics import classification_metrics, cross_entropy
from .models import describe_folder, resolve_model
from .runs import CHECKPOINT_DIR, MODEL_DIR, RUN_JSON, atomic_dir, library_versions, read_json, write_json
from .settings import TrainSettings

STEP_EVENT_INTERVAL_S = 0.25
CALIBRATION_STEPS = 8
SPEED_DOCS = 256


def never() -> bool:
    return False


@dataclass
class TrainJob:
    train: LabeledData
    out_dir: Path
    model: str = "default"
    valid: LabeledData | None = None
    settings: TrainSettings = field(default_factory=TrainSettings)
    resume: bool = False


@dataclass
class RunResult:
    run_dir: Path
    status: str  # finished | cancelled
    final_metrics: dict
    settings: dict
    reasons: dict


@dataclass
class _State:
    """Everything that must survive a resume."""

    epoch: int = 0  # epochs completed
    batch_in_epoch: int = 0  # micro-batches of the current epoch already done
    step: int = 0  # optimizer steps done
    samples: int = 0
    best_metric: float = -1.0
    best_epoch: int = 0
    epochs_without_improvement: int = 0
    history: list = field(default_factory=list)
    train_seconds: float = 0.0


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
    """Fine-tune ``job.model`` on ``job.train``. Raises UserInputError for bad input.

    Ends with a FinishedEvent or CancelledEvent; unexpected errors emit FailedEvent and re-raise.
    """
    try:
        return _Trainer(job, on_event, should_stop).run()
    except UserInputError as exc:
        on_event(FailedEvent(exc.message, exc.describe()))
        raise
    except TrainingCancelled:
        raise
    except Exception as exc:
        on_event(FailedEvent(f"{type(exc).__name__}: {exc}", traceback.format_exc()))
        raise


class _Trainer:
    def __init__(self, job: TrainJob, on_event: EventSink, should_stop: Callable[[], bool]):
        self.job = job
        self.run_dir = Path(job.out_dir)
        self.should_stop = should_stop
        self.t0 = time.perf_counter()
        self._emit = on_event
        self.ctx = distributed.Context()

    def emit(self, event) -> None:
        if self.ctx.is_main:
            self._emit(event)

    # -- setup --------------------------------------------------------------------------------
    def run(self) -> RunResult:
        job = self.job
        quiet_transformers()
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        previous = self._previous_run() if job.resume else None
        settings = TrainSettings.from_dict(previous["explicit_settings"]) if previous else job.settings
        if settings.threads:
            torch.set_num_threads(int(settings.threads))
        self.device: DeviceChoice = choose(settings.device, settings.precision)
        self.ctx = distributed.setup(self.device.device)

        self.emit(StatusEvent("Loading the model"))
        model_path = resolve_model(job.model)
        info = describe_folder(model_path, name=str(job.model))
        tokenizer = AutoTokenizer.from_pretrained(model_path)

        train_data, valid_data = job.train, job.valid
        if valid_data is None:
            train_data, valid_data = split(job.train, settings.valid_split, settings.seed)
        labels = previous["labels"] if previous else sorted(set(train_data.labels))
        if len(labels) < 2:
            raise UserInputError(
                f"Training needs at least two classes; the training data has only '{labels[0] if labels else ''}'.",
                where=job.train.source,
                fix="Add examples of at least one more class.",
            )
        label2id = {l: i for i, l in enumerate(labels)}
        valid_data = self._known_labels_only(valid_data, label2id)

        self.emit(StatusEvent(f"Tokenizing {len(train_data) + len(valid_data)} texts"))
        t_tok = time.perf_counter()
        lengths = batching.token_lengths(tokenizer, train_data.texts)
        model_max = info.max_length or 512
        if previous:
            resolved, reasons = TrainSettings.from_dict(previous["settings"]), previous["settings_explained"]
        else:
            facts = defaults.Facts(
                n_train=len(train_data),
                class_counts=train_data.class_counts(),
                token_lengths=lengths,
                model_parameters=info.parameters,
                model_max_length=min(model_max, 512),
                device_type=self.device.device.type,
                gpu_memory_gb=_gpu_memory_gb(self.device.device),
            )
            resolved, reasons = defaults.plan(settings, facts)
        self.settings = resolved
        train_ids = batching.encode(tokenizer, train_data.texts, resolved.max_length, self.should_stop)
        valid_ids = batching.encode(tokenizer, valid_data.texts, resolved.max_length, self.should_stop)
        if self.should_stop():
            raise TrainingCancelled()
        tokenize_s = time.perf_counter() - t_tok
        y_train = np.asarray([label2id[l] for l in train_data.labels], dtype=np.int64)
        y_valid = np.asarray([label2id[l] for l in valid_data.labels], dtype=np.int64)

        self.emit(StatusEvent(f"Preparing {info.architecture} on {self.device.name}"))
        torch.manual_seed(resolved.seed)  # the new classification head's initial weights follow the seed
        model = AutoModelForSequenceClassification.from_pretrained(
            model_path,
            num_labels=len(labels),
            id2label={i: l for l, i in label2id.items()},
            label2id=label2id,
            ignore_mismatched_sizes=True,
        )
        model.config.problem_type = "single_label_classification"
        model.to(self.device.device)
        self.tokenizer = tokenizer
        self.labels = labels
        self.info = info
        self.train_ids, self.y_train = train_ids, y_train
        self.valid_ids, self.y_valid, self.valid_texts = valid_ids, y_valid, valid_data.texts
        self.model = model
        self.ddp_model = distributed.wrap(model, self.ctx, self.device.device)
        self.run_record = previous or self._new_record(job, info, model_path, train_data, valid_data, labels, resolved, reasons, settings)
        self.run_record["status"] = "running"
        self.run_record["timings"]["tokenize_s"] = round(tokenize_s, 2)
        self.run_record["device"] = {"name": self.device.name, "type": self.device.device.type,
                                     "precision": self.device.precision, "world_size": self.ctx.world_size,
                                     "hardware": hardware_summary()}
        if self.ctx.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            write_json(self.run_dir / RUN_JSON, self.run_record)
        for name, item in reasons.items():
            if item["reason"] != "set by you":
                self.emit(StatusEvent(f"{name} = {item['value']}: {item['reason']}"))
        try:
            return self._loop(previous is not None)
        finally:
            del self.ddp_model, self.model
            free_memory(self.device.device)

    def _previous_run(self) -> dict:
        run_json, ckpt = self.run_dir / RUN_JSON, self.run_dir / CHECKPOINT_DIR / "state.pt"
        if not run_json.is_file() or not ckpt.is_file():
            raise UserInputError(
                "There is no interrupted run to resume in this folder.",
                where=str(self.run_dir),
                fix="Leave out --resume to start a new run, or pass the RUN_DIR of the interrupted run.",
            )
        record = read_json(run_json)
        if record.get("status") == "finished":
            raise UserInputError("This run already finished; there is nothing to resume.", where=str(self.run_dir),
                                 fix="Start a new run with another --out folder.")
        if record["data"]["fingerprint_all"] != fingerprint(self.job.train):
            raise UserInputError(
                "The training data differs from the data this run started with, so it cannot be resumed.",
                where=f"{self.job.train.source} vs. {record['data']['source']}",
                fix="Resume with the same file and columns, or start a new run.",
            )
        return record

    def _known_labels_only(self, data: LabeledData, label2id: dict) -> LabeledData:
        keep = [i for i, l in enumerate(data.labels) if l in label2id]
        if len(keep) < len(data):
            dropped = sorted({l for l in data.labels if l not in label2id})
            self.emit(StatusEvent(f"Validation rows with labels not in the training data are ignored: {', '.join(dropped[:5])}"))
            data = data.subset(keep)
        return data

    def _new_record(self, job, info, model_path, train_data, valid_data, labels, resolved, reasons, settings) -> dict:
        now = time.strftime("%Y-%m-%dT%H:%M:%S")
        return {
            "format": 1,
            "status": "running",
            "created": now,
            "model": {"name": str(job.model), "path": str(model_path), "architecture": info.architecture,
                      "parameters": info.parameters, "layers": info.layers},
            "data": {
                "source": job.train.source,
                "fingerprint_all": fingerprint(job.train),
                "fingerprint_train": fingerprint(train_data),
                "valid_source": job.valid.source if job.valid is not None else f"{settings.valid_split:.0%} stratified split",
                "n_train": len(train_data),
                "n_valid": len(valid_data),
                "class_counts": train_data.class_counts(),
            },
            "labels": labels,
            "label2id": {l: i for i, l in enumerate(labels)},
            "explicit_settings": settings.to_dict(),
            "settings": resolved.to_dict(),
            "settings_explained": reasons,
            "history": [],
            "final_metrics": {},
            "versions": library_versions(),
            "timings": {},
        }

    # -- the loop -----------------------------------------------------------------------------
    def _loop(self, resuming: bool) -> RunResult:
        s = self.settings
        dev = self.device.device
        random.seed(s.seed)
        np.random.seed(s.seed)
        torch.manual_seed(s.seed)

        lengths = [len(x) for x in self.train_ids]
        micro_per_epoch = len(self.ctx.shard(batching.training_batches(lengths, s.batch_size, s.seed, s.group_by_length)))
        steps_per_epoch = max(1, math.ceil(micro_per_epoch / max(1, s.grad_accum)))
        plan = _Plan(steps_per_epoch, float(s.epochs), float(s.warmup or 0.0))

        optimizer = self._optimizer()
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, plan.lr_factor)
        scaler = torch.amp.GradScaler("cuda") if self.device.needs_grad_scaler else None
        loss_fn = torch.nn.CrossEntropyLoss(weight=self._class_weights().to(dev) if s.class_weights else None)

        state = _State()
        if resuming:
            state = self._load_checkpoint(optimizer, scheduler, scaler, plan)
            self.emit(StatusEvent(f"Resuming at epoch {state.epoch + 1}, step {state.step}"))
        budget_s = s.time_budget_min * 60 if s.time_budget_min else None
        calibrated = resuming or budget_s is None
        self.ddp_model.train()
        last_emit = time.perf_counter()
        running_loss, running_n = 0.0, 0
        epoch_times: list[float] = []
        calibration = _Calibration()

        while state.epoch < math.ceil(plan.epochs) and state.step < plan.total_steps:
            epoch_start = time.perf_counter()
            batches = self.ctx.shard(batching.training_batches(lengths, s.batch_size, s.seed + state.epoch, s.group_by_length))
            if not calibrated:
                calibration.epoch_tokens = sum(_padded_tokens(b, lengths) for b in batches)
            micro = state.batch_in_epoch
            optimizer.zero_grad(set_to_none=True)
            while micro < len(batches) and state.step < plan.total_steps:
                stop = self.ctx.any_true(self.should_stop(), dev)
                if stop:
                    state.batch_in_epoch = micro
                    return self._cancel(state, optimizer, scheduler, scaler)
                step_start = time.perf_counter()
                group = batches[micro : micro + s.grad_accum]
                n_in_group = sum(len(b) for b in group)
                for b in group:
                    loss = self._forward_backward(b, loss_fn, scaler, len(b) / n_in_group)
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
                    if state.step > CALIBRATION_STEPS:
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
            improved = self._evaluate_and_keep(state, epoch_fraction)
            if finished_epoch:
                self._save_checkpoint(state, optimizer, scheduler, scaler)
            epoch_times.append(time.perf_counter() - epoch_start)
            if not improved:
                state.epochs_without_improvement += 1
            if s.early_stopping_patience and state.epochs_without_improvement >= s.early_stopping_patience:
                self.emit(StatusEvent(f"Early stopping: no better validation {s.metric} for {s.early_stopping_patience} epochs"))
                break
            if s.early_stopping_patience and self.ctx.any_true(state.best_metric >= 1.0 - 1e-9, dev):  # rank 0 knows
                self.emit(StatusEvent(f"Early stopping: validation {s.metric} is 1.0, so no later epoch can do better"))
                break
            if budget_s is not None:
                self._refit_budget(plan, state, budget_s, epoch_times)
            if not finished_epoch:
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
            for (is_head, no_decay), params in groups.items()
        ]
        return torch.optim.AdamW(param_groups, lr=s.learning_rate)

    def _class_weights(self) -> torch.Tensor:
        counts = np.bincount(self.y_train, minlength=len(self.labels)).astype(np.float64)
        counts[counts == 0] = 1
        weights = (counts.sum() / counts) ** 0.5  # softened inverse frequency
        return torch.tensor(weights / weights.mean(), dtype=torch.float32)

    def _forward_backward(self, batch_idx: list[int], loss_fn, scaler, scale: float) -> float:
        dev = self.device.device
        batch = batching.collate([self.train_ids[i] for i in batch_idx], batching.pad_id_of(self.tokenizer), dev)
        target = torch.as_tensor(self.y_train[batch_idx], device=dev)
        dtype = self.device.autocast_dtype
        with torch.autocast(dev.type, dtype=dtype, enabled=dtype is not None):
            logits = self.ddp_model(**batch).logits
            loss = loss_fn(logits.float(), target)
        if not torch.isfinite(loss):
            raise UserInputError(
                "Training diverged: the loss became NaN or infinite.",
                where=f"learning rate {self.settings.learning_rate:g}",
                fix="Lower the learning rate (for example by 2-5x), or use fp32 precision.",
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
        return StepEvent(
            step=state.step,
            total_steps=plan.total_steps,
            epoch=state.step / plan.steps_per_epoch,
            loss=loss,
            learning_rate=float(scheduler.get_last_lr()[0]),
            samples_per_s=rate,
            eta_s=eta,
        )

    # -- time budget --------------------------------------------------------------------------
    def _refit_budget(self, plan: _Plan, state: _State, budget_s: float, epoch_times: list[float]) -> None:
        if state.step >= plan.total_steps:  # the schedule has run out: done, never restart it
            return
        self._apply_budget(plan, state, budget_s, max(epoch_times[-1], 1e-3), measured=True)

    def _apply_budget(self, plan: _Plan, state: _State, budget_s: float, epoch_s: float, measured: bool = False) -> None:
        elapsed = time.perf_counter() - self.t0
        eval_s = 0.0 if measured else epoch_s * len(self.valid_ids) / max(1, len(self.train_ids)) / 2
        save_s = 3.0
        left = budget_s * 0.95 - elapsed - save_s
        done_epochs = state.step / plan.steps_per_epoch
        fit = done_epochs + max(0.0, left) / (epoch_s + eval_s)
        chosen = max(done_epochs + 1 / plan.steps_per_epoch, min(float(self.settings.epochs), fit))
        chosen = chosen if chosen < 1 else max(round(chosen, 2), done_epochs)
        if abs(chosen - plan.epochs) >= 0.01:  # shorter if slower than planned, longer (up to the cap) if faster
            plan.epochs = chosen
            self.emit(StatusEvent(f"Time budget {budget_s / 60:g} min: planned {plan.epochs:.2f} epochs ({plan.total_steps} steps)"))
            self.run_record["settings"]["epochs"] = plan.epochs
            self.run_record["settings_explained"]["epochs"] = {
                "value": plan.epochs, "reason": f"what fits into the {budget_s / 60:g}-minute budget at the measured speed"}

    # -- evaluation, checkpoints --------------------------------------------------------------
    def validation_classifier(self) -> Classifier:
        return Classifier(self.model, self.tokenizer, self.labels, self.device.device, self.settings.max_length,
                          self.device.autocast_dtype)

    def _evaluate_and_keep(self, state: _State, epoch: float) -> bool:
        improved = False
        if self.ctx.is_main:
            clf = self.validation_classifier()
            logits = clf.logits_for_ids(self.valid_ids, batch_size=64)
            metrics = classification_metrics(self.y_valid, logits.argmax(axis=1), self.labels)
            val_loss = cross_entropy(logits, self.y_valid)
            score = metrics[self.settings.metric]
            improved = score > state.best_metric + 1e-6
            if improved:
                state.best_metric, state.best_epoch, state.epochs_without_improvement = score, state.epoch, 0
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
            if improved or not self.settings.keep_best:
                self._save_model(metrics, rep, state)
        self.ctx.barrier()
        return self.ctx.any_true(improved, self.device.device)

    def _save_model(self, metrics: dict, rep: speed.SpeedReport, state: _State) -> None:
        self.emit(StatusEvent("Saving the model"))
        with atomic_dir(self.run_dir / MODEL_DIR) as tmp:
            self.model.save_pretrained(tmp)
            self.tokenizer.save_pretrained(tmp)
        self.run_record["final_metrics"] = {
            **metrics, "val_loss": state.history[-1]["val_loss"], "epoch": state.history[-1]["epoch"],
            "docs_per_s": rep.docs_per_s, "ms_per_doc": rep.ms_per_doc, "evaluated_on": "validation",
        }
        self._write_record(state)

    def _write_record(self, state: _State) -> None:
        if not self.ctx.is_main:
            return
        self.run_record["history"] = state.history
        self.run_record["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        self.run_record["timings"]["train_s"] = round(state.train_seconds, 1)
        self.run_record["timings"]["samples_per_s"] = round(state.samples / max(state.train_seconds, 1e-9), 2)
        self.run_record["timings"]["total_s"] = round(time.perf_counter() - self.t0, 1)
        write_json(self.run_dir / RUN_JSON, self.run_record)

    def _save_checkpoint(self, state: _State, optimizer, scheduler, scaler) -> None:
        if self.ctx.is_main:
            with atomic_dir(self.run_dir / CHECKPOINT_DIR) as tmp:
                torch.save({
                    "model": self.model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "scaler": scaler.state_dict() if scaler is not None else None,
                    "state": state.__dict__,
                    "plan_epochs": None,
                    "rng": {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()},
                }, tmp / "state.pt")
            self._write_record(state)
            self.emit(CheckpointEvent(state.epoch, str(self.run_dir / CHECKPOINT_DIR)))
        self.ctx.barrier()

    def _load_checkpoint(self, optimizer, scheduler, scaler, plan: _Plan) -> _State:
        blob = torch.load(self.run_dir / CHECKPOINT_DIR / "state.pt", map_location=self.device.device, weights_only=False)
        self.model.load_state_dict(blob["model"])
        optimizer.load_state_dict(blob["optimizer"])
        scheduler.load_state_dict(blob["scheduler"])
        if scaler is not None and blob.get("scaler"):
            scaler.load_state_dict(blob["scaler"])
        random.setstate(blob["rng"]["python"])
        np.random.set_state(blob["rng"]["numpy"])
        torch.set_rng_state(blob["rng"]["torch"])
        plan.epochs = float(self.run_record["settings"]["epochs"])
        return _State(**blob["state"])

    def _cancel(self, state: _State, optimizer, scheduler, scaler) -> RunResult:
        self.emit(StatusEvent("Cancelling: saving a checkpoint to resume from"))
        self._save_checkpoint(state, optimizer, scheduler, scaler)
        self.run_record["status"] = "cancelled"
        self._write_record(state)
        msg = f"Cancelled at step {state.step}; resume to continue from there."
        self.emit(CancelledEvent(str(self.run_dir), True, msg))
        return RunResult(self.run_dir, "cancelled", self.run_record["final_metrics"], self.run_record["settings"],
                         self.run_record["settings_explained"])

    def _finish(self, state: _State) -> RunResult:
        self.run_record["status"] = "finished"
        self.run_record["final_metrics"]["best_epoch"] = state.best_epoch
        self._write_record(state)
        if self.ctx.is_main:
            import shutil

            shutil.rmtree(self.run_dir / CHECKPOINT_DIR, ignore_errors=True)
        self.emit(FinishedEvent(str(self.run_dir), self.run_record["final_metrics"]))
        return RunResult(self.run_dir, "finished", self.run_record["final_metrics"], self.run_record["settings"],
                         self.run_record["settings_explained"])


def _head_parameter_names(model: torch.nn.Module) -> set[str]:
    """Parameters of the newly added classification head (not in the pretrained body)."""
    base = getattr(model, "base_model_prefix", "")
    return {name for name, _ in model.named_parameters() if base and not name.startswith(base + ".")}


def _gpu_memory_gb(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    return torch.cuda.get_device_properties(device).total_memory / 2**30

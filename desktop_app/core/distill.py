"""Distil a trained run into a smaller student: the teacher with only some of its layers.

    distill(teacher_run_dir, data, layers=k, out_dir=..., epochs, alpha, temperature, on_event, should_stop) -> dict

The student is a copy of the teacher (embeddings, head and all) keeping ``k`` of its transformer
layers: every other layer by default (k = half), otherwise ``k`` evenly spaced layers. It trains on

    loss = (1 - alpha) * CE(student, labels) + alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T))

with the teacher's logits computed once up front. The data is split with the teacher run's
valid_split and seed (the same validation rows when it is the teacher's training file).
The result is a normal run folder (model/ + run.json, loadable by Classifier.load) whose run.json
also holds "distillation": teacher/student accuracy, retained share, CPU speed-up and sizes.
"""

from __future__ import annotations

import copy
import math
import random
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .data import LabeledData, fingerprint, split
from .errors import TrainingCancelled, UserInputError
from .events import CancelledEvent, EvalEvent, EventSink, FinishedEvent, StatusEvent, StepEvent, ignore

STEP_EVENT_INTERVAL_S = 0.25


def _never() -> bool:
    return False


def layer_list(model: torch.nn.Module) -> tuple[torch.nn.Module, str]:
    """(the module holding the transformer layers as ``.layer``, its name) for BERT/RoBERTa/DistilBERT-like models."""
    base = getattr(model, getattr(model, "base_model_prefix", ""), None)
    if base is None:
        raise UserInputError("This model type cannot be distilled by dropping layers.", where=type(model).__name__,
                             fix="Distil a BERT, RoBERTa or DistilBERT-style run.")
    for name in ("encoder", "transformer"):
        holder = getattr(base, name, None)
        if holder is not None and isinstance(getattr(holder, "layer", None), torch.nn.ModuleList):
            return holder, f"{model.base_model_prefix}.{name}.layer"
    raise UserInputError("This model's layers were not found, so it cannot be distilled by dropping layers.",
                         where=type(model).__name__, fix="Distil a BERT, RoBERTa or DistilBERT-style run.")


def teacher_layers(run_dir: str | Path) -> int:
    """How many transformer layers a run's model has, read from its config (no weights loaded)."""
    import json

    from .export import model_dir_of

    config = json.loads((model_dir_of(run_dir) / "config.json").read_text(encoding="utf-8"))
    return int(config.get("num_hidden_layers") or config.get("n_layers") or 0)


def choose_layers(n: int, k: int | None) -> list[int]:
    """Which teacher layers the student keeps: every other one by default, else k evenly spaced."""
    if k is None:
        k = max(1, n // 2)
    if not 1 <= k < n:
        raise UserInputError(f"--layers must be between 1 and {n - 1} (the teacher has {n} layers), got {k}.",
                             where="--layers", fix=f"Use for example --layers {max(1, n // 2)}.")
    if n % k == 0:
        return list(range(0, n, n // k))
    if k == 1:
        return [0]
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})


def make_student(teacher: torch.nn.Module, keep: list[int]) -> torch.nn.Module:
    student = copy.deepcopy(teacher)
    holder, _ = layer_list(student)
    holder.layer = torch.nn.ModuleList([holder.layer[i] for i in keep])
    for i, layer in enumerate(holder.layer):  # newer transformers index caches by layer
        for module in layer.modules():
            if hasattr(module, "layer_idx"):
                module.layer_idx = i
    cfg = student.config
    if hasattr(cfg, "n_layers"):  # DistilBERT
        cfg.n_layers = len(keep)
    if hasattr(cfg, "num_hidden_layers"):
        cfg.num_hidden_layers = len(keep)
    return student


def distill(teacher_run_dir: str | Path, data: LabeledData, layers: int | None = None, out_dir: str | Path = "distilled",
            epochs: float = 3, alpha: float = 0.5, temperature: float = 2.0, on_event: EventSink = ignore,
            should_stop: Callable[[], bool] = _never, *, batch_size: int | None = None, learning_rate: float | None = None,
            device: str = "auto", seed: int | None = None, valid: LabeledData | None = None) -> dict:
    """Train the student; returns the run.json record. Raises TrainingCancelled on ``should_stop``
    (after a CancelledEvent; nothing is saved)."""
    try:
        return _distill(teacher_run_dir, data, layers, out_dir, epochs, alpha, temperature, on_event, should_stop,
                        batch_size, learning_rate, device, seed, valid)
    except TrainingCancelled:
        on_event(CancelledEvent(str(out_dir), False, "Distillation cancelled; nothing was saved."))
        raise


def _distill(teacher_run_dir, data, layers, out_dir, epochs, alpha, temperature, on_event, should_stop,
             batch_size, learning_rate, device, seed, valid) -> dict:
    from . import batching, speed
    from .device import choose, free_memory, hardware_summary
    from .export import count_parameters, cpu_classifier, run_record_of, state_size_mb
    from .inference import Classifier
    from .metrics import classification_metrics, cross_entropy
    from .runs import MODEL_DIR, RUN_JSON, atomic_dir, library_versions, write_json

    t_start = time.perf_counter()
    teacher_run_dir, out_dir = Path(teacher_run_dir), Path(out_dir)
    if not 0 <= alpha <= 1:
        raise UserInputError(f"alpha must be between 0 and 1, got {alpha}.", where="--alpha", fix="Use for example 0.5.")
    if temperature <= 0:
        raise UserInputError(f"temperature must be above 0, got {temperature}.", where="--temperature", fix="Use for example 2.")
    if (out_dir / RUN_JSON).exists():
        raise UserInputError("The output folder already holds a run.", where=str(out_dir), fix="Choose a new --out folder.")
    teacher_record = run_record_of(teacher_run_dir)
    choice = choose(device, "fp32")
    dev = choice.device
    on_event(StatusEvent("Loading the teacher"))
    teacher = Classifier.load(teacher_run_dir, device=str(dev), precision="fp32")
    labels = teacher.labels
    label2id = {l: i for i, l in enumerate(labels)}
    n_layers = len(layer_list(teacher.model)[0].layer)
    keep = choose_layers(n_layers, layers)

    tsettings = teacher_record.get("settings") or {}
    seed = int(seed if seed is not None else tsettings.get("seed", 42))
    # The student starts from the teacher's own weights and learns at the teacher's pace: the rate and
    # batch size the teacher was fine-tuned with (chosen for this model size and data), unless set.
    learning_rate = float(learning_rate or tsettings.get("learning_rate") or 5e-5)
    batch_size = int(batch_size or tsettings.get("batch_size") or 16)
    known = [i for i, l in enumerate(data.labels) if l in label2id]
    if len(known) < len(data):
        on_event(StatusEvent(f"{len(data) - len(known)} rows with labels the teacher does not know are ignored"))
        data = data.subset(known)
    if valid is None:
        train_data, valid_data = split(data, float(tsettings.get("valid_split", 0.1)), seed)
    else:
        train_data = data
        valid_data = valid.subset([i for i, l in enumerate(valid.labels) if l in label2id])
    if len(train_data) == 0 or len(valid_data) == 0:
        raise UserInputError("Too few labeled rows to distil.", where=data.source, fix="Use the teacher's training file.")

    on_event(StatusEvent(f"Tokenizing {len(train_data) + len(valid_data)} texts"))
    train_ids, valid_ids = teacher.encode(train_data.texts), teacher.encode(valid_data.texts)
    y_train = np.asarray([label2id[l] for l in train_data.labels], dtype=np.int64)
    y_valid = np.asarray([label2id[l] for l in valid_data.labels], dtype=np.int64)
    on_event(StatusEvent("Computing the teacher's logits"))
    teacher_train_logits = torch.as_tensor(teacher.logits_for_ids(train_ids, 64, should_stop))
    teacher_valid_logits = teacher.logits_for_ids(valid_ids, 64, should_stop)
    teacher_metrics = classification_metrics(y_valid, teacher_valid_logits.argmax(axis=1), labels)

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    student = make_student(teacher.model, keep).to(dev)
    student.train()
    on_event(StatusEvent(f"Student: layers {keep} of {n_layers} ({count_parameters(student) / 1e6:.2f}M parameters)"))
    optimizer = torch.optim.AdamW(student.parameters(), lr=learning_rate, weight_decay=0.01)
    lengths = [len(x) for x in train_ids]
    steps_per_epoch = len(batching.training_batches(lengths, batch_size, seed))
    total = max(1, math.ceil(steps_per_epoch * epochs))
    warm = max(1, int(total * 0.06))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / warm if s < warm else max(0.0, (total - s) / max(1, total - warm)))
    student_clf = Classifier(student, teacher.tokenizer, labels, dev, teacher.max_length, None)

    step, samples, train_s, history = 0, 0, 0.0, []
    best = (-1.0, None, None)  # (macro_f1, state dict on CPU, metrics)
    last_emit, run_loss, run_n = time.perf_counter(), 0.0, 0
    T = float(temperature)
    epoch = 0
    while step < total:
        batches = batching.training_batches(lengths, batch_size, seed + epoch)
        for b in batches:
            if step >= total:
                break
            if should_stop():
                raise TrainingCancelled()
            t0 = time.perf_counter()
            batch = batching.collate([train_ids[i] for i in b], teacher.pad_id, dev)
            logits = student(**batch).logits.float()
            target = torch.as_tensor(y_train[b], device=dev)
            t_logits = teacher_train_logits[b].to(dev)
            ce = torch.nn.functional.cross_entropy(logits, target)
            kl = torch.nn.functional.kl_div(torch.log_softmax(logits / T, -1), torch.log_softmax(t_logits / T, -1),
                                            reduction="batchmean", log_target=True) * T * T
            loss = (1 - alpha) * ce + alpha * kl
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            samples += len(b)
            train_s += time.perf_counter() - t0
            run_loss, run_n = run_loss + float(loss.detach()) * len(b), run_n + len(b)
            now = time.perf_counter()
            if now - last_emit >= STEP_EVENT_INTERVAL_S or step == total:
                rate = samples / max(train_s, 1e-9)
                on_event(StepEvent(step, total, step / steps_per_epoch, run_loss / max(1, run_n),
                                   float(scheduler.get_last_lr()[0]), rate, (total - step) * batch_size / max(rate, 1e-9)))
                last_emit, run_loss, run_n = now, 0.0, 0
        epoch += 1
        v_logits = student_clf.logits_for_ids(valid_ids, 64)
        metrics = classification_metrics(y_valid, v_logits.argmax(axis=1), labels)
        val_loss = cross_entropy(v_logits, y_valid)
        improved = metrics["macro_f1"] > best[0] + 1e-6
        if improved:
            best = (metrics["macro_f1"], {k: v.detach().cpu().clone() for k, v in student.state_dict().items()},
                    {**metrics, "val_loss": val_loss, "epoch": round(step / steps_per_epoch, 3)})
        on_event(EvalEvent(step, step / steps_per_epoch, val_loss, metrics["accuracy"], metrics["macro_f1"], labels,
                           metrics["per_class"], metrics["confusion_matrix"], improved))
        history.append({"epoch": round(step / steps_per_epoch, 3), "step": step, "val_loss": val_loss,
                        "accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"],
                        "elapsed_s": round(time.perf_counter() - t_start, 1)})

    student.load_state_dict(best[1])
    student.to("cpu").eval()
    final = {**best[2], "best_epoch": best[2]["epoch"], "evaluated_on": "validation"}
    on_event(StatusEvent("Measuring teacher and student speed on the CPU (batch 32)"))
    teacher.model.to("cpu")
    tclf, sclf = cpu_classifier(teacher.model, teacher), cpu_classifier(student, teacher)
    t_speed = speed.throughput(lambda t, b: tclf.predict_proba(t, b), valid_data.texts, 32, 256)
    s_speed = speed.throughput(lambda t, b: sclf.predict_proba(t, b), valid_data.texts, 32, 256)
    final.update({"docs_per_s": s_speed.docs_per_s, "ms_per_doc": s_speed.ms_per_doc})
    distillation = {
        "teacher_run_dir": str(teacher_run_dir), "teacher_layers": n_layers, "student_layers": len(keep),
        "kept_layers": keep, "alpha": alpha, "temperature": T,
        "teacher_accuracy": teacher_metrics["accuracy"], "student_accuracy": final["accuracy"],
        "teacher_macro_f1": teacher_metrics["macro_f1"], "student_macro_f1": final["macro_f1"],
        "retained": final["accuracy"] / teacher_metrics["accuracy"] if teacher_metrics["accuracy"] else 0.0,
        "teacher_docs_per_s_cpu": t_speed.docs_per_s, "student_docs_per_s_cpu": s_speed.docs_per_s,
        "speedup": s_speed.docs_per_s / max(t_speed.docs_per_s, 1e-9),
        "teacher_size_mb": state_size_mb(teacher.model), "student_size_mb": state_size_mb(student),
        "teacher_parameters": count_parameters(teacher.model), "student_parameters": count_parameters(student),
    }
    tmodel = teacher_record.get("model", {})
    settings = {"epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate, "max_length": teacher.max_length,
                "seed": seed, "valid_split": float(tsettings.get("valid_split", 0.1)), "alpha": alpha, "temperature": T,
                "layers": len(keep), "device": device}
    now = time.strftime("%Y-%m-%dT%H:%M:%S")
    record = {
        "format": 1, "kind": "distilled", "status": "finished", "created": now, "updated": now,
        "model": {"name": f"distilled:{tmodel.get('name', teacher_run_dir.name)}", "path": str(out_dir / MODEL_DIR),
                  "architecture": tmodel.get("architecture") or type(student).__name__,
                  "parameters": count_parameters(student), "layers": len(keep)},
        "data": {"source": data.source, "fingerprint_all": fingerprint(data), "fingerprint_train": fingerprint(train_data),
                 "valid_source": valid.source if valid is not None else f"{settings['valid_split']:.0%} stratified split",
                 "n_train": len(train_data), "n_valid": len(valid_data), "class_counts": train_data.class_counts()},
        "labels": labels, "label2id": label2id,
        "explicit_settings": settings, "settings": settings,
        "settings_explained": {k: {"value": v, "reason": "distillation setting"} for k, v in settings.items()},
        "history": history, "final_metrics": final, "distillation": distillation,
        "versions": library_versions(),
        "timings": {"train_s": round(train_s, 1), "samples_per_s": round(samples / max(train_s, 1e-9), 2),
                    "total_s": round(time.perf_counter() - t_start, 1)},
        "device": {"name": choice.name, "type": dev.type, "precision": "fp32", "world_size": 1, "hardware": hardware_summary()},
    }
    on_event(StatusEvent("Saving the student"))
    with atomic_dir(out_dir / MODEL_DIR) as tmp:
        student.save_pretrained(tmp)
        teacher.tokenizer.save_pretrained(tmp)
    write_json(out_dir / RUN_JSON, record)
    on_event(FinishedEvent(str(out_dir), final))
    del teacher, student
    free_memory(dev)
    return record

"""Distil a trained run into a smaller student: the teacher with only some of its layers.

    distill(teacher_run_dir, data, layers=k, out_dir=..., epochs, alpha, temperature, on_event, should_stop,
            resume=False, restart=False, time_budget_min=None) -> dict

Distillation is a recipe on the one training loop (training.py): a student builder plus the
``Distillation`` objective (objectives.py). Checkpoints, resume, the time budget, Ctrl-C,
the run record and DDP come from the loop. The student is a copy of the teacher (embeddings, head and all) keeping ``k`` of its transformer
layers: every other layer by default (k = half), otherwise ``k`` evenly spaced layers. It trains on

    loss = (1 - alpha) * CE(student, labels) + alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T))

with the teacher's logits computed once up front. A multi-label teacher gives a multi-label student:
binary cross-entropy per label against the label sets and against the teacher's softened sigmoids,
each label's threshold tuned on validation as in training (multilabel.py). The data is split with the teacher run's
valid_split and seed (the same validation rows when it is the teacher's training file).
The result is a normal run folder (model/ + run.json, loadable by Classifier.load) whose run.json
also holds "distillation": teacher/student accuracy, retained share, CPU speed-up and sizes.
"""

from __future__ import annotations

import copy
import shlex
from pathlib import Path
from typing import Callable

import torch

from .data import LabeledData
from .errors import TrainingCancelled, UserInputError
from .defaults import why_not_shrinkable
from .events import EventSink, StatusEvent, ignore
from .objectives import Distillation, Objective
from .runs import MODEL_DIR, RunRecord
from .settings import TrainSettings
from .training import Prepared, Recipe, TrainJob, train


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


class DistillRecipe(Recipe):
    """A student with ``keep`` of the teacher's layers, trained on labels and the teacher's logits."""

    kind = "distilled"

    def __init__(self, teacher_run_dir: Path, teacher, teacher_record: dict, keep: list[int], alpha: float,
                 temperature: float, out_dir: Path):
        self.teacher_run_dir, self.teacher, self.teacher_record = Path(teacher_run_dir), teacher, teacher_record
        self.keep, self.alpha, self.T, self.out_dir = keep, float(alpha), float(temperature), Path(out_dir)
        self.n_layers = len(layer_list(teacher.model)[0].layer)
        # a multi-label teacher: label sets, one sigmoid per label, thresholds tuned on validation, as it was trained
        self.problem_type = teacher_record.get("problem_type") or "single_label_classification"
        self.label_sets = None
        if self.problem_type == "multi_label_classification":
            from .multilabel import MultiLabelFineTune

            self.label_sets = MultiLabelFineTune()

    def targets(self, data: LabeledData, label2id: dict[str, int]):
        return (self.label_sets or super()).targets(data, label2id)

    def known_rows(self, data: LabeledData, label2id: dict[str, int]) -> list[int]:
        return (self.label_sets or super()).known_rows(data, label2id)

    def check_validation(self, data: LabeledData, labels: list[str]) -> None:
        (self.label_sets or super()).check_validation(data, labels)

    def score(self, logits, targets, labels: list[str]):
        return (self.label_sets or super()).score(logits, targets, labels)

    def model_path(self, job: TrainJob, previous: RunRecord | None) -> Path:
        from .export import model_dir_of

        return model_dir_of(self.teacher_run_dir)

    def labels(self, data: LabeledData) -> list[str]:
        return list(self.teacher.labels)

    def resolve_settings(self, settings: TrainSettings, facts) -> tuple[TrainSettings, dict]:
        return settings, {k: {"value": v, "reason": "distillation setting"} for k, v in settings.to_dict().items()}

    def prepare(self, p: Prepared) -> None:
        p.emit(StatusEvent("Computing the teacher's logits"))
        self.teacher_train_logits = torch.as_tensor(self.teacher.logits_for_ids(p.train_ids, 64, p.should_stop))
        valid_logits = self.teacher.logits_for_ids(p.valid_ids, 64, p.should_stop)
        self.teacher_metrics = self.score(valid_logits, p.y_valid, p.labels)[0]  # scored as the student will be

    def build_model(self, p: Prepared) -> torch.nn.Module:
        from .export import count_parameters

        torch.manual_seed(p.settings.seed)
        student = make_student(self.teacher.model, self.keep)
        p.emit(StatusEvent(f"Student: layers {self.keep} of {self.n_layers} ({count_parameters(student) / 1e6:.2f}M parameters)"))
        return student

    def objective(self, p: Prepared) -> Objective:
        return Distillation(p.y_train, self.teacher_train_logits, self.alpha, self.T, multi_label=self.label_sets is not None)

    def model_record(self, info, model_path, model, name) -> dict:
        from .export import count_parameters

        tmodel = self.teacher_record.get("model", {})
        return {"name": f"distilled:{tmodel.get('name', self.teacher_run_dir.name)}", "path": str(self.out_dir / MODEL_DIR),
                "architecture": tmodel.get("architecture") or info.architecture,
                "parameters": count_parameters(model), "layers": len(self.keep)}

    def describe(self) -> dict:
        return {"builder": "student", "teacher_run_dir": str(self.teacher_run_dir), "kept_layers": self.keep,
                "problem_type": self.problem_type}

    def finish(self, record: RunRecord, run_dir: Path, valid_texts: list[str], emit: EventSink) -> None:
        from . import speed
        from .export import count_parameters, cpu_classifier, state_size_mb
        from .inference import Classifier

        emit(StatusEvent("Measuring teacher and student speed on the CPU (batch 32)"))
        student = Classifier.load(run_dir, device="cpu", precision="fp32")
        self.teacher.model.to("cpu")
        tclf, sclf = cpu_classifier(self.teacher.model, self.teacher), cpu_classifier(student.model, self.teacher)
        t_speed = speed.throughput(lambda t, b: tclf.predict_proba(t, b), valid_texts, 32, 256)
        s_speed = speed.throughput(lambda t, b: sclf.predict_proba(t, b), valid_texts, 32, 256)
        final = record.final_metrics
        final.update({"docs_per_s": s_speed.docs_per_s, "ms_per_doc": s_speed.ms_per_doc})
        tm = self.teacher_metrics
        record.distillation = {
            "teacher_run_dir": str(self.teacher_run_dir), "teacher_layers": self.n_layers, "student_layers": len(self.keep),
            "kept_layers": self.keep, "alpha": self.alpha, "temperature": self.T,
            "teacher_accuracy": tm["accuracy"], "student_accuracy": final["accuracy"],
            "teacher_macro_f1": tm["macro_f1"], "student_macro_f1": final["macro_f1"],
            "retained": final["accuracy"] / tm["accuracy"] if tm["accuracy"] else 0.0,
            "teacher_docs_per_s_cpu": t_speed.docs_per_s, "student_docs_per_s_cpu": s_speed.docs_per_s,
            "speedup": s_speed.docs_per_s / max(t_speed.docs_per_s, 1e-9),
            "teacher_size_mb": state_size_mb(self.teacher.model), "student_size_mb": state_size_mb(student.model),
            "teacher_parameters": count_parameters(self.teacher.model), "student_parameters": count_parameters(student.model),
        }

    def _command(self, run_dir: Path, record: RunRecord | None, flag: str) -> str:
        source = (record.data.get("source") if record else None) or "DATA"
        return (f"classifier-studio distill {shlex.quote(str(self.teacher_run_dir))} {shlex.quote(str(source))} "
                f"--out {shlex.quote(str(run_dir))} {flag}")

    def resume_command(self, run_dir: Path, record: RunRecord | None) -> str:
        return self._command(run_dir, record, "--resume")

    def restart_command(self, run_dir: Path, record: RunRecord | None) -> str:
        return self._command(run_dir, record, "--restart")


def _recorded_recipe(out_dir: Path) -> dict:
    """The student's recipe (kept layers, alpha, temperature) from an unfinished run's record, if any."""
    from .runs import RUN_JSON, read_record

    if not (out_dir / RUN_JSON).is_file():
        return {}
    try:
        return dict(read_record(out_dir).recipe or {})
    except UserInputError:
        return {}


def distill(teacher_run_dir: str | Path, data: LabeledData, layers: int | None = None, out_dir: str | Path = "distilled",
            epochs: float = 3, alpha: float = 0.5, temperature: float = 2.0, on_event: EventSink = ignore,
            should_stop: Callable[[], bool] = _never, *, batch_size: int | None = None, learning_rate: float | None = None,
            device: str = "auto", seed: int | None = None, valid: LabeledData | None = None, resume: bool = False,
            restart: bool = False, time_budget_min: float | None = None, checkpoint_every_min: float = 10.0) -> dict:
    """Train the student on the training loop; returns the run record (as a dict). Raises
    TrainingCancelled on ``should_stop`` (after a CancelledEvent; once training has begun, with a
    checkpoint that ``resume=True`` continues from)."""
    from .device import choose
    from .export import run_record_of
    from .inference import Classifier

    teacher_run_dir, out_dir = Path(teacher_run_dir), Path(out_dir)
    if not 0 <= alpha <= 1:
        raise UserInputError(f"alpha must be between 0 and 1, got {alpha}.", where="--alpha", fix="Use for example 0.5.")
    if temperature <= 0:
        raise UserInputError(f"temperature must be above 0, got {temperature}.", where="--temperature", fix="Use for example 2.")
    teacher_record = run_record_of(teacher_run_dir)
    refusal = why_not_shrinkable(teacher_record.get("method"))
    if refusal:
        raise UserInputError(refusal, where=str(teacher_run_dir), fix="Pick a run made by full training.")
    dev = choose(device, "fp32").device
    on_event(StatusEvent("Loading the teacher"))
    teacher = Classifier.load(teacher_run_dir, device=str(dev), precision="fp32")
    recorded = _recorded_recipe(out_dir) if resume else {}
    if recorded.get("kept_layers"):  # resume the student as it was built, whatever layers/alpha/T say now
        keep = [int(i) for i in recorded["kept_layers"]]
        alpha, temperature = float(recorded.get("alpha", alpha)), float(recorded.get("temperature", temperature))
    else:
        keep = choose_layers(len(layer_list(teacher.model)[0].layer), layers)
    tsettings = teacher_record.get("settings") or {}
    # The student starts from the teacher's own weights and learns at the teacher's pace: the rate and
    # batch size the teacher was fine-tuned with (chosen for this model size and data), unless set.
    lr = float(learning_rate or tsettings.get("learning_rate") or 5e-5)
    settings = TrainSettings(
        epochs=float(epochs), batch_size=int(batch_size or tsettings.get("batch_size") or 16), learning_rate=lr,
        head_learning_rate=lr, max_length=teacher.max_length, warmup=0.06, weight_decay=0.01,
        seed=int(seed if seed is not None else tsettings.get("seed", 42)), class_weights=False,
        early_stopping_patience=0, metric="macro_f1", keep_best=True, device=device, precision="fp32",
        time_budget_min=time_budget_min, valid_split=float(tsettings.get("valid_split", 0.1)))
    recipe = DistillRecipe(teacher_run_dir, teacher, teacher_record, keep, alpha, temperature, out_dir)
    try:
        result = train(TrainJob(train=data, out_dir=out_dir, model=str(teacher_run_dir), valid=valid, settings=settings,
                                resume=resume, restart=restart, recipe=recipe,
                                checkpoint_every_min=checkpoint_every_min,
                                # the teacher's logits are per text: the student reads each text's first
                                # max_length tokens, as the teacher's logits were computed
                                long_documents="off"), on_event, should_stop)
    finally:
        del recipe, teacher
    if result.status != "finished":
        raise TrainingCancelled()
    return result.record.to_dict()

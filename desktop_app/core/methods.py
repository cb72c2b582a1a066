"""Which way of learning a training run uses, and why: zero-shot, few-shot or fine-tune.

    choice = choose_for(data or class_counts, requested="auto")   # MethodChoice(method, reason, requested)
    result = train_with_method(job, "auto", categories=None, on_event, should_stop)

"auto" follows the typical (median) number of labels per category (few_shot.choose_method, whose
threshold is the crossover measured in docs/FEW_LABELS.md). Few-shot and fine-tune run on the one
training loop (training.train with ``FewShotRecipe`` or ``FineTune``); zero-shot learns nothing, so its
"training" writes a run folder at once: the sentence encoder plus a head made of the category names'
embeddings, loadable by predict, evaluate and inference.Classifier like any run. run.json records
``method`` and ``method_reason``; the reason is also the first entry of ``settings_explained``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .data import LabeledData, fingerprint
from .errors import TrainingCancelled, UserInputError
from .events import EventSink, FinishedEvent, StatusEvent, ignore
from .training import Recipe, RunResult, TrainJob, never, train

from .defaults import METHODS  # defined in the light module, so the app reads it without loading torch


@dataclass(frozen=True)
class MethodChoice:
    method: str  # zero-shot | few-shot | fine-tune
    reason: str  # one sentence for "What training will use, and why"
    requested: str = "auto"

    def explained(self) -> dict:
        return {"value": self.method, "reason": self.reason}


def choose_for(data_or_counts: LabeledData | dict | None, requested: str = "auto") -> MethodChoice:
    """The method for this data: ``requested`` unless it is "auto", else by the labels per category."""
    from .few_shot import choose_method

    if requested not in METHODS:
        raise UserInputError(f"Unknown method '{requested}'.", where="--method", fix=f"Use one of: {', '.join(METHODS)}.")
    multi = isinstance(data_or_counts, LabeledData) and data_or_counts.label_sets is not None
    if multi and requested in ("few-shot", "zero-shot"):
        raise UserInputError(f"{requested} training reads one label per text, and this file has several per text.",
                             where="--method", fix="Use --method fine-tune (or auto), which learns a yes/no answer per label.")
    if multi and requested == "auto":
        return MethodChoice("fine-tune", "Several labels per text: each label gets its own yes/no output "
                                         "(multi-label fine-tuning); few-shot training handles one label per text.", requested)
    if isinstance(data_or_counts, LabeledData):
        counts = data_or_counts.class_counts()
    else:
        counts = dict(data_or_counts or {})
    if requested != "auto":
        return MethodChoice(requested, f"set by you (--method {requested})", requested)
    method, reason = choose_method(counts)
    return MethodChoice(method, reason, requested)


def recipe_for(choice: MethodChoice, data: LabeledData | None = None) -> Recipe:
    """The training-loop recipe of a few-shot or fine-tune choice (multi-label fine-tuning for label sets)."""
    if choice.method == "few-shot":
        from .few_shot import FewShotRecipe

        return FewShotRecipe(choice.reason)
    if choice.method == "fine-tune":
        from .training import default_recipe

        recipe = default_recipe(data)
        recipe.method_reason = choice.reason
        return recipe
    raise ValueError(f"no training-loop recipe for {choice.method!r}")


def train_with_method(job: TrainJob, method: str = "auto", categories: str | Sequence[str] | None = None,
                      on_event: EventSink = ignore, should_stop: Callable[[], bool] = never) -> RunResult:
    """Train ``job`` with ``method`` (auto | zero-shot | few-shot | fine-tune).

    ``categories``: the category names for zero-shot ("Name" or "Name: description"); by default the
    labels of ``job.train``. A resumed run continues with the method it started with."""
    if job.resume:
        return train(job, on_event, should_stop)  # the loop picks the recorded recipe
    data = job.train
    if data is None and not categories:
        raise UserInputError("No training data and no category names were given.", where="DATA",
                             fix='Pass a labeled file, or the category names for zero-shot: --labels "A,B,C".')
    choice = choose_for(data if data is not None else {}, method)
    on_event(StatusEvent(f"Method: {choice.method}. {choice.reason}"))
    if choice.method == "zero-shot":
        return train_zero_shot(job, categories or (data.label_names if data is not None else []), choice, on_event, should_stop)
    if data is None:
        raise UserInputError(f"{choice.method} training needs a labeled file.", where="DATA",
                             fix='Pass a labeled file, or use --method zero-shot with --labels "A,B,C".')
    job.recipe = recipe_for(choice, data)
    del data  # no reference here, so that train() can let go of the texts once they are tokenized (TrainJob.keep_data)
    return train(job, on_event, should_stop)


def train_zero_shot(job: TrainJob, categories, choice: MethodChoice | None = None, on_event: EventSink = ignore,
                    should_stop: Callable[[], bool] = never) -> RunResult:
    """A zero-shot run folder: model/ (encoder + category-name head) and a finished run.json.

    When ``job.train`` has labeled rows of the named categories, they are scored (nothing is learned
    from them) and the scores become the run's metrics."""
    from . import sentence_head
    from .device import choose, hardware_summary
    from .embeddings import Embedder
    from .inference import quiet_transformers
    from .metrics import classification_metrics, cross_entropy
    from .models import describe_folder, resolve_model
    from .outputs import check_not_inside, claim_output_dir, lock_run_dir
    from .runs import MODEL_DIR, RUN_JSON, RunRecord, atomic_dir, library_versions, read_record, recover_folders, write_record
    from .zero_shot import DEFAULT_TEMPERATURE, ZeroShotClassifier, parse_categories

    choice = choice or MethodChoice("zero-shot", "set by you (--method zero-shot)", "zero-shot")
    cats = parse_categories(categories, where="--labels")
    names = [c.name for c in cats]
    run_dir = Path(job.out_dir)
    data = job.train
    check_not_inside(run_dir, [p for p in [job.model, data.source if data is not None else None] if p and Path(str(p)).exists()])
    claim_output_dir(run_dir, "run")
    t0 = time.perf_counter()
    with lock_run_dir(run_dir):
        recover_folders(run_dir)
        if (run_dir / RUN_JSON).exists():
            if not job.restart:
                try:
                    status = read_record(run_dir).status
                except UserInputError:
                    status = "damaged"
                raise UserInputError(f"This folder already holds a run (status: {status}).", where=str(run_dir),
                                     fix="Choose a new --out folder, or add --restart to replace an unfinished run.")
            import shutil

            shutil.rmtree(run_dir / MODEL_DIR, ignore_errors=True)
            (run_dir / RUN_JSON).unlink(missing_ok=True)
        quiet_transformers()
        on_event(StatusEvent("Loading the sentence model"))
        model_path = resolve_model(job.model)
        info = describe_folder(model_path, name=str(job.model))
        device = choose(job.settings.device, "fp32")
        embedder = Embedder.load(model_path, str(device.device))
        if should_stop():
            raise TrainingCancelled()
        clf = ZeroShotClassifier(embedder, cats, DEFAULT_TEMPERATURE)
        metrics: dict = {}
        scored = None
        if data is not None:
            keep = [i for i, l in enumerate(data.labels) if l in set(names)]
            scored = data.subset(keep) if len(keep) < len(data) else data
        if scored is not None and len(scored):
            on_event(StatusEvent(f"Scoring the {len(scored)} labeled rows (zero-shot learns nothing from them)"))
            vectors = embedder.embed(scored.texts, should_stop=should_stop)
            logits = (vectors @ clf.label_vectors.T) / DEFAULT_TEMPERATURE
            y = np.asarray([names.index(l) for l in scored.labels])
            metrics = {**classification_metrics(y, logits.argmax(1), names), "val_loss": cross_entropy(logits, y),
                       "evaluated_on": "the labeled rows (zero-shot does not learn from them)", "epoch": 0}
        on_event(StatusEvent("Saving the model"))
        with atomic_dir(run_dir / MODEL_DIR) as tmp:
            sentence_head.save(tmp, embedder.model, embedder.tokenizer, names, clf.label_vectors,
                               np.zeros(len(names), dtype=np.float32), 1.0 / DEFAULT_TEMPERATURE, "zero-shot",
                               {"prompts": [c.prompt for c in cats]})
        reasons = {"method": choice.explained(),
                   "temperature": {"value": DEFAULT_TEMPERATURE, "reason": "cosine similarity / 0.05, softmaxed: a 0.1 lead "
                                                                         "in similarity is about 7 to 1 odds"},
                   "max_length": {"value": embedder.max_length, "reason": "the sentence model's own limit"}}
        record = RunRecord(
            status="finished", kind="zero-shot", method="zero-shot", method_reason=choice.reason,
            created=time.strftime("%Y-%m-%dT%H:%M:%S"),
            model={"name": str(job.model), "path": str(model_path), "architecture": info.architecture,
                   "parameters": info.parameters, "layers": info.layers},
            data={"source": data.source if data is not None else None, "text_column": job.text_column,
                  "label_column": job.label_column, "fingerprint_all": fingerprint(data) if data is not None else None,
                  "n_train": 0, "n_valid": len(scored) if scored is not None else 0,
                  "class_counts": data.class_counts() if data is not None else {}, "valid_source": "the labeled rows"},
            split={"kind": "none"}, labels=names, label2id={n: i for i, n in enumerate(names)},
            explicit_settings={}, settings={"max_length": embedder.max_length, "temperature": DEFAULT_TEMPERATURE},
            settings_explained=reasons, recipe={"builder": "category names", "prompts": [c.prompt for c in cats]},
            final_metrics=metrics, versions=library_versions(),
            timings={"total_s": round(time.perf_counter() - t0, 1)},
            device={"name": device.name, "type": device.device.type, "precision": "fp32", "world_size": 1,
                    "hardware": hardware_summary()})
        write_record(run_dir, record)
    on_event(FinishedEvent(str(run_dir), metrics))
    return RunResult(run_dir, "finished", metrics, record.settings, reasons, record)

"""Compare models: fine-tune each on the same split, then measure accuracy and CPU speed.

    compare(data, models, out_dir, settings, on_event, should_stop) -> list[dict]  (leaderboard rows)

The data is split once (core.data.split); every model trains with ``training.train`` on the same
training part and is validated on the same validation part. Each trained model is then measured
on the CPU with ONNX Runtime in fp32 and as the int8 variant (the run's ONNX graph after onnxruntime's
dynamic quantization, the model the int8 export ships): accuracy and macro-F1 on the validation
texts, docs/s at batch 32 and p50/p95 ms at batch 1 (``speed.full_report``). Without ONNX Runtime
the fp32 row is measured with PyTorch and there is no int8 row.
OUT_DIR/<n>-<model>/ holds each run; OUT_DIR/leaderboard.json holds the rows and recommendations.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Union

from .data import LabeledData, split
from .errors import TrainingCancelled, UserInputError
from .events import EventSink, LeaderboardEvent, StatusEvent, ignore
from .outputs import claim_output_dir, lock_run_dir
from .runs import write_json
from .models import short_name
from .settings import TrainSettings

log = logging.getLogger(__name__)

LEADERBOARD = "leaderboard.json"
WITHIN = 0.01  # "within 1 point" of accuracy


@dataclass(frozen=True)
class Candidate:
    """One entry of a comparison: a model, optionally with its own settings (one model, several settings)."""

    model: str
    settings: TrainSettings | None = None  # None: the comparison's settings
    name: str = ""  # leaderboard name; defaults to the model

    @property
    def label(self) -> str:
        return self.name or self.model


def describe_candidates(candidates: list[tuple[str, str, TrainSettings | None]]) -> list[str]:
    """Names for people that say what differs between candidates: ``(model, model name, settings)`` ->
    "MiniLM-L6", "MiniLM-L6, texts cut at 64 tokens", "BERT base, 3 passes"... Only what differs is named."""
    shown = {"max_length": ("texts cut at {} tokens", "automatic text length"),
             "epochs": ("{} passes", "automatic training length"),
             "learning_rate": ("learning speed {}", "automatic learning speed"),
             "batch_size": ("{} texts per step", "automatic texts per step"),
             "time_budget_min": ("about {} min", "no time limit"),
             "class_weights": ("class weights {}", "automatic class weights")}
    settings = [s or TrainSettings() for _, _, s in candidates]
    labels = []
    for (_, name, _), s in zip(candidates, settings):
        parts = [name]
        for key, (fmt, auto) in shown.items():
            if len({getattr(x, key) for x in settings}) < 2:
                continue  # the same for every candidate: not what tells them apart
            value = getattr(s, key)
            if value is None:
                parts.append(auto)
            elif isinstance(value, bool):
                parts.append(fmt.format("on" if value else "off"))
            elif key == "epochs" and float(value) == 1:
                parts.append("1 pass")
            else:
                parts.append(fmt.format(f"{value:g}" if isinstance(value, float) else value))
        labels.append(", ".join(parts))
    seen: dict[str, int] = {}
    for i, label in enumerate(labels):  # the same candidate twice: numbered, never two equal names
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            labels[i] = f"{label} ({seen[label]})"
    return labels


def length_choices(lengths, model_max: int) -> list[tuple[int, float]]:
    """Max lengths worth comparing for these token lengths, shortest first, with the share of texts each
    cuts short: about the median, the 90th percentile, and what the app chooses (99th); at least two."""
    import numpy as np

    from .defaults import max_length_for

    values = np.asarray(list(lengths) or [0])
    chosen = {max_length_for(values, model_max)[0]}
    for q in (50, 90):
        chosen.add(int(min(model_max, max(16, 8 * math.ceil(float(np.percentile(values, q)) / 8)))))
    if len(chosen) < 2:  # most texts are longer than the model reads: try half as long too
        chosen.add(max(16, 8 * (min(chosen) // 16)))
    return [(n, float(np.mean(values > n))) for n in sorted(chosen)]


def _never() -> bool:
    return False


def _safe(name: str) -> str:
    tail = Path(name).name if ("/" in name or "\\" in name) and Path(name).exists() else name
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in tail)[:40].strip("-.") or "model"


def compare(data: LabeledData, models: list[Union[str, Candidate]], out_dir: str | Path, settings: TrainSettings | None = None,
            on_event: EventSink = ignore, should_stop: Callable[[], bool] = _never, *, valid: LabeledData | None = None,
            speed_docs: int = 512, latency_docs: int = 64) -> list[dict]:
    """Train and measure every model in ``models``; returns the leaderboard rows (best accuracy first).

    Raises TrainingCancelled when ``should_stop`` ends a training run (rows measured so far stay
    in leaderboard.json).
    """
    candidates = [m if isinstance(m, Candidate) else Candidate(m.strip()) for m in models
                  if isinstance(m, Candidate) or (m and m.strip())]
    if len(candidates) < 1:
        raise UserInputError("No models to compare.", where="--models", fix="Pass for example --models default,/path/to/model.")
    settings = settings or TrainSettings()
    out_dir = Path(out_dir)
    if (out_dir / LEADERBOARD).exists():
        raise UserInputError("This folder already holds a comparison.", where=str(out_dir), fix="Choose a new --out folder.")
    claim_output_dir(out_dir, "compare")  # new, empty or a stopped comparison: never the user's own folder
    train_part, valid_part = (data, valid) if valid is not None else split(data, settings.valid_split, settings.seed)
    with lock_run_dir(out_dir):
        return _train_and_measure(candidates, train_part, valid_part, out_dir, settings, on_event, should_stop,
                                  speed_docs, latency_docs)


def _train_and_measure(candidates: list[Candidate], train_part: LabeledData, valid_part: LabeledData, out_dir: Path,
                       settings: TrainSettings, on_event: EventSink, should_stop: Callable[[], bool], speed_docs: int,
                       latency_docs: int) -> list[dict]:
    from .training import TrainJob, train

    names = [c.label for c in candidates]
    rows: list[dict] = []
    for i, cand in enumerate(candidates, 1):
        run_dir = out_dir / f"{i:02d}-{_safe(short_name(cand.model))}"
        on_event(StatusEvent(f"Model {i}/{len(candidates)}: training {cand.label}"))
        t0 = time.perf_counter()
        job = TrainJob(train=train_part, valid=valid_part, out_dir=run_dir, model=cand.model,
                       settings=cand.settings or settings)
        result = train(job, on_event, should_stop)
        train_s = time.perf_counter() - t0
        if result.status != "finished":
            _write(out_dir, rows, names, valid_part, "cancelled")
            raise TrainingCancelled()
        on_event(StatusEvent(f"Model {i}/{len(candidates)}: measuring {cand.label} on the CPU (fp32 and int8)"))
        measured = measure_run(run_dir, valid_part, should_stop, speed_docs, latency_docs)
        if measured is None:
            _write(out_dir, rows, names, valid_part, "cancelled")
            raise TrainingCancelled()
        rows.extend({"name": cand.label, **row, "train_s": round(train_s, 2)} for row in measured)
        board = _write(out_dir, rows, names, valid_part, "running")
        on_event(LeaderboardEvent(board["rows"], board["recommendations"]))
    rows = _write(out_dir, rows, names, valid_part, "finished")["rows"]
    return rows


def measure_run(run_dir: str | Path, data: LabeledData, should_stop: Callable[[], bool] = _never,
                speed_docs: int = 512, latency_docs: int = 64) -> list[dict] | None:
    """Accuracy, macro-F1 and speed of a run's model on ``data`` on the CPU: fp32 and the int8 ONNX
    variant (no int8 row when ONNX Runtime cannot run the model); GPU docs/s for fp32 where CUDA is
    present. None when ``should_stop`` interrupts."""
    from . import speed
    from .evaluate import evaluate
    from .export import classifier_size_mb, count_parameters
    from .inference import Classifier

    clf = Classifier.load(run_dir, device="cpu", precision="fp32")
    variants = [("fp32", clf)]
    if clf.session is not None:
        try:
            variants.append(("int8", Classifier.load(run_dir, device="cpu", precision="int8", engine="onnx")))
        except UserInputError as exc:
            log.warning("No int8 row for %s: %s", run_dir, exc.message)
    gpu_docs_per_s = _gpu_docs_per_s(Path(run_dir), data.texts, speed_docs)
    parameters = count_parameters(clf.model)
    rows = []
    for variant, c in variants:
        if should_stop():
            return None
        metrics = evaluate(c, data).metrics
        rep = speed.full_report(c.predict_proba, data.texts, 32, speed_docs, latency_docs)
        rows.append({
            "variant": variant, "engine": c.engine, "run_dir": str(run_dir), "accuracy": metrics["accuracy"],
            "macro_f1": metrics["macro_f1"], "docs_per_s_cpu": rep.docs_per_s,
            "docs_per_s_gpu": gpu_docs_per_s if variant == "fp32" else None,
            "p50_ms": rep.p50_ms, "p95_ms": rep.p95_ms, "parameters": parameters,
            "size_mb": classifier_size_mb(c), "n_valid": metrics["n"],
        })
    return rows


def _gpu_docs_per_s(run_dir: Path, texts: list[str], n_docs: int) -> float | None:
    """docs/s on the GPU (its own precision policy) where CUDA is present; None otherwise (int8 is CPU-only)."""
    import torch

    if not torch.cuda.is_available():
        return None
    from . import speed
    from .inference import Classifier

    clf = Classifier.load(run_dir, device="cuda")
    rate = speed.throughput(clf.predict_proba, texts, 64, n_docs).docs_per_s
    del clf
    torch.cuda.empty_cache()
    return rate


def recommend(rows: list[dict], within: float = WITHIN) -> dict:
    """The most accurate row, and the fastest (CPU docs/s) row within ``within`` accuracy of it."""
    if not rows:
        return {}
    best = max(rows, key=lambda r: (r["accuracy"], r["macro_f1"], r["docs_per_s_cpu"]))
    close = [r for r in rows if r["accuracy"] >= best["accuracy"] - within - 1e-12]
    fastest = max(close, key=lambda r: (r["docs_per_s_cpu"], r["accuracy"]))

    def pick(r: dict, reason: str) -> dict:
        return {"name": r["name"], "variant": r["variant"], "run_dir": r["run_dir"], "accuracy": r["accuracy"],
                "docs_per_s_cpu": r["docs_per_s_cpu"], "reason": reason}

    return {
        "most_accurate": pick(best, f"highest validation accuracy ({best['accuracy']:.4f})"),
        "fastest_within_1_point": pick(
            fastest, f"fastest on the CPU ({fastest['docs_per_s_cpu']:.0f} docs/s) among models within "
                     f"{within * 100:g} point of the best accuracy ({fastest['accuracy']:.4f} vs {best['accuracy']:.4f})"),
    }


def _write(out_dir: Path, rows: list[dict], models: list[str], valid: LabeledData, status: str) -> dict:
    from .device import hardware_summary

    rows = sorted(rows, key=lambda r: (-r["accuracy"], -r["docs_per_s_cpu"]))
    board = {
        "status": status, "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "models": models,
        "validation": {"source": valid.source, "n": len(valid)},
        "measured": "CPU with ONNX Runtime, fp32 and int8 (dynamic quantization); docs/s at batch 32, "
                    "p50/p95 ms at batch 1; GPU docs/s (PyTorch) at batch 64 where CUDA is present",
        "hardware": hardware_summary(), "rows": rows, "recommendations": recommend(rows),
    }
    write_json(out_dir / LEADERBOARD, board)
    return board


# -- what a shrink (distillation) will give, before it starts -------------------------------------

SHRINK_SPEED_DOCS = 128  # texts each candidate student classifies for its measured speed


def earlier_shrinks(runs_dir: str | Path | None) -> list[dict]:
    """The distillation results recorded by finished shrinks in the run library (run.json "distillation")."""
    from .runs import list_runs, read_record

    found = []
    for run in list_runs(runs_dir) if runs_dir else []:
        if run.kind != "distilled" or run.status != "finished":
            continue
        try:
            d = dict(read_record(run.path).distillation or {})
        except UserInputError:
            continue
        if isinstance(d.get("teacher_accuracy"), (int, float)) and isinstance(d.get("student_accuracy"), (int, float)):
            found.append({**d, "run_dir": run.path})
    return found


def _accuracy_basis(teacher_run: Path, n: int, k: int, shrinks: list[dict]) -> tuple[float | None, str]:
    """Expected accuracy change (a share, negative = less) for keeping k of n layers, and how it was estimated."""
    from .session import percent

    same = [d for d in shrinks if Path(d.get("teacher_run_dir", "")).resolve() == teacher_run.resolve()
            and int(d.get("student_layers", 0)) == k]
    if same:
        d = same[-1]
        return (d["student_accuracy"] - d["teacher_accuracy"],
                f"measured: an earlier shrink of this model to {k} layers got {percent(d['student_accuracy'])} right "
                f"against the original's {percent(d['teacher_accuracy'])}")
    kept = k / max(1, n)
    near = [d for d in shrinks if d.get("teacher_layers") and
            abs(int(d.get("student_layers", 0)) / int(d["teacher_layers"]) - kept) <= 0.15]
    if near:
        drop = sum(d["student_accuracy"] - d["teacher_accuracy"] for d in near) / len(near)
        return (drop, f"from {len(near)} earlier shrink{'s' if len(near) != 1 else ''} on this computer that kept about "
                      f"{kept:.0%} of the layers (average change {drop * 100:+.1f} points)")
    return (None, "no shrink like this was measured on this computer yet. Keeping half of the layers usually costs "
                  "a few points (DistilBERT kept 97% of BERT's score with 6 of its 12 layers); it is measured when done")


def estimate_shrink(run_dir: str | Path, texts: list[str], runs_dir: str | Path | None = None,
                    should_stop: Callable[[], bool] = _never, max_docs: int = SHRINK_SPEED_DOCS) -> dict | None:
    """What shrinking a run to each possible number of layers gives, measured before it starts.

    Speed: every candidate student (the teacher's own layers, as ``distill`` builds it; speed does not
    depend on its weights) classifies the same sample of the user's texts on the CPU, measured as
    ``distill`` measures it when done (``speed.throughput``, batch 32), against the teacher. Size: the
    student's weights. Accuracy: from earlier shrinks recorded in the run library (this run's first,
    then others that kept a similar share of layers), else said to be unknown.
    Returns {"teacher": {...}, "options": {k: {...}}, "n_texts": ..} or None when stopped."""
    from . import speed
    from .distill import choose_layers, layer_list, make_student
    from .export import count_parameters, cpu_classifier, state_size_mb
    from .inference import Classifier

    run_dir = Path(run_dir)
    teacher = Classifier.load(run_dir, device="cpu", precision="fp32", engine="torch")
    n = len(layer_list(teacher.model)[0].layer)
    sample = speed.sample_texts(texts, max_docs)
    base = cpu_classifier(teacher.model, teacher)
    t_rate = speed.throughput(lambda t, b: base.predict_proba(t, b), sample, 32, max_docs).docs_per_s
    shrinks = earlier_shrinks(runs_dir)
    from .session import record_evaluation

    recorded = record_evaluation(run_dir)
    options = {}
    for k in range(1, n):
        if should_stop():
            return None
        student = make_student(teacher.model, choose_layers(n, k))
        clf = cpu_classifier(student, teacher)
        rate = speed.throughput(lambda t, b: clf.predict_proba(t, b), sample, 32, max_docs).docs_per_s
        change, basis = _accuracy_basis(run_dir, n, k, shrinks)
        options[k] = {"layers": k, "docs_per_s": rate, "speedup": rate / max(t_rate, 1e-9),
                      "size_mb": state_size_mb(student), "parameters": count_parameters(student),
                      "accuracy_change": change, "accuracy_basis": basis}
        del student, clf
    return {"run_dir": str(run_dir), "n_texts": len(sample),
            "teacher": {"layers": n, "docs_per_s": t_rate, "size_mb": state_size_mb(teacher.model),
                        "accuracy": recorded.metrics.get("accuracy") if recorded else None},
            "options": options}


def shrink_expectation(estimate: dict, k: int) -> str:
    """The estimate for ``k`` layers in words, with how each number was made."""
    from .session import percent

    o, t = estimate["options"][k], estimate["teacher"]
    size = lambda mb: f"{mb:.0f} MB" if mb >= 10 else f"{mb:.1f} MB"  # noqa: E731
    text = (f"About {o['speedup']:.1f} times as fast on this computer's CPU (measured now on {estimate['n_texts']} of your "
            f"texts: {o['docs_per_s']:.0f} texts per second against {t['docs_per_s']:.0f} for the original), "
            f"{size(o['size_mb'])} instead of {size(t['size_mb'])}. ")
    if o["accuracy_change"] is None:
        basis = o["accuracy_basis"]
        text += f"Accuracy: not known yet. {basis[:1].upper() + basis[1:]}."
    else:
        points = o["accuracy_change"] * 100
        expected = f" (about {percent(max(0.0, t['accuracy'] + o['accuracy_change']))} right)" if t.get("accuracy") else ""
        text += (f"Accuracy: about {abs(points):.1f} points {'less' if points < 0 else 'more'}{expected}, "
                 f"{o['accuracy_basis']}.")
    return text

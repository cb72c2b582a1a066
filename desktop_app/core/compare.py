"""Compare models: fine-tune each on the same split, then measure accuracy and CPU speed.

    compare(data, models, out_dir, settings, on_event, should_stop) -> list[dict]  (leaderboard rows)

The data is split once (core.data.split); every model trains with ``training.train`` on the same
training part and is validated on the same validation part. Each trained model is then measured
on the CPU in fp32 and as an int8 dynamic-quantized variant (nn.Linear, qint8): accuracy and
macro-F1 on the validation texts, docs/s at batch 32 and p50/p95 ms at batch 1 (``speed.full_report``).
OUT_DIR/<n>-<model>/ holds each run; OUT_DIR/leaderboard.json holds the rows and recommendations.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from .data import LabeledData, split
from .errors import TrainingCancelled, UserInputError
from .events import EventSink, StatusEvent, ignore
from .runs import write_json
from .settings import TrainSettings

LEADERBOARD = "leaderboard.json"
WITHIN = 0.01  # "within 1 point" of accuracy


def _never() -> bool:
    return False


def _safe(name: str) -> str:
    tail = Path(name).name if ("/" in name or "\\" in name) and Path(name).exists() else name
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in tail)[:40].strip("-.") or "model"


def compare(data: LabeledData, models: list[str], out_dir: str | Path, settings: TrainSettings | None = None,
            on_event: EventSink = ignore, should_stop: Callable[[], bool] = _never, *, valid: LabeledData | None = None,
            speed_docs: int = 512, latency_docs: int = 64) -> list[dict]:
    """Train and measure every model in ``models``; returns the leaderboard rows (best accuracy first).

    Raises TrainingCancelled when ``should_stop`` ends a training run (rows measured so far stay
    in leaderboard.json).
    """
    from . import speed
    from .evaluate import evaluate
    from .export import count_parameters, cpu_classifier, quantize_int8, state_size_mb
    from .inference import Classifier
    from .training import TrainJob, train

    models = [m.strip() for m in models if m and m.strip()]
    if len(models) < 1:
        raise UserInputError("No models to compare.", where="--models", fix="Pass for example --models default,/path/to/model.")
    settings = settings or TrainSettings()
    out_dir = Path(out_dir)
    if (out_dir / LEADERBOARD).exists():
        raise UserInputError("This folder already holds a comparison.", where=str(out_dir), fix="Choose a new --out folder.")
    train_part, valid_part = (data, valid) if valid is not None else split(data, settings.valid_split, settings.seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    for i, model in enumerate(models, 1):
        run_dir = out_dir / f"{i:02d}-{_safe(model)}"
        on_event(StatusEvent(f"Model {i}/{len(models)}: training {model}"))
        t0 = time.perf_counter()
        result = train(TrainJob(train=train_part, valid=valid_part, out_dir=run_dir, model=model, settings=settings),
                       on_event, should_stop)
        train_s = time.perf_counter() - t0
        if result.status != "finished":
            _write(out_dir, rows, models, valid_part, "cancelled")
            raise TrainingCancelled()
        on_event(StatusEvent(f"Model {i}/{len(models)}: measuring {model} on the CPU (fp32 and int8)"))
        clf = Classifier.load(run_dir, device="cpu", precision="fp32")
        qclf = cpu_classifier(quantize_int8(clf.model), clf)
        for variant, c in (("fp32", clf), ("int8", qclf)):
            if should_stop():
                _write(out_dir, rows, models, valid_part, "cancelled")
                raise TrainingCancelled()
            metrics = evaluate(c, valid_part).metrics
            rep = speed.full_report(lambda t, b, c=c: c.predict_proba(t, b), valid_part.texts, 32, speed_docs, latency_docs)
            rows.append({
                "name": model, "variant": variant, "run_dir": str(run_dir),
                "accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"],
                "docs_per_s_cpu": rep.docs_per_s, "p50_ms": rep.p50_ms, "p95_ms": rep.p95_ms,
                "parameters": count_parameters(clf.model), "size_mb": state_size_mb(c.model),
                "train_s": round(train_s, 2), "n_valid": metrics["n"],
            })
        _write(out_dir, rows, models, valid_part, "running")
    rows = _write(out_dir, rows, models, valid_part, "finished")["rows"]
    return rows


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
        "measured": "CPU, fp32 and int8 dynamic quantization; docs/s at batch 32, p50/p95 ms at batch 1",
        "hardware": hardware_summary(), "rows": rows, "recommendations": recommend(rows),
    }
    write_json(out_dir / LEADERBOARD, board)
    return board

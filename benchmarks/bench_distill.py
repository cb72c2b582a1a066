"""Teacher, distilled student and int8 variants on a real dataset, next to transformers.pipeline.

    python benchmarks/bench_distill.py --teacher RUN_DIR [--layers 3] [--epochs 3] [--data ../shared/datasets/banking77]

RUN_DIR is a run fine-tuned on DATA/train.csv (for example by
`classifier-studio train ../shared/datasets/banking77/train.csv --out RUN_DIR`). The student keeps
``--layers`` of the teacher's layers and is distilled on the same train.csv (``core.distill``).
Teacher and student are then measured the one way the app measures everything
(``core.compare.measure_run``: test accuracy and macro-F1, CPU docs/s at batch 32, p50/p95 ms
at batch 1, fp32 and int8), and the plain ``transformers.pipeline`` is timed on the same
texts for each fp32 model. Prints a Markdown table with the retained accuracy and speed-ups.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def pipeline_docs_per_s(model_dir: Path, texts: list[str], batch_size: int = 32) -> float:
    from transformers import pipeline

    pipe = pipeline("text-classification", model=str(model_dir), device=-1)
    pipe(texts[:batch_size], batch_size=batch_size, truncation=True)
    t = time.perf_counter()
    pipe(texts, batch_size=batch_size, truncation=True)
    return len(texts) / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--teacher", required=True, help="run folder fine-tuned on DATA/train.csv")
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets" / "banking77"))
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--epochs", type=float, default=3)
    ap.add_argument("--student", help="reuse an already distilled student run instead of distilling")
    args = ap.parse_args()

    from desktop_app.core.compare import measure_run
    from desktop_app.core.data import load_labeled
    from desktop_app.core.distill import distill
    from desktop_app.core.inference import quiet_transformers
    from desktop_app.core.speed import sample_texts

    quiet_transformers()
    data = Path(args.data)
    train = load_labeled(data / "train.csv").data
    test = load_labeled(data / "test.csv").data
    student = Path(args.student) if args.student else Path(tempfile.mkdtemp()) / "student"
    distill_s = None
    if not args.student:
        t = time.perf_counter()
        distill(args.teacher, train, args.layers, student, args.epochs,
                on_event=lambda e: print(e.message, flush=True) if getattr(e, "kind", "") == "status" else None)
        distill_s = time.perf_counter() - t

    rows = []
    for role, run in (("teacher", Path(args.teacher)), ("student", student)):
        measured = measure_run(run, test)
        pipe = pipeline_docs_per_s(run / "model", sample_texts(test.texts, 512))
        for r in measured:
            rows.append({"model": role, **r, "pipeline_docs_per_s": pipe if r["variant"] == "fp32" else None})
        print(f"measured {role}", flush=True)

    base = rows[0]
    print(f"\nData: {data} (train {len(train)}, test {len(test)}); student: {args.layers} layers, "
          f"{args.epochs:g} epochs" + (f", distilled in {distill_s / 60:.1f} min" if distill_s else "") + "\n")
    print("| model | variant | test accuracy | macro-F1 | accuracy retained | CPU docs/s (batch 32) | speed-up | "
          "p50 / p95 ms (batch 1) | parameters | size MB | pipeline docs/s (fp32) | ours / pipeline |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        pipe = r["pipeline_docs_per_s"]
        pipe_cells = f"{pipe:.0f} | {r['docs_per_s_cpu'] / pipe:.2f}x" if pipe else "– | –"
        print(f"| {r['model']} | {r['variant']} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} | "
              f"{100 * r['accuracy'] / base['accuracy']:.1f}% | {r['docs_per_s_cpu']:.0f} | "
              f"{r['docs_per_s_cpu'] / base['docs_per_s_cpu']:.2f}x | {r['p50_ms']:.1f} / {r['p95_ms']:.1f} | "
              f"{r['parameters'] / 1e6:.1f}M | {r['size_mb']:.0f} | {pipe_cells} |")


if __name__ == "__main__":
    main()

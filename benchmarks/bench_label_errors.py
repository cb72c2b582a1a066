"""Finding wrong labels: inject random label changes, then measure what find-label-errors finds.

    python3 benchmarks/bench_label_errors.py [--datasets banking77,sms_spam] [--rows 5000] [--noise 0.02,0.05,0.10]
        [--learners logistic,knn,logistic+knn,auto,first-try] [--train-minutes 0] [--cli]

For each dataset (../shared/datasets/NAME/{train,test}.csv, read by path: nothing is copied into the
repository) a random sample of ``--rows`` training rows (seed 0) gets ``noise`` of its labels changed to
another category drawn at random. The features (the bundled model, three pooled layers) are computed once
per dataset (they do not depend on the labels), then for each noise level and learner: out-of-fold
probabilities (5 folds), cleanlab, and

- precision: share of the flagged rows whose label was changed; recall: share of the changed rows flagged;
- suggestion accuracy: share of the rightly flagged rows whose suggested label is the original one;
- seconds: features (once per dataset, added to every row) + out-of-fold + cleanlab;
- test accuracy of a model trained on the noisy rows, on the rows after accepting every suggestion, and on
  the clean rows. With ``--train-minutes 0`` (default) that model is a logistic regression on the same
  frozen features (seconds); with ``--train-minutes M`` it is ``classifier-studio train --time-budget M``
  (full fine-tuning, the app's defaults) followed by ``evaluate`` on the test file, for the ``auto`` learner.

``first-try`` is the issue's own first measurement: the last layer only and the few-shot head
(few_shot.out_of_fold_logits: L2 1e-3, scale 20). ``--cli`` also times the whole command
(``classifier-studio find-label-errors``) once per dataset at 5% noise.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from desktop_app.core import label_errors as le  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets"


def read(path: Path) -> tuple[list[str], list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [r["text"] for r in rows], [r["label"] for r in rows]


def inject(y: np.ndarray, n_classes: int, share: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noisy = y.copy()
    for i in rng.permutation(len(y))[: int(round(share * len(y)))]:
        noisy[i] = rng.choice([c for c in range(n_classes) if c != y[i]])
    return noisy


def features(texts: list[str], layers: int) -> tuple[np.ndarray, float]:
    """The features of the texts and the seconds they took (loading the bundled model included)."""
    from desktop_app.core.embeddings import Embedder

    t0 = time.monotonic()
    embedder = Embedder.load("default", "cpu")
    x = le.sentence_features(embedder, texts, layers=layers)
    return x, time.monotonic() - t0


def head_accuracy(x_train, y_train, x_test, y_test) -> float:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=le.LOGISTIC_C, max_iter=300).fit(x_train, y_train)
    return float((model.predict(x_test) == y_test).mean())


def write_csv(path: Path, texts, labels) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        w.writerows(zip(texts, labels))


def trained_accuracy(train_csv: Path, test_csv: Path, minutes: float, work: Path) -> tuple[float, float]:
    run = work / f"run-{train_csv.stem}"
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-m", "desktop_app", "train", str(train_csv), "--out", str(run),
                    "--time-budget", str(minutes), "--method", "fine-tune", "--json"], check=True, capture_output=True)
    seconds = time.monotonic() - t0
    out = subprocess.run([sys.executable, "-m", "desktop_app", "evaluate", str(run), str(test_csv), "--json"],
                         check=True, capture_output=True, text=True)
    return float(json.loads(out.stdout.strip().splitlines()[-1])["accuracy"]), seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default="banking77,sms_spam")
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--noise", default="0.02,0.05,0.10")
    ap.add_argument("--learners", default="logistic,knn,logistic+knn,auto,first-try")
    ap.add_argument("--folds", type=int, default=le.DEFAULT_FOLDS)
    ap.add_argument("--train-minutes", type=float, default=0.0)
    ap.add_argument("--cli", action="store_true")
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(2)
    learners = args.learners.split(",")
    results = []
    for name in args.datasets.split(","):
        texts_all, labels_all = read(DATASETS / name / "train.csv")
        test_texts, test_labels = read(DATASETS / name / "test.csv")
        pick = np.random.default_rng(0).permutation(len(texts_all))[: args.rows]
        texts = [texts_all[i] for i in pick]
        names = sorted(set(labels_all))
        index = {n: i for i, n in enumerate(names)}
        y_clean = np.array([index[labels_all[i]] for i in pick])
        y_test = np.array([index[label] for label in test_labels])
        x, feat_s = features(texts, le.FEATURE_LAYERS)
        x_test, _ = features(test_texts, le.FEATURE_LAYERS)
        x_last = None
        print(f"{name}: {len(texts)} rows, {len(names)} categories, features {feat_s:.1f} s", flush=True)
        for share in [float(s) for s in args.noise.split(",")]:
            y = inject(y_clean, len(names), share, seed=1)
            changed = y != y_clean
            fold = le.fold_of(y, args.folds, 0)
            cache: dict[str, tuple[np.ndarray, float]] = {}
            for learner in learners:
                t0 = time.monotonic()
                if learner == "first-try":
                    from desktop_app.core.few_shot import out_of_fold_logits
                    from desktop_app.core.metrics import softmax

                    if x_last is None:
                        x_last, _ = features(texts, 1)
                    p = softmax(out_of_fold_logits(x_last, y, len(names), folds=args.folds))
                    oof_s = time.monotonic() - t0
                elif learner in ("logistic", "knn"):
                    p = le.out_of_fold(x, y, len(names), learner, fold)
                    oof_s = time.monotonic() - t0
                    cache[learner] = (p, oof_s)
                else:
                    for part in ("logistic", "knn"):
                        if part not in cache:
                            t1 = time.monotonic()
                            cache[part] = (le.out_of_fold(x, y, len(names), part, fold), time.monotonic() - t1)
                    both = {"logistic": cache["logistic"][0], "knn": cache["knn"][0],
                            "logistic+knn": (cache["logistic"][0] + cache["knn"][0]) / 2}
                    chosen = learner if learner != "auto" else le.choose_learner(both, y)[0]
                    p = both[chosen]
                    oof_s = cache["logistic"][1] + cache["knn"][1]
                t1 = time.monotonic()
                order, quality = le.rank_issues(y, p)
                clean_s = time.monotonic() - t1
                flagged = np.zeros(len(y), bool)
                flagged[order] = True
                tp = flagged & changed
                suggested = np.array([index[le.suggestion(p[i], y[i], names, False)[0]] for i in np.flatnonzero(tp)])
                fixed = y.copy()
                for i in order:
                    fixed[i] = index[le.suggestion(p[i], y[i], names, False)[0]]
                row = {
                    "dataset": name, "rows": len(y), "noise": share, "changed": int(changed.sum()),
                    "learner": learner if learner != "auto" else f"auto ({chosen})", "flagged": int(flagged.sum()),
                    "precision": round(float(tp.sum() / max(1, flagged.sum())), 3),
                    "recall": round(float(tp.sum() / max(1, changed.sum())), 3),
                    "suggestion_accuracy": round(float((suggested == y_clean[tp]).mean()) if tp.any() else 0.0, 3),
                    "out_of_fold_accuracy_vs_original": round(float((p.argmax(1) == y_clean).mean()), 3),
                    "seconds": round(feat_s + oof_s + clean_s, 1),
                }
                if learner in ("auto", "logistic"):
                    row["test_accuracy_head"] = {
                        "noisy": round(head_accuracy(x, y, x_test, y_test), 4),
                        "suggestions_accepted": round(head_accuracy(x, fixed, x_test, y_test), 4),
                        "clean": round(head_accuracy(x, y_clean, x_test, y_test), 4)}
                if learner == "auto" and args.train_minutes > 0:
                    with tempfile.TemporaryDirectory() as tmp:
                        tmp = Path(tmp)
                        test_csv = DATASETS / name / "test.csv"
                        accs = {}
                        for tag, labels in (("noisy", y), ("suggestions_accepted", fixed), ("clean", y_clean)):
                            path = tmp / f"{tag}.csv"
                            write_csv(path, texts, [names[c] for c in labels])
                            accs[tag] = trained_accuracy(path, test_csv, args.train_minutes, tmp)[0]
                            print(f"  trained on {tag}: test accuracy {accs[tag]:.4f}", flush=True)
                        row["test_accuracy_trained"] = accs
                results.append(row)
                print(json.dumps(row), flush=True)
        if args.cli:
            with tempfile.TemporaryDirectory() as tmp:
                tmp = Path(tmp)
                y = inject(y_clean, len(names), 0.05, seed=1)
                write_csv(tmp / "noisy.csv", texts, [names[c] for c in y])
                t0 = time.monotonic()
                subprocess.run([sys.executable, "-m", "desktop_app", "find-label-errors", str(tmp / "noisy.csv"), "--out",
                                str(tmp / "suspects.csv"), "--json"], check=True, capture_output=True)
                seconds = time.monotonic() - t0
                with open(tmp / "suspects.csv", encoding="utf-8") as fh:
                    flagged_rows = [int(r["row"]) - 1 for r in csv.DictReader(fh)]
                changed = y != y_clean
                tp = int(changed[flagged_rows].sum())
                row = {"dataset": name, "cli_noise": 0.05, "cli_seconds": round(seconds, 1), "flagged": len(flagged_rows),
                       "precision": round(tp / max(1, len(flagged_rows)), 3), "recall": round(tp / max(1, changed.sum()), 3)}
                results.append(row)
                print(json.dumps(row), flush=True)
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

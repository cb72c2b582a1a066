"""Simulated labeling session: does the label-next queue need fewer labels than random order?

A labeled file plays the person: its known answers are "typed in" in the order the queue asks for
(margin + diversity, core/label_queue.py; zero-shot from the category names before any label) or in
random order. After every batch of labels, a classifier is fitted on the labels so far and its
accuracy measured on a held-out test file.

To keep a session within minutes on a CPU, the classifier here is the few-shot head alone
(logistic regression, core/few_shot.fit_head) on the bundled model's embeddings, computed once;
the Label page additionally fine-tunes the embeddings, which lifts both curves.

    python benchmarks/bench_few_labels.py --train ../shared/datasets/banking77/train.csv \\
        --test ../shared/datasets/banking77/test.csv --pool 3000 --test-rows 1000 --batch 25 --max-labels 500
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desktop_app.core.embeddings import Embedder  # noqa: E402
from desktop_app.core.few_shot import fit_head  # noqa: E402
from desktop_app.core.label_queue import centroid_proba, label_order  # noqa: E402
from desktop_app.core.metrics import softmax  # noqa: E402
from desktop_app.core.zero_shot import parse_categories  # noqa: E402


def read(path: str, rows: int, seed: int) -> tuple[list[str], list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        data = [(r["text"], r["label"]) for r in csv.DictReader(fh)]
    order = np.random.default_rng(seed).permutation(len(data))[:rows]
    return [data[i][0] for i in order], [data[i][1] for i in order]


def session(strategy: str, vectors: np.ndarray, y: np.ndarray, test_vectors: np.ndarray, test_y: np.ndarray,
            names: list[str], embedder: Embedder, batch: int, max_labels: int, seed: int) -> list[tuple[int, float]]:
    """[(labels so far, test accuracy)] for one simulated person labeling in ``strategy`` order."""
    rng = np.random.default_rng(seed)
    categories = parse_categories(names)
    labeled: list[int] = []
    curve: list[tuple[int, float]] = []
    random_order = rng.permutation(len(y)).tolist()
    while len(labeled) < max_labels:
        open_ = np.setdiff1d(np.arange(len(y)), labeled)
        if strategy == "random":
            picks = [i for i in random_order if i not in set(labeled)][:batch]
        else:
            present = sorted(set(y[labeled].tolist()))
            if len(present) == len(names):  # every category labeled: the head's probabilities
                weight, bias = fit_head(vectors[labeled], y[labeled], len(names))
                probs = softmax(20.0 * (vectors[open_] @ weight.T + bias))
            else:  # centroids of the labeled categories, names for the others (zero-shot at the start)
                probs = centroid_proba(vectors[open_], categories, vectors[labeled], [names[c] for c in y[labeled]], embedder)
            missing = [c for c in range(len(names)) if c not in set(present)]
            picks = [int(open_[i]) for i in label_order(probs, vectors[open_], batch, missing)]
        labeled += picks
        present = sorted(set(y[labeled].tolist()))
        if len(present) < 2:
            curve.append((len(labeled), float(np.mean(test_y == present[0]))))
            continue
        # the head knows only the categories labeled so far; map its classes back to all categories
        remap = np.array(present)
        weight, bias = fit_head(vectors[labeled], np.searchsorted(remap, y[labeled]), len(present))
        predicted = remap[(test_vectors @ weight.T + bias).argmax(1)]
        curve.append((len(labeled), float(np.mean(predicted == test_y))))
    return curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", required=True, help="labeled file playing the person (text,label)")
    parser.add_argument("--test", required=True, help="labeled file for the accuracy")
    parser.add_argument("--pool", type=int, default=3000, help="unlabeled texts to choose from")
    parser.add_argument("--test-rows", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=25, help="labels between retrains")
    parser.add_argument("--max-labels", type=int, default=500)
    parser.add_argument("--seeds", type=int, default=3, help="random-order sessions to average")
    parser.add_argument("--model", default="default")
    parser.add_argument("--json", metavar="FILE", help="also write the curves here")
    args = parser.parse_args()

    start = time.time()
    texts, labels = read(args.train, args.pool, 0)
    test_texts, test_labels = read(args.test, args.test_rows, 1)
    names = sorted(set(labels) | set(test_labels))
    y = np.array([names.index(l) for l in labels])
    test_y = np.array([names.index(l) for l in test_labels])
    embedder = Embedder.load(args.model)
    vectors, test_vectors = embedder.embed(texts), embedder.embed(test_texts)
    print(f"embedded {len(texts)} pool and {len(test_texts)} test texts in {time.time() - start:.0f}s", flush=True)

    queue = session("queue", vectors, y, test_vectors, test_y, names, embedder, args.batch, args.max_labels, 0)
    randoms = [session("random", vectors, y, test_vectors, test_y, names, embedder, args.batch, args.max_labels, s)
               for s in range(args.seeds)]
    random_mean = [(n, float(np.mean([r[k][1] for r in randoms]))) for k, (n, _) in enumerate(randoms[0])]
    target = random_mean[-1][1]
    reached = next((n for n, acc in queue if acc >= target), None)
    print(f"\n| labels | queue | random (mean of {args.seeds}) |\n|---|---|---|")
    for (n, q), (_, r) in zip(queue, random_mean):
        print(f"| {n} | {q:.3f} | {r:.3f} |")
    print(f"\nrandom order reaches {target:.3f} with {random_mean[-1][0]} labels; the queue reaches it with "
          f"{reached if reached is not None else 'more than ' + str(queue[-1][0])} labels "
          f"({time.time() - start:.0f}s in all)")
    if args.json:
        Path(args.json).write_text(json.dumps({"queue": queue, "random": random_mean, "target": target, "queue_reaches_at": reached,
                                               "args": vars(args)}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

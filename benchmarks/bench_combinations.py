"""Issue #22's combinations on stand-in data (no BBC News or emotions dataset here, no network).

    python benchmarks/bench_combinations.py make OUT_DIR     # writes the stand-in CSVs into OUT_DIR (outside the repo)
    python benchmarks/bench_combinations.py score RUN TEST.csv   # multi-label: exact match and labels per text on new texts

Stand-ins, built from ../shared/datasets/banking77 by path (no dataset text is copied into the repository):

- long_150.csv: "BBC-like" long articles, 5 topics x 30 documents. Each document is banking77 texts (train
  and test) of one topic (top-up, exchange, cash, transfer, identity & security: intents grouped by their names)
  joined until it reaches 400-600 tokens of the bundled model's tokenizer. With 30 per topic `auto`
  picks few-shot, as for the 150 BBC articles.
- ml_600.csv / ml_test.csv: 28 labels, about 1.2 per text. The 77 intents, sorted by name, are cut
  into 28 groups of 2-3 neighbouring intents (similar names: card_arrival + card_delivery_estimate ...);
  a row is one banking77 text with its group's label, and one row in five is two texts of different
  groups joined, with both labels. 600 training rows from train.csv, 300 test rows from test.csv.

Commands and measurements: docs/COMBINATIONS.md (or the report of the commit that added this file).
"""

from __future__ import annotations

import csv
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BANKING = ROOT.parent / "shared" / "datasets" / "banking77"

TOPICS = [("top-up", ("top_up", "topping_up")), ("exchange", ("exchange", "currency", "fiat")),
          ("cash", ("cash", "atm")), ("transfer", ("transfer",)),
          ("identity and security", ("verify", "identity", "pin", "passcode", "compromised", "lost_or_stolen"))]


def _rows(name: str) -> list[dict]:
    with (BANKING / name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def topic_of(intent: str) -> str | None:
    for topic, keys in TOPICS:
        if any(k in intent for k in keys):
            return topic
    return None


def make_long(out: Path, per_topic: int = 30, seed: int = 0) -> Path:
    from desktop_app.core.model_files import load_tokenizer
    from desktop_app.core.models import resolve_model

    tok = load_tokenizer(resolve_model("default"))
    rng = random.Random(seed)
    by_topic: dict[str, list[str]] = {}
    for r in _rows("train.csv") + _rows("test.csv"):  # ~35 texts a document: train.csv alone runs short for some topics
        t = topic_of(r["label"])
        if t:
            by_topic.setdefault(t, []).append(r["text"])
    rows = []
    for topic, texts in by_topic.items():
        rng.shuffle(texts)

        def cycle(texts=texts):
            while True:  # a topic with fewer texts than its 30 documents need uses some twice (in other documents)
                yield from texts
                rng.shuffle(texts)

        pool = cycle()
        for _ in range(per_topic):
            target = rng.randint(400, 600)
            parts: list[str] = []
            while len(tok(" ".join(parts))["input_ids"]) < target:
                parts.append(next(pool).strip())
            rows.append({"text": " ".join(parts), "label": topic})
    rng.shuffle(rows)
    path = out / "long_150.csv"
    _write(path, rows)
    lengths = [len(tok(r["text"])["input_ids"]) for r in rows]
    print(f"{path}: {len(rows)} documents, {min(lengths)}-{max(lengths)} tokens (mean {sum(lengths) / len(lengths):.0f}), "
          f"{per_topic} per topic, topics {sorted(by_topic)}")
    return path


def groups() -> dict[str, str]:
    intents = sorted({r["label"] for r in _rows("train.csv")})
    n = 28
    out = {}
    for g in range(n):
        chunk = intents[g * len(intents) // n:(g + 1) * len(intents) // n]
        for intent in chunk:
            out[intent] = f"g{g + 1:02d}_{chunk[0].lower().rstrip('?')}"
    return out


def make_multilabel(out: Path, name: str, source: str, n: int, seed: int) -> Path:
    rng = random.Random(seed)
    group = groups()
    rows_in = _rows(source)
    rng.shuffle(rows_in)
    pool = iter(rows_in)
    rows = []
    while len(rows) < n:
        a = next(pool)
        if rng.random() < 0.2:
            b = next(pool)
            while group[b["label"]] == group[a["label"]]:
                b = next(pool)
            rows.append({"text": a["text"].strip() + " " + b["text"].strip(),
                         "label": ";".join(sorted({group[a["label"]], group[b["label"]]}))})
        else:
            rows.append({"text": a["text"].strip(), "label": group[a["label"]]})
    path = out / name
    _write(path, rows)
    per = sum(len(r["label"].split(";")) for r in rows) / len(rows)
    print(f"{path}: {len(rows)} rows, {len({l for r in rows for l in r['label'].split(';')})} labels, {per:.2f} per text")
    return path


def _write(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["text", "label"])
        w.writeheader()
        w.writerows(rows)


def score(run: Path, test: Path) -> dict:
    """Exact match (whole label set right) and labels given per text on new texts."""
    from desktop_app.core.data import load_labeled
    from desktop_app.core.evaluate import evaluate

    data = load_labeled(test, multi_label=True, label_separator=";").data
    m = evaluate(run, data, device="cpu").metrics
    per = m["per_label"]
    given = sum(r["predicted"] for r in per.values()) / m["n"]
    carried = sum(r["support"] for r in per.values()) / m["n"]
    out = {"n": m["n"], "exact_match": round(m["exact_match"], 4), "micro_f1": round(m["micro_f1"], 4),
           "macro_f1": round(m["macro_f1"], 4), "labels_per_text": round(given, 2), "true_labels_per_text": round(carried, 2)}
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "make":
        out = Path(sys.argv[2])
        out.mkdir(parents=True, exist_ok=True)
        make_long(out)
        make_multilabel(out, "ml_600.csv", "train.csv", 600, seed=1)
        make_multilabel(out, "ml_test.csv", "test.csv", 300, seed=2)
    elif len(sys.argv) == 4 and sys.argv[1] == "score":
        score(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        sys.exit(__doc__)

"""Long documents: overlapping windows over token ids, their combination, the choice on validation,
training and predicting in long-document mode, and which window drove a prediction."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from desktop_app.core import batching
from desktop_app.core import long_documents as ld
from desktop_app.core.errors import UserInputError


def test_windows_cover_the_text_with_overlap_and_keep_special_tokens():
    ids = np.asarray([101] + list(range(1, 51)) + [102])  # [CLS] 50 tokens [SEP]
    parts = ld.windows(ids, 16, 1, 1, overlap=0.25)
    assert all(len(p) <= 16 and p[0] == 101 and p[-1] == 102 for p in parts)
    content = [p[1:-1].tolist() for p in parts]
    assert content[0][0] == 1 and content[-1][-1] == 50  # start and end both read
    assert sorted({t for c in content for t in c}) == list(range(1, 51))  # nothing lost
    assert set(content[0]) & set(content[1])  # neighbours overlap
    assert [p.tolist() for p in ld.windows(ids[:10], 16, 1, 1)] == [ids[:10].tolist()]  # a short text is one window
    flat, doc = ld.split_all([ids, ids[:10]], 16, 1, 1)
    assert len(flat) == len(parts) + 1 and doc.tolist() == [0] * len(parts) + [1]
    assert len(ld.windows(ids, 16, 1, 1, max_windows=2)) == 2


def test_special_tokens_of_real_tokenizers(tiny_models):
    from transformers import AutoTokenizer

    assert batching.special_layout(AutoTokenizer.from_pretrained(tiny_models["bert"])) == (1, 1)
    assert batching.special_layout(AutoTokenizer.from_pretrained(tiny_models["roberta"])) == (1, 1)


def test_combinations_and_choice_on_validation():
    logits = np.array([[2.0, 0.0], [0.0, 1.0], [0.0, 4.0], [1.0, 0.0]])
    doc = np.array([0, 0, 0, 1])
    np.testing.assert_allclose(ld.combine(logits, doc, 2, "mean"), [[2 / 3, 5 / 3], [1, 0]], rtol=1e-6)
    np.testing.assert_allclose(ld.combine(logits, doc, 2, "max"), [[2, 4], [1, 0]])
    np.testing.assert_allclose(ld.combine(logits, doc, 2, "first"), [[2, 0], [1, 0]])  # what truncation reads
    att = ld.combine(logits, doc, 2, "attention")
    assert att[0, 1] > ld.combine(logits, doc, 2, "mean")[0, 1]  # the confident window counts most
    np.testing.assert_allclose(att[1], [1, 0])
    tie = ld.choose_combination(logits, doc, 2, lambda d: 1.0)
    assert tie[0] == "first"  # when validation cannot tell them apart, reading the start wins
    truth = np.array([1, 0])
    method, best, scores = ld.choose_combination(logits, doc, 2, lambda d: float((d.argmax(1) == truth).mean()))
    assert set(scores) == set(ld.METHODS) and scores[method] == max(scores.values())
    assert ld.driving_window(logits[:3], [1], "mean", False) == 2
    assert ld.driving_window(logits[:3], [0], "max", False) == 0


def test_auto_switches_on_for_a_meaningful_share_only():
    assert ld.decide("auto", [10] * 70 + [600] * 30, 512)[0]
    assert not ld.decide("auto", [10] * 90 + [600] * 10, 512)[0]
    assert ld.decide("on", [10], 512) == (True, "set by you")
    assert ld.decide("auto", [10], 512, recorded="on")[0]
    with pytest.raises(UserInputError, match="--long-documents"):
        ld.decide("sometimes", [10], 512)
    report = ld.length_report([10, 20, 700, 900], 128, 512)
    assert report.over_max_length == 2 and report.over_model_max == 2 and report.long_documents
    assert "2 of 4 texts" in report.message


def _long_rows():
    topics = {"billing": "invoice refund charge card payment", "shipping": "parcel tracking courier address late"}
    filler = "hello there thanks for the help today "
    rows = []
    for i in range(24):
        label = "billing" if i % 2 else "shipping"
        # the telling words sit at the end, beyond the first window
        rows.append({"text": filler * (2 + i % 2) + topics[label], "label": label})
    return rows


def test_training_and_prediction_in_long_document_mode(tiny_models, tmp_path):
    from desktop_app.core.data import load_labeled
    from desktop_app.core.inference import Classifier
    from desktop_app.core.predict import predict_file
    from desktop_app.core.settings import TrainSettings
    from desktop_app.core.training import TrainJob, train

    path = tmp_path / "long.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["text", "label"])
        w.writeheader()
        w.writerows(_long_rows())
    data = load_labeled(path).data
    run = tmp_path / "run"
    train(TrainJob(train=data, out_dir=run, model=str(tiny_models["bert"]), long_documents="on",
                   settings=TrainSettings(epochs=1, max_length=16, learning_rate=5e-3)))
    record = json.loads((run / "run.json").read_text())
    long = record["long_documents"]
    assert long["mode"] == "on" and long["window"] == 16 and long["combine"] in ld.METHODS
    assert set(long["combine_scores"]) == set(ld.METHODS) and long["texts_longer_than_window"] > 0
    assert json.loads((run / "model" / "config.json").read_text())["classifier_studio"]["long_documents"]["combine"] == long["combine"]

    clf = Classifier.load(run, engine="torch")
    assert clf.recorded_long == "on" and clf.combine_method == long["combine"]
    out = tmp_path / "pred.csv"
    summary = predict_file(clf, path, out)
    assert summary["long_documents"]["longer_than_window"] == 24 and summary["long_documents"]["mode"] == "on"
    clf.combine_method = "mean"  # the tiny model ties on validation, which keeps "first" (= the cut text)
    windowed = clf.predict_proba([data.texts[0]])
    clf.long_documents = "off"
    cut = clf.predict_proba([data.texts[0]])
    assert not np.allclose(windowed, cut)  # off reads only the first window
    clf.long_documents = "auto"

    exp = ld.explain(clf, data.texts[0])
    assert exp.long and len(exp.windows) > 1 and 0 <= exp.driver < len(exp.windows)
    assert exp.windows[0].start_char == 0 and exp.windows[-1].end_char == len(data.texts[0])
    assert all(w.text == data.texts[0][w.start_char:w.end_char] for w in exp.windows)
    assert exp.label in clf.labels and exp.probabilities[exp.label] == pytest.approx(windowed[0].max(), abs=1e-5)
    short = ld.explain(clf, "refund")
    assert not short.long and short.driver == 0


def test_predict_reports_long_documents_of_a_short_text_run(tiny_models, small_csv, tmp_path, sample_csv):
    """A run trained without long-document mode cuts long texts as before, and says how many it cut."""
    from desktop_app.core.data import load_labeled
    from desktop_app.core.evaluate import evaluate
    from desktop_app.core.settings import TrainSettings
    from desktop_app.core.training import TrainJob, train

    data = load_labeled(small_csv).data
    run = tmp_path / "run"
    train(TrainJob(train=data, out_dir=run, model=str(tiny_models["distilbert"]), long_documents="off",
                   settings=TrainSettings(epochs=1, max_length=16)))
    assert json.loads((run / "run.json").read_text())["long_documents"]["mode"] == "off"
    result = evaluate(run, data)
    assert result.long_documents["mode"] == "off" and result.long_documents["longer_than_window"] > 0
    assert "--long-documents on" in result.long_documents["message"]
    on = evaluate(run, data, long_documents="on")
    assert on.long_documents["mode"] == "on" and on.metrics["n"] == result.metrics["n"]


@pytest.mark.parametrize("fmt", ["onnx", "hf"])
def test_exported_predict_script_reads_long_texts_in_windows_like_the_app(fmt, tiny_models, tmp_path):
    """The standalone predict.py of an export gives the app's answers on long texts (windows, combination),
    not the answers of the first window; the ONNX one without torch or transformers."""
    import subprocess
    import sys

    from desktop_app.core.data import load_labeled
    from desktop_app.core.export import export_run
    from desktop_app.core.inference import Classifier
    from desktop_app.core.settings import TrainSettings
    from desktop_app.core.training import TrainJob, train
    from tests.core.test_onnx import BLOCKER

    path = tmp_path / "long.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["text", "label"])
        w.writeheader()
        w.writerows(_long_rows())
    run = tmp_path / "run"
    train(TrainJob(train=load_labeled(path).data, out_dir=run, model=str(tiny_models["bert"]), long_documents="on",
                   settings=TrainSettings(epochs=1, max_length=16, learning_rate=1e-6)))  # still random: answers vary by window
    out = tmp_path / "export"
    summary = export_run(run, fmt, out)
    meta = json.loads((out / "labels.json").read_text())
    assert meta["long_documents"]["mode"] == "on" and meta["special_tokens"] == [1, 1]
    assert "overlapping windows" in (out / "README.md").read_text() and summary["long_documents"]["mode"] == "on"

    result = tmp_path / "out.csv"
    command = [sys.executable, "-I", "-c", BLOCKER] if fmt == "onnx" else [sys.executable]
    proc = subprocess.run([*command, str(out / "predict.py"), str(path), str(result)], capture_output=True, text=True,
                          timeout=180, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = list(csv.DictReader(result.open(encoding="utf-8")))
    clf = Classifier.load(run, engine="torch")
    texts = [r["text"] for r in rows]
    app = clf.predict_proba(texts)
    script = np.asarray([[float(r[f"prob_{label}"]) for label in clf.labels] for r in rows])
    np.testing.assert_allclose(script, app, atol=5e-5)


def test_the_predict_script_cuts_windows_and_combines_exactly_as_the_app():
    """predict.py carries its own copy of the window code (it must run without the app): same windows, same
    cut, same combinations as long_documents and batching, on random token ids."""
    from desktop_app.core.export import PREDICT_SCRIPTS

    script: dict = {"__file__": "predict.py"}
    exec(compile(PREDICT_SCRIPTS["onnx"], "predict.py", "exec"), script)  # defines functions only (main is guarded)
    rng = np.random.default_rng(0)
    for n in (5, 16, 17, 40, 300, 2000):
        ids = [101] + rng.integers(1000, 2000, n).tolist() + [102]
        for window in (8, 16, 64):
            ours = [w.tolist() for w in ld.windows(np.asarray(ids), window, 1, 1)]
            assert script["windows_of"](ids, window, 1, 1, ld.OVERLAP, ld.MAX_WINDOWS) == ours
            assert script["cut"](ids, window, 1, 1) == batching._cut(np.asarray(ids), window, (1, 1)).tolist()
    logits = rng.normal(size=(5, 3))
    for method in ld.METHODS:
        for multi in (False, True):
            expected = ld.combine(logits, np.zeros(5, dtype=np.int64), 1, method, multi)[0]
            np.testing.assert_allclose(script["combine"](logits, method, multi), expected, rtol=1e-5, atol=1e-6)


def test_plenty_of_short_single_label_texts_train_exactly_as_before(tiny_models, tmp_path):
    """#15's promise for sets like sms_spam and banking77: with short texts, one label each and more than
    FEW_SHOT_UP_TO per category, the default (auto method, auto long documents) is the plain fine-tune
    with truncation: the same settings, the same metrics and the same weights, bit for bit."""
    from safetensors.numpy import load_file

    from desktop_app.core.data import LabeledData
    from desktop_app.core.defaults import FEW_SHOT_UP_TO
    from desktop_app.core.methods import train_with_method
    from desktop_app.core.settings import TrainSettings
    from desktop_app.core.training import TrainJob, train

    words = {"billing": "invoice refund charge", "shipping": "parcel courier late"}
    texts = [f"{w} {i}" for label, w in words.items() for i in range(FEW_SHOT_UP_TO + 6)]
    labels = [label for label in words for _ in range(FEW_SHOT_UP_TO + 6)]
    data = LabeledData(texts=texts, labels=labels, rows=list(range(2, len(texts) + 2)), source="short.csv")
    settings = TrainSettings(epochs=1, max_length=16, batch_size=16)
    default = train_with_method(TrainJob(train=data, out_dir=tmp_path / "default", model=str(tiny_models["bert"]),
                                         settings=settings), "auto")
    plain = train(TrainJob(train=data, out_dir=tmp_path / "plain", model=str(tiny_models["bert"]), settings=settings,
                           long_documents="off"))
    record = json.loads((tmp_path / "default" / "run.json").read_text())
    assert record["method"] == "fine-tune" and record["long_documents"]["mode"] == "off"
    assert record.get("problem_type") in (None, "single_label_classification")
    assert default.settings == plain.settings
    assert default.final_metrics["accuracy"] == plain.final_metrics["accuracy"]
    a = load_file(str(tmp_path / "default" / "model" / "model.safetensors"))
    b = load_file(str(tmp_path / "plain" / "model" / "model.safetensors"))
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)

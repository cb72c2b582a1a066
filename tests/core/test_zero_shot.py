"""Zero-shot: categories from their names alone; predict's output columns, spreadsheet-safe."""

from __future__ import annotations

import argparse
import csv

import numpy as np
import pytest

from desktop_app.core.errors import UserInputError
from desktop_app.core.outputs import safe_cell as spreadsheet_safe
from desktop_app.core.zero_shot import Category, ZeroShotClassifier, parse_categories, predict_file


@pytest.fixture(scope="module")
def zero_shot(tiny_models):
    return ZeroShotClassifier.load("billing_refund,delivery late: parcel tracking,login password", model=tiny_models["bert"], device="cpu")


def test_categories_parse_names_and_descriptions():
    cats = parse_categories("World, Sports ,Sci/Tech: science and technology news")
    assert [c.name for c in cats] == ["World", "Sports", "Sci/Tech"]
    assert cats[2].prompt == "Sci/Tech: science and technology news"
    assert Category("card_arrival").prompt == "card arrival"


@pytest.mark.parametrize("spec", ["Only", "A,A,B", " , "])
def test_bad_category_lists_are_refused_with_a_fix(spec):
    with pytest.raises(UserInputError) as err:
        parse_categories(spec)
    assert "comma" in err.value.fix


def test_spreadsheet_safe_neutralises_formulas():
    assert spreadsheet_safe("=SUM(A1:A9)") == "'=SUM(A1:A9)"
    assert spreadsheet_safe("@cmd") == "'@cmd" and spreadsheet_safe("\tx") == "'\tx"
    assert spreadsheet_safe("plain text") == "plain text" and spreadsheet_safe(None) == ""


def test_text_equal_to_a_category_name_gets_that_category(zero_shot):
    probs = zero_shot.predict_proba(["billing refund", "delivery late: parcel tracking", "login password"])
    assert probs.shape == (3, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert probs.argmax(axis=1).tolist() == [0, 1, 2]
    assert zero_shot.labels == ["billing_refund", "delivery late", "login password"]


def test_lower_temperature_makes_it_more_confident(zero_shot):
    vectors = zero_shot.embedder.embed(["please refund the double charge"])
    sharp = ZeroShotClassifier(zero_shot.embedder, zero_shot.categories, temperature=0.01).proba_from_embeddings(vectors)
    soft = ZeroShotClassifier(zero_shot.embedder, zero_shot.categories, temperature=1.0).proba_from_embeddings(vectors)
    assert sharp.max() > soft.max()


def test_predict_file_writes_predict_columns_safely(zero_shot, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("id,text\n1,billing refund\n2,=HYPERLINK(\"http://x\")\n3,login password\n", encoding="utf-8")
    before = src.read_bytes()
    out = tmp_path / "out.csv"
    summary = predict_file(zero_shot, src, out)
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert summary["rows"] == 3 and src.read_bytes() == before
    assert list(rows[0]) == ["id", "text", "predicted_label", "confidence", "prob_billing_refund", "prob_delivery late", "prob_login password"]
    assert rows[0]["predicted_label"] == "billing_refund" and rows[2]["predicted_label"] == "login password"
    assert rows[1]["text"].startswith("'=")
    assert abs(sum(float(rows[0][f"prob_{l}"]) for l in zero_shot.labels) - 1) < 1e-3
    with pytest.raises(UserInputError):
        predict_file(zero_shot, src, src)


def test_cli_entry_classifies_from_names(tiny_models, tmp_path, monkeypatch, capsys):
    from desktop_app.cli import zero_shot as cli_zero_shot
    from desktop_app.core import zero_shot as core_zero_shot

    original = core_zero_shot.ZeroShotClassifier.load
    monkeypatch.setattr(core_zero_shot.ZeroShotClassifier, "load",
                        classmethod(lambda cls, spec, device="auto": original(spec, model=tiny_models["bert"], device="cpu")))
    src = tmp_path / "in.txt"
    src.write_text("billing refund\nlogin password\n", encoding="utf-8")
    args = argparse.Namespace(zero_shot="billing refund,login password", input=str(src), out=str(tmp_path / "o.csv"),
                              text_column=None, device="cpu", batch_size=8)
    assert cli_zero_shot.run_zero_shot(args) == 0
    assert "billing refund: 1" in capsys.readouterr().out


def test_predict_arguments_wire_to_zero_shot(tiny_models, tmp_path, monkeypatch):
    """The three lines cli/predict.py needs: RUN_DIR optional, --zero-shot, hand over."""
    from desktop_app.cli import zero_shot as cli_zero_shot
    from desktop_app.core import zero_shot as core_zero_shot

    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir", nargs="?")
    parser.add_argument("input")
    parser.add_argument("--out", required=True)
    parser.add_argument("--zero-shot")
    args = parser.parse_args(["--zero-shot", "World,Sports", "in.csv", "--out", "o.csv"])
    assert args.run_dir is None and args.input == "in.csv" and args.zero_shot == "World,Sports"
    with pytest.raises(UserInputError, match="not both"):
        cli_zero_shot.run_zero_shot(parser.parse_args(["run", "in.csv", "--out", "o.csv", "--zero-shot", "A,B"]))
    with pytest.raises(UserInputError, match="Nothing to classify"):
        cli_zero_shot.run_zero_shot(parser.parse_args(["in.csv", "--out", "o.csv"]))


def test_cli_messages_say_what_was_read(tiny_models, tmp_path, monkeypatch, capsys):
    """Empty --zero-shot, one category (semicolons), a header-only file: each says what it read, exit 2,
    and nothing is written."""
    from desktop_app.cli.app import main
    from desktop_app.core import zero_shot as core_zero_shot

    original = core_zero_shot.ZeroShotClassifier.load
    monkeypatch.setattr(core_zero_shot.ZeroShotClassifier, "load",
                        classmethod(lambda cls, spec, device="auto": original(spec, model=tiny_models["bert"], device="cpu")))
    src = tmp_path / "in.csv"
    src.write_text("text\nbilling refund\n", encoding="utf-8")
    out = tmp_path / "o.csv"
    assert main(["predict", "--zero-shot", "", str(src), "--out", str(out)]) == 2
    assert "--zero-shot was given no category names" in capsys.readouterr().err
    assert main(["predict", "--zero-shot", "billing;shipping", str(src), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "read 1: 'billing;shipping'" in err and "not semicolons" in err
    empty = tmp_path / "empty.csv"
    empty.write_text("text\n", encoding="utf-8")
    assert main(["predict", "--zero-shot", "billing,login", str(empty), "--out", str(out)]) == 2
    assert "'empty.csv' has a header but no rows" in capsys.readouterr().err
    assert not out.exists()

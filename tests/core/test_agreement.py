"""Annotator agreement: our figures against reference computations (statsmodels, krippendorff), on tiny files."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from desktop_app.core import agreement as ag

ANNA = ["Billing", "Billing", "Account", "Billing", "Account", "Other", "Billing", "Account", "Other", "Billing",
        "Account", "Billing"]
BEN = ["Billing", "Billing", "Account", "Account", "Other", "Other", "Billing", "Account", "Billing", "Billing",
       "Account", "Billing"]
CARA = ["Billing", "Account", "Account", "Billing", "Account", "Other", "Billing", "Other", "Other", "Billing",
        None, "Billing"]


def _wide(tmp_path):
    path = tmp_path / "three.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label_anna", "label_ben", "label_cara"])
        for i, row in enumerate(zip(ANNA, BEN, CARA)):
            w.writerow([f"text number {i}", *[v or "" for v in row]])
    return path


def test_cohen_kappa_matches_statsmodels():
    from statsmodels.stats.inter_rater import cohens_kappa, to_table

    cats = sorted(set(ANNA) | set(BEN))
    table = to_table(np.array([[cats.index(a), cats.index(b)] for a, b in zip(ANNA, BEN)]), bins=len(cats))[0]
    assert ag.cohen_kappa(ANNA, BEN) == pytest.approx(cohens_kappa(table).kappa, abs=1e-12)


def test_fleiss_kappa_matches_statsmodels_on_complete_ratings():
    from statsmodels.stats.inter_rater import fleiss_kappa

    ratings = ag.ratings_from_columns([f"t{i}" for i in range(11)], {"a": ANNA[:10] + ANNA[11:], "b": BEN[:10] + BEN[11:],
                                                                     "c": CARA[:10] + CARA[11:]})
    counts = ag.count_table(ratings)
    assert ag.fleiss_kappa(counts) == pytest.approx(fleiss_kappa(counts, method="fleiss"), abs=1e-12)


def test_krippendorff_alpha_matches_the_reference_with_a_missing_rating():
    import krippendorff

    ratings = ag.ratings_from_columns([f"t{i}" for i in range(12)], {"a": ANNA, "b": BEN, "c": CARA})
    cats = ratings.categories()
    reliability = np.array([[np.nan if v is None else cats.index(v) for v in col] for col in (ANNA, BEN, CARA)], float)
    ours = ag.krippendorff_alpha(ag.count_table(ratings))
    assert ours == pytest.approx(krippendorff.alpha(reliability_data=reliability, level_of_measurement="nominal"), abs=1e-12)


def test_wide_file_report_in_words_and_majority(tmp_path):
    from desktop_app.core.data import read_table

    table = read_table(_wide(tmp_path))
    columns = ag.find_annotator_columns(table.columns)
    assert columns == ["label_anna", "label_ben", "label_cara"]
    ratings = ag.ratings_from_columns(table.column("text"), {c: table.column(c) for c in columns}, table.row_numbers)
    assert ratings.annotators == ["anna", "ben", "cara"]
    report = ag.agreement(ratings)
    assert set(report.pairs) == {("anna", "ben"), ("anna", "cara"), ("ben", "cara")}
    assert report.pair_texts[("anna", "cara")] == 11
    words = " ".join(report.sentences())
    assert "Annotators agree on 'Billing'" in words and "Krippendorff's alpha" in words
    # Billing is the clearest category here, Other the least clear
    assert report.per_category["Billing"] > report.per_category["Other"]
    votes = ag.majority(ratings)
    assert votes[0].label == "Billing" and votes[0].votes == 3
    # row 10 (index 10): Account, Account, missing -> Account; index 4: Account, Other, Account -> Account
    assert votes[4].label == "Account"
    assert votes[10].label == "Account" and votes[10].raters == 2


def test_ties_are_listed_for_review():
    ratings = ag.ratings_from_columns(["a", "b"], {"x": ["Billing", "Billing"], "y": ["Account", "Billing"]})
    votes = ag.majority(ratings)
    assert votes[0].label is None and votes[0].tied == ["Account", "Billing"]
    assert votes[1].label == "Billing" and votes[1].tied == []


def test_long_format_equals_wide_format():
    texts, who, labels = [], [], []
    for i, row in enumerate(zip(ANNA, BEN, CARA)):
        for name, label in zip(("anna", "ben", "cara"), row):
            if label is not None:
                texts.append(f"text {i}")
                who.append(name)
                labels.append(label)
    long = ag.agreement(ag.ratings_from_long(texts, who, labels))
    wide = ag.agreement(ag.ratings_from_columns([f"text {i}" for i in range(12)], {"anna": ANNA, "ben": BEN, "cara": CARA}))
    assert long.alpha == pytest.approx(wide.alpha)
    assert long.pairs[("anna", "ben")] == pytest.approx(wide.pairs[("anna", "ben")])


def test_one_annotator_is_a_plain_error():
    from desktop_app.core.errors import UserInputError

    with pytest.raises(UserInputError) as err:
        ag.ratings_from_long(["a", "b"], ["anna", "anna"], ["x", "y"])
    assert "two annotators" in str(err.value)


def test_cli_wide_file_writes_the_majority_and_lists_ties(tmp_path, capsys):
    import json

    from desktop_app.cli.app import main

    src = _wide(tmp_path)
    with open(src, "a", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerow(["=a tied text", "Billing", "Account", ""])
    out = tmp_path / "majority.csv"
    assert main(["agreement", str(src), "--out", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["ties"] == 1 and set(summary["cohen_kappa"]) == {"anna|ben", "anna|cara", "ben|cara"}
    assert "Annotators agree on" in captured.out
    assert "row 13: Account or Billing" in captured.err  # data row 13 (header not counted)
    with open(out, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["label"] == "Billing" and rows[-1]["label"] == "" and rows[-1]["tied_labels"] == "Account; Billing"
    assert rows[-1]["text"].startswith("'=")  # spreadsheet-safe


def test_cli_long_file_and_a_file_without_annotators(tmp_path, capsys):
    from desktop_app.cli.app import main

    long = tmp_path / "long.csv"
    with open(long, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "annotator", "label"])
        for i, row in enumerate(zip(ANNA, BEN)):
            for name, label in zip(("anna", "ben"), row):
                w.writerow([f"text {i}", name, label])
    assert main(["agreement", str(long)]) == 0
    assert f"anna and ben: Cohen's kappa {ag.cohen_kappa(ANNA, BEN):.2f}" in capsys.readouterr().out
    plain = tmp_path / "plain.csv"
    plain.write_text("text,label\na,x\nb,y\n", encoding="utf-8")
    assert main(["agreement", str(plain)]) == 2
    assert "annotator" in capsys.readouterr().err

"""The label store and reading files to label: saved labels come back, labels a file already has,
renaming a category, and files without texts."""

from __future__ import annotations

import csv

import pytest

from desktop_app.core.errors import UserInputError
from desktop_app.core.labeling import LabelStore, read_for_labeling


def _write(path, header, rows):
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _store(path):
    read = read_for_labeling(path)
    return read, LabelStore.open(read["path"], read["texts"], read["rows"], read["given"])


def test_opening_the_saved_labels_file_opens_its_input_with_the_labels(tmp_path):
    source = _write(tmp_path / "tickets.csv", ["text"], [["refund please"], ["cannot log in"], ["parcel lost"]])
    _, store = _store(source)
    store.set_categories(["billing", "login", "delivery"])
    store.label(0, "billing")
    store.label(2, "delivery")
    read, again = _store(store.csv_path)  # the user opens tickets.labeled.csv
    assert read["path"] == str(source) and "tickets.labeled.csv" in read["note"]
    assert again.labels == {0: "billing", 2: "delivery"} and again.csv_path == store.csv_path
    assert not (tmp_path / "tickets.labeled.labeled.csv").exists()


def test_labels_already_in_the_file_are_the_start_and_the_file_is_never_written(tmp_path):
    path = _write(tmp_path / "partial.csv", ["text", "label"],
                  [["refund please", "billing"], ["cannot log in", ""], ["parcel lost", "NaN"], ["card charged twice", "billing"]])
    before = path.read_bytes()
    read, store = _store(path)
    assert read["given"] == {0: "billing", 3: "billing"}  # "NaN" is no label
    assert store.labels == {0: "billing", 3: "billing"} and store.categories == ["billing"]
    store.set_categories(["billing", "login"])
    store.label(1, "login")
    assert path.read_bytes() == before
    # other columns are never taken for labels
    other = _write(tmp_path / "authors.csv", ["text", "author"], [["a text", "ann"], ["another", "bob"]])
    assert read_for_labeling(other)["given"] == {}


def test_a_category_edited_in_place_is_renamed_with_its_labels(tmp_path):
    _, store = _store(_write(tmp_path / "t.csv", ["text"], [["one"], ["two"], ["three"]]))
    store.set_categories(["billing", "login"])
    store.label(0, "billing")
    store.label(1, "login")
    store.set_categories(["Billing", "login"])
    assert store.labels == {0: "Billing", 1: "login"} and store.categories == ["Billing", "login"]
    assert store.undo() == 1 and store.undo() == 0 and store.labels == {}
    store.label(2, "Billing")
    with pytest.raises(UserInputError, match="cannot be removed") as err:
        store.set_categories(["login"])
    assert "rename" in err.value.fix


def test_a_file_without_texts_names_its_columns(tmp_path):
    path = _write(tmp_path / "numbers.csv", ["id", "amount"], [["1", "20"], ["2", "35"]])
    with pytest.raises(UserInputError) as err:
        read_for_labeling(path)
    assert "'id', 'amount'" in err.value.message and "text" in err.value.fix


def test_a_categorys_likeliest_text_does_not_count_in_the_estimate(tiny_models):
    from desktop_app.core.labeling import suggest

    texts = ["refund my invoice", "invoice charged twice", "cannot log in", "password reset fails", "parcel lost",
             "where is my parcel", "the app crashes", "refund please"]
    first = suggest(texts, ["billing", "login", "delivery"], {}, model=tiny_models["bert"], device="cpu")
    assert len(first.coverage) == 3 and set(first.queue[:3]) == set(first.coverage)  # one per category, queued first
    assert not any(first.counts_for_estimate(p) for p in first.coverage)
    assert all(first.counts_for_estimate(p) for p in first.queue[3:])
    labeled = {0: "billing", 2: "login", 4: "delivery"}
    later = suggest(texts, ["billing", "login", "delivery"], labeled, model=tiny_models["bert"], device="cpu")
    assert later.coverage == frozenset()  # every category has a label: every suggestion tests the model

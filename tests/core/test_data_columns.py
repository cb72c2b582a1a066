"""Guessing the text and label columns, and turning a table into labeled examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app.core.data import guess_columns, load_labeled, read_table, to_labeled
from desktop_app.core.errors import UserInputError


def csv_file(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    lines = [",".join(header)] + [",".join(f'"{v}"' if "," in str(v) else str(v) for v in r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_guess_by_name(tmp_path):
    t = read_table(csv_file(tmp_path / "a.csv", ["id", "Message", "Intent"],
                            [[i, f"message {i}", "a" if i % 2 else "b"] for i in range(10)]))
    g = guess_columns(t)
    assert (g.text, g.label) == ("Message", "Intent")
    assert "name" in g.reason


def test_guess_by_content_with_numeric_labels(tmp_path):
    rows = [[1000 + i, f"The delivery took {i} days and the box was damaged, again", i % 3] for i in range(40)]
    t = read_table(csv_file(tmp_path / "a.csv", ["ref", "col_a", "col_b"], rows))
    g = guess_columns(t)
    assert g.text == "col_a"  # the long strings
    assert g.label == "col_b"  # few distinct values; the unique ref column is not a label
    assert "3 distinct values" in g.reason
    loaded = load_labeled(tmp_path / "a.csv")
    assert loaded.data.label_names == ["0", "1", "2"]  # numeric labels stay categories (strings)


def test_explicit_column_is_respected_and_other_guessed(tmp_path):
    rows = [[f"subject {i}", f"a much longer body text number {i}", "x" if i % 2 else "y"] for i in range(10)]
    csv_file(tmp_path / "a.csv", ["title", "body", "label"], rows)
    loaded = load_labeled(tmp_path / "a.csv", text_column="title")
    assert loaded.text_column == "title" and loaded.label_column == "label"
    assert loaded.data.texts[0] == "subject 0"


def test_to_labeled_strips_and_records_skipped_rows(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text('text,label\n"  padded text \n with newline  ", Billing \n   ,billing\nno label,\nok,x\n', encoding="utf-8")
    data = to_labeled(read_table(path), "text", "label")
    assert data.texts == ["padded text \n with newline", "ok"]
    assert data.labels == ["Billing", "x"]
    assert data.rows == [2, 5]  # the two-line value is one spreadsheet row
    assert data.skipped == {"empty_text": [3], "missing_label": [4], "placeholder_label": []}
    assert len(data) == 2 and data.class_counts() == {"Billing": 1, "x": 1}
    sub = data.subset([1])
    assert (sub.texts, sub.rows, sub.source) == (["ok"], [5], str(path))


def test_unknown_column_lists_available_columns(tmp_path):
    t = read_table(csv_file(tmp_path / "data.csv", ["text", "label"], [["a", "b"]]))
    with pytest.raises(UserInputError) as err:
        to_labeled(t, "txt", "label")
    assert "data.csv" in err.value.message and "'txt'" in err.value.message
    assert "'text', 'label'" in err.value.fix
    with pytest.raises(UserInputError) as err:
        load_labeled(tmp_path / "data.csv", label_column="Label")
    assert "'Label'" in err.value.message and "capitals" in err.value.fix


def test_no_label_column_found_says_how_to_name_it(tmp_path):
    rows = [[f"unique review number {i} with details"] for i in range(5)]
    csv_file(tmp_path / "reviews.csv", ["review"], rows)
    with pytest.raises(UserInputError) as err:
        load_labeled(tmp_path / "reviews.csv")
    assert "reviews.csv" in err.value.message and "label" in err.value.message
    assert "--label-column" in err.value.fix


def test_id_column_is_not_taken_as_label(tmp_path):
    t = read_table(csv_file(tmp_path / "new.csv", ["id", "text"], [[i, f"please help with order {i}"] for i in range(20)]))
    g = guess_columns(t)
    assert (g.text, g.label) == ("text", None)

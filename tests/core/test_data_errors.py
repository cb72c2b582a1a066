"""Broken input: every case raises UserInputError naming the file (and row) and saying how to fix it."""

from __future__ import annotations

import io
import json
import zipfile

import openpyxl
import pytest

from desktop_app.core.data import iter_documents, load_labeled, read_table, validate
from desktop_app.core.errors import UserInputError

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00\x1f\xf3\xffa"


def zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("word/document.xml", "<xml/>" * 50)
    return buf.getvalue()


def read_error(path) -> UserInputError:
    with pytest.raises(UserInputError) as err:
        read_table(path)
    e = err.value
    assert e.fix, "every error says how to fix it"
    assert "Traceback" not in e.describe()
    return e


def test_missing_file(tmp_path):
    e = read_error(tmp_path / "nope.csv")
    assert "not found" in e.message and "nope.csv" in e.message
    assert "Check the spelling" in e.fix


@pytest.mark.parametrize("content", [b"", b"  \n\r\n", b"\xef\xbb\xbf", b"\xff\xfe"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    e = read_error(path)
    assert "'empty.csv' is empty" in e.message


@pytest.mark.parametrize("name, content, what", [
    ("photo.csv", PNG, "PNG image"),
    ("archive.csv", None, "zip archive"),
    ("blob.jsonl", bytes(range(256)) * 20, "binary data"),
    ("notes.txt", b"%PDF-1.7\n...", "PDF"),
])
def test_binary_file_is_not_read_as_text(tmp_path, name, content, what):
    path = tmp_path / name
    path.write_bytes(zip_bytes() if content is None else content)
    e = read_error(path)
    assert name in e.message and what in e.message and "not a text table" in e.message
    assert "CSV" in e.fix
    if content is None:
        assert ".xlsx" in e.fix


def test_invalid_json_names_the_line(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps({"text": "ok", "label": "a"}) + "\n\n{\"text\": \"broken, \"label\": \"b\"}\n", encoding="utf-8")
    e = read_error(path)
    assert "Line 3 of 'train.jsonl' is not valid JSON" in e.message
    assert e.where == "train.jsonl, line 3" and "line 3" in e.fix


def test_json_line_that_is_not_an_object(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"text": "a"}\n[1, 2]\n', encoding="utf-8")
    e = read_error(path)
    assert "Line 2" in e.message and "not an object" in e.message


@pytest.mark.parametrize("content, expect", [
    (b"PK\x03\x04 this is not really a workbook", "could not be opened as an Excel workbook"),
    (b"text,label\nhello,a\n", "is a text file, not an Excel workbook"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old-style (.xls) or password-protected"),
])
def test_corrupt_xlsx(tmp_path, content, expect):
    path = tmp_path / "book.xlsx"
    path.write_bytes(content)
    e = read_error(path)
    assert "book.xlsx" in e.message and expect in e.message


def test_truncated_xlsx(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["text", "label"])
    wb.save(tmp_path / "ok.xlsx")
    data = (tmp_path / "ok.xlsx").read_bytes()
    (tmp_path / "cut.xlsx").write_bytes(data[: len(data) // 2])
    e = read_error(tmp_path / "cut.xlsx")
    assert "cut.xlsx" in e.message and "save it again" in e.fix


def test_empty_workbook(tmp_path):
    openpyxl.Workbook().save(tmp_path / "blank.xlsx")
    e = read_error(tmp_path / "blank.xlsx")
    assert "blank.xlsx" in e.message and "no data" in e.message


@pytest.mark.parametrize("name, fix_word", [("data.parquet", "rename"), ("data", "rename"), ("old.xls", "save it as .xlsx")])
def test_unsupported_extension(tmp_path, name, fix_word):
    (tmp_path / name).write_bytes(b"text,label\n")
    e = read_error(tmp_path / name)
    assert name in e.message and fix_word in e.fix


def test_ragged_rows_are_listed(tmp_path):
    path = tmp_path / "tickets.csv"
    rows = ["text,label"] + [f"fine {i},a" for i in range(10)]
    rows[4] = "my order, the big one, is late,a"
    rows[8] = "also, broken,b"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    e = read_error(path)
    assert "'tickets.csv' has 2 rows with more values than the 2 columns" in e.message
    assert e.where == "tickets.csv, rows 5 and 9"
    assert "double quotes" in e.fix


def test_unclosed_quote_is_reported(tmp_path):
    path = tmp_path / "q.csv"
    lines = ["text,label", "fine,a", '"this quote never closes,b'] + [f"row {i},a" for i in range(5)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    e = read_error(path)
    assert "row 3" in e.message and "never closed" in e.message and "closing quote" in e.fix


def test_a_well_quoted_long_text_at_the_end_is_not_mistaken_for_an_unclosed_quote(tmp_path):
    """An article with commas on every line, quoted as Excel or Python's csv writes it, as the last row."""
    import csv

    article = "\n".join(f'Line {i}, with a comma, and a "quoted" word, here' for i in range(12))
    path = tmp_path / "articles.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerows([["text", "label"], ["short one, fine", "a"], [article, "b"]])
    data = load_labeled(path).data
    assert data.labels == ["a", "b"] and data.texts[1] == article


def test_folder_without_txt_files(tmp_path):
    (tmp_path / "a.md").write_text("x")
    e = read_error(tmp_path)
    assert "no .txt files" in e.message and "one document per .txt file" in e.fix


def test_streaming_errors_are_user_errors_too(tmp_path):
    (tmp_path / "x.csv").write_bytes(PNG)
    with pytest.raises(UserInputError, match="PNG image"):
        list(iter_documents(tmp_path / "x.csv"))
    with pytest.raises(UserInputError, match="not found"):
        list(iter_documents(tmp_path / "missing.jsonl"))


def test_label_variants_from_a_real_file(tmp_path):
    path = tmp_path / "support.csv"
    rows = ["text,label"] + [f"invoice question {i},Billing" for i in range(6)] + ["one more invoice,billing "]
    rows += [f"login fails {i},Access" for i in range(6)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    report = validate(load_labeled(path).data)
    (finding,) = [f for f in report.findings if f.code == "label_variants"]
    assert "'Billing' vs. 'billing'" in finding.message and finding.where == "row 8"

"""Reading tricky but valid files: encodings, delimiters, quoting, JSONL, Excel, txt, folders."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from desktop_app.core.data import load_labeled, read_table


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_utf8_bom_header_name_is_clean(tmp_path):
    t = read_table(write(tmp_path / "a.csv", "\ufefftext,label\ncafé au lait,drink\n"))
    assert t.columns == ["text", "label"]  # no BOM glued to the first column name
    assert t.data["text"] == ["café au lait"]
    assert t.encoding == "utf-8-sig"
    assert t.row_numbers == [2]


def test_utf16_with_bom(tmp_path):
    t = read_table(write(tmp_path / "a.csv", "text,label\nnaïve résumé,ok\n日本語,ja\n", "utf-16"))
    assert t.data["text"] == ["naïve résumé", "日本語"]
    assert t.data["label"] == ["ok", "ja"]
    assert t.encoding.startswith("utf-16")


def test_cp1252_accents_and_curly_quotes(tmp_path):
    path = tmp_path / "excel_export.csv"
    path.write_bytes(b"text,label\ncaf\xe9 was \x93great\x94,pos\nna\xefve,neg\n")
    t = read_table(path)
    assert t.data["text"] == ["café was \u201cgreat\u201d", "naïve"]
    assert t.encoding == "cp1252"


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_other_delimiters_detected(tmp_path, delimiter):
    rows = [["text", "label"], ["Hello, world", "greeting"], ["rated 1,5 of 5", "review"], ["bye", "greeting"]]
    body = "\n".join(delimiter.join(r) for r in rows) + "\n"
    t = read_table(write(tmp_path / "a.csv", body))
    assert t.delimiter == delimiter
    assert t.columns == ["text", "label"]
    assert t.data["text"] == ["Hello, world", "rated 1,5 of 5", "bye"]  # commas stay inside the text
    assert t.data["label"] == ["greeting", "review", "greeting"]


def test_single_column_file_keeps_commas_in_text(tmp_path):
    lines = ["My order arrived late, and the box was broken too", "Thanks, all good", "ok", "fine", "great service",
             "Where is my parcel?", "No, thank you, really"]
    t = read_table(write(tmp_path / "texts.csv", "\n".join(lines) + "\n"))
    assert t.columns == ["column_1"]  # a long sentence on the first line: no header
    assert t.data["column_1"] == lines


def test_tsv_extension(tmp_path):
    t = read_table(write(tmp_path / "a.tsv", "text\tlabel\nsome, commas, here\tx\n"))
    assert t.format == "tsv" and t.delimiter == "\t"
    assert t.data["text"] == ["some, commas, here"]


def test_quoted_multiline_fields_with_embedded_delimiters(tmp_path):
    body = ('text,label\n'
            '"First line, with a comma\nsecond line ""quoted""\r\nthird",billing\n'
            'plain,other\n'
            '\n'
            '"x;y|z",other\n')
    t = read_table(write(tmp_path / "a.csv", body))
    assert t.n_rows == 3
    assert t.data["text"][0].startswith("First line, with a comma\nsecond line \"quoted\"")
    # spreadsheet rows: a multi-line value is one row, a blank line still counts as a row
    assert t.row_numbers == [2, 3, 5]
    loaded = load_labeled(tmp_path / "a.csv")
    assert loaded.data.texts[0] == 'First line, with a comma\nsecond line "quoted"\nthird'


def test_no_header_row_gets_generic_names(tmp_path):
    body = "I loved this film,positive\nTerrible acting,negative\nWould watch again,positive\n"
    t = read_table(write(tmp_path / "a.csv", body))
    assert t.columns == ["column_1", "column_2"]
    assert t.n_rows == 3 and t.row_numbers == [1, 2, 3]
    loaded = load_labeled(tmp_path / "a.csv")
    assert (loaded.text_column, loaded.label_column) == ("column_1", "column_2")


def test_duplicate_and_blank_header_names_made_unique(tmp_path):
    t = read_table(write(tmp_path / "a.csv", "text,,text,label\na,b,c,d\n"))
    assert t.columns == ["text", "column_2", "text_2", "label"]
    assert t.data["text_2"] == ["c"]


def test_short_rows_padded_and_trailing_delimiters_ignored(tmp_path):
    t = read_table(write(tmp_path / "a.csv", "text,label,note\nonly text\nfull,x,n,,\n"))
    assert t.data["label"] == [None, "x"]
    assert t.data["note"] == [None, "n"]


def test_jsonl_with_numbers_nulls_and_blank_lines(tmp_path):
    lines = [json.dumps({"text": "hello", "label": 1}), "", json.dumps({"text": "bye", "label": 2.0, "meta": {"a": 1}}),
             json.dumps({"text": "x", "label": None})]
    t = read_table(write(tmp_path / "a.jsonl", "\n".join(lines) + "\n"))
    assert t.format == "jsonl"
    assert t.columns == ["text", "label", "meta"]
    assert t.data["label"] == ["1", "2", None]
    assert t.data["meta"] == [None, '{"a": 1}', None]
    assert t.row_numbers == [1, 3, 4]  # line numbers


def test_xlsx_numeric_labels_and_row_numbers(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([])  # a blank first row: the header is on row 2
    ws.append(["Review", "Stars", None])
    ws.append(["Great value", 5.0])
    ws.append(["Broke after a day", 1])
    ws.append([None, None])
    ws.append(["Average", 3, None])
    ws.append(["Price was 9.99", 2.5])
    wb.save(tmp_path / "book.xlsx")
    t = read_table(tmp_path / "book.xlsx")
    assert t.format == "xlsx"
    assert t.columns == ["Review", "Stars"]
    assert t.data["Stars"] == ["5", "1", "3", "2.5"]  # integral floats are written like Excel shows them
    assert t.row_numbers == [3, 4, 6, 7]
    loaded = load_labeled(tmp_path / "book.xlsx")
    assert (loaded.text_column, loaded.label_column) == ("Review", "Stars")
    assert loaded.data.label_names == ["1", "2.5", "3", "5"]


def test_txt_one_document_per_line(tmp_path):
    t = read_table(write(tmp_path / "docs.txt", "first doc\r\n\r\nsecond doc, with comma\nthird\n"))
    assert t.format == "txt" and t.columns == ["text"]
    assert t.data["text"] == ["first doc", "second doc, with comma", "third"]
    assert t.row_numbers == [1, 3, 4]


def test_folder_of_txt_files(tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "b.txt").write_text("second\nmulti-line\n", encoding="utf-8")
    (folder / "a.txt").write_bytes(b"caf\xe9")  # cp1252
    (folder / "c.txt").write_text("")
    (folder / "notes.md").write_text("ignored")
    t = read_table(folder)
    assert t.format == "folder" and t.columns == ["file", "text"]
    assert t.data["file"] == ["a.txt", "b.txt", "c.txt"]
    assert t.data["text"] == ["café", "second\nmulti-line", None]
    assert t.row_numbers == [1, 2, 3]


def test_excel_sep_hint_line(tmp_path):
    t = read_table(write(tmp_path / "a.csv", "sep=;\r\ntext;label\r\nHallo, Welt;gruss\r\n"))
    assert t.delimiter == ";" and t.columns == ["text", "label"]
    assert t.data["text"] == ["Hallo, Welt"] and t.row_numbers == [2]

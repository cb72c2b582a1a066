"""Streaming documents for prediction, in chunks, without reading the whole file."""

from __future__ import annotations

import json
import time

import openpyxl
import pytest

from desktop_app.core.data import describe_documents, iter_documents
from desktop_app.core.errors import UserInputError


def test_large_csv_streams_in_chunks(tmp_path):
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("id;comment;channel\n")
        for i in range(50_000):
            fh.write(f"{i};\"customer says, item {i} arrived late\";{'web' if i % 2 else 'phone'}\n")
    start = time.perf_counter()
    assert describe_documents(path) == (["id", "comment", "channel"], "comment")
    sizes, rows, first = [], 0, None
    for chunk in iter_documents(path, chunk_rows=4096):
        first = first or chunk
        sizes.append(len(chunk))
        assert len(chunk.rows) == len(chunk.texts) == len(chunk.row_numbers)
        rows += len(chunk)
        last = chunk
    assert rows == 50_000
    assert max(sizes) == 4096 and len(sizes) == 13
    assert first.columns == ["id", "comment", "channel"]
    assert first.rows[0] == {"id": "0", "comment": "customer says, item 0 arrived late", "channel": "phone"}
    assert first.texts[0] == "customer says, item 0 arrived late"
    assert first.row_numbers[:2] == [2, 3] and last.row_numbers[-1] == 50_001
    assert time.perf_counter() - start < 5


def test_missing_text_is_empty_string_and_row_kept(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("text,other\nhello,1\n,2\n  spaced  ,3\n", encoding="utf-8")
    (chunk,) = list(iter_documents(path, "text"))
    assert chunk.texts == ["hello", "", "spaced"]
    assert chunk.rows[1] == {"text": "", "other": "2"}


def test_txt_jsonl_folder_and_xlsx_stream(tmp_path):
    (tmp_path / "d.txt").write_text("one\n\ntwo\n", encoding="utf-8")
    chunks = list(iter_documents(tmp_path / "d.txt", chunk_rows=1))
    assert [c.texts for c in chunks] == [["one"], ["two"]] and chunks[1].row_numbers == [3]

    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps({"id": i, "body": f"b{i}"}) for i in range(3)), encoding="utf-8")
    assert describe_documents(tmp_path / "d.jsonl") == (["id", "body"], "body")
    assert [t for c in iter_documents(tmp_path / "d.jsonl") for t in c.texts] == ["b0", "b1", "b2"]

    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "x.txt").write_text("doc x")
    (chunk,) = list(iter_documents(folder))
    assert chunk.rows == [{"file": "x.txt", "text": "doc x"}] and chunk.texts == ["doc x"]

    wb = openpyxl.Workbook()
    wb.active.append(["ticket", "prio"])
    for i in range(5):
        wb.active.append([f"printer {i} is broken", i])
    wb.save(tmp_path / "t.xlsx")
    chunks = list(iter_documents(tmp_path / "t.xlsx", chunk_rows=2))
    assert [len(c) for c in chunks] == [2, 2, 1]
    assert chunks[0].texts[0] == "printer 0 is broken" and chunks[0].rows[1]["prio"] == "1"


def test_unknown_text_column_names_the_choices(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("body,x\nhi,1\n", encoding="utf-8")
    with pytest.raises(UserInputError) as err:
        describe_documents(path, "text")
    assert "a.csv" in err.value.message and "'body', 'x'" in err.value.fix

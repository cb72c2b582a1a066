"""The Data page lets the user pick the sheet of an Excel workbook whose first sheet is a title page."""

from __future__ import annotations

import csv

from .conftest import wait_for


def test_a_workbook_with_a_title_page_offers_its_sheets(qtbot, window, small_csv, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "Cover"
    book.active["A1"] = "Quarterly ticket review"
    data = book.create_sheet("Data")
    for row in csv.reader(small_csv.open(encoding="utf-8")):
        data.append(row)
    path = tmp_path / "tickets.xlsx"
    book.save(path)

    page = window.data_page
    page.open_path(str(path))
    wait_for(qtbot, lambda: page.sheet_box.isVisible() and window.tasks.settled("load"))
    assert [page.sheet_box.itemText(i) for i in range(page.sheet_box.count())] == ["Cover", "Data"]
    page._sheet_chosen(1)  # what choosing "Data" in the list does
    wait_for(qtbot, lambda: page.table is not None and page.table.sheet == "Data" and window.tasks.settled("load", "check")
             and window.session.data is not None)
    assert window.session.data.labeled is not None and len(window.session.data.labeled) == 100
    assert page.sheet_box.currentText() == "Data"

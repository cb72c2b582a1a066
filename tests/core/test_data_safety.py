"""Quiet damage made visible: mixed and non-Western encodings, placeholder labels, Excel sheets,
progress while reading."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from desktop_app.core.data import iter_documents, load_labeled, read_table, validate
from desktop_app.core.errors import UserInputError


def _mixed_file(path: Path, n: int = 100, every: int = 10) -> Path:
    lines = ["text,label"] + [f"row {i}: café crème brûlée,drink" for i in range(n)]
    data = b"".join((line + "\n").encode("cp1252" if i % every == 5 else "utf-8") for i, line in enumerate(lines))
    path.write_bytes(data)
    return path


def test_utf8_file_with_some_cp1252_rows_reads_every_row_correctly(tmp_path):
    path = _mixed_file(tmp_path / "mixed.csv")
    loaded = load_labeled(path)
    assert all(t.endswith("café crème brûlée") for t in loaded.data.texts)  # no "cafÃ©", no "caf�"
    report = validate(loaded.data)
    notes = [f for f in report.findings if f.code == "mixed_encoding"]
    assert len(notes) == 1 and notes[0].count == 10 and "10 lines" in notes[0].message and "cp1252" in notes[0].message
    assert notes[0].severity == "warning"


def test_streamed_documents_decode_odd_rows_too(tmp_path):
    path = _mixed_file(tmp_path / "mixed.csv", n=5000, every=1000)  # the odd rows are far past the head
    texts = [t for chunk in iter_documents(path, "text", chunk_rows=512) for t in chunk.texts]
    assert len(texts) == 5000 and all(t.endswith("café crème brûlée") for t in texts)


NON_WESTERN = {
    "cp1251": [("Привет, как дела? Мне нужна помощь.", "вопрос"), ("Мой заказ до сих пор не доставлен", "доставка"),
               ("Списали деньги дважды, верните оплату", "оплата"), ("Приложение падает при запуске", "ошибка")],
    "gbk": [("你好，我的包裹还没有到达。", "快递"), ("我被重复扣款了，请退款", "付款"),
            ("应用程序每次打开设置都会崩溃", "错误"), ("重置密码后无法登录", "账户")],
    "shift_jis": [("請求書に二重請求があります、返金してください", "請求"), ("アプリが設定を開くたびにクラッシュします", "不具合"),
                  ("パスワードをリセットした後ログインできません", "アカウント"), ("荷物がまだ届いていません", "配送")],
}


@pytest.mark.parametrize("encoding", sorted(NON_WESTERN))
def test_non_western_legacy_encodings_read_correctly(tmp_path, encoding):
    rows = NON_WESTERN[encoding] * 3
    path = tmp_path / f"{encoding}.csv"
    path.write_bytes(("text,label\n" + "".join(f'"{t}",{l}\n' for t, l in rows)).encode(encoding))
    table = read_table(path)
    assert table.data["text"] == [t for t, _ in rows] and table.data["label"] == [l for _, l in rows]
    assert not table.notes
    streamed = [t for chunk in iter_documents(path, "text") for t in chunk.texts]
    assert streamed == [t for t, _ in rows]


@pytest.mark.parametrize("placeholder", ["NaN", "nan", "null", "None", "N/A", "n/a", "#N/A", ""])
def test_placeholder_labels_are_missing_not_a_class(tmp_path, placeholder):
    path = tmp_path / "d.csv"
    path.write_text("text,label\n" + "".join(f"good text {i},pos\nbad text {i},neg\n" for i in range(5))
                    + f"unsure one,{placeholder}\nunsure two,{placeholder}\n", encoding="utf-8")
    data = load_labeled(path).data
    assert data.label_names == ["neg", "pos"] and len(data) == 10
    report = validate(data)
    codes = {f.code: f for f in report.findings}
    finding = codes["missing_label" if placeholder == "" else "placeholder_label"]
    assert finding.count == 2 and finding.severity == "warning" and finding.rows == [12, 13]


def test_a_label_that_only_contains_nan_is_a_real_label(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("text,label\n" + "".join(f"t{i},nano\nu{i},banana\n" for i in range(3)), encoding="utf-8")
    assert load_labeled(path).data.label_names == ["banana", "nano"]


def _workbook(path: Path) -> Path:
    wb = openpyxl.Workbook()
    title = wb.active
    title.title = "Cover"
    title["A1"] = "Customer feedback, 2026"
    title["A3"] = "Prepared by the support team"
    data = wb.create_sheet("Data")
    data.append(["text", "label"])
    for i in range(6):
        data.append([f"text number {i}", "a" if i % 2 else "b"])
    wb.save(path)
    return path


def test_xlsx_sheet_by_name(tmp_path):
    path = _workbook(tmp_path / "book.xlsx")
    table = read_table(path, sheet="Data")
    assert table.columns == ["text", "label"] and table.n_rows == 6 and table.sheet == "Data"
    loaded = load_labeled(path, sheet="Data")
    assert len(loaded.data) == 6


def test_xlsx_title_page_error_names_the_other_sheets(tmp_path):
    path = _workbook(tmp_path / "book.xlsx")
    with pytest.raises(UserInputError) as err:
        load_labeled(path)
    assert "'Data'" in err.value.fix and "--sheet" in err.value.fix


def test_xlsx_unknown_sheet_lists_the_sheets(tmp_path):
    path = _workbook(tmp_path / "book.xlsx")
    with pytest.raises(UserInputError) as err:
        read_table(path, sheet="data")
    assert "no sheet named 'data'" in err.value.message and "'Cover', 'Data'" in err.value.fix


def test_sheet_on_a_csv_is_a_clear_error(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("text,label\na,b\n", encoding="utf-8")
    with pytest.raises(UserInputError, match="no sheets"):
        read_table(path, sheet="Data")


def test_progress_is_reported_while_reading(tmp_path):
    path = tmp_path / "big.csv"
    line = "some text that is long enough to make the file grow quickly,label\n"
    path.write_text("text,label\n" + line * (3 * 2**20 // len(line)), encoding="utf-8")
    seen: list[tuple[int, int | None, str]] = []
    table = read_table(path, on_progress=lambda done, total, unit: seen.append((done, total, unit)))
    size = path.stat().st_size
    assert table.n_rows == 3 * 2**20 // len(line)
    assert len(seen) >= 2 and all(unit == "bytes" and total == size for _, total, unit in seen)
    assert [d for d, _, _ in seen] == sorted(d for d, _, _ in seen) and seen[-1][0] == size

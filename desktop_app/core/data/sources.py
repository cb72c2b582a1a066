"""Record sources: one streaming reader per format, yielding (row number, {column: value}).

``read_table`` drains a source into a Table; ``iter_documents`` streams it in chunks. With
``whole=True`` the file is decoded strictly in one go (training data); otherwise it is read
as a stream with the encoding chosen from its head (prediction on huge files).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TextIO

from ..errors import TrainingCancelled, UserInputError
from . import limits
from . import bounded
from .bounded import BoundedCsvLines, bounded_json_line, bounded_lines
from .columns import is_known_name
from .encoding import (
    SAMPLE_BYTES,
    EncodingPlan,
    detect_encoding,
    empty_file_error,
    open_text,
    plan_encoding,
    read_head,
    read_text,
    scan_file_lines,
)
from .table import cell_to_str, describe_rows, is_number, unique_names

Record = tuple[int, dict[str, "str | None"]]

EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".txt": "txt",
    ".text": "txt",
}
DELIMITERS = [",", "\t", ";", "|"]
DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}
SINGLE_COLUMN = "\x1f"  # delimiter for one-column files: a control character that text does not contain
MIN_CONSISTENCY = 0.75  # share of the first records that must split into the same number of fields
LOOKAHEAD = 50  # rows looked at to decide whether the first row is a header
SAMPLE_CHARS = 256 * 1024
MAX_JSON_ARRAY_CHARS = 64 << 20  # a .json file that is one array is parsed whole: larger ones must be JSON Lines
SUPPORTED = "CSV (.csv), TSV (.tsv), JSON Lines (.jsonl), Excel (.xlsx), plain text (.txt, one document per line) or a folder of .txt files"

_SEP_HINT = re.compile(r"^sep=([,;\t|])\r?\n")

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass
class Source:
    path: Path
    format: str
    columns: list[str]
    records: Iterator[Record]
    encoding: str | None = None
    delimiter: str | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)
    plan: EncodingPlan | None = None  # how a text file is decoded (mixed-encoding files: how many lines)
    sheet: str | None = None  # the Excel sheet read
    sheets: list[str] = field(default_factory=list)  # every sheet of the workbook
    cut_rows: list[int] = field(default_factory=list)  # rows with a value over limits.MAX_TEXT_CHARS (cut while read)
    json_columns: dict[str, int] = field(default_factory=dict)  # JSON: columns holding lists of objects -> first row

    def close(self) -> None:
        for close in self.closers:
            try:
                close()
            except Exception:  # noqa: BLE001 - closing must not hide the real error
                pass

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def file_format(path: Path) -> str:
    """The format for ``path`` from its extension (or "folder"); UserInputError if unsupported/missing."""
    if not path.exists():
        raise UserInputError(f"File not found: '{path}'.", where=str(path),
                             fix="Check the spelling and the folder (in the app: pick the file with Open…).")
    if path.is_dir():
        return "folder"
    suffix = path.suffix.lower()
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    if suffix == ".xls":
        raise UserInputError(f"'{path.name}' is in the old Excel format (.xls), which cannot be read.", where=str(path),
                             fix="Open it in Excel or LibreOffice and save it as .xlsx (Excel Workbook) or as CSV.")
    raise UserInputError(f"'{path.name}' has an unsupported file type ('{path.suffix or 'no extension'}').",
                         where=str(path), fix=f"Use {SUPPORTED}. If the file is a CSV, rename it to end in .csv.")


Progress = Callable[[int, "int | None", str], None]  # (done, total or None, unit: "bytes" | "rows" | "files")


def _byte_counter(path: Path, on_progress: Progress | None) -> Callable[[int], None] | None:
    """Reports bytes read to ``on_progress`` about every 1% (and at least every 4 MB)."""
    if on_progress is None:
        return lambda n: limits.check_stop()
    total = path.stat().st_size
    step = max(1 << 20, min(4 << 20, total // 100))
    state = {"done": 0, "next": step, "shown": -1}

    def count(n: int) -> None:
        limits.check_stop()
        state["done"] += n
        done = min(state["done"], total)
        if (done >= state["next"] or (n == 0 and done >= total)) and done != state["shown"]:
            state["next"], state["shown"] = done + step, done
            on_progress(done, total, "bytes")

    return count


def open_source(path: str | Path, *, whole: bool = True, sheet: str | None = None,
                on_progress: Progress | None = None) -> Source:
    """Open ``path`` as a record source (use as a context manager). Raises UserInputError.

    ``sheet`` names the Excel sheet to read (default: the first with a table). ``on_progress(done,
    total, unit)`` is called while the file is read: bytes for text files, rows for Excel, files for a folder.
    """
    path = Path(path)
    fmt = file_format(path)
    if sheet is not None and fmt != "xlsx":
        raise UserInputError(f"'{path.name}' is not an Excel workbook, so it has no sheets to choose from.",
                             where=f"--sheet {sheet}", fix="Leave out --sheet for CSV, TSV, JSONL and text files.")
    if fmt in ("csv", "tsv"):
        source = _csv_source(path, fmt, whole, _byte_counter(path, on_progress))
    elif fmt == "jsonl":
        source = _jsonl_source(path, whole, _byte_counter(path, on_progress))
    elif fmt == "xlsx":
        source = _xlsx_source(path, sheet, on_progress)
    elif fmt == "txt":
        source = _txt_source(path, whole, _byte_counter(path, on_progress))
    else:
        source = _folder_source(path, on_progress)
    if fmt not in ("csv", "tsv"):  # a CSV value is already bounded by its line reader (bounded.py)
        source.records = _cap_values(source.records, source.cut_rows)
    return source


def _cap_values(records: Iterator[Record], cut_rows: list[int]) -> Iterator[Record]:
    """Values over ``limits.MAX_TEXT_CHARS`` keep their head (the readers already bound what they hold;
    this cuts what they could not, e.g. an Excel cell); the rows are added to ``cut_rows``."""
    limit = limits.MAX_TEXT_CHARS
    for number, row in records:
        for key, value in row.items():
            if value is not None and len(value) > limit:
                row[key] = value[:limit]
                if not cut_rows or cut_rows[-1] != number:
                    cut_rows.append(number)
        yield number, row


# ----------------------------------------------------------------------------- text streams

def _text_stream(path: Path, whole: bool, newline: str | None, on_bytes=None
                 ) -> tuple[TextIO, EncodingPlan, list[Callable[[], None]]]:
    """The file as a text stream (BOM removed), how it is decoded, and what closes it.

    ``whole``: the encoding is chosen from every line of the file (a first pass over the bytes);
    otherwise from its head. Either way the text is streamed, never held whole in memory.
    """
    head = read_head(path)
    if not head.strip():
        raise empty_file_error(path)
    complete = len(head) < SAMPLE_BYTES
    if whole and not complete:
        plan = plan_encoding(path, scan_file_lines(path), head)
    else:
        plan = plan_encoding(path, head.splitlines(keepends=True)[: None if complete else -1], head, complete)
    fh = open_text(path, plan, newline, on_bytes)
    if not fh.read(4096).strip("\ufeff \t\r\n"):
        fh.close()
        raise empty_file_error(path)
    fh.seek(0)
    return fh, plan, [fh.close]


# ----------------------------------------------------------------------------- CSV / TSV

def _parse_counts(sample: str, delimiter: str, complete: bool) -> list[int]:
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter, quotechar='"', strict=False)
    counts = []
    try:
        for values in itertools.islice(reader, 200):
            if any(v.strip() for v in values):
                counts.append(len(values))
    except csv.Error:
        return []
    if not complete and len(counts) > 1:
        counts.pop()  # the last record may be cut off by the sample
    return counts


def choose_delimiter(sample: str, complete: bool, fmt: str) -> str | None:
    """The delimiter that splits the first records into the most consistent number (>1) of fields.

    None when no candidate splits the records: the file is a single column.
    """
    scores: dict[str, tuple[float, int]] = {}
    for d in DELIMITERS:
        counts = _parse_counts(sample, d, complete)
        if not counts:
            continue
        mode = max(set(counts), key=lambda k: (counts.count(k), k))
        consistency = counts.count(mode) / len(counts)
        # a first line (the header) without the delimiter, or counts that vary and disagree with the first
        # line: the character is part of the text, not a separator
        if mode > 1 and counts[0] > 1 and (counts[0] == mode or consistency >= MIN_CONSISTENCY or len(counts) < 5):
            scores[d] = (consistency, mode)
    if not scores:
        return None
    best = max(s[0] for s in scores.values())
    tied = [d for d, s in scores.items() if s[0] >= best - 0.02]
    if len(tied) == 1:
        return tied[0]
    preference = ["\t"] if fmt == "tsv" else []
    try:  # among equally consistent candidates, let the standard sniffer break the tie
        preference.append(csv.Sniffer().sniff(sample[:65536], delimiters="".join(tied)).delimiter)
    except csv.Error:
        pass
    preference += DELIMITERS
    return min(tied, key=preference.index)


def _csv_source(path: Path, fmt: str, whole: bool, on_bytes=None) -> Source:
    stream, plan, closers = _text_stream(path, whole, newline="", on_bytes=on_bytes)
    try:
        sample = stream.read(SAMPLE_CHARS)
        complete = len(sample) < SAMPLE_CHARS
        stream.seek(0)
        hint = _SEP_HINT.match(sample)
        if hint:  # Excel's "sep=;" first line names the delimiter; Excel does not show it as a row
            stream.readline()
            delimiter: str | None = hint.group(1)
        else:
            delimiter = choose_delimiter(sample, complete, fmt)
        quotes = BoundedCsvLines(stream, delimiter or SINGLE_COLUMN)
        reader = csv.reader(quotes, delimiter=delimiter or SINGLE_COLUMN, quotechar='"', doublequote=True, strict=False)
        cut_rows: list[int] = []
        records = _numbered_csv(reader, path, quotes, cut_rows)
        columns, records = _columns_from_head(records, path)
    except BaseException:
        for close in closers:
            close()
        raise
    name = DELIMITER_NAMES.get(delimiter or ",", "comma")
    fix = (f"Text that contains the separator ({name}) must be inside double quotes. Save the file again from "
           "Excel or LibreOffice as CSV (that adds the quotes), or correct these rows.")
    body = _check_quotes(_align(records, columns, path, whole, fix), path, delimiter or SINGLE_COLUMN, len(columns), quotes)
    source = Source(path, fmt, columns, body, plan.label, delimiter, closers, plan, cut_rows=cut_rows)
    return source


def _numbered_csv(reader: Iterable[list[str]], path: Path, lines: BoundedCsvLines | None = None,
                  cut_rows: list[int] | None = None) -> Iterator[tuple[int, list[str | None]]]:
    """Non-blank records with their spreadsheet row number (a multi-line value is one row); the rows whose
    values ``lines`` cut are added to ``cut_rows``."""
    number = 0
    it = iter(reader)
    while True:
        try:
            values = next(it)
        except StopIteration:
            return
        except csv.Error as exc:
            raise UserInputError(f"'{path.name}' could not be read as a table near row {number + 1}: {exc}.",
                                 where=f"{path}, row {number + 1}",
                                 fix="Open the file in a spreadsheet program, check that row, and save it again as CSV.") from exc
        number += 1
        if lines is not None and lines.record_done() and cut_rows is not None:
            cut_rows.append(number)
        if number % 1000 == 0:
            limits.check_stop()
        if any(v.strip() for v in values):
            yield number, [v if v != "" else None for v in values]


def _looks_like_data(first: list[str | None], rest: list[list[str | None]]) -> bool:
    """Whether the first row is data rather than column names."""
    if not rest:
        return False
    cells = [(j, c.strip()) for j, c in enumerate(first) if c is not None and c.strip()]
    if any(is_known_name(value) for _, value in cells):
        return False
    for j, value in cells:
        long = len(value) > 100 or (len(cells) == 1 and (len(value) > 60 or len(value.split()) > 8))
        if is_number(value) or long:
            return True
        column = {r[j].strip() for r in rest if j < len(r) and r[j] is not None}
        if value in column:  # a value that recurs in its column, e.g. the label "positive"
            return True
    return False


def _columns_from_head(records: Iterator[tuple[int, list[str | None]]], path: Path
                       ) -> tuple[list[str], Iterator[tuple[int, list[str | None]]]]:
    """Column names from the first row (or column_N when it is data), and the data records."""
    head = list(itertools.islice(records, LOOKAHEAD + 1))
    if not head:
        raise empty_file_error(path)
    first = head[0][1]
    rest = [values for _, values in head[1:]]
    if _looks_like_data(first, rest):
        width = max(len(v) for _, v in head)
        names: list[str | None] = [None] * width
        data = head
    else:
        names = list(first)
        data = head[1:]
    width = len(names)
    keep = [j for j in range(width)
            if (names[j] or "").strip() or any(j < len(v) and v[j] is not None for _, v in data)]
    if keep != list(range(width)):
        names = [names[j] for j in keep]
    columns = unique_names(names)
    if not columns:
        columns = ["column_1"]
    return columns, itertools.chain(data, records)


def _align(records: Iterable[tuple[int, list[str | None]]], columns: list[str], path: Path, collect: bool,
           fix: str) -> Iterator[Record]:
    """Lists of values -> dicts; short rows padded with None; too-long rows are errors."""
    width = len(columns)
    ragged: list[int] = []
    widest = 0
    for number, values in records:
        if len(values) > width:
            extra = values[width:]
            if any(v is not None and v.strip() for v in extra):
                ragged.append(number)
                widest = max(widest, len(values))
                if not collect:
                    break
                continue
            values = values[:width]
        elif len(values) < width:
            values = values + [None] * (width - len(values))
        yield number, dict(zip(columns, values))
    if ragged:
        raise UserInputError(
            f"'{path.name}' has {len(ragged)} row{'s' if len(ragged) > 1 else ''} with more values than the "
            f"{width} column{'s' if width > 1 else ''} in the header (up to {widest} values), so the columns cannot be matched.",
            where=f"{path.name}, {describe_rows(ragged, shown=5)}",
            fix=fix,
        )


class _QuoteCount:
    """The lines of a text stream, counting the quote marks in them as the csv reader takes them."""

    def __init__(self, stream):
        self.stream, self.quotes = stream, 0

    def __iter__(self):
        for line in self.stream:
            self.quotes += line.count('"')
            yield line

    def unbalanced(self) -> bool:
        """An odd number of quote marks: some quote never closed (quoted values and doubled quotes come in pairs)."""
        return self.quotes % 2 == 1


def _check_quotes(records: Iterator[Record], path: Path, delimiter: str, width: int,
                  quotes: _QuoteCount | None = None) -> Iterator[Record]:
    """Detect a quote that never closes: the last record then swallowed the rest of the file.

    A last value of several lines that look like rows is only that when the file's quote marks do not
    pair up: a well-quoted long text at the end (an article with commas on every line) is read as it is."""
    last: Record | None = None
    for record in records:
        if last is not None:
            yield last
        last = record
    if last is None:
        return
    number, row = last
    if width >= 2:
        for value in row.values():
            if value and "\n" in value:
                lines = value.split("\n")[1:]
                swallowed = sum(1 for line in lines if line.count(delimiter) >= width - 1)
                if swallowed >= 2 and (quotes is None or quotes.unbalanced()):
                    raise UserInputError(
                        f"'{path.name}': a quote mark (\") opens a value on row {number} that is never closed, "
                        f"so the rest of the file ({len(lines)} lines) would be read as one value.",
                        where=f"{path.name}, row {number}",
                        fix="Add the missing closing quote or remove the stray one in that row "
                        "(inside a quoted value, write a quote mark as two: \"\").",
                    )
    yield last


# ----------------------------------------------------------------------------- JSON Lines

def _json_value(value: Any) -> str | None:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return cell_to_str(value)


def _json_row(obj: Any, path: Path, number: int, what: str, structured: dict[str, int] | None = None
              ) -> dict[str, str | None]:
    """One JSON record as {column: text}; a value that is an object or a list is kept as its JSON text and
    its column noted in ``structured`` (column -> first row): it is never read as a text or a label."""
    if isinstance(obj, str):
        return {"text": obj if obj != "" else None}
    if not isinstance(obj, dict):
        raise UserInputError(
            f"{what.capitalize()} {number} of '{path.name}' is a JSON {type(obj).__name__}, not an object.",
            where=f"{path.name}, {what} {number}",
            fix='Write one JSON object per line, like {"text": "...", "label": "..."}.',
        )
    row = {str(k).strip() or "column": _json_value(v) for k, v in obj.items()}
    if structured is not None:
        for k, v in obj.items():
            if isinstance(v, (dict, list)) and v:
                structured.setdefault(str(k).strip() or "column", number)
    return row


def _jsonl_records(stream: TextIO, path: Path, structured: dict[str, int], cut_rows: list[int] | None = None
                   ) -> Iterator[Record]:
    cut_rows = [] if cut_rows is None else cut_rows
    readline = stream.readline
    number = 0
    while True:
        line = readline(bounded.PIECE)
        if not line:
            return
        number += 1
        cut = False
        if len(line) >= bounded.PIECE and line[-1] not in "\r\n":  # a long line: its strings cut while it is read
            line, cut = bounded_json_line(line, readline)
            if line is not None and cut:
                cut_rows.append(number)
                cut = False
            elif line is None:
                cut = True
        if number == 1:
            line = line.lstrip("\ufeff")
        if number % 1000 == 0:
            limits.check_stop()
        if cut:
            raise UserInputError(
                f"Line {number} of '{path.name}' holds over {limits.MAX_ROW_CHARS:,} characters outside its texts "
                "(numbers, names, lists), more than one row may hold; it was not read.",
                where=f"{path.name}, line {number}",
                fix=f"Check line {number}: a row holds a text and a label, not a long list; delete or shorten it.")
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserInputError(
                f"Line {number} of '{path.name}' is not valid JSON: {exc.msg} (at character {exc.colno}).",
                where=f"{path.name}, line {number}",
                fix=f'Correct or delete line {number}. Each line must be one JSON object, like {{"text": "...", "label": "..."}}.',
            ) from exc
        yield number, _json_row(obj, path, number, "line", structured)


def _jsonl_source(path: Path, whole: bool, on_bytes=None) -> Source:
    stream, plan, closers = _text_stream(path, whole, newline=None, on_bytes=on_bytes)
    try:
        start = stream.read(4096).lstrip("\ufeff \t\r\n")
        stream.seek(0)
        structured: dict[str, int] = {}
        cut_rows: list[int] = []
        if start.startswith("["):  # a JSON array of objects (a .json file)
            whole_text = stream.read(MAX_JSON_ARRAY_CHARS + 1)
            if len(whole_text) > MAX_JSON_ARRAY_CHARS:
                raise UserInputError(
                    f"'{path.name}' is one JSON array of over {MAX_JSON_ARRAY_CHARS:,} characters, too large to read "
                    "in one piece.", where=str(path),
                    fix="Save it as JSON Lines (.jsonl: one JSON object per line), which is read row by row.")
            try:
                items = json.loads(whole_text)
            except json.JSONDecodeError as exc:
                raise UserInputError(
                    f"'{path.name}' is not valid JSON: {exc.msg} (line {exc.lineno}, character {exc.colno}).",
                    where=f"{path.name}, line {exc.lineno}",
                    fix="Correct the file, or save it as JSON Lines: one JSON object per line.",
                ) from exc
            del whole_text
            records: Iterator[Record] = ((i, _json_row(o, path, i, "item", structured))
                                         for i, o in enumerate(items, start=1))
        else:
            records = _jsonl_records(stream, path, structured, cut_rows)
        head = list(itertools.islice(records, 1000))
    except BaseException:
        for close in closers:
            close()
        raise
    columns: list[str] = []
    for _, row in head:
        columns.extend(k for k in row if k not in columns)
    return Source(path, "jsonl", columns, itertools.chain(head, records), plan.label, None, closers, plan,
                  json_columns=structured, cut_rows=cut_rows)


# ----------------------------------------------------------------------------- Excel

def _xlsx_source(path: Path, sheet_name: str | None = None, on_progress: Progress | None = None) -> Source:
    head = read_head(path, 4096)
    if not head:
        raise empty_file_error(path)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise UserInputError(
            f"'{path.name}' is an old-style (.xls) or password-protected Excel file, which cannot be read.",
            where=str(path), fix="Open it in Excel, remove the password if it has one, and save it as .xlsx or CSV.")
    if not head.startswith(b"PK"):
        try:
            detect_encoding(path, head, complete=False)
        except UserInputError:
            raise UserInputError(f"'{path.name}' is not an Excel workbook (it may be damaged).", where=str(path),
                                 fix="Open it in Excel and save it again as .xlsx, or export it as CSV.") from None
        raise UserInputError(f"'{path.name}' is a text file, not an Excel workbook, despite its .xlsx name.",
                             where=str(path), fix="Rename it to .csv (or .tsv / .jsonl, whichever it is) and open it again.")
    try:
        import openpyxl

        _check_xlsx_shared_strings(path)
        _check_xlsx_sheets(path)  # before openpyxl: it parses a sheet without a size tag whole while opening
        _bound_openpyxl_size()
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (UserInputError, TrainingCancelled):
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure means a damaged workbook
        raise _corrupt_xlsx(path, exc) from exc
    try:
        names = list(workbook.sheetnames)
        shown = ", ".join(f"'{n}'" for n in names)
        if sheet_name is not None:
            if sheet_name not in names:
                raise UserInputError(f"'{path.name}' has no sheet named '{sheet_name}'.", where=f"--sheet {sheet_name}",
                                     fix=f"Use one of its sheets: {shown} (names must match exactly, including capitals).")
            candidates = [workbook[sheet_name]]
        else:
            candidates = list(workbook.worksheets)
        sheet = None
        for ws in candidates:
            rows = _xlsx_rows(ws)
            try:
                if any(any(v is not None and str(v).strip() for v in r) for _, r in itertools.islice(rows, 200)):
                    sheet = ws
                    break
            finally:
                rows.close()
        if sheet is None:
            if sheet_name is not None:
                raise UserInputError(f"The sheet '{sheet_name}' of '{path.name}' is empty.", where=f"{path.name}, sheet {sheet_name}",
                                     fix=f"Choose the sheet that holds your table with --sheet (sheets: {shown}).")
            raise UserInputError(f"'{path.name}' has no data: every sheet is empty.", where=str(path),
                                 fix="Choose the workbook that holds your data, or put the data on the first sheet.")
        total = sheet.max_row if isinstance(sheet.max_row, int) and sheet.max_row > 1 else None
        records = _xlsx_records(_xlsx_rows(sheet), path, on_progress, total)
        columns, data = _columns_from_head(records, path)
    except (UserInputError, TrainingCancelled):
        workbook.close()
        raise
    except Exception as exc:  # noqa: BLE001
        workbook.close()
        raise _corrupt_xlsx(path, exc) from exc
    fix = "Give every column that holds data a name in the header row, or delete the stray cells."
    source = Source(path, "xlsx", columns, _align(data, columns, path, True, fix), None, None, [workbook.close],
                    sheet=sheet.title)
    source.sheets = names
    return source


def _xlsx_rows(ws: Any) -> Iterator[tuple[int, list[Any]]]:
    """(Excel row number, values) of a read-only sheet in bounded memory. openpyxl's own row reader keeps every
    (emptied) row element under <sheetData>: about 80 bytes a row, 2.4 GB for 30 million rows."""
    from openpyxl.worksheet._reader import DATA_TAG, ROW_TAG, WorkSheetParser
    from openpyxl.xml.functions import iterparse

    book = ws.parent
    with ws._get_source() as src:
        parser = WorkSheetParser(src, ws._shared_strings, data_only=book.data_only, epoch=book.epoch,
                                 date_formats=book._date_formats, timedelta_formats=book._timedelta_formats)
        data = None
        for event, element in iterparse(src, events=("start", "end")):
            if event == "start":
                if element.tag == DATA_TAG:
                    data = element
                continue
            if element.tag == ROW_TAG:
                index, cells = parser.parse_row(element)
                element.clear()
                if data is not None:
                    data.clear()  # the rows already read: gone, not kept as empty elements
                values: list[Any] = [None] * max((c["column"] for c in cells), default=0)
                for c in cells:
                    values[c["column"] - 1] = c["value"]
                yield index, values


_SIZE_BOUNDED = False


def _bound_openpyxl_size() -> None:
    """openpyxl reads a sheet's size from its <dimension> tag when it opens a workbook; a sheet without one is
    parsed to its end first (the whole sheet, kept in memory). Read only up to the start of the data instead:
    the same answer (no size) without the walk."""
    global _SIZE_BOUNDED
    if _SIZE_BOUNDED:
        return
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet
    from openpyxl.worksheet._reader import DATA_TAG, DIMENSION_TAG
    from openpyxl.worksheet.dimensions import SheetDimension
    from openpyxl.xml.functions import iterparse

    def _get_size(self) -> None:
        with self._get_source() as src:
            for _, element in iterparse(src, events=("start",)):
                if element.tag == DATA_TAG:
                    return
                if element.tag == DIMENSION_TAG and element.get("ref"):
                    boundaries = SheetDimension.from_tree(element).boundaries
                    if boundaries is not None:
                        self._min_column, self._min_row, self._max_column, self._max_row = boundaries
                    return

    ReadOnlyWorksheet._get_size = _get_size
    _SIZE_BOUNDED = True


def _xlsx_records(rows: Iterable[tuple[int, list[Any]]], path: Path, on_progress: Progress | None = None,
                  total: int | None = None) -> Iterator[tuple[int, list[str | None]]]:
    try:
        for seen, (number, values) in enumerate(rows, start=1):
            if seen % 1000 == 0:
                limits.check_stop()
                if on_progress is not None and seen % 10000 == 0:
                    on_progress(number, total, "rows")
            cells = [cell_to_str(v) for v in values]
            while cells and cells[-1] is None:
                cells.pop()
            if any(c is not None and c.strip() for c in cells):
                yield number, cells
    except (UserInputError, TrainingCancelled):
        raise
    except Exception as exc:  # noqa: BLE001
        raise _corrupt_xlsx(path, exc) from exc


_CELL_REF = re.compile(rb'<c\b[^>]*?\br="([A-Z]{1,3}[0-9]{1,7})"')
_ROW_REF = re.compile(rb'<row\b[^>]*?\br="([0-9]{1,7})"')


def _scan_xlsx_member(path: Path, member: str) -> tuple[str, str, int] | None:
    """Stream one XML part of a workbook (never more than a megabyte of it in memory) and find the first text
    over ``limits.MAX_XLSX_CELL_BYTES`` or row over ``MAX_XLSX_ROW_BYTES``: ("cell" | "row" | "string", where, bytes).

    The spreadsheet parser would build such a value whole; here only the distance between tags is counted."""
    import zipfile

    cell_limit, row_limit = limits.MAX_XLSX_CELL_BYTES, limits.MAX_XLSX_ROW_BYTES
    run = row_run = 0  # bytes since the last tag / the last row start
    cell = row = "?"
    strings = 0  # shared strings begun (sharedStrings.xml)
    with zipfile.ZipFile(path) as archive, archive.open(member) as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            limits.check_stop()
            first = chunk.find(b"<")
            if first < 0:
                run += len(chunk)
            else:
                run += first
                if run > cell_limit:
                    return ("string", str(strings), run) if "sharedStrings" in member else ("cell", cell, run)
                last = chunk.rfind(b"<")
                run = len(chunk) - last - 1
                at = chunk.rfind(b"<c ", 0, last + 1)
                m = _CELL_REF.match(chunk, at) if at >= 0 else None
                if m:
                    cell = m.group(1).decode()
                strings += chunk.count(b"<si>") + chunk.count(b"<si ")
            if run > cell_limit:
                return ("string", str(strings), run) if "sharedStrings" in member else ("cell", cell, run)
            start = chunk.find(b"<row")
            if start < 0:
                row_run += len(chunk)
            else:
                row_run += start
                if row_run > row_limit:
                    return "row", row, row_run
                at = chunk.rfind(b"<row")
                m = _ROW_REF.match(chunk, at)
                if m:
                    row = m.group(1).decode()
                row_run = len(chunk) - at
            if row_run > row_limit and "sharedStrings" not in member:
                return "row", row, row_run
    return None


def _too_big_fix() -> str:
    return (f"Shorten that cell in Excel or LibreOffice (the model reads at most the first {limits.MAX_TEXT_CHARS:,} "
            "characters of a text anyway), or save the sheet as CSV: a CSV file is read with over-long texts cut.")


def _check_xlsx_shared_strings(path: Path) -> None:
    """Refuse a workbook whose table of shared texts holds a text (or is, in all) larger than the limits."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            members = [i for i in archive.infolist() if i.filename.lower().endswith("sharedstrings.xml")]
    except (zipfile.BadZipFile, OSError):
        return  # openpyxl says that the workbook is damaged
    for info in members:
        if info.file_size > limits.MAX_XLSX_SHARED_BYTES:
            raise UserInputError(
                f"'{path.name}' holds {limits.human_bytes(info.file_size)} of text in its cells, more than can be "
                f"read safely ({limits.human_bytes(limits.MAX_XLSX_SHARED_BYTES)}).", where=str(path),
                fix="Save the sheet as CSV in Excel or LibreOffice: a CSV file of any size is read row by row.")
        found = _scan_xlsx_member(path, info.filename)
        if found:
            _, index, size = found
            raise UserInputError(
                f"A cell of '{path.name}' holds a text of over {limits.human_bytes(size)} (shared text number "
                f"{index}), more than one cell may hold ({limits.human_bytes(limits.MAX_XLSX_CELL_BYTES)}); "
                "the workbook was not read.", where=f"{path.name}, shared text {index}", fix=_too_big_fix())


_SCANNED: dict[tuple, Any] = {}
_ATTR = re.compile(r'([\w:]+)="([^"]*)"')


def _sheet_members(archive: Any) -> dict[str, str]:
    """{zip member: sheet name} from the workbook's index (read bounded, with a plain pattern: no XML parser)."""
    import html

    def small(name: str) -> str:
        try:
            with archive.open(name) as fh:
                return fh.read(16 << 20).decode("utf-8", errors="replace")
        except KeyError:
            return ""

    targets = {}
    for tag in re.findall(r"<(?:\w+:)?Relationship\b[^>]*>", small("xl/_rels/workbook.xml.rels")):
        attrs = dict(_ATTR.findall(tag))
        target = attrs.get("Target", "")
        targets[attrs.get("Id", "")] = target.lstrip("/") if target.startswith("/") else "xl/" + target
    members = {}
    for tag in re.findall(r"<(?:\w+:)?sheet\b[^>]*>", small("xl/workbook.xml")):
        attrs = dict(_ATTR.findall(tag))
        rid = next((v for k, v in attrs.items() if k.endswith(":id")), "")
        if rid in targets:
            members[targets[rid]] = html.unescape(attrs.get("name", ""))
    for info in archive.infolist():  # a sheet part the index does not name is checked too
        if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
            members.setdefault(info.filename, info.filename)
    return members


def _check_xlsx_sheets(path: Path) -> None:
    """Refuse a workbook with a cell or a row larger than the limits, naming the sheet and the cell (or row).

    Every sheet is scanned once per file version (predict opens the file twice: columns, then rows)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            members = _sheet_members(archive)
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # damaged: openpyxl says so
    stat = path.stat()
    for member, title in members.items():
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, member, limits.MAX_XLSX_CELL_BYTES,
               limits.MAX_XLSX_ROW_BYTES)
        try:
            found = _SCANNED[key] if key in _SCANNED else _scan_xlsx_member(path, member)
        except (UserInputError, TrainingCancelled):
            raise
        except Exception:  # noqa: BLE001 - a missing or damaged part: openpyxl says what is wrong
            continue
        _SCANNED[key] = found
        if not found:
            continue
        kind, where, size = found
        if kind == "row":
            raise UserInputError(
                f"Row {where} of the sheet '{title}' in '{path.name}' holds over {limits.human_bytes(size)}, more than "
                f"one row may hold ({limits.human_bytes(limits.MAX_XLSX_ROW_BYTES)}); the workbook was not read.",
                where=f"{path.name}, sheet {title}, row {where}", fix=_too_big_fix())
        raise UserInputError(
            f"The cell {where} of the sheet '{title}' in '{path.name}' holds a text of over {limits.human_bytes(size)}, "
            f"more than one cell may hold ({limits.human_bytes(limits.MAX_XLSX_CELL_BYTES)}); the workbook was not read.",
            where=f"{path.name}, sheet {title}, cell {where}", fix=_too_big_fix())


def _corrupt_xlsx(path: Path, exc: Exception) -> UserInputError:
    return UserInputError(f"'{path.name}' could not be opened as an Excel workbook; it may be damaged ({type(exc).__name__}).",
                          where=str(path), fix="Open it in Excel or LibreOffice and save it again as .xlsx, or export it as CSV.")


# ----------------------------------------------------------------------------- plain text

def _txt_source(path: Path, whole: bool, on_bytes=None) -> Source:
    stream, plan, closers = _text_stream(path, whole, newline=None, on_bytes=on_bytes)

    def records() -> Iterator[Record]:
        for number, (line, _) in enumerate(bounded_lines(stream), start=1):
            if number % 1000 == 0:
                limits.check_stop()
            line = line.rstrip("\r\n")
            if number == 1:
                line = line.lstrip("\ufeff")
            if line.strip():
                yield number, {"text": line}

    return Source(path, "txt", ["text"], records(), plan.label, None, closers, plan)


def folder_files(path: Path) -> list[Path]:
    return sorted((p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".txt" and not p.name.startswith(".")),
                  key=lambda p: p.name)


def _folder_source(path: Path, on_progress: Progress | None = None) -> Source:
    try:
        files = folder_files(path)
    except OSError as exc:
        raise UserInputError(f"The folder '{path}' could not be read: {exc.strerror or exc}.", where=str(path),
                             fix="Check that the folder exists and that you may read it.") from exc
    if not files:
        raise UserInputError(f"The folder '{path.name}' contains no .txt files.", where=str(path),
                             fix="Put one document per .txt file in the folder, or choose a CSV, Excel or JSONL file.")

    def records() -> Iterator[Record]:
        for number, file in enumerate(files, start=1):
            limits.check_stop()
            text, _ = read_text(file, allow_empty=True, max_chars=limits.MAX_TEXT_CHARS)
            if on_progress is not None and (number % 100 == 0 or number == len(files)):
                on_progress(number, len(files), "files")
            yield number, {"file": file.name, "text": text.rstrip("\r\n") or None}

    return Source(path, "folder", ["file", "text"], records(), None, None, [])


__all__ = ["Source", "open_source", "file_format", "choose_delimiter", "folder_files"]


def sheet_names(path: str | Path) -> list[str]:
    """The sheets of an .xlsx workbook (only its index is read); [] for other files or a damaged workbook."""
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        return []
    try:
        import openpyxl

        workbook = openpyxl.load_workbook(path, read_only=True)
    except Exception:  # noqa: BLE001 - a damaged workbook: reading it says what is wrong
        return []
    try:
        return list(workbook.sheetnames)
    finally:
        workbook.close()

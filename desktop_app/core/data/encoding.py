"""Text encoding detection (deterministic) and a check for files that are not text at all."""

from __future__ import annotations

import codecs
from pathlib import Path

from ..errors import UserInputError

SAMPLE_BYTES = 1 << 20  # what streaming readers look at before choosing an encoding

_BOMS = [  # longest first: the UTF-32 LE BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]

_MAGIC = [  # (prefix, what it is, extra advice)
    (b"\x89PNG", "a PNG image", ""),
    (b"\xff\xd8\xff", "a JPEG image", ""),
    (b"GIF8", "a GIF image", ""),
    (b"%PDF", "a PDF document", ""),
    (b"PK\x03\x04", "a zip archive (an Excel .xlsx or Word file is one)",
     " If it is an Excel workbook, give it the .xlsx extension."),
    (b"\xd0\xcf\x11\xe0", "an old-style Office file (.xls or .doc)", " Save it from Excel as .xlsx or CSV."),
    (b"\x1f\x8b", "a gzip archive", " Unpack it first."),
    (b"SQLite format 3", "an SQLite database", ""),
    (b"7z\xbc\xaf", "a 7-Zip archive", " Unpack it first."),
    (b"Rar!", "a RAR archive", " Unpack it first."),
]

_TEXT_FIX = "Choose a CSV, TSV, JSONL, Excel (.xlsx) or plain-text file."


def not_text_error(path: Path, what: str, advice: str = "") -> UserInputError:
    return UserInputError(
        f"'{path.name}' is {what}, not a text table, so it cannot be read.",
        where=str(path),
        fix=_TEXT_FIX + advice,
    )


def check_not_binary(path: Path, head: bytes) -> None:
    """Raise UserInputError for known binary formats and for bytes with NULs (unless UTF-16/32)."""
    for prefix, what, advice in _MAGIC:
        if head.startswith(prefix):
            raise not_text_error(path, what, advice)


def _utf16_without_bom(head: bytes) -> str | None:
    """Mostly-ASCII UTF-16 text has a NUL in every other byte."""
    sample = head[:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) == 0:
        return "utf-16-be"
    return None


def _decodes(data: bytes, encoding: str, complete: bool) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        decoder.decode(data, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def _looks_binary(text: str) -> bool:
    sample = text[:65536]
    if not sample:
        return False
    controls = sum(1 for ch in sample if ch < " " and ch not in "\t\n\r\f\v")
    return "\x00" in sample or controls > max(2, len(sample) // 200)


def detect_encoding(path: Path, data: bytes, complete: bool = True) -> str:
    """UTF-8/16/32 by BOM, strict UTF-8, BOM-less UTF-16, then cp1252, then latin-1.

    ``complete`` is False when ``data`` is only the head of the file (a multi-byte character
    may be cut at the end). Raises UserInputError for files that are not text.
    """
    check_not_binary(path, data)
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding
    if _decodes(data, "utf-8", complete):
        encoding = "utf-8"
    else:
        encoding = _utf16_without_bom(data) or ("cp1252" if _decodes(data, "cp1252", True) else "latin-1")
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(data[:65536], final=False)
    if _looks_binary(text):
        raise not_text_error(path, "binary data")
    return encoding


def read_text(path: Path, allow_empty: bool = False) -> tuple[str, str]:
    """The whole file as text and the encoding used (BOM removed). Empty -> UserInputError unless allowed."""
    data = read_bytes(path)
    if not data.strip():
        if allow_empty:
            return "", "utf-8"
        raise empty_file_error(path)
    encoding = detect_encoding(path, data)
    text = data.decode(encoding, errors="replace").lstrip("\ufeff")
    if not text.strip() and not allow_empty:
        raise empty_file_error(path)
    return text, encoding


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UserInputError(f"'{path.name}' could not be read: {exc.strerror or exc}.", where=str(path),
                             fix="Check that the file is not open in another program and that you may read it.") from exc


def read_head(path: Path, n: int = SAMPLE_BYTES) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(n)
    except OSError as exc:
        raise UserInputError(f"'{path.name}' could not be read: {exc.strerror or exc}.", where=str(path),
                             fix="Check that the file is not open in another program and that you may read it.") from exc


def empty_file_error(path: Path) -> UserInputError:
    return UserInputError(f"'{path.name}' is empty.", where=str(path),
                          fix="Choose a file that contains a header row and data rows (save it again if it was not saved).")

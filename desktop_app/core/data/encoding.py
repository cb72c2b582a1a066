"""Text encoding detection and a check for files that are not text at all.

UTF-8/16/32 are recognised by their byte-order mark or by decoding; a file in a legacy encoding
(Windows-1252, Windows-1251, GBK, Shift-JIS, ...) is identified by charset-normalizer. A UTF-8 file
with some lines in a legacy encoding (rows pasted from an old export) is decoded line by line:
UTF-8 where the line is UTF-8, the legacy encoding that fits the other lines elsewhere.
"""

from __future__ import annotations

import codecs
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterable, TextIO

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
    """Control characters (NUL included) in more than 1 character in 50: a binary file. A few NULs in a text
    file (a damaged export) are removed while reading, with a warning naming the lines."""
    sample = text[:65536]
    if not sample:
        return False
    controls = sum(1 for ch in sample if ch < " " and ch not in "\t\n\r\f\v")
    nuls = sample.count("\x00")
    return controls > max(2, len(sample) // 50) or (controls - nuls) > max(2, len(sample) // 200)


# encodings charset-normalizer may name for short Western text; Windows-1252 reads all of them best
_LATIN = {"cp1252", "cp1250", "cp1254", "cp1257", "cp775", "cp850", "cp437", "cp858", "latin_1", "iso8859_2",
          "iso8859_3", "iso8859_4", "iso8859_9", "iso8859_10", "iso8859_13", "iso8859_14", "iso8859_15",
          "iso8859_16", "mac_roman", "mac_latin2", "mac_iceland", "mac_turkish", "cp1258", "ascii", "utf_8"}
LEGACY_SAMPLE_BYTES = 1 << 20


def _codec_name(encoding: str) -> str:
    return codecs.lookup(encoding).name.replace("-", "_")


def _isolated_high_bytes(sample: bytes) -> bool:
    """Western text has single accented letters among ASCII ones ("café"); Cyrillic, Greek, Chinese or
    Japanese in a legacy encoding are runs of bytes above 127."""
    high = [i for i, b in enumerate(sample) if b > 127]
    if not high:
        return True
    flags = set(high)
    paired = sum(1 for i in high if i - 1 in flags or i + 1 in flags)
    return paired <= len(high) // 2


def legacy_encoding(sample: bytes) -> str:
    """The single- or multi-byte legacy encoding of bytes that are not UTF-8 (Windows-1252 for Western text)."""
    sample = sample[:LEGACY_SAMPLE_BYTES]
    cp1252_fits = _decodes(sample, "cp1252", True)
    if cp1252_fits and _isolated_high_bytes(sample):
        return "cp1252"
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is None or _codec_name(best.encoding) in _LATIN:
        return "cp1252" if cp1252_fits else "latin-1"
    return codecs.lookup(best.encoding).name


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
        encoding = _utf16_without_bom(data) or legacy_encoding(data)
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(data[:65536], final=False)
    if _looks_binary(text):
        raise not_text_error(path, "binary data")
    return encoding


@dataclass(frozen=True)
class EncodingPlan:
    """How to decode a file: ``encoding``; lines that are not UTF-8 in a UTF-8 file use ``fallback``."""

    encoding: str
    fallback: str | None = None
    fallback_lines: int = 0  # lines that needed the fallback (whole-file scans only)
    nul_lines: list = field(default_factory=list, compare=False, hash=False)  # lines whose NUL bytes were removed

    @property
    def label(self) -> str:
        return f"{self.encoding}+{self.fallback}" if self.fallback and self.fallback_lines else self.encoding


def _scan(lines: Iterable[bytes]) -> tuple[int, int, bytes]:
    """(non-ASCII lines that are UTF-8, lines that are not, a sample of the latter)."""
    good = bad = 0
    sample = bytearray()
    for line in lines:
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            good += 1
        except UnicodeDecodeError:
            bad += 1
            if len(sample) < LEGACY_SAMPLE_BYTES:
                sample += line
    return good, bad, bytes(sample)


def plan_encoding(path: Path, lines: Iterable[bytes], head: bytes, complete: bool = True) -> EncodingPlan:
    """Choose how to decode a file from its ``lines`` (all of them, or those in ``head`` when not ``complete``)."""
    check_not_binary(path, head)
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            if encoding != "utf-8-sig":
                return EncodingPlan(encoding)
            break
    else:
        encoding = "utf-8"
        utf16 = _utf16_without_bom(head) if not _decodes(head, "utf-8", complete) else None
        if utf16:
            return EncodingPlan(utf16)
    good, bad, sample = _scan(lines)
    if bad and not good:
        plan = EncodingPlan(legacy_encoding(sample))
    elif bad:
        plan = EncodingPlan(encoding, legacy_encoding(sample), bad)
    else:  # all UTF-8 so far; a stream may still meet an odd line later on
        plan = EncodingPlan(encoding, None if complete else "cp1252")
    text = codecs.getincrementaldecoder(plan.encoding)(errors="replace").decode(head[:65536], final=False)
    if _looks_binary(text):
        raise not_text_error(path, "binary data")
    return plan


def decode_line(line: bytes, plan: EncodingPlan) -> str:
    if plan.fallback is None:
        return line.decode(plan.encoding, errors="replace")
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode(plan.fallback, errors="replace")


def decode_lines(lines: Iterable[bytes], plan: EncodingPlan) -> str:
    return "".join(decode_line(line, plan) for line in lines)


class _LineTranscoder(io.RawIOBase):
    """A UTF-8 byte stream from a file whose lines are UTF-8 or ``plan.fallback`` (seekable to 0 only)."""

    BLOCK = 1 << 20

    def __init__(self, fh: BinaryIO, plan: EncodingPlan, on_bytes=None):
        self.fh = fh
        self.plan = plan
        self.on_bytes = on_bytes
        self._reset()

    def _reset(self) -> None:
        self.fh.seek(0)
        self.pending = b""
        self.partial = b""
        self.eof = False
        self.pos = 0
        self.fallback_lines = 0
        self.first = True
        self.lines = 0  # line breaks passed on so far
        self.plan.nul_lines.clear()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        if offset == 0 and whence == 0:
            self._reset()
            return 0
        if whence == 1 and offset == 0:
            return self.pos
        raise io.UnsupportedOperation("only seek(0) is supported")

    def tell(self) -> int:
        return self.pos

    def _fill(self) -> None:
        block = self.fh.read(self.BLOCK)
        if self.on_bytes is not None:
            self.on_bytes(len(block))
        if not block:
            self.eof = True
            data, self.partial = self.partial, b""
        else:
            data = self.partial + block
            cut = max(data.rfind(b"\n"), data.rfind(b"\r")) + 1  # whole lines only (old Macs end lines with CR)
            if cut == 0 and len(data) > 4 * self.BLOCK:  # a line of many MB: pass it on in pieces, never held whole
                cut = _utf8_boundary(data)
            if cut == 0:
                self.partial = data
                return
            data, self.partial = data[:cut], data[cut:]
        if self.first:
            self.first = False
            if data.startswith(codecs.BOM_UTF8):
                data = data[3:]
        if b"\x00" in data:  # NUL bytes in a text file: removed, their lines remembered for a warning
            for i, line in enumerate(data.split(b"\n")):
                if b"\x00" in line:
                    self.plan.nul_lines.append(self.lines + i + 1)
            data = data.replace(b"\x00", b"")
        self.lines += data.count(b"\n")
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            out = []
            for line in data.splitlines(keepends=True):
                try:
                    line.decode("utf-8")
                    out.append(line)
                except UnicodeDecodeError:
                    self.fallback_lines += 1
                    out.append(line.decode(self.plan.fallback or "latin-1", errors="replace").encode("utf-8"))
            data = b"".join(out)
        self.pending += data

    def readinto(self, buffer) -> int:
        while len(self.pending) < len(buffer) and not self.eof:
            self._fill()
        n = min(len(buffer), len(self.pending))
        buffer[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        self.pos += n
        return n

    def close(self) -> None:
        self.fh.close()
        super().close()


def _utf8_boundary(data: bytes) -> int:
    """The length of ``data`` without a UTF-8 character cut at its end (up to 3 bytes dropped)."""
    end = len(data)
    for back in range(1, min(4, end) + 1):
        byte = data[end - back]
        if byte < 0x80:
            return end
        if byte >= 0xC0:  # the first byte of a character: keep it only when the character is complete
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return end if back >= need else end - back
    return end


def open_text(path: Path, plan: EncodingPlan, newline: str | None, on_bytes=None) -> TextIO:
    """``path`` as a text stream decoded by ``plan`` (BOM removed); ``on_bytes(n)`` reports bytes read."""
    fh = open(path, "rb")  # noqa: SIM115 - the returned stream closes it
    if plan.encoding in ("utf-8", "utf-8-sig"):
        raw: BinaryIO = _LineTranscoder(fh, plan, on_bytes)
        return io.TextIOWrapper(io.BufferedReader(raw, 1 << 16), encoding="utf-8", errors="replace", newline=newline)
    if on_bytes is not None:
        fh = _CountingReader(fh, on_bytes)
    return io.TextIOWrapper(fh, encoding=plan.encoding, errors="replace", newline=newline)


class _CountingReader(io.RawIOBase):
    def __init__(self, fh: BinaryIO, on_bytes):
        self.fh = fh
        self.on_bytes = on_bytes

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.fh.seek(offset, whence)

    def tell(self) -> int:
        return self.fh.tell()

    def readinto(self, buffer) -> int:
        n = self.fh.readinto(buffer) or 0
        self.on_bytes(n)
        return n

    def close(self) -> None:
        self.fh.close()
        super().close()


def scan_file_lines(path: Path) -> Iterable[bytes]:
    """Every line of ``path`` as bytes, read in blocks (for ``plan_encoding`` over a whole file)."""
    from .limits import check_stop

    try:
        with path.open("rb") as fh:
            carry = b""
            for n, piece in enumerate(iter(lambda: fh.readline(1 << 20), b"")):
                if n % 1000 == 0:
                    check_stop()
                piece = carry + piece
                carry = b""
                if not piece.endswith((b"\n", b"\r")) and len(piece) >= 1 << 20:  # a long line: bounded pieces
                    keep = _utf8_boundary(piece)
                    piece, carry = piece[:keep], piece[keep:]
                yield piece
            if carry:
                yield carry
    except OSError as exc:
        raise UserInputError(f"'{path.name}' could not be read: {exc.strerror or exc}.", where=str(path),
                             fix="Check that the file is not open in another program and that you may read it.") from exc


def read_text(path: Path, allow_empty: bool = False, max_chars: int | None = None) -> tuple[str, str]:
    """The whole file as text and the encoding used (BOM removed). Empty -> UserInputError unless allowed.

    ``max_chars``: read at most about this many characters (the head of a larger file; never more in memory)."""
    if max_chars is not None:
        data = read_head(path, 4 * max_chars + 4)
        if len(data) > 4 * max_chars:
            data = data[:_utf8_boundary(data[: 4 * max_chars])]
    else:
        data = read_bytes(path)
    if not data.strip():
        if allow_empty:
            return "", "utf-8"
        raise empty_file_error(path)
    plan = plan_encoding(path, data.splitlines(keepends=True), data)
    text = decode_lines(data.splitlines(keepends=True), plan) if plan.fallback else data.decode(plan.encoding, errors="replace")
    text = text.lstrip("\ufeff")
    if max_chars is not None:
        text = text[:max_chars]
    if not text.strip() and not allow_empty:
        raise empty_file_error(path)
    return text, plan.label


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

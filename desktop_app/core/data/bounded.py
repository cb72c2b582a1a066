"""Line readers that never hold more than a bounded part of one text, whatever the file holds.

``BoundedCsvLines`` feeds the csv module: lines pass through untouched until one record (row) grows
past ``limits.MAX_TEXT_CHARS`` characters; from there on, until the record ends, the text is run
through a small copy of the csv module's state machine that keeps the first ``MAX_TEXT_CHARS`` of
each value (and ``MAX_ROW_CHARS`` of the row) and drops the rest while keeping every quote and
separator that decides where values and rows end. The csv module then sees a row with cut values,
never the 50 MB one. ``bounded_lines`` does the same for line-based formats (.txt, JSON Lines).
"""

from __future__ import annotations

import re
from typing import Iterator, TextIO

from ..errors import UserInputError
from . import limits

MAX_FIELDS = 100_000  # values in one row: more is not a table
PIECE = 1 << 20  # characters read at once (a line longer than this is read in pieces)

# csv states (as in CPython's _csv.c, strict=False, doublequote=True)
START_FIELD, IN_FIELD, IN_QUOTED, QUOTE_IN_QUOTED = range(4)


class BoundedCsvLines:
    """The lines of ``stream`` for csv.reader, with over-long values cut (see the module docstring).

    The consumer calls ``record_done()`` after each record the csv reader returns; ``cut`` then
    says whether that record had a value cut. ``quotes`` counts the quote marks passed on."""

    def __init__(self, stream: TextIO, delimiter: str):
        self.stream = stream
        self.delimiter = delimiter
        self.quotes = 0
        self.cut = False
        self._chars = 0  # characters of the current record passed on so far
        self._lines: list[str] = []  # the current record's lines (until it is long enough to matter)
        self._special = re.compile("[" + re.escape(delimiter) + "\r\n\"]")
        self._quote_or_end = re.compile("[\"\r\n" + re.escape(delimiter) + "]")

    def unbalanced(self) -> bool:
        return self.quotes % 2 == 1

    def record_done(self) -> bool:
        """The csv reader returned a record: start counting anew. Returns whether that record had a value cut."""
        cut, self.cut = self.cut, False
        self._chars = 0
        self._lines = []
        return cut

    def __iter__(self) -> Iterator[str]:
        readline = self.stream.readline
        while True:
            line = readline(PIECE)
            if not line:
                return
            if self._chars + len(line) <= limits.MAX_TEXT_CHARS and (len(line) < PIECE or line[-1] in "\r\n"):
                self._chars += len(line)
                self._lines.append(line)
                self.quotes += line.count('"')
                yield line
                continue
            yield from self._careful(line)

    # ------------------------------------------------------------------ the long record

    def _careful(self, line: str) -> Iterator[str]:
        """From ``line`` on, the rest of the current record with values cut; the next lines pass again."""
        state, kept_field, kept_row, fields = START_FIELD, 0, 0, 0
        for old in self._lines:  # replay what the csv reader already has, to know where we are
            state, kept_field, kept_row, fields, _ = self._run(old, state, kept_field, kept_row, fields, emit=False)
        self._lines = []
        out: list[str] = []
        readline = self.stream.readline
        while line:
            state, kept_field, kept_row, fields, ended = self._run(line, state, kept_field, kept_row, fields,
                                                                    emit=True, out=out)
            limits.check_stop()
            if fields > MAX_FIELDS:
                raise UserInputError(
                    f"A row of '{getattr(self.stream, 'name', 'the file')}' has more than {MAX_FIELDS:,} values, "
                    "so it cannot be a table row.", where=str(getattr(self.stream, 'name', 'the file')),
                    fix="Check that this is the right file; save it again as CSV from a spreadsheet program.")
            if ended:
                break
            line = readline(PIECE)
        if state == QUOTE_IN_QUOTED:
            out.append('"')
        text = "".join(out)
        self.quotes += text.count('"')
        if text:
            yield text

    def _run(self, text: str, state: int, kept_field: int, kept_row: int, fields: int, *, emit: bool,
             out: list[str] | None = None) -> tuple[int, int, int, int, bool]:
        """Advance the csv state machine over ``text``; with ``emit``, append what is kept to ``out``.
        Returns the new state, characters kept of the current value and row, values started, record ended."""
        limit, row_limit = limits.MAX_TEXT_CHARS, limits.MAX_ROW_CHARS
        i, n = 0, len(text)

        def keep(piece: str) -> None:
            nonlocal kept_field, kept_row
            room = min(limit - kept_field, row_limit - kept_row)
            if room < len(piece):
                self.cut = True
            if room > 0 and piece:
                part = piece[:room]
                if emit:
                    out.append(part)
                kept_field += len(part)
                kept_row += len(part)

        def put(ch: str) -> None:  # structure: always passed on
            if emit:
                out.append(ch)

        ended = False
        while i < n:
            if state == IN_QUOTED:
                j = text.find('"', i)
                if j < 0:
                    keep(text[i:])
                    i = n
                    break
                keep(text[i:j])
                state, i = QUOTE_IN_QUOTED, j + 1
                continue
            if state == QUOTE_IN_QUOTED:
                ch = text[i]
                if ch == '"':  # a doubled quote: one quote mark of text
                    room = min(limit - kept_field, row_limit - kept_row)
                    if room > 0:
                        put('""')
                        kept_field += 1
                        kept_row += 1
                    else:
                        self.cut = True
                    state, i = IN_QUOTED, i + 1
                    continue
                put('"')  # the closing quote
                state = IN_FIELD
                continue  # the character after it is read as in a plain value
            m = self._special.search(text, i)
            j = m.start() if m else n
            if j > i:
                if state == START_FIELD:
                    state = IN_FIELD
                keep(text[i:j])
            if m is None:
                i = n
                break
            ch = text[j]
            i = j + 1
            if ch == '"' and state == START_FIELD:
                put('"')
                state = IN_QUOTED
            elif ch == '"':
                keep('"')
            elif ch == self.delimiter:
                put(ch)
                state, kept_field, fields = START_FIELD, 0, fields + 1
            else:  # a line break outside quotes ends the record
                put(text[j:])
                ended = True
                i = n
                break
        return state, kept_field, kept_row, fields, ended


def bounded_lines(stream: TextIO) -> Iterator[tuple[str, bool]]:
    """(line, cut) for each line of ``stream``: a line over ``MAX_ROW_CHARS`` characters keeps its head and the
    rest is skipped in pieces (never held); ``cut`` says so."""
    readline = stream.readline
    while True:
        line = readline(PIECE)
        if not line:
            return
        if len(line) < PIECE or line[-1] in "\r\n":
            yield line, False
            continue
        parts, size, cut = [line[: limits.MAX_ROW_CHARS]], min(len(line), limits.MAX_ROW_CHARS), len(line) > limits.MAX_ROW_CHARS
        while line and line[-1] not in "\r\n":
            limits.check_stop()
            line = readline(PIECE)
            room = limits.MAX_ROW_CHARS - size
            if len(line) > room:
                cut = True
            if room > 0 and line:
                parts.append(line[:room])
                size += min(room, len(line))
        yield "".join(parts), cut


_STRING_STOP = re.compile(r'["\\]')


def bounded_json_line(first: str, readline) -> tuple[str | None, bool]:
    """A JSON Lines line longer than ``PIECE`` (``first`` is its first piece, ``readline(n)`` reads on), with
    every JSON string cut to ``MAX_TEXT_CHARS`` characters (an escape counts as one and is never split) and the
    rest of the line read in pieces, never held. Returns (line, cut), or (None, True) when the text outside
    the strings alone is over ``MAX_ROW_CHARS`` (not a row of a table)."""
    limit, row_limit = limits.MAX_TEXT_CHARS, limits.MAX_ROW_CHARS
    out: list[str] = []
    in_string, kept, outside, total, cut = False, 0, 0, 0, False
    text = first
    while text:
        i, n = 0, len(text)
        carry = ""
        while i < n:
            if not in_string:
                j = text.find('"', i)
                end = n if j < 0 else j + 1
                outside += end - i
                if outside > row_limit:
                    return None, True
                out.append(text[i:end])
                i = end
                if j >= 0:
                    in_string, kept = True, 0
                continue
            m = _STRING_STOP.search(text, i)
            j = m.start() if m else n
            room = min(limit - kept, row_limit - total)
            if j > i:
                piece = text[i:j]
                if len(piece) > room:
                    cut = True
                if room > 0:
                    out.append(piece[:room])
                    kept += min(room, len(piece))
                    total += min(room, len(piece))
            if m is None:
                break
            if text[j] == '"':
                out.append('"')
                in_string, i = False, j + 1
                continue
            size = 6 if text[j + 1:j + 2] == "u" else 2  # an escape: \n, \", \\ or \uXXXX
            if j + size > n and text[-1:] not in "\r\n":
                carry = text[j:]  # the escape goes on in the next piece
                break
            if kept < limit and total < row_limit:
                out.append(text[j:j + size])
                kept += 1
                total += 1
            else:
                cut = True
            i = j + size
        if text[-1:] in ("\r", "\n") and not carry:
            break
        limits.check_stop()
        more = readline(PIECE)
        text = carry + more if more else carry
        if not more:
            if carry:
                out.append(carry if kept < limit else "")
            break
    return "".join(out), cut

"""A campaign file as people bring it, read record by record and written back unchanged.

``stoplist scrub`` must hand back the same file minus some rows: every column, their order, the header, the
quoting, the line endings, the byte-order mark. So each record keeps the text it was read from, and the
output is that text; the rejects file is the same text with ``;reason`` (the file's own delimiter) before the
line ending. The phone column, the header and the delimiter follow ``phone_columns``.

Encoding: UTF-8, with or without a byte-order mark (Excel's "CSV UTF-8"), else Windows-1252 (Excel's plain
"CSV (séparateur: point-virgule)" in France) when the first block is not UTF-8; the outputs are written in the
input's encoding, with its byte-order mark if it had one.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, cast

from stoplist_cli.phone_columns import PHONE_ALIASES, Dialect, has_header, phone_column, sniff_dialect

REASON_COLUMN = "reason"
_SAMPLE_BYTES = 1 << 16


class CampaignFileError(ValueError):
    """The file as a whole cannot be read: no phone column, a column named that is not there."""


@dataclass(frozen=True, slots=True)
class Record:
    cells: list[str]
    text: str  # as read, line ending included (none on a last line without one)


def _line_ending(text: str) -> str:
    return text[len(text.rstrip("\r\n")) :]


class CampaignFile:
    """The header (if any), the phone column's index and the records of a binary stream, read lazily."""

    def __init__(self, stream: IO[bytes], column: str | None = None) -> None:
        buffered = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(cast(Any, stream))
        sample = buffered.peek(_SAMPLE_BYTES)[:_SAMPLE_BYTES]
        self.bom = sample.startswith(codecs.BOM_UTF8)
        self.encoding = "utf-8-sig" if self.bom else _encoding_of(sample)
        text = io.TextIOWrapper(buffered, encoding=self.encoding, newline="")
        sample_text = sample.decode(self.encoding, errors="ignore")
        self.dialect: Dialect = sniff_dialect(sample_text[: sample_text.rfind("\n") + 1] or sample_text)
        self._read: list[str] = []
        self._reader = csv.reader(self._lines(text), self.dialect)
        self.header: Record | None = None
        self.phone_index = 0
        first = self._next()
        if first is None:
            self._first: Record | None = None
            if column is not None:
                raise CampaignFileError("the file is empty")
            return
        if not has_header(first.text):
            if column is not None:
                raise CampaignFileError(f"--column {column!r}: the file has no header (its first line has digits)")
            self._first = first
            return
        self.header, self._first = first, None
        index = phone_column(first.cells, column)
        if index is None:
            if column is not None:
                raise CampaignFileError(f"no column {column!r} in the header")
            raise CampaignFileError(f"the header names no phone column (one of: {', '.join(sorted(PHONE_ALIASES))})")
        self.phone_index = index

    def _lines(self, text: IO[str]) -> Iterator[str]:
        for line in text:
            self._read.append(line)
            yield line

    def _next(self) -> Record | None:
        """The next record that is not blank, with its text."""
        read = self._read
        for cells in self._reader:
            text = read[0] if len(read) == 1 else "".join(read)  # one line a record, but for quoted line breaks
            read.clear()
            if "".join(cells).strip():  # some cell is not blank
                return Record(cells, text)
        return None

    def records(self) -> Iterator[Record]:
        if self._first is not None:
            yield self._first
            self._first = None
        while (record := self._next()) is not None:
            yield record

    def number(self, record: Record) -> str:
        cells = record.cells
        return cells[self.phone_index] if self.phone_index < len(cells) else ""

    @property
    def delimiter(self) -> str:
        return str(self.dialect.delimiter)


def _encoding_of(sample: bytes) -> str:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)  # a cut last character is no error
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


class CampaignWriter:
    """Writes records as they were read, in the input's encoding; with ``reason``, as a rejects file."""

    def __init__(self, stream: IO[bytes], source: CampaignFile, with_reason: bool) -> None:
        self._out = io.TextIOWrapper(stream, encoding=source.encoding, newline="", write_through=False)
        self._delimiter = source.delimiter
        self._ending = "\n"
        self._with_reason = with_reason
        if source.header is not None:
            self._ending = _line_ending(source.header.text) or "\n"
            self.write(source.header, REASON_COLUMN)

    def write(self, record: Record, reason: str = "") -> None:
        if not self._with_reason:
            self._out.write(record.text)
            return
        body = record.text.rstrip("\r\n")
        self._out.write(f"{body}{self._delimiter}{reason}{_line_ending(record.text) or self._ending}")

    def close(self) -> None:
        """Flushes and lets go of the stream without closing it (it may be stdout)."""
        self._out.flush()
        self._out.detach()

"""Reading an existing opt-out list for ``stoplist import``: a CSV with a header, or one number per line.

A file whose first non-empty line has no digit has a header; its columns are found by name (case, spaces,
dashes and underscores ignored): the number (``phoneNumber``, ``phone``, ``number``, ``numero``, ``mobile``,
``msisdn``...), and optionally ``source``, a date (``occurredAt``, ``date``, ``optedOutAt``...),
``country`` and ``reason``. The delimiter is sniffed among ``,`` ``;`` tab and ``|`` (French spreadsheets
write ``;``). Without a header, each line is one number.

Each line becomes the event contract's JSON body, built and then read back through the contract's own
parser, with the number normalised like events; a line that fails either is invalid, reported with its
line number, and never sent. Event ids are deterministic (the file's hash and the line number), so a
resumed import that sends a line twice sends the same event twice, which the pipeline treats as one.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from stoplist.domain.events import IMPORT_SOURCE, parse_optout
from stoplist.domain.phone import to_e164
from stoplist.errors import PermanentError

from stoplist_cli.phone_columns import PHONE_ALIASES, column_key, has_header, sniff_dialect

DEFAULT_SOURCE = IMPORT_SOURCE
COLUMNS: dict[str, frozenset[str] | set[str]] = {
    "phone": PHONE_ALIASES,  # the rules every command shares (phone_columns.py)
    "source": {"source", "origin", "channel", "canal"},
    "date": {"occurredat", "date", "optedoutat", "optoutdate", "dateoptout", "createdat", "unsubscribedat", "datestop"},
    "country": {"country", "pays", "countrycode"},
    "reason": {"reason", "motif", "comment"},
}
_FRENCH_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


class FileFormatError(ValueError):
    """The file as a whole cannot be read (a header without a phone column)."""


@dataclass(frozen=True)
class Line:
    number: int  # line number in the file, from 1
    body: str = ""  # the event's JSON body; empty when invalid
    error: str = ""
    phone: str = ""  # E.164

    @property
    def valid(self) -> bool:
        return not self.error


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def event_id(file_hash: str, line_number: int) -> str:
    return f"import-{file_hash[:16]}-{line_number}"


def normalise_date(text: str) -> str:
    """ISO 8601 as given (``2024-03-01``, ``2024-03-01 10:19:45``, with or without offset), or French
    ``01/03/2024 [10:19[:45]]``; written back as ISO 8601. No timezone is invented for a naive date."""
    text = text.strip()
    match = _FRENCH_DATE.match(text)
    if match:
        day, month, year, hour, minute, second = match.groups()
        moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
        return moment.isoformat() if hour else moment.date().isoformat()
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.isoformat() if ("T" in text or " " in text) else moment.date().isoformat()


def _columns(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, name in enumerate(header):
        key = column_key(name)
        for field_name, aliases in COLUMNS.items():
            if key in aliases and field_name not in found:
                found[field_name] = index
    if "phone" not in found:
        raise FileFormatError(f"the header names no phone column (one of: {', '.join(sorted(COLUMNS['phone']))})")
    return found


def build_body(
    file_hash: str,
    line_number: int,
    phone: str,
    default_region: str,
    source: str = "",
    date: str = "",
    country: str = "",
    reason: str = "",
) -> str:
    """The contract's body for one line; raises PermanentError (or ValueError for a date) when invalid."""
    e164 = to_e164(phone, country.strip() or None, default_region)
    payload = {
        "phoneNumber": e164,
        "source": source.strip() or DEFAULT_SOURCE,
        "eventId": event_id(file_hash, line_number),
    }
    if date.strip():
        payload["occurredAt"] = normalise_date(date)
    if reason.strip():
        payload["reason"] = reason.strip()
    body = json.dumps(payload, ensure_ascii=False)
    parse_optout(json.loads(body), payload["eventId"])  # the contract's own check, as the handler will do it
    return body


def read_lines(path: Path, file_hash: str, default_region: str) -> Iterator[Line]:
    """Every non-empty line of the file, as a body to send or an error, with its line number."""
    text = path.read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    if has_header(first):
        yield from _read_csv(text, file_hash, default_region)
        return
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield _line(file_hash, number, default_region, line)


def _read_csv(text: str, file_hash: str, default_region: str) -> Iterator[Line]:
    first = next(line for line in text.splitlines() if line.strip())
    reader = csv.reader(io.StringIO(text), sniff_dialect(first))
    columns: dict[str, int] | None = None
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        if columns is None:
            columns = _columns(row)
            continue
        cells = {name: row[index] if index < len(row) else "" for name, index in columns.items()}
        yield _line(file_hash, reader.line_num, default_region, **cells)


def _line(file_hash: str, number: int, default_region: str, phone: str, **optional: str) -> Line:
    try:
        body = build_body(file_hash, number, phone, default_region, **optional)
        return Line(number, body=body, phone=json.loads(body)["phoneNumber"])
    except PermanentError as exc:
        return Line(number, error=str(exc))
    except ValueError:
        return Line(number, error=f"date is not ISO 8601 or DD/MM/YYYY: {optional.get('date', '')[:40]!r}")

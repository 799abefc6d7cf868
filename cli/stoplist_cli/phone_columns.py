"""How the commands read the files people bring: which column holds the phone number, which delimiter, whether
the first line is a header. One set of rules for ``stoplist import``, ``stoplist scrub`` and the links CSV.

- A file whose first non-empty line has no digit has a header; otherwise every line is data.
- The phone column goes by one of ``PHONE_ALIASES``, compared without case, spaces, ``_``, ``-`` or ``.``
  (``Téléphone``, ``phone_number``, ``N° mobile`` is not one: name it with ``--column``).
- The delimiter is sniffed among ``,`` ``;`` tab and ``|``: French spreadsheets write ``;`` because the comma
  is their decimal separator.
"""

from __future__ import annotations

import csv
import re

PHONE_ALIASES = frozenset(
    {
        "phonenumber",
        "phone",
        "number",
        "numero",
        "numéro",
        "telephone",
        "téléphone",
        "tel",
        "tél",
        "mobile",
        "msisdn",
        "gsm",
        "portable",
    }
)
DELIMITERS = ",;\t|"
Dialect = type[csv.Dialect] | csv.Dialect


def column_key(name: str) -> str:
    """A header as the alias sets spell it: lower case, without spaces, ``_``, ``-`` or ``.``."""
    return re.sub(r"[\s_\-.]", "", name.strip().lower())


def has_header(first_line: str) -> bool:
    """A header line has no digit; a number always has some."""
    return not any(char.isdigit() for char in first_line)


def sniff_dialect(sample: str) -> Dialect:
    """The file's CSV dialect from its first lines, else from its first line alone (a short row below the
    header can hide the delimiter), else the default, comma (a file of one number a line has none to find)."""
    first_line = next((line for line in sample.splitlines() if line.strip()), "")
    for text in (sample, first_line):
        try:
            return csv.Sniffer().sniff(text, delimiters=DELIMITERS)
        except csv.Error:
            continue
    return csv.excel


def phone_column(header: list[str], wanted: str | None = None) -> int | None:
    """The index of the phone column: ``wanted`` by name when given, else the first header that is one of
    ``PHONE_ALIASES``; ``None`` when there is none."""
    names = [column_key(cell) for cell in header]
    if wanted is not None:
        key = column_key(wanted)
        return names.index(key) if key in names else None
    return next((index for index, name in enumerate(names) if name in PHONE_ALIASES), None)

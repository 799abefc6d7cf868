"""Mint unsubscribe links for a CSV of recipients, for campaign tools: each row gets an ``unsubscribe_url``.

    python -m stoplist_cli.links_csv --base-url https://stop.example.fr --secret-id LinkSigningKeySecretArn \\
        recipients.csv > recipients-with-links.csv
    STOPLIST_LINK_KEY=... python -m stoplist_cli.links_csv --base-url ... - < in.csv > out.csv

The phone column is found by its header (phone, phoneNumber, mobile, msisdn, numero, telephone, …) or
named with ``--column``; a file without a header uses its first column. The delimiter (``,`` ``;`` tab or ``|``,
as French spreadsheets write) is kept. A number that is not valid gets an empty URL and an ``error``, and
is counted on stderr; ``--strict`` makes that an exit status of 1. The key is read from Secrets Manager
(``--secret-id``, the stack's output ``LinkSigningKeySecretArn``) or from ``STOPLIST_LINK_KEY``, never from
the command line (it would stay in the shell's history). Measured: see bench/links.py.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

from stoplist.config import DEFAULT_PHONE_REGION
from stoplist.domain.links import make_unsubscribe_url
from stoplist.errors import InvalidPhoneNumberError

from stoplist_cli.phone_columns import has_header, phone_column, sniff_dialect

URL_COLUMN = "unsubscribe_url"
ERROR_COLUMN = "error"


@dataclass
class MintReport:
    rows: int = 0
    minted: int = 0
    invalid: int = 0
    first_invalid_rows: list[int] | None = None


def mint(
    numbers: Iterable[str], base_url: str, key: str, region: str = DEFAULT_PHONE_REGION
) -> Iterator[tuple[str, str]]:
    """(url, error) for each number, in order; exactly one of the two is empty."""
    for number in numbers:
        try:
            yield make_unsubscribe_url(base_url, number, key, region), ""
        except InvalidPhoneNumberError as exc:
            yield "", str(exc)


def link_column(header: list[str], wanted: str | None) -> int:
    """The phone column by ``phone_columns``' rules, else the first column (a header of names only)."""
    index = phone_column(header, wanted)
    if index is None and wanted is not None:
        raise SystemExit(f"no column {wanted!r} in the header")
    return index or 0


def mint_csv(
    source: IO[str],
    out: IO[str],
    base_url: str,
    key: str,
    column: str | None = None,
    region: str = DEFAULT_PHONE_REGION,
) -> MintReport:
    sample = source.read(8192)
    dialect = sniff_dialect(sample)
    rows = csv.reader(_chain(sample, source), dialect)
    writer = csv.writer(out, dialect, lineterminator="\n")
    report = MintReport(first_invalid_rows=[])
    first = next(rows, None)
    if first is None:
        return report
    header = has_header(first[0] if first else "")
    index = link_column(first, column) if header else 0
    if header:
        writer.writerow([*first, URL_COLUMN, ERROR_COLUMN])
        body: Iterable[list[str]] = rows
    else:
        body = _prepend(first, rows)
    batch: list[list[str]] = []
    for row in body:
        batch.append(row)
        if len(batch) == 1000:
            _write(batch, index, writer, base_url, key, region, report)
            batch = []
    _write(batch, index, writer, base_url, key, region, report)
    return report


def _write(
    batch: list[list[str]],
    index: int,
    writer: csv.Writer,  # type: ignore[name-defined]
    base_url: str,
    key: str,
    region: str,
    report: MintReport,
) -> None:
    numbers = [row[index] if index < len(row) else "" for row in batch]
    for row, (url, error) in zip(batch, mint(numbers, base_url, key, region), strict=True):
        report.rows += 1
        if url:
            report.minted += 1
        else:
            report.invalid += 1
            if report.first_invalid_rows is not None and len(report.first_invalid_rows) < 10:
                report.first_invalid_rows.append(report.rows)
        writer.writerow([*row, url, error])


def _chain(sample: str, rest: IO[str]) -> Iterator[str]:
    lines = (sample + rest.readline()).splitlines(keepends=True) if sample else []
    yield from lines
    yield from rest


def _prepend(first: list[str], rows: Iterator[list[str]]) -> Iterator[list[str]]:
    yield first
    yield from rows


def read_key(secret_id: str | None) -> str:
    if secret_id:
        from stoplist.adapters.secrets import BareSecret
        from stoplist.wiring import aws_client

        return BareSecret(secret_id=secret_id, max_age_seconds=0, client=aws_client("secretsmanager")).current()
    key = os.environ.get("STOPLIST_LINK_KEY", "")
    if not key:
        raise SystemExit("give --secret-id (LinkSigningKeySecretArn) or set STOPLIST_LINK_KEY")
    return key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stoplist_cli.links_csv", description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="?", default="-", help="recipients CSV (default: standard input)")
    parser.add_argument("--base-url", required=True, help="the stack's output UnsubscribeLinkBaseUrl")
    parser.add_argument("--secret-id", help="LinkSigningKeySecret's ARN (else STOPLIST_LINK_KEY)")
    parser.add_argument("--column", help="header of the phone column (default: found by name, else the first)")
    parser.add_argument("--region", default=DEFAULT_PHONE_REGION, help="region of national numbers")
    parser.add_argument("-o", "--output", help="output CSV (default: standard output)")
    parser.add_argument("--strict", action="store_true", help="exit 1 if any number is invalid")
    args = parser.parse_args(argv)
    key = read_key(args.secret_id)
    source = sys.stdin if args.csv == "-" else open(args.csv, newline="", encoding="utf-8-sig")  # noqa: SIM115
    out = sys.stdout if not args.output else open(args.output, "w", newline="", encoding="utf-8")  # noqa: SIM115
    try:
        report = mint_csv(source, out, args.base_url, key, args.column, args.region.upper())
    finally:
        if source is not sys.stdin:
            source.close()
        if out is not sys.stdout:
            out.close()
    sys.stderr.write(f"{report.minted} links minted, {report.invalid} invalid numbers of {report.rows} rows")
    if report.invalid:
        sys.stderr.write(f" (first invalid rows: {', '.join(map(str, report.first_invalid_rows or []))})")
    sys.stderr.write("\n")
    return 1 if args.strict and report.invalid else 0


if __name__ == "__main__":
    sys.exit(main())

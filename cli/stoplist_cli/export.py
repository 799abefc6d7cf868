"""``stoplist export FILE``: the stop-list table as CSV with its audit fields, for an audit or a regulator.

Columns are the table's attributes (``stoplist.adapters.table.ITEM_ATTRIBUTES``, in that order), then
``otherAttributes`` (JSON of any attribute not in that list), so nothing an item holds is left out. The
``#snapshot-status`` item is not a number and is not exported. Rows stream as the table is scanned (memory
stays flat), in DynamoDB's order; ``--sort`` orders them by number, holding the table in memory.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import click
from stoplist.adapters.table import ITEM_ATTRIBUTES, STATUS_KEY

from stoplist_cli.check import plain_item
from stoplist_cli.context import Session, pass_session

OTHER_COLUMN = "otherAttributes"


def scan_items(dynamodb: Any, table: str) -> Iterator[dict[str, str]]:
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            if item["phoneNumber"]["S"] != STATUS_KEY:
                yield plain_item(item)


def write_csv(items: Iterable[dict[str, str]], handle: IO[str], sort: bool = False) -> int:
    """Returns the rows written. An attribute the documented list does not know (none today) goes, with its
    value, into the last column as JSON, so that it is not lost and the file keeps one header."""
    rows = sorted(items, key=lambda item: item["phoneNumber"]) if sort else items
    writer = csv.DictWriter(handle, fieldnames=[*ITEM_ATTRIBUTES, OTHER_COLUMN], lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in rows:
        known = {name: value for name, value in row.items() if name in ITEM_ATTRIBUTES}
        other = {name: value for name, value in row.items() if name not in ITEM_ATTRIBUTES}
        writer.writerow({**known, OTHER_COLUMN: json.dumps(other, sort_keys=True) if other else ""})
        count += 1
    return count


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--sort", is_flag=True, help="Order rows by number (holds the table in memory).")
@pass_session
def export(session: Session, file: Path, sort: bool) -> None:
    """The table as CSV (FILE, or - for stdout) with every audit field."""
    session.stack.require("table_name")
    started = time.monotonic()
    items = scan_items(session.client("dynamodb"), session.stack.table_name)
    if str(file) == "-":
        count = write_csv(items, sys.stdout, sort)
    else:
        with file.open("w", newline="", encoding="utf-8") as handle:
            count = write_csv(items, handle, sort)
    seconds = time.monotonic() - started
    summary = {
        "file": str(file),
        "rows": count,
        "columns": [*ITEM_ATTRIBUTES, OTHER_COLUMN],
        "seconds": round(seconds, 2),
    }
    if session.output.json_mode and str(file) != "-":
        session.output.document(summary)
    else:
        session.output.note(f"exported {count:,} numbers to {file} in {seconds:.1f} s")

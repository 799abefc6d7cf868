"""``stoplist export FILE``: the stop-list table as CSV with its audit fields, for an audit or a regulator.

Columns are the table's attributes (``stoplist.adapters.table.ITEM_ATTRIBUTES``, in that order), then
``otherAttributes`` (JSON of any attribute not in that list), so nothing an item holds is left out. The
table's own items (``#snapshot-status``, ``#snapshot-lease``) are not numbers and are not exported. Rows stream
as the table is scanned (memory stays flat), in DynamoDB's order; ``--sort`` orders them by number, holding the
table in memory.
"""

from __future__ import annotations

import contextlib
import csv
import json
import queue
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

import click
from stoplist.adapters.table import ITEM_ATTRIBUTES
from stoplist.domain.keys import is_control_key

from stoplist_cli.check import plain_item
from stoplist_cli.context import Session, json_option, pass_session

OTHER_COLUMN = "otherAttributes"
# Parallel-scan segments: the scan waits on DynamoDB, not on Python (measured with DynamoDB Local: 10,000
# items, 6.4 s of 6.8 s spent waiting for the two pages of a one-segment scan). Within boto3's pool of 10.
DEFAULT_SEGMENTS = 8


def scan_items(dynamodb: Any, table: str, segments: int = DEFAULT_SEGMENTS) -> Iterator[dict[str, str]]:
    """Every number's item, from a parallel scan: pages from ``segments`` threads, yielded as they come."""
    pages: queue.Queue[list[dict[str, Any]] | None] = queue.Queue(maxsize=2 * segments)
    stop = threading.Event()

    def scan(segment: int) -> None:
        try:
            for page in dynamodb.get_paginator("scan").paginate(
                TableName=table, ConsistentRead=True, Segment=segment, TotalSegments=segments
            ):
                while not stop.is_set():
                    try:
                        pages.put(page["Items"], timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
        finally:
            pages.put(None)  # this segment is done (the reader keeps reading until all are)

    with ThreadPoolExecutor(max_workers=segments, thread_name_prefix="export") as pool:
        futures = [pool.submit(scan, segment) for segment in range(segments)]
        try:
            finished = 0
            while finished < segments:
                items = pages.get()
                if items is None:
                    finished += 1
                    continue
                for item in items:
                    if not is_control_key(item["phoneNumber"]["S"]):
                        yield plain_item(item)
        finally:
            stop.set()
            while any(not future.done() for future in futures):  # let blocked producers see the stop
                with contextlib.suppress(queue.Empty):
                    pages.get(timeout=0.1)
        for future in futures:
            future.result()  # a segment's error is the export's error


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
@click.option("--segments", type=click.IntRange(1, 10), default=DEFAULT_SEGMENTS, show_default=True)
@json_option
@pass_session
def export(session: Session, file: Path, sort: bool, segments: int) -> None:
    """The table as CSV (FILE, or - for stdout) with every audit field."""
    session.stack.require("table_name")
    started = time.monotonic()
    items = scan_items(session.client("dynamodb"), session.stack.table_name, segments)
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

"""The operators' command at scale, against moto server and DynamoDB Local: import pacing, and export speed.

    python -m bench.operations [--lines 1000] [--rate 25] [--items 20000]

Import: the same file of N numbers into OptOutQueue, unpaced (``--rate 0``) and paced; prints each run's
messages a second and the ratio of the paced run's rate to the rate asked for (pacing lets the first batch
of 10 leave at once, so the ratio is N / (N - 10) at best). Export: a table of M items, every one with its
audit fields, to CSV, with a one-segment scan and with the default parallel scan; prints the times, rows a
second and their ratio.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from stoplist_cli.export import DEFAULT_SEGMENTS
from stoplist_cli.import_command import DEFAULT_RATE

from devkit.services import start_local_aws
from devkit.template import create_resources, load_template


def run(*args: str) -> dict[str, Any]:
    from stoplist_cli.app import main

    result = CliRunner().invoke(main, ["--json", *args], catch_exceptions=False)
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE)
    parser.add_argument("--items", type=int, default=20_000)
    args = parser.parse_args()
    aws = start_local_aws()
    aws.apply_environment()
    try:
        import boto3
        from stoplist.adapters.table import SnapshotTable, StopListTable
        from stoplist.domain.ports import ListedEntry, OptOutRecord, ProviderFields

        with tempfile.TemporaryDirectory() as directory:
            work = Path(directory)
            numbers = work / "numbers.txt"
            numbers.write_text(
                "".join(
                    f"06 1{i // 10**6} {i // 10**4 % 100:02d} {i // 100 % 100:02d} {i % 100:02d}\n"
                    for i in range(args.lines)
                )
            )
            print(f"import of {args.lines:,} numbers (batches of 10)")
            for rate in (0.0, args.rate):
                resources = create_resources(load_template(), prefix=f"bench-import-{int(rate)}")
                summary = run(
                    "--queue-url",
                    resources.queue_urls["OptOutQueue"],
                    "import",
                    "--send-listed",
                    "--rate",
                    str(rate),
                    "--state-dir",
                    str(work / f"state-{rate}"),
                    str(numbers),
                )
                asked = f"{rate:.0f}/s asked" if rate else "unpaced"
                ratio = f", ratio to the rate asked {summary['messages_per_second'] / rate:.3f}" if rate else ""
                print(
                    f"  {asked:>12}: {summary['sent']:,} sent in {summary['seconds']:.2f} s, "
                    f"{summary['messages_per_second']:.1f} messages/s{ratio}"
                )

            resources = create_resources(load_template(), prefix="bench-export")
            table = StopListTable(resources.table_name, boto3.client("dynamodb"))
            now = "2026-01-01T00:00:00.000000Z"
            at = "2024-02-01T10:00:00.000000Z"
            half = args.items // 2
            SnapshotTable(resources.table_name, boto3.client("dynamodb")).put_new(
                ((f"+336{i:08d}", ProviderFields((ListedEntry(i, "2015-07-20 10:19:45"),))) for i in range(half)), now
            )
            for i in range(half, args.items):
                table.record_opt_out(OptOutRecord(f"+336{i:08d}", f"evt-{i}", at, "crm", "STOP", i), now)
            target = work / "export.csv"
            print(f"export of {args.items:,} items ({half:,} from the snapshot, {args.items - half:,} written through)")
            times = {}
            for segments in (1, DEFAULT_SEGMENTS):
                started = time.perf_counter()
                summary = run("--table", resources.table_name, "export", "--segments", str(segments), str(target))
                times[segments] = time.perf_counter() - started
                print(
                    f"  {segments} segment(s): {summary['rows']:,} rows in {times[segments]:.2f} s, "
                    f"{summary['rows'] / times[segments]:,.0f} rows/s, {target.stat().st_size / 1e6:.1f} MB of CSV"
                )
            print(f"  ratio 1 segment / {DEFAULT_SEGMENTS}: {times[1] / times[DEFAULT_SEGMENTS]:.2f}")
    finally:
        aws.stop()


if __name__ == "__main__":
    main()

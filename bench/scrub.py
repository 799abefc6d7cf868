"""Campaign scrub at scale against DynamoDB Local: the command against the bare BatchGetItem loop and GetItem.

A campaign file of N rows (``id;nom;telephone;ville``, numbers typed ``06 12 34 56 78``; 1 % invalid, 1 %
repeats of an earlier row) is scrubbed with the sending hours checked, by ``stoplist scrub`` in a process of
its own (peak memory: that process's ``ru_maxrss``), against a table holding half of the file's numbers.
The same distinct numbers then go through a bare loop: ``BatchGetItem`` of 100 keys with the same number of
requests in flight, nothing else (the limit); and, on a sample, one ``GetItem`` per row in sequence (what a
naive script does), extrapolated to the file.

    python -m bench.scrub [--rows 1000000] [--naive-sample 2000]

Both the command and the bare loop have ``stoplist.scrub.IN_FLIGHT`` requests in flight.

Targets: the scrub within 1.3 times the bare loop's time, at least 10 times the naive rate, under 200 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from stoplist.scrub import BATCH_GET_LIMIT, IN_FLIGHT

from devkit.services import REGION, DynamoDbLocal

TABLE = "bench-scrub"
WRITE_BATCH = 25
WARM_UP_KEYS = 100_000
AT = "2026-06-02T12:00:00+02:00"  # a Tuesday noon: the hours are checked, and open


def national(index: int) -> str:
    digits = f"{index:08d}"
    return f"06 {digits[0:2]} {digits[2:4]} {digits[4:6]} {digits[6:8]}"


def write_campaign(path: Path, rows: int) -> list[str]:
    """The file, and its distinct numbers in E.164 in the order the scrub meets them."""
    distinct: list[str] = []
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("id;nom;telephone;ville\r\n")
        for row in range(rows):
            if row % 100 == 50:
                number = "06 XX"  # invalid
            elif row % 100 == 99:
                number = national(int(distinct[-50 - row // 100 % 2][4:]))  # an earlier row's, opted out or not
            else:
                number = national(len(distinct))
                distinct.append(f"+336{len(distinct):08d}")
            handle.write(f'{row};"Client {row}, fidèle";{number};Paris\r\n')
    return distinct


def in_parallel(work: Callable[[list[str]], Any], keys: list[str], size: int, in_flight: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=in_flight) as pool:
        for _ in pool.map(work, (keys[start : start + size] for start in range(0, len(keys), size))):
            pass
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--naive-sample", type=int, default=2000)
    args = parser.parse_args()
    dynamodb_local = DynamoDbLocal().start()
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_local.endpoint,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": REGION,
    }
    os.environ.update(env)
    client: Any = boto3.client("dynamodb", config=Config(max_pool_connections=IN_FLIGHT + 2))
    try:
        with tempfile.TemporaryDirectory() as directory:
            run(client, Path(directory), env, args.rows, IN_FLIGHT, args.naive_sample)
    finally:
        dynamodb_local.stop()


def run(client: Any, directory: Path, env: dict[str, str], rows: int, in_flight: int, naive_sample: int) -> None:
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "phoneNumber", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "phoneNumber", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    campaign = directory / "campaign.csv"
    distinct = write_campaign(campaign, rows)
    opted_out = distinct[::2]

    def write(keys: list[str]) -> None:
        request = {TABLE: [{"PutRequest": {"Item": {"phoneNumber": {"S": key}}}} for key in keys]}
        while request:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}

    load_seconds = in_parallel(write, opted_out, WRITE_BATCH, in_flight)
    print(f"campaign scrub against DynamoDB Local (2 cores, shared with other work), {in_flight} requests in flight")
    print(f"  file: {rows:,} rows, {len(distinct):,} distinct numbers; table: {len(opted_out):,} opted out")
    print(f"  (table loaded in {load_seconds:.0f} s)")

    def bare(keys: list[str]) -> int:
        answer = client.batch_get_item(
            RequestItems={
                TABLE: {"Keys": [{"phoneNumber": {"S": key}} for key in keys], "ProjectionExpression": "phoneNumber"}
            }
        )
        return len(answer["Responses"][TABLE])

    # DynamoDB Local's JVM compiles its read path on the first requests: an untimed pass first, so that the
    # bare loop, which runs first, is not charged for it (it made the first of three runs 1.5 times slower).
    in_parallel(bare, distinct[:WARM_UP_KEYS], BATCH_GET_LIMIT, in_flight)
    load_before = os.getloadavg()[0]
    bare_seconds = in_parallel(bare, distinct, BATCH_GET_LIMIT, in_flight)

    command = [sys.executable, "-m", "stoplist_cli", "--table", TABLE, "--json", "scrub", str(campaign)]
    command += ["-o", str(directory / "kept.csv"), "--rejects", str(directory / "rejects.csv"), "--at", AT]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    scrub_seconds = time.perf_counter() - started
    summary = process.stdout.read().decode() if process.stdout else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"stoplist scrub failed: {summary}")
    peak_mb = usage.ru_maxrss / 1024
    load_after = os.getloadavg()[0]

    sample = distinct[:naive_sample]
    started = time.perf_counter()
    for key in sample:
        client.get_item(TableName=TABLE, Key={"phoneNumber": {"S": key}})
    naive_rate = len(sample) / (time.perf_counter() - started)

    scrub_rate = rows / scrub_seconds
    ratio_bare = scrub_seconds / bare_seconds
    ratio_naive = scrub_rate / naive_rate
    inside = json.loads(summary)
    lines = [
        f"stoplist scrub (its process, start to exit): {scrub_seconds:.1f} s, {scrub_rate:,.0f} rows/s,"
        f" peak {peak_mb:.0f} MB",
        f"  read {inside['read']:,}, kept {inside['kept']:,}, rejected {inside['rejected']}",
        f"  its own timing (first row to last, no start-up): {inside['seconds']:.1f} s,"
        f" {inside['seconds'] / bare_seconds:.2f} times the bare loop",
        f"bare BatchGetItem loop, same keys: {bare_seconds:.1f} s, {len(distinct) / bare_seconds:,.0f} keys/s",
        f"naive GetItem per row, sequential: {naive_rate:,.0f} rows/s on a sample of {len(sample):,}"
        f" (extrapolated to the file: {rows / naive_rate:,.0f} s)",
    ]
    for line in lines:
        print("  " + line)
    verdicts = [
        f"time / bare loop {ratio_bare:.2f} (target <= 1.3: {'OK' if ratio_bare <= 1.3 else 'OVER'})",
        f"rate / naive {ratio_naive:.1f}x (target >= 10: {'OK' if ratio_naive >= 10 else 'UNDER'})",
        f"peak {peak_mb:.0f} MB (target < 200: {'OK' if peak_mb < 200 else 'OVER'})",
    ]
    print("  " + "; ".join(verdicts))
    print(f"  load average (1 min): {load_before:.1f} before the bare loop, {load_after:.1f} after the scrub")


if __name__ == "__main__":
    main()

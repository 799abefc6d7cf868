"""Snapshot at scale against DynamoDB Local: first load, then a re-snapshot after a 0.1 % change.

For each list size the stand-in holds N numbers; a first snapshot loads them into an empty table; then 0.1 %
of them leave the list and as many new ones join, and a second snapshot runs. Each snapshot runs in a fresh
process (as a Lambda invocation would), which reports its wall time and its peak resident memory.

    python -m bench.snapshot [--sizes 100000 1000000]

Target for the 1,000,000 re-snapshot: about 2,000 items written, under 60 s, under 1.5 GB peak memory.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import time
from typing import Any

from devkit.services import start_local_aws
from devkit.standin import SmsPartnerStandIn
from devkit.template import create_resources, load_template

API_KEY = "bench-key"


def numbers(count: int, start: int = 0) -> list[str]:
    return [f"+336{index:08d}" for index in range(start, start + count)]


def run_snapshot(aws_env: dict[str, str], function_env: dict[str, str], results: Any) -> None:
    """One invocation's worth of work in its own process: build the sync, run it, report time and memory."""
    os.environ.update(aws_env)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # the JSON log lines
    from stoplist.config import Settings
    from stoplist.wiring import build_snapshot_sync

    started = time.perf_counter()
    report = build_snapshot_sync(Settings.from_env(function_env)).run()
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results.put((report.as_dict(), seconds, peak_mb))


def snapshot_once(aws_env: dict[str, str], function_env: dict[str, str]) -> tuple[dict[str, Any], float, float]:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=run_snapshot, args=(aws_env, function_env, results))
    process.start()
    outcome = results.get(timeout=1800)
    process.join()
    return outcome  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    aws = start_local_aws()
    aws.apply_environment()
    standin = SmsPartnerStandIn(api_keys=(API_KEY,)).start()
    template = load_template()
    rows = []
    try:
        for size in args.sizes:
            standin.reset()
            resources = create_resources(
                template, {"SmsPartnerApiUrl": standin.base_url}, api_key=API_KEY, prefix=f"snap{size}"
            )
            function_env = {**resources.function_env["SnapshotFunction"], "PROVIDER_READ_TIMEOUT_SECONDS": "300"}
            standin.seed_stop_list(numbers(size))
            report, seconds, peak = snapshot_once(aws.environment(), function_env)
            rows.append((size, "first load", seconds, report, peak))

            changed = max(1, size // 1000)
            standin.remove_numbers(numbers(changed))
            standin.seed_stop_list(numbers(changed, start=size))
            report, seconds, peak = snapshot_once(aws.environment(), function_env)
            rows.append((size, "re-snapshot, 0.1 % change", seconds, report, peak))
    finally:
        standin.stop()
        aws.stop()

    print(f"snapshot against DynamoDB Local ({os.cpu_count()} cores), each run in a fresh process")
    print(
        f"  {'list size':>10}  {'run':<26}{'wall':>9}  {'written':>9}  {'added':>8} {'updated':>8} {'removed':>8}"
        f"  {'peak RSS':>9}   fetch+parse / scan / write"
    )
    for size, label, seconds, report, peak in rows:
        print(
            f"  {size:>10,}  {label:<26}{seconds:>8.1f}s  {report['items_written']:>9,}  {report['added']:>8,} "
            f"{report['updated']:>8,} {report['removed']:>8,}  {peak:>7.0f}MB   "
            f"{report['fetch_ms'] / 1000:.1f} / {report['scan_ms'] / 1000:.1f} / {report['write_ms'] / 1000:.1f} s"
        )
    million = [row for row in rows if row[0] == 1_000_000 and row[1].startswith("re-")]
    if million:
        _, _, seconds, report, peak = million[0]
        ok = abs(report["items_written"] - 2000) <= 20 and seconds < 60 and peak < 1536
        print(
            f"1,000,000 re-snapshot: {report['items_written']:,} writes, {seconds:.1f} s, {peak:.0f} MB "
            f"(targets about 2,000, < 60 s, < 1,536 MB): {'OK' if ok else 'TARGET MISSED'}"
        )


if __name__ == "__main__":
    main()

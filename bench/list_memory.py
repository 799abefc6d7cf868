"""Peak memory and time of one read of ``GET /stop-sms/list``, against the stand-in, per list size.

Three ways to read the list, each in a fresh process (as a Lambda container would be) that first imports what
the opt-out function imports, then reads the list once:

- ``whole body``: the body downloaded and ``json()``-parsed at once, every entry made a ``StopEntry`` (how the
  client read the list before it streamed it, reproduced here for comparison);
- ``stream, one number``: ``SmsPartnerClient.list_stops`` with a consumer that keeps only the entries of one
  number (what the opt-in does: a cheap test of the last digits, then a full parse of the few that pass);
- ``stream, all kept``: the same, every entry kept in a list (what the snapshot does).

Peak RSS is the process's ``VmHWM`` (interpreter and imports included; the ``imports`` column is the same
figure before the read). Not ``ru_maxrss``: on Linux a spawned child's ``ru_maxrss`` starts from its parent's
RSS at fork, and the parent here holds the stand-in and its list. The machine is shared: the CPU seconds of
the reading process say more than its wall time. The stand-in serves the list from memory on loopback, so
transfer costs little here; over the Internet it is what dominates.

    python -m bench.list_memory [--sizes 100000 300000 1000000]

Targets at 1,000,000 entries for the one-number read: within the opt-out functions' 256 MB (ideally under
100 MB) and well within their 30 s timeout.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import time
from typing import Any

from devkit.standin import SmsPartnerStandIn

API_KEY = "bench-key"
MODES = ("whole body", "stream, one number", "stream, all kept")
FUNCTION_MEMORY_MB = 256


def numbers(count: int) -> list[str]:
    return [f"+336{index:08d}" for index in range(count)]


class _Key:
    """The secret reader the client's key source asks (the bench has no Secrets Manager)."""

    def get(self, name: str, *, max_age: int | None = None, force_fetch: bool = False) -> str:
        return API_KEY


def peak_rss_mb() -> float:
    """This process's own high-water mark of resident memory (``VmHWM``, in kB in /proc/self/status)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def read_once(base_url: str, mode: str, target: str, results: Any) -> None:
    """One read in its own process: the function's imports, then the list read ``mode``'s way."""
    from stoplist.adapters.list_body import stop_entry
    from stoplist.adapters.provider import RetryPolicy, SmsPartnerClient, new_session
    from stoplist.adapters.secrets import ApiKeySource
    from stoplist.domain.phone import provider_e164
    from stoplist.wiring import build_provider  # noqa: F401

    import handlers.optout_sqs  # noqa: F401  (the opt-out function's imports: Powertools, boto3, the domain)

    imports_mb = peak_rss_mb()
    session = new_session(1, base_url)
    started, cpu_started = time.perf_counter(), cpu_seconds()
    if mode == "whole body":
        response = session.get(f"{base_url}/stop-sms/list", params={"apiKey": API_KEY, "_format": "json"}, timeout=300)
        document = response.json() if response.text else None
        assert isinstance(document, dict)
        entries = [stop_entry(item) for item in document["data"]]
        kept = sum(1 for entry in entries if entry.phone_number == target)
    else:
        client = SmsPartnerClient(
            base_url=base_url,
            api_key=ApiKeySource("bench", 300, _Key()),
            session=session,
            connect_timeout=3.05,
            read_timeout=300,
            retry=RetryPolicy(max_attempts=1, base_delay=0.1, max_delay=1),
        )
        if mode == "stream, one number":
            tail = target[-9:]
            kept = sum(
                1
                for entry in client.list_stops()
                if entry.phone_number is not None
                and entry.phone_number.endswith(tail)
                and provider_e164(entry.phone_number, "FR") == target
            )
        else:
            kept = len(list(client.list_stops()))
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    results.put((kept, seconds, cpu, imports_mb, peak_rss_mb()))


def measure(base_url: str, mode: str, target: str) -> tuple[int, float, float, float, float]:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=read_once, args=(base_url, mode, target, results))
    process.start()
    outcome = results.get(timeout=900)
    process.join()
    return outcome  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    args = parser.parse_args()
    standin = SmsPartnerStandIn(api_keys=(API_KEY,)).start()
    rows = []
    try:
        for size in args.sizes:
            standin.reset()
            standin.seed_stop_list(numbers(size))
            target = numbers(size)[size * 2 // 3]
            body_mb = len(standin.list_body({"apiKey": API_KEY})[1]) / 1e6
            for mode in MODES:
                kept, seconds, cpu, imports_mb, peak_mb = measure(standin.base_url, mode, target)
                rows.append((size, body_mb, mode, kept, seconds, cpu, imports_mb, peak_mb))
    finally:
        standin.stop()

    print(
        f"one read of stop-sms/list from the stand-in on loopback, a fresh process each "
        f"({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f})"
    )
    print(f"  {'entries':>10} {'body':>8}  {'read':<20}{'kept':>10}{'wall':>8}{'CPU':>8}{'imports':>9}{'peak RSS':>10}")
    for size, body_mb, mode, kept, seconds, cpu, imports_mb, peak_mb in rows:
        print(
            f"  {size:>10,} {body_mb:>6.1f}MB  {mode:<20}{kept:>10,}{seconds:>7.1f}s{cpu:>7.1f}s"
            f"{imports_mb:>7.0f}MB{peak_mb:>8.0f}MB"
        )
    for size, _, mode, _, seconds, _, _, peak_mb in rows:
        if size == 1_000_000 and mode == "stream, one number":
            fits = peak_mb < FUNCTION_MEMORY_MB and seconds < 30
            print(
                f"1,000,000 entries, one number: {peak_mb:.0f} MB of the function's {FUNCTION_MEMORY_MB} MB, "
                f"{seconds:.1f} s of its 30 s: {'within' if fits else 'NOT within'} the function's limits"
            )


if __name__ == "__main__":
    main()

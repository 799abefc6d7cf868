"""The whole pipeline on this machine: opt-outs through the queue and the bus, then the snapshot.

    python -m devkit.run                        # sample events, on embedded defaults, all on loopback
    python -m devkit.run --numbers numbers.csv  # plus a file of numbers (CSV or one per line)
    python -m devkit.run --dry-run              # parse and normalise only; calls nothing
    SMSPARTNER_API_KEY=... python -m devkit.run --real-api   # WRITES TO THE REAL STOP LIST

The command line only: options, the confirmation for --real-api, the progress bar and the summary. The run
itself is ``devkit.pipeline``; handler logs and metrics go to .local/pipeline.log.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import IO

from devkit.pipeline import LOG_PATH, DryRunOutcome, Progress, RunOptions, RunSummary, dry_run, run_pipeline
from devkit.services import REPO_ROOT

PROGRESS_FROM = 50  # events; a bar for a handful of events is noise


def progress_bar(console: IO[str]) -> Callable[[int], Progress]:
    """tqdm bar over events processed, on ``console``; a no-op for a handful of events."""

    def start(total: int) -> Progress:
        if total < PROGRESS_FROM:
            return lambda _: None
        from tqdm import tqdm

        bar = tqdm(total=total, unit="event", file=console, desc="opt-outs", leave=False)

        def update(done: int | None, /) -> None:
            if done is None:
                bar.close()
            elif done:
                bar.update(done)

        return update

    return start


def render_dry_run(outcomes: list[DryRunOutcome], out: IO[str]) -> None:
    counts: Counter[str] = Counter()
    for outcome in outcomes:
        if outcome.rejection is None:
            counts["would be sent"] += 1
            out.write(f"  {outcome.channel:5} {outcome.phone_number!r:32} -> POST /stop-sms/add {outcome.e164}\n")
        else:
            counts[f"would be rejected ({outcome.rejection.reason})"] += 1
            out.write(f"  {outcome.channel:5} rejected: {outcome.rejection}\n")
    out.write("Dry run: nothing was called. " + ", ".join(f"{n} {what}" for what, n in counts.items()) + "\n")


def render(summary: RunSummary, out: IO[str]) -> None:
    m = summary.metrics
    width = 22

    def line(label: str, value: object, note: str = "") -> None:
        out.write(f"  {label:<{width}}{value!s:>8}  {note}\n")

    out.write(f"\nsmspartner-stoplist local run ({summary.seconds:.1f} s), provider at {summary.api_url}\n")
    line(
        "events in",
        summary.total_in,
        f"(queue {summary.events_in['queue']}, bus {summary.events_in['bus']}, "
        f"HTTP doors {summary.events_in['http']}, then re-opt-ins {summary.events_in['opt-in']})",
    )
    line("added", int(m["OptOutAdded"]))
    line("already listed", int(m["OptOutAlreadyListed"]))
    line("opted in again", int(m["OptInRemoved"] + m["OptInNotListed"]), "(with consent; off the provider's list)")
    line("rejected", int(m["OptOutRejected"]), "(kept in a dead-letter queue with the reason)")
    line("given up after retries", int(m["OptOutDeadLettered"]))
    reasons: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for messages in summary.dead_letters.values():
        for message in messages:
            reasons[message.get("errorType", "unknown")] += 1
            examples.setdefault(message.get("errorType", "unknown"), message.get("reason", ""))
    for reason, count in reasons.most_common():
        out.write(f'      {reason}: {count}, e.g. "{examples[reason][:90]}"\n')
    line(
        "in dead-letter queues",
        summary.dead_lettered,
        "(" + ", ".join(f"{name} {len(items)}" for name, items in summary.dead_letters.items()) + ")",
    )
    lost = summary.total_in - summary.accounted
    line("unaccounted for", lost, "OK" if lost == 0 else "CHECK .local/pipeline.log")
    if summary.provider_calls:
        line(
            "provider calls",
            sum(v for k, v in summary.provider_calls.items() if not k.startswith("fault_")),
            ", ".join(f"{k} {v}" for k, v in sorted(summary.provider_calls.items())),
        )
    transient = int(m["ProviderTransientError"])
    if transient:
        line("records retried later", transient, "(provider faults past the in-call retries)")
    s = summary.snapshot
    line(
        "snapshot",
        s.get("size", 0),
        f"numbers (added {s.get('added')}, updated {s.get('updated')}, removed {s.get('removed')}) "
        f"in {s.get('duration_ms')} ms",
    )
    line("table items", summary.table_size)
    replies = [int(m[name]) for name in ("ReplyOptOut", "ReplyIgnored", "ReplyRefused")]
    line("SMS replies", sum(replies), "(opt-outs {}, ignored {}, refused {})".format(*replies))
    links = [int(m[name]) for name in ("UnsubscribePageShown", "UnsubscribeConfirmed", "UnsubscribeLinkInvalid")]
    line("unsubscribe link hits", sum(links), "(pages shown {}, confirmed {}, invalid {})".format(*links))
    if summary.http_url:
        out.write(f"  HTTP API at {summary.http_url} during the run (run-local.sh --serve keeps one up):\n")
        out.write(f"      open in a browser: {summary.sample_link}\n")
        out.write(f"      reply webhook:     {summary.webhook_curl}\n")
    announced = summary.announced
    line(
        "announcements",
        len(summary.announcements),
        ", ".join(f"{kind} {count}" for kind, count in sorted(announced.items())) + " (on the bus, one per change)",
    )
    by_source = Counter(
        f"{a['detail-type'].removeprefix('Sms').removesuffix('Recorded')} by {a['detail']['recordedBy']}"
        for a in summary.announcements
    )
    for what, count in sorted(by_source.items()):
        out.write(f"      {what}: {count}\n")
    line("history entries", summary.history_entries, "(StopListHistoryTable, append-only)")
    out.write("  sample lookups\n")
    for number, verdict in summary.lookups:
        out.write(f"      {number:<22}{verdict}\n")
    out.write(f"  handler logs and metrics: {LOG_PATH.relative_to(REPO_ROOT)}\n")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devkit.run", description=__doc__.splitlines()[0] if __doc__ else ""
    )
    parser.add_argument("--numbers", type=Path, help="a file of numbers to opt out (CSV first column, or one per line)")
    parser.add_argument("--via", choices=["queue", "bus", "both"], default="both", help="where the file's numbers go")
    parser.add_argument("--dry-run", action="store_true", help="parse and normalise only; call nothing")
    parser.add_argument(
        "--real-api", action="store_true", help="call the real SMS Partner API (key: SMSPARTNER_API_KEY)"
    )
    parser.add_argument("--api-url", help="base URL with --real-api (default: the template's SmsPartnerApiUrl default)")
    parser.add_argument("--yes", action="store_true", help="with --real-api: do not ask for confirmation")
    parser.add_argument("--latency", type=float, default=0.0, help="stand-in: seconds added to each answer")
    parser.add_argument(
        "--faults",
        type=json.loads,
        default={},
        help='stand-in fault rates, e.g. \'{"http_503": 0.2, "http_429": 0.1}\'',
    )
    parser.add_argument("--no-progress", action="store_true")
    return parser.parse_args(argv)


def confirm_real_api() -> None:
    sys.stderr.write(
        "WARNING: --real-api sends every number of this run to the REAL SMS Partner stop list.\n"
        "Numbers added there stop receiving your SMS. Type 'yes' to go on: "
    )
    if sys.stdin.readline().strip() != "yes":
        raise SystemExit("aborted")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.real_api and not args.dry_run and not args.yes:
        confirm_real_api()
    options = RunOptions(
        numbers_file=args.numbers,
        via=args.via,
        real_api=args.real_api,
        api_url=args.api_url,
        latency_seconds=args.latency,
        fault_rates=args.faults,
        http_samples=True,
    )
    if args.dry_run:
        render_dry_run(dry_run(options), sys.stdout)
        return 0
    if options.real_api:
        options.api_key = os.environ.get("SMSPARTNER_API_KEY", "")
        if not options.api_key:
            raise SystemExit("--real-api needs the key in the SMSPARTNER_API_KEY environment variable")
    summary = run_pipeline(options, progress=None if args.no_progress else progress_bar(sys.stderr))
    render(summary, sys.stdout)
    return 0 if summary.total_in == summary.accounted else 1


if __name__ == "__main__":
    sys.exit(main())

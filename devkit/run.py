"""The whole pipeline on this machine: opt-outs through the queue and the bus, then the snapshot.

    python -m devkit.run                        # sample events, on embedded defaults, all on loopback
    python -m devkit.run --numbers numbers.csv  # plus a file of numbers (CSV or one per line)
    python -m devkit.run --dry-run              # parse and normalise only; calls nothing
    SMSPARTNER_API_KEY=... python -m devkit.run --real-api   # WRITES TO THE REAL STOP LIST

Everything AWS is local (moto server for SQS, EventBridge and Secrets Manager; DynamoDB Local for the
table), created from template.yaml. Handler logs and metrics go to .local/pipeline.log; the terminal
shows a progress bar and a summary.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import functools
import json
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from devkit.lambda_runtime import environment
from devkit.services import REPO_ROOT

EVENTS_DIR = REPO_ROOT / "events"
LOG_PATH = REPO_ROOT / ".local" / "pipeline.log"
LOCAL_API_KEY = "local-demo-key"
# Numbers the embedded stand-in already holds, as if opted out by SMS before this run.
PRESEEDED = ["+33612345678", "+33711223344", "+33600000042"]
SAMPLE_LOOKUPS = ["06 12 34 56 78", "+33 6 98 76 54 32", "07 81 23 45 67", "3639"]


@dataclass
class RunOptions:
    numbers_file: Path | None = None
    via: str = "both"  # queue | bus | both: where the numbers of the file are published
    real_api: bool = False
    api_url: str | None = None
    dry_run: bool = False
    progress: bool = True
    latency_seconds: float = 0.0
    fault_rates: dict[str, float] = field(default_factory=dict)
    retry_delay_seconds: int = 1
    extra_env: dict[str, str] = field(default_factory=dict)
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    preseed: bool = True


@dataclass
class RunSummary:
    events_in: Counter[str] = field(default_factory=Counter)
    metrics: Counter[str] = field(default_factory=Counter)
    dead_letters: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    provider_calls: Counter[str] = field(default_factory=Counter)
    snapshot: dict[str, Any] = field(default_factory=dict)
    table_size: int = 0
    lookups: list[tuple[str, str]] = field(default_factory=list)
    api_url: str = ""
    seconds: float = 0.0
    stop_list: set[str] = field(default_factory=set)
    table_numbers: set[str] = field(default_factory=set)

    @property
    def total_in(self) -> int:
        return sum(self.events_in.values())

    @property
    def dead_lettered(self) -> int:
        return sum(len(messages) for messages in self.dead_letters.values())

    @property
    def accounted(self) -> int:
        """Events whose end is known: in the stop list (added or already there) or in a dead-letter queue."""
        return int(self.metrics["OptOutAdded"] + self.metrics["OptOutAlreadyListed"]) + self.dead_lettered


# --- inputs ----------------------------------------------------------------------------------------------------
def read_numbers(path: Path) -> list[str]:
    """First cell of each CSV row (or each line); rows whose first cell has no digit (headers) are skipped."""
    numbers = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for row in csv.reader(handle):
            cell = row[0].strip() if row else ""
            if cell and any(char.isdigit() for char in cell):
                numbers.append(cell)
    return numbers


def sample_events() -> tuple[list[str], list[dict[str, Any]]]:
    """SQS bodies and EventBridge events from events/, the same files the tests feed to the handlers."""
    sqs = json.loads((EVENTS_DIR / "sqs_optout.json").read_text())
    bridge = json.loads((EVENTS_DIR / "eventbridge_optout.json").read_text())
    return [record["body"] for record in sqs["Records"]], [bridge]


def file_events(numbers: list[str], via: str) -> tuple[list[str], list[dict[str, Any]]]:
    bodies: list[str] = []
    bus: list[dict[str, Any]] = []
    for index, number in enumerate(numbers):
        payload = {"phoneNumber": number, "source": "local-file", "eventId": f"file-{index + 1}"}
        if via == "queue" or (via == "both" and index % 2 == 0):
            bodies.append(json.dumps(payload))
        else:
            bus.append({"detail-type": "SmsOptOutRequested", "source": "local.file", "detail": payload})
    return bodies, bus


# --- dry run ---------------------------------------------------------------------------------------------------
def dry_run(bodies: list[str], bus_events: list[dict[str, Any]], out: IO[str]) -> int:
    from stoplist.config import DEFAULT_PHONE_REGION
    from stoplist.domain.events import parse_eventbridge_event, parse_sqs_body
    from stoplist.domain.phone import to_e164
    from stoplist.errors import PermanentError

    outcomes: Counter[str] = Counter()
    parsers: list[tuple[str, Callable[[], Any]]] = [
        ("queue", functools.partial(parse_sqs_body, body, "dry-run")) for body in bodies
    ]
    parsers += [("bus", functools.partial(parse_eventbridge_event, {"id": "dry-run", **event})) for event in bus_events]
    for channel, parse in parsers:
        try:
            request = parse()
            number = to_e164(request.phone_number, request.country, DEFAULT_PHONE_REGION)
            outcomes["would be sent"] += 1
            out.write(f"  {channel:5} {request.phone_number!r:32} -> POST /stop-sms/add {number}\n")
        except PermanentError as exc:
            outcomes[f"would be rejected ({exc.reason})"] += 1
            out.write(f"  {channel:5} rejected: {exc}\n")
    out.write("Dry run: nothing was called. " + ", ".join(f"{n} {what}" for what, n in outcomes.items()) + "\n")
    return 0


# --- the real run ----------------------------------------------------------------------------------------------
@contextlib.contextmanager
def handler_output(path: Path) -> Iterator[IO[str]]:
    """Handlers print JSON logs and EMF metrics to stdout; send them to a file, keep the terminal readable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as log:
        saved = sys.stdout
        sys.stdout = log
        try:
            yield log
        finally:
            sys.stdout = saved


def tally_metrics(text: str) -> Counter[str]:
    totals: Counter[str] = Counter()
    for line in text.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        document = json.loads(line)
        for definition in document["_aws"]["CloudWatchMetrics"]:
            for metric in definition["Metrics"]:
                value = document[metric["Name"]]
                totals[metric["Name"]] += sum(value) if isinstance(value, list) else value
    return totals


def run_pipeline(options: RunOptions, console: IO[str] | None = None) -> RunSummary:
    console = console or sys.stderr
    bodies, bus_events = sample_events()
    if options.numbers_file:
        file_bodies, file_bus = file_events(read_numbers(options.numbers_file), options.via)
        bodies += file_bodies
        bus_events += file_bus

    from devkit.services import start_local_aws
    from devkit.standin import SmsPartnerStandIn

    started = time.monotonic()
    standin = None
    if options.real_api:
        api_url = options.api_url or "https://api.smspartner.fr/v1"
        api_key = os.environ.get("SMSPARTNER_API_KEY", "")
        if not api_key:
            raise SystemExit("--real-api needs the key in the SMSPARTNER_API_KEY environment variable")
    else:
        standin = SmsPartnerStandIn(api_keys=(LOCAL_API_KEY,)).start()
        standin.faults.latency_seconds = options.latency_seconds
        standin.faults.rates = dict(options.fault_rates)
        standin.faults.endpoints = ("add",)  # opt-outs under faults; the snapshot's failures have their own suite
        read_timeout = float(options.extra_env.get("PROVIDER_READ_TIMEOUT_SECONDS", "10"))
        standin.faults.timeout_seconds = read_timeout + 0.5  # a "timeout" answer comes after the client gave up
        if options.preseed:
            standin.seed_stop_list(PRESEEDED)
        api_url, api_key = standin.base_url, LOCAL_API_KEY
    aws = start_local_aws()
    try:
        with environment(aws.environment()), handler_output(LOG_PATH) as log:
            summary = _run(options, console, bodies, bus_events, api_url, api_key)
            log.flush()
        summary.metrics = tally_metrics(LOG_PATH.read_text(encoding="utf-8"))
        if standin is not None:
            summary.provider_calls = Counter(
                {name[len("calls_") :]: count for name, count in standin.counters.items() if name.startswith("calls_")}
            )
            summary.provider_calls.update(
                {name: count for name, count in standin.counters.items() if name.startswith("fault_")}
            )
            summary.stop_list = set(standin.stop_list())
        summary.api_url = api_url
        summary.seconds = time.monotonic() - started
        return summary
    finally:
        aws.stop()
        if standin is not None:
            standin.stop()


def _run(
    options: RunOptions,
    console: IO[str],
    bodies: list[str],
    bus_events: list[dict[str, Any]],
    api_url: str,
    api_key: str,
) -> RunSummary:
    import boto3
    from stoplist.adapters.table import STATUS_KEY
    from stoplist.lookup import StopListLookup

    from devkit.lambda_runtime import LocalFunction
    from devkit.poller import SqsEventSourcePoller, queue_depth
    from devkit.template import create_resources, load_template

    template = load_template()
    resources = create_resources(
        template,
        {"SmsPartnerApiUrl": api_url, **options.parameter_overrides},
        api_key=api_key,
        # moto keeps its state per process: a second run in the same process needs names of its own.
        prefix=f"local-{uuid.uuid4().hex[:8]}",
    )
    env = {name: {**values, **options.extra_env} for name, values in resources.function_env.items()}
    sqs_function = LocalFunction("OptOutSqsFunction", "handlers.optout_sqs", env["OptOutSqsFunction"])
    bus_function = LocalFunction(
        "OptOutEventBridgeFunction", "handlers.optout_eventbridge", env["OptOutEventBridgeFunction"]
    )
    snapshot_function = LocalFunction("SnapshotFunction", "handlers.snapshot_scheduled", env["SnapshotFunction"])
    for function in (sqs_function, bus_function, snapshot_function):
        function.new_container()

    sqs: Any = boto3.client("sqs")
    events: Any = boto3.client("events")
    summary = RunSummary()
    queue_url = resources.queue_urls["OptOutQueue"]
    for start in range(0, len(bodies), 10):
        chunk = bodies[start : start + 10]
        sqs.send_message_batch(
            QueueUrl=queue_url, Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)]
        )
    summary.events_in["queue"] = len(bodies)
    for start in range(0, len(bus_events), 10):
        entries = [
            {
                "Source": event.get("source", "local"),
                "DetailType": event["detail-type"],
                "Detail": json.dumps(event["detail"]),
                "EventBusName": resources.event_bus,
            }
            for event in bus_events[start : start + 10]
        ]
        failed = events.put_events(Entries=entries)["FailedEntryCount"]
        if failed:
            raise RuntimeError(f"EventBridge refused {failed} events")
    summary.events_in["bus"] = len(bus_events)

    bar = _progress(summary.total_in, options.progress, console)
    poller = SqsEventSourcePoller(
        queue_url,
        resources.queue_arns["OptOutQueue"],
        sqs_function.invoke,
        batch_size=int(resources.parameters["BatchSize"]),
        retry_delay_seconds=options.retry_delay_seconds,
    )
    bus_retries = int(
        template["Resources"]["OptOutEventBridgeFunction"]["Properties"]["EventInvokeConfig"]["MaximumRetryAttempts"]
    )
    bus_dead_letter_url = resources.queue_urls["OptOutEventsDeadLetterQueue"]
    while True:
        before = poller.stats.deleted
        received = poller.poll_once()
        bar(poller.stats.deleted - before)
        delivered = _deliver_bus_events(
            sqs, resources.rule_delivery_queue_url, bus_function, bus_retries, bus_dead_letter_url
        )
        bar(delivered)
        if received == 0 and delivered == 0:
            if poller.in_queue() == 0 and queue_depth(sqs, resources.rule_delivery_queue_url) == 0:
                break
            time.sleep(0.2)
    bar(None)

    summary.snapshot = snapshot_function.invoke(json.loads((EVENTS_DIR / "schedule.json").read_text()))
    for logical_id in ("OptOutDeadLetterQueue", "OptOutEventsDeadLetterQueue"):
        summary.dead_letters[logical_id] = _peek(sqs, resources.queue_urls[logical_id])
    dynamodb: Any = boto3.client("dynamodb")
    keys: set[str] = set()
    for page in dynamodb.get_paginator("scan").paginate(
        TableName=resources.table_name, ProjectionExpression="phoneNumber"
    ):
        keys.update(item["phoneNumber"]["S"] for item in page["Items"])
    keys.discard(STATUS_KEY)
    summary.table_size = len(keys)
    summary.table_numbers = keys
    lookup = StopListLookup(resources.table_name, dynamodb)
    verdicts = lookup.filter_recipients(SAMPLE_LOOKUPS)
    for number in SAMPLE_LOOKUPS:
        verdict = (
            "opted out"
            if number in verdicts.opted_out
            else "invalid"
            if number in verdicts.invalid
            else "may be texted"
        )
        summary.lookups.append((number, verdict))
    return summary


def _deliver_bus_events(sqs: Any, delivery_url: str, function: Any, retries: int, dead_letter_url: str) -> int:
    """What Lambda does with an asynchronous invocation: run, retry on error, then the OnFailure destination."""
    messages = sqs.receive_message(QueueUrl=delivery_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    for message in messages:
        event = json.loads(message["Body"])
        for attempt in range(retries + 1):
            try:
                function.invoke(event)
                break
            except Exception as exc:  # noqa: BLE001 - Lambda's async invoke catches every error the same way
                if attempt == retries:
                    record = {
                        "version": "1.0",
                        "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": retries + 1},
                        "requestPayload": event,
                        "responsePayload": {"errorMessage": str(exc), "errorType": type(exc).__name__},
                    }
                    sqs.send_message(QueueUrl=dead_letter_url, MessageBody=json.dumps(record))
        sqs.delete_message(QueueUrl=delivery_url, ReceiptHandle=message["ReceiptHandle"])
    return len(messages)


def _peek(sqs: Any, url: str) -> list[dict[str, str]]:
    """Read a dead-letter queue without consuming it (messages become visible again at once)."""
    seen: dict[str, dict[str, str]] = {}
    for _ in range(1000):
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=30
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            attributes = {k: v.get("StringValue", "") for k, v in message.get("MessageAttributes", {}).items()}
            if not attributes:  # a Lambda OnFailure record: the reason is in the body
                body = json.loads(message["Body"])
                attributes = {
                    "errorType": body.get("responsePayload", {}).get("errorType", "unknown"),
                    "reason": body.get("responsePayload", {}).get("errorMessage", ""),
                }
            seen[message["MessageId"]] = {"body": message["Body"], **attributes}
    return list(seen.values())


def _progress(total: int, enabled: bool, console: IO[str]) -> Callable[[int | None], None]:
    """tqdm bar over events processed; a no-op when disabled or for a handful of events."""
    if not enabled or total < 50:
        return lambda _: None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="event", file=console, desc="opt-outs", leave=False)

    def update(done: int | None) -> None:
        if done is None:
            bar.close()
        elif done:
            bar.update(done)

    return update


def render(summary: RunSummary, out: IO[str]) -> None:
    m = summary.metrics
    width = 22

    def line(label: str, value: object, note: str = "") -> None:
        out.write(f"  {label:<{width}}{value!s:>8}  {note}\n")

    out.write(f"\nsmspartner-stoplist local run ({summary.seconds:.1f} s), provider at {summary.api_url}\n")
    line("events in", summary.total_in, f"(queue {summary.events_in['queue']}, bus {summary.events_in['bus']})")
    line("added", int(m["OptOutAdded"]))
    line("already listed", int(m["OptOutAlreadyListed"]))
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
    out.write("  sample lookups\n")
    for number, verdict in summary.lookups:
        out.write(f"      {number:<22}{verdict}\n")
    out.write(f"  handler logs and metrics: {LOG_PATH.relative_to(REPO_ROOT)}\n")


def parse_args(argv: list[str] | None = None) -> RunOptions:
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
    args = parser.parse_args(argv)
    if args.real_api and not args.dry_run and not args.yes:
        sys.stderr.write(
            "WARNING: --real-api sends every number of this run to the REAL SMS Partner stop list.\n"
            "Numbers added there stop receiving your SMS. Type 'yes' to go on: "
        )
        if sys.stdin.readline().strip() != "yes":
            raise SystemExit("aborted")
    return RunOptions(
        numbers_file=args.numbers,
        via=args.via,
        real_api=args.real_api,
        api_url=args.api_url,
        dry_run=args.dry_run,
        progress=not args.no_progress,
        latency_seconds=args.latency,
        fault_rates=args.faults,
    )


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    if options.dry_run:
        bodies, bus = sample_events()
        if options.numbers_file:
            file_bodies, file_bus = file_events(read_numbers(options.numbers_file), options.via)
            bodies, bus = bodies + file_bodies, bus + file_bus
        return dry_run(bodies, bus, sys.stdout)
    summary = run_pipeline(options)
    render(summary, sys.stdout)
    return 0 if summary.total_in == summary.accounted else 1


if __name__ == "__main__":
    sys.exit(main())

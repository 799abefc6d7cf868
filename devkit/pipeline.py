"""The whole pipeline on this machine: opt-outs through the queue and the bus, the snapshot, then a re-opt-in;
every change of the table announced from its stream.

Everything AWS is local (moto server for SQS, EventBridge and Secrets Manager; DynamoDB Local for the
tables and their streams), created from template.yaml; the provider is the stand-in unless ``real_api`` is
set. The handlers run in-process (``devkit/lambda_runtime.py``), fed by the SQS event-source poller
(``devkit/poller.py``), the bus delivery (``devkit/bus.py``) and the table's stream
(``devkit/stream_poller.py``, which feeds the change publisher; a rule forwards its announcements to a queue,
read back for the summary). Their logs and metrics go to ``.local/pipeline.log``; ``run_pipeline`` returns a
``RunSummary`` that ``python -m devkit.run`` prints.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import json
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, Protocol

import boto3
from stoplist.errors import PermanentError

from devkit.bus import on_failure_reason, put_events
from devkit.emf import tally_metrics
from devkit.functions import LocalFunctions
from devkit.lambda_runtime import environment
from devkit.services import REPO_ROOT, start_local_aws
from devkit.standin import SmsPartnerStandIn
from devkit.template import LocalResources, create_resources, load_template

EVENTS_DIR = REPO_ROOT / "events"
LOG_PATH = REPO_ROOT / ".local" / "pipeline.log"
LOCAL_API_KEY = "local-demo-key"
# Numbers the embedded stand-in already holds, as if opted out by SMS before this run.
PRESEEDED = ["+33612345678", "+33744556677", "+33600000042"]
LOCAL_REQUESTS_PER_MINUTE = 60_000
SAMPLE_LOOKUPS = ["06 12 34 56 78", "+33 6 98 76 54 32", "07 81 23 45 67", "3639"]

Via = Literal["queue", "bus", "both"]


@dataclass
class RunOptions:
    numbers_file: Path | None = None
    via: Via = "both"  # where the numbers of the file are published
    real_api: bool = False
    api_url: str | None = None  # with real_api; default: the template's SmsPartnerApiUrl
    api_key: str = ""  # with real_api
    latency_seconds: float = 0.0
    fault_rates: dict[str, float] = field(default_factory=dict)
    retry_delay_seconds: int = 1
    extra_env: dict[str, str] = field(default_factory=dict)
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    preseed: bool = True
    # The HTTP doors: send the sample replies and link clicks (devkit/http_samples.py) through the local HTTP
    # API.
    http_samples: bool = False


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
    http_url: str = ""
    sample_link: str = ""
    webhook_curl: str = ""
    # What the change publisher announced on the bus (by detail-type, as the forwarding rule's queue got them).
    announcements: list[dict[str, Any]] = field(default_factory=list)
    history_entries: int = 0

    @property
    def total_in(self) -> int:
        return sum(self.events_in.values())

    @property
    def dead_lettered(self) -> int:
        return sum(len(messages) for messages in self.dead_letters.values())

    @property
    def accounted(self) -> int:
        """Events whose end is known: in the stop list (added or already there) or in a dead-letter queue."""
        done = ("OptOutAdded", "OptOutAlreadyListed", "OptInRemoved", "OptInNotListed")
        return int(sum(self.metrics[name] for name in done)) + self.dead_lettered

    @property
    def announced(self) -> Counter[str]:
        return Counter(announcement["detail-type"] for announcement in self.announcements)


class Progress(Protocol):
    """Told how many more events are done; ``None`` once the opt-outs are over (the snapshot follows)."""

    def __call__(self, done: int | None, /) -> None: ...


# A progress display for a run of ``total`` events, e.g. the command line's bar.
ProgressFactory = Callable[[int], Progress]


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


def sample_opt_ins() -> list[str]:
    """SQS bodies of the sample re-opt-ins (events/sqs_optin.json), sent once the snapshot ran."""
    return [record["body"] for record in json.loads((EVENTS_DIR / "sqs_optin.json").read_text())["Records"]]


def sample_events() -> tuple[list[str], list[dict[str, Any]]]:
    """SQS bodies and EventBridge events from events/, the same files the tests feed to the handlers."""
    sqs = json.loads((EVENTS_DIR / "sqs_optout.json").read_text())
    bridge = json.loads((EVENTS_DIR / "eventbridge_optout.json").read_text())
    return [record["body"] for record in sqs["Records"]], [bridge]


def file_events(numbers: list[str], via: Via) -> tuple[list[str], list[dict[str, Any]]]:
    bodies: list[str] = []
    bus: list[dict[str, Any]] = []
    for index, number in enumerate(numbers):
        payload = {"phoneNumber": number, "source": "local-file", "eventId": f"file-{index + 1}"}
        if via == "queue" or (via == "both" and index % 2 == 0):
            bodies.append(json.dumps(payload))
        else:
            bus.append({"detail-type": "SmsOptOutRequested", "source": "local.file", "detail": payload})
    return bodies, bus


def run_events(options: RunOptions) -> tuple[list[str], list[dict[str, Any]]]:
    """The run's input: the sample events, then the numbers file's, as SQS bodies and EventBridge events."""
    bodies, bus_events = sample_events()
    if options.numbers_file:
        file_bodies, file_bus = file_events(read_numbers(options.numbers_file), options.via)
        bodies += file_bodies
        bus_events += file_bus
    return bodies, bus_events


# --- dry run ---------------------------------------------------------------------------------------------------
@dataclass
class DryRunOutcome:
    channel: Literal["queue", "bus"]
    phone_number: str = ""  # as the event wrote it
    e164: str = ""  # what would be sent
    rejection: PermanentError | None = None  # what the dead-letter queue would say


def dry_run(options: RunOptions) -> list[DryRunOutcome]:
    """Parse and normalise every event of the run, calling nothing."""
    from stoplist.config import DEFAULT_PHONE_REGION
    from stoplist.domain.events import parse_eventbridge_event, parse_sqs_body
    from stoplist.domain.phone import to_e164

    bodies, bus_events = run_events(options)
    parsers: list[tuple[Literal["queue", "bus"], Callable[[], Any]]] = [
        ("queue", functools.partial(parse_sqs_body, body, "dry-run")) for body in bodies
    ]
    parsers += [("bus", functools.partial(parse_eventbridge_event, {"id": "dry-run", **event})) for event in bus_events]
    outcomes = []
    for channel, parse in parsers:
        try:
            request = parse()
            outcomes.append(
                DryRunOutcome(
                    channel, request.phone_number, to_e164(request.phone_number, request.country, DEFAULT_PHONE_REGION)
                )
            )
        except PermanentError as exc:
            outcomes.append(DryRunOutcome(channel, rejection=exc))
    return outcomes


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


def run_pipeline(options: RunOptions, progress: ProgressFactory | None = None) -> RunSummary:
    if options.real_api and not options.api_key:
        raise ValueError("real_api needs api_key")
    bodies, bus_events = run_events(options)

    started = time.monotonic()
    standin = None
    overrides = dict(options.parameter_overrides)
    if options.real_api:
        api_key = options.api_key
        if options.api_url:
            overrides["SmsPartnerApiUrl"] = options.api_url
    else:
        standin = SmsPartnerStandIn(api_keys=(LOCAL_API_KEY,)).start()
        standin.faults.latency_seconds = options.latency_seconds
        standin.faults.rates = dict(options.fault_rates)
        standin.faults.endpoints = ("add",)  # opt-outs under faults; the snapshot's failures have their own suite
        read_timeout = float(options.extra_env.get("PROVIDER_READ_TIMEOUT_SECONDS", "10"))
        standin.faults.timeout_seconds = read_timeout + 0.5  # a "timeout" answer comes after the client gave up
        if options.preseed:
            standin.seed_stop_list(PRESEEDED)
        overrides["SmsPartnerApiUrl"], api_key = standin.base_url, LOCAL_API_KEY
        # The stand-in has no rate limit: pace for a fast one (the real API keeps the template's budget).
        overrides.setdefault("ProviderRequestsPerMinute", str(LOCAL_REQUESTS_PER_MINUTE))
    aws = start_local_aws()
    try:
        with environment(aws.environment()), handler_output(LOG_PATH) as log:
            summary = _run(options, progress, bodies, bus_events, overrides, api_key)
            log.flush()
        summary.metrics = tally_metrics(LOG_PATH.read_text(encoding="utf-8"))
        # What the HTTP doors put on the queue: counted by them, then accounted for like any event.
        summary.events_in["http"] = int(summary.metrics["ReplyOptOut"] + summary.metrics["UnsubscribeConfirmed"])
        if standin is not None:
            summary.provider_calls = Counter(
                {name[len("calls_") :]: count for name, count in standin.counters.items() if name.startswith("calls_")}
            )
            summary.provider_calls.update(
                {name: count for name, count in standin.counters.items() if name.startswith("fault_")}
            )
            summary.stop_list = set(standin.stop_list())
        summary.seconds = time.monotonic() - started
        return summary
    finally:
        aws.stop()
        if standin is not None:
            standin.stop()


def _run(
    options: RunOptions,
    progress: ProgressFactory | None,
    bodies: list[str],
    bus_events: list[dict[str, Any]],
    parameter_overrides: dict[str, str],
    api_key: str,
) -> RunSummary:
    resources = create_resources(
        load_template(),
        parameter_overrides,
        api_key=api_key,
        # moto keeps its state per process: a second run in the same process needs names of its own.
        prefix=f"local-{uuid.uuid4().hex[:8]}",
    )
    local = {
        # Backoff in seconds, not minutes: the first wait is the poller's retry delay.
        "RETRY_BACKOFF_BASE_SECONDS": str(options.retry_delay_seconds),
        # An erasure's second run at once: the run ends when the queue is empty, not 15 minutes later.
        "ERASURE_RECHECK_SECONDS": "0",
    }
    sqs: Any = boto3.client("sqs")
    functions = LocalFunctions(resources, {**local, **options.extra_env}, options.retry_delay_seconds, sqs)
    with functions.http_api:
        return _drive(options, progress, bodies, bus_events, resources, functions, sqs)


def _drive(
    options: RunOptions,
    progress: ProgressFactory | None,
    bodies: list[str],
    bus_events: list[dict[str, Any]],
    resources: LocalResources,
    functions: LocalFunctions,
    sqs: Any,
) -> RunSummary:
    """The run itself, with the HTTP API up: events in, the queue and the bus drained, the snapshot."""
    from stoplist.domain.keys import is_control_key
    from stoplist.lookup import StopListLookup

    from devkit.http_samples import HttpDoors, exercise

    api = functions.http_api
    stream = functions.stream
    doors = HttpDoors(
        api.base_url,
        resources.secret_values["WebhookTokenSecret"],
        resources.secret_values["LinkSigningKeySecret"],
    )
    summary = RunSummary(
        api_url=resources.parameters["SmsPartnerApiUrl"],
        http_url=api.base_url,
        sample_link=doors.sample_link(),
        webhook_curl=doors.webhook_curl(),
    )
    queue_url = resources.queue_urls["OptOutQueue"]
    for start in range(0, len(bodies), 10):
        chunk = bodies[start : start + 10]
        sqs.send_message_batch(
            QueueUrl=queue_url, Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)]
        )
    summary.events_in["queue"] = len(bodies)
    put_events(boto3.client("events"), resources.event_bus, bus_events)
    summary.events_in["bus"] = len(bus_events)

    if options.http_samples:
        exercise(doors)
    done = progress(summary.total_in) if progress else _no_progress
    poller, delivery = functions.poller, functions.delivery
    while True:
        before = poller.stats.deleted
        received = poller.poll_once()
        done(poller.stats.deleted - before)
        delivered = delivery.deliver_once()
        done(delivered)
        stream.poll_once()
        if received == 0 and delivered == 0:
            if poller.in_queue() == 0 and delivery.in_queue() == 0:
                break
            time.sleep(0.2)
    done(None)

    summary.snapshot = functions.snapshot()
    # A re-opt-in, once the snapshot knows the provider's numbers: one of them subscribes again, with consent.
    opt_ins = sample_opt_ins()
    sqs.send_message_batch(
        QueueUrl=queue_url, Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(opt_ins)]
    )
    summary.events_in["opt-in"] = len(opt_ins)
    poller.drain()
    stream.drain()
    summary.announcements = _drain(sqs, resources.announcements_queue_url)
    summary.history_entries = sum(
        page["Count"]
        for page in boto3.client("dynamodb")
        .get_paginator("scan")
        .paginate(TableName=resources.table_names["StopListHistoryTable"], Select="COUNT")
    )
    for logical_id in ("OptOutDeadLetterQueue", "OptOutEventsDeadLetterQueue", "ChangeEventsDeadLetterQueue"):
        summary.dead_letters[logical_id] = _peek(sqs, resources.queue_urls[logical_id])
    dynamodb: Any = boto3.client("dynamodb")
    keys: set[str] = set()
    for page in dynamodb.get_paginator("scan").paginate(
        TableName=resources.table_name, ProjectionExpression="phoneNumber"
    ):
        keys.update(item["phoneNumber"]["S"] for item in page["Items"] if not is_control_key(item["phoneNumber"]["S"]))
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


def _no_progress(done: int | None, /) -> None:
    """Progress shown nowhere."""


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message of a queue, as JSON, deleted as read."""
    found: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


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
                attributes = on_failure_reason(message["Body"])
            seen[message["MessageId"]] = {"body": message["Body"], **attributes}
    return list(seen.values())

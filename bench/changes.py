"""Cost of a change: AWS requests per opt-out, snapshot addition and removal, and re-opt-in, and PutEvents per
stream batch, counted on the wire (botocore's before-call hook) against moto server and DynamoDB Local.

    python -m bench.changes [--count 200]

Each phase runs through the handlers as Lambda would run them (SQS batches of 10, the stream in batches of up to
100 records), then the stream is delivered to the publisher; requests are counted per operation and phase.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from devkit.lambda_runtime import LocalFunction, environment
from devkit.poller import sqs_event as poller_event
from devkit.services import start_local_aws
from devkit.standin import SmsPartnerStandIn
from devkit.stream_poller import DynamoDbStreamPoller
from devkit.template import create_resources, load_template

API_KEY = "bench-key"
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


class Calls:
    """Every AWS API call made through boto3's default session, by operation."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.items_written: Counter[str] = Counter()
        boto3.setup_default_session()
        assert boto3.DEFAULT_SESSION is not None
        boto3.DEFAULT_SESSION.events.register("before-parameter-build", self._count)

    def _count(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        """Once per API call (botocore's own retries are not counted), with the caller's parameters."""
        name = model.name
        self.counts[name] += 1
        if name == "BatchWriteItem":
            self.items_written[name] += sum(len(requests) for requests in params.get("RequestItems", {}).values())
        elif name == "TransactWriteItems":
            self.items_written[name] += len(params.get("TransactItems", []))  # two write units each
        elif name == "PutEvents":
            self.items_written[name] += len(params.get("Entries", []))
        elif name in WRITES:
            self.items_written[name] += 1

    @contextlib.contextmanager
    def phase(self) -> Iterator[tuple[Counter[str], Counter[str]]]:
        before, items_before = Counter(self.counts), Counter(self.items_written)
        counts: Counter[str] = Counter()
        items: Counter[str] = Counter()
        yield counts, items
        counts.update(self.counts - before)
        items.update(self.items_written - items_before)


def sqs_event(bodies: list[dict[str, Any]]) -> dict[str, Any]:
    """The event Lambda would pass for these bodies (devkit's poller builds it from received messages)."""
    messages = [
        {"MessageId": f"m-{index}", "ReceiptHandle": f"r-{index}", "Body": json.dumps(body)}
        for index, body in enumerate(bodies)
    ]
    return poller_event(messages, "arn:aws:sqs:eu-west-3:000000000000:bench-OptOutQueue")


def report(label: str, changes: int, counts: Counter[str], items: Counter[str]) -> None:
    per = max(1, changes)
    requests = sum(counts[name] for name in WRITES)
    written = sum(items[name] for name in WRITES)
    reads = counts["GetItem"] + counts["Query"]
    print(
        f"{label:<48} {changes:>4} | {requests:>4} {requests / per:>5.2f} | {written:>4} {written / per:>5.2f}"
        f" | {reads:>4} | {counts['PutEvents']:>3} {items['PutEvents']:>4}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=200)
    count = parser.parse_args().count
    aws = start_local_aws()
    standin = SmsPartnerStandIn(api_keys=(API_KEY,)).start()
    try:
        with environment(aws.environment()), contextlib.redirect_stdout(io.StringIO()) as quiet:
            calls = Calls()
            resources = create_resources(
                load_template(), {"SmsPartnerApiUrl": standin.base_url}, api_key=API_KEY, prefix="bench"
            )
            env = resources.function_env
            sqs_function = LocalFunction("OptOutSqsFunction", "handlers.optout_sqs", env["OptOutSqsFunction"])
            snapshot = LocalFunction("SnapshotFunction", "handlers.snapshot_scheduled", env["SnapshotFunction"])
            publisher = LocalFunction(
                "ChangePublisherFunction", "handlers.change_publisher", env["ChangePublisherFunction"]
            )
            for function in (sqs_function, snapshot, publisher):
                function.new_container()
            batches: list[int] = []

            def publish(event: dict[str, Any]) -> Any:
                batches.append(len(event["Records"]))
                return publisher.invoke(event)

            poller = DynamoDbStreamPoller(resources.stream_arns["StopListTable"], publish, batch_size=100)
            earlier = (datetime.now(UTC) - timedelta(hours=2)).isoformat(timespec="seconds")
            consent = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")
            numbers = [f"+3361{index:07d}" for index in range(count)]
            schedule = json.loads(Path("events/schedule.json").read_text())
            rows: list[tuple[str, int, Counter[str], Counter[str]]] = []

            def run(label: str, changes: int, action: Any) -> None:
                with calls.phase() as (counts, items):
                    action()
                rows.append((f"{label}: handler", changes, counts, items))
                batches.clear()
                with calls.phase() as (counts, items):
                    poller.drain()
                rows.append((f"{label}: publisher ({len(batches)} batches)", changes, counts, items))

            rounds = iter(range(3))
            # A replay: opt-outs older than the ones the items record (their write-through goes twice).
            older = (datetime.now(UTC) - timedelta(hours=3)).isoformat(timespec="seconds")

            def opt_outs(occurred_at: str = earlier) -> None:
                round_ = next(rounds)
                for start in range(0, count, 10):
                    bodies = [
                        {"phoneNumber": n, "eventId": f"out-{round_}-{n}", "occurredAt": occurred_at}
                        for n in numbers[start : start + 10]
                    ]
                    sqs_function.invoke(sqs_event(bodies))

            def opt_ins() -> None:
                for start in range(0, count // 2, 10):
                    bodies = [
                        {"phoneNumber": n, "action": "opt-in", "consentSource": "web", "consentAt": consent}
                        for n in numbers[start : start + 10]
                    ]
                    sqs_function.invoke(sqs_event(bodies))

            direct = [f"+3362{index:07d}" for index in range(count)]
            run("opt-out (new number)", count, opt_outs)
            run("opt-out (number already listed)", count, opt_outs)
            run("opt-out older than the item's (a replay)", count, lambda: opt_outs(older))
            snapshot.invoke(schedule)  # merges the provider's dates into the written-through items (no change)
            poller.drain()
            standin.seed_stop_list(direct)
            run("snapshot addition", count, lambda: snapshot.invoke(schedule))
            run("snapshot, nothing changed (status item)", 0, lambda: snapshot.invoke(schedule))
            standin.remove_numbers(direct[: count // 20])
            run("snapshot removal", count // 20, lambda: snapshot.invoke(schedule))
            run("re-opt-in (id in the table)", count // 2, opt_ins)
        del quiet
        print(f"{'phase':<48} {'chg':>4} | {'DynamoDB writes':>10} | {'items':>10} | {'reads':>4} | PutEvents")
        print(
            f"{'':<48} {'':>4} | {'requests':>4} {'/chg':>5} | {'':>4} {'/chg':>5} | {'':>4} "
            f"| {'calls':>3} {'entries':>4}"
        )
        for row in rows:
            report(*row)
    finally:
        standin.stop()
        aws.stop()


if __name__ == "__main__":
    main()

"""The local pipeline's pieces behave like AWS: the poller like the event source mapping, the run end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from devkit.bus import AsyncInvokeDelivery, on_failure_reason, put_events
from devkit.pipeline import PRESEEDED, RunOptions, read_numbers, run_pipeline
from devkit.poller import SqsEventSourcePoller
from devkit.template import LocalResources
from tests.helpers import dead_letters

pytestmark = pytest.mark.integration


def send(queue_url: str, *bodies: str) -> None:
    sqs: Any = boto3.client("sqs")
    for body in bodies:
        sqs.send_message(QueueUrl=queue_url, MessageBody=body)


def test_poller_keeps_reported_failures_and_the_queue_redrives_them(resources: LocalResources) -> None:
    seen: list[dict[str, Any]] = []

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        seen.extend(event["Records"])
        failing = [r["messageId"] for r in event["Records"] if json.loads(r["body"])["fail"]]
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failing]}

    queue_url = resources.queue_urls["OptOutQueue"]
    send(queue_url, json.dumps({"fail": False}), json.dumps({"fail": True}))
    poller = SqsEventSourcePoller(queue_url, resources.queue_arns["OptOutQueue"], handler, retry_delay_seconds=0)

    stats = poller.drain()

    max_receives = int(resources.parameters["MaxReceiveCount"])
    failing_receives = [r for r in seen if json.loads(r["body"])["fail"]]
    assert [r["attributes"]["ApproximateReceiveCount"] for r in failing_receives] == [
        str(n) for n in range(1, max_receives + 1)
    ]
    assert all(
        r["eventSource"] == "aws:sqs" and r["eventSourceARN"] == resources.queue_arns["OptOutQueue"] for r in seen
    )
    [redriven] = dead_letters(resources.queue_urls["OptOutDeadLetterQueue"])
    assert json.loads(redriven["body"]) == {"fail": True}
    assert (stats.deleted, stats.failed) == (1, max_receives)


def test_poller_treats_a_raising_invocation_as_a_failed_batch(resources: LocalResources) -> None:
    calls = 0

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("function crashed")
        return {"batchItemFailures": []}

    queue_url = resources.queue_urls["OptOutQueue"]
    send(queue_url, "a", "b")
    poller = SqsEventSourcePoller(queue_url, resources.queue_arns["OptOutQueue"], handler, retry_delay_seconds=0)

    stats = poller.drain()

    assert stats.invocation_errors == 1
    assert "function crashed" in stats.last_invocation_error
    assert stats.deleted == 2


def test_bus_delivery_retries_then_sends_the_on_failure_record(resources: LocalResources) -> None:
    """Lambda's asynchronous invocation as template.yaml configures it: 1 + MaximumRetryAttempts attempts, then
    the OnFailure destination gets the event with the error; a later success is not retried."""
    attempts: list[str] = []

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        attempts.append(event["detail"]["phoneNumber"])
        if event["detail"]["phoneNumber"] == "fails":
            raise RuntimeError("provider down")
        return {}

    put_events(
        boto3.client("events"),
        resources.event_bus,
        [{"detail-type": "SmsOptOutRequested", "detail": {"phoneNumber": number}} for number in ("fails", "works")]
        + [{"detail-type": "SmsDeliveryReported", "detail": {"phoneNumber": "not for us"}}],
    )
    delivery = AsyncInvokeDelivery.from_template(resources, "OptOutEventBridgeFunction", handler)

    while delivery.deliver_once():
        pass

    retries = resources.template["Resources"]["OptOutEventBridgeFunction"]["Properties"]["EventInvokeConfig"][
        "MaximumRetryAttempts"
    ]
    assert sorted(attempts) == ["fails"] * (1 + retries) + ["works"]  # the other detail-type does not match
    assert (delivery.stats.received, delivery.stats.failed, delivery.in_queue()) == (2, 1, 0)
    [record] = dead_letters(resources.queue_urls["OptOutEventsDeadLetterQueue"])
    body = json.loads(record["body"])
    assert body["requestPayload"]["detail"] == {"phoneNumber": "fails"}
    assert body["requestContext"] == {"condition": "RetriesExhausted", "approximateInvokeCount": 1 + retries}
    assert on_failure_reason(record["body"]) == {"errorType": "RuntimeError", "reason": "provider down"}


def test_numbers_file_reading(tmp_path: Path) -> None:
    path = tmp_path / "numbers.csv"
    path.write_text("\ufeffphone,name\n06 12 34 56 78,Ann\n\n+33698765432\n  , blank\nnot a number,x\n")
    assert read_numbers(path) == ["06 12 34 56 78", "+33698765432"]


def test_local_run_accounts_for_every_event(tmp_path: Path) -> None:
    path = tmp_path / "numbers.txt"
    path.write_text("06 11 11 11 11\n06 22 22 22 22\n12\n")

    summary = run_pipeline(RunOptions(numbers_file=path, via="both"))

    assert summary.total_in == 6 + 3 + 1  # sample events, the file's numbers, the sample re-opt-in
    assert summary.accounted == summary.total_in
    assert summary.metrics["OptOutAdded"] == 6  # 4 + 1 sample events, 2 of the file (1 already listed)
    assert summary.metrics["OptOutAlreadyListed"] == 1  # the pre-seeded +33612345678
    assert {"+33611111111", "+33622222222"} <= summary.stop_list
    assert summary.table_numbers == summary.stop_list
    assert dict(summary.lookups)["07 81 23 45 67"] == "may be texted"
    # Announcements: each number that entered the table once (the opt-outs written through, the pre-seeded
    # numbers the snapshot found), and the re-opt-in of one of those.
    assert summary.metrics["OptInRemoved"] == 1
    assert "+33600000042" not in summary.stop_list | summary.table_numbers
    entered = summary.table_numbers | {"+33600000042"}
    assert summary.announced == {"SmsOptOutRecorded": len(entered), "SmsOptInRecorded": 1}
    assert {a["detail"]["phoneNumber"] for a in summary.announcements} == entered
    by_snapshot = {a["detail"]["phoneNumber"] for a in summary.announcements if a["detail"]["recordedBy"] == "snapshot"}
    assert by_snapshot == set(PRESEEDED) - {"+33612345678"}  # that one was written through by the sample event
    assert summary.history_entries == len(entered) + 1

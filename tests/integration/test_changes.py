"""Change events and history over HTTP: the handlers and the snapshot change the table on DynamoDB Local, its
stream feeds the publisher (devkit's stream poller, as Lambda's event source mapping), PutEvents goes to moto
server, and a rule like the one in docs/integrating.md forwards the announcements to a queue. Exactly one
announcement per change, none lost when PutEvents fails."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from stoplist.config import Settings
from stoplist.domain.changes import ChangePublisher
from stoplist.wiring import build_change_publisher

from devkit.emf import tally_metrics
from devkit.lambda_runtime import LocalFunction, environment
from devkit.standin import SmsPartnerStandIn
from devkit.template import LocalResources
from tests.helpers import load_event, table_items
from tests.integration.change_feed import ChangeFeed
from tests.integration.test_optout_sqs import sqs_event

pytestmark = pytest.mark.integration


def queued(*bodies: dict[str, Any]) -> dict[str, Any]:
    """An SQS event whose records carry these contract objects."""
    return sqs_event(*(json.dumps(body) for body in bodies))


SCHEDULE = load_event("schedule.json")


def numbers(count: int, start: int = 0) -> list[str]:
    return [f"+3361{index:07d}" for index in range(start, start + count)]


def detail_types(announcements: list[dict[str, Any]]) -> list[str]:
    return [announcement["detail-type"] for announcement in announcements]


def test_an_opt_out_is_announced_once_and_a_repeat_is_only_kept(
    sqs_function: LocalFunction, resources: LocalResources, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = ChangeFeed(resources)
    first = {"phoneNumber": "06 12 34 56 78", "source": "web-unsubscribe", "eventId": "web-1", "reason": "form"}
    sqs_function.invoke(queued(first))
    sqs_function.invoke(queued({**first, "eventId": "web-2", "source": "crm"}))  # already in the table
    sqs_function.invoke(queued({**first, "eventId": "web-2", "source": "crm"}))  # the same event again

    stats = feed.deliver()

    [announcement] = feed.announcements()
    assert announcement["source"] == "smspartner-stoplist"
    assert announcement["detail-type"] == "SmsOptOutRecorded"
    detail = announcement["detail"]
    assert {key: detail[key] for key in ("phoneNumber", "source", "eventId", "recordedBy")} == {
        "phoneNumber": "+33612345678",
        "source": "web-unsubscribe",
        "eventId": "web-1",
        "recordedBy": "optout",
    }
    assert detail["providerStopId"] == int(table_items(resources.table_name)["+33612345678"]["providerStopId"])
    history = feed.history("+33612345678")
    assert [(entry.change, entry.event_id) for entry in history] == [("opt-out", "web-1"), ("opt-out", "web-2")]
    assert stats.records == 3  # INSERT and two MODIFYs; the second MODIFY names no new event
    metrics = tally_metrics(capsys.readouterr().out)
    assert metrics["ChangesAnnounced"] == 1
    assert metrics["ChangesRecorded"] == 2


def test_snapshot_additions_and_removals_are_announced_and_an_unchanged_one_says_nothing(
    snapshot_function: LocalFunction, resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    feed = ChangeFeed(resources)
    standin.seed_stop_list(numbers(12))
    snapshot_function.invoke(SCHEDULE)
    feed.deliver()
    first = feed.announcements()
    assert detail_types(first) == ["SmsOptOutRecorded"] * 12
    assert {a["detail"]["phoneNumber"] for a in first} == set(numbers(12))
    assert {(a["detail"]["recordedBy"], a["detail"]["source"]) for a in first} == {("snapshot", "smspartner")}

    snapshot_function.invoke(SCHEDULE)  # nothing changed at the provider
    feed.deliver()
    assert feed.announcements() == []

    standin.remove_numbers(numbers(1))  # 1 of 12: under the 10 % guard? no, 8.3 %: applied
    snapshot_function.invoke(SCHEDULE)
    feed.deliver()
    [removal] = feed.announcements()
    assert removal["detail-type"] == "SmsOptInRecorded"
    assert removal["detail"]["phoneNumber"] == numbers(1)[0]
    assert [entry.change for entry in feed.history(numbers(1)[0])] == ["snapshot-addition", "snapshot-removal"]


def test_a_mass_removal_held_back_by_the_guard_announces_nothing(
    snapshot_function: LocalFunction, resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    feed = ChangeFeed(resources)
    standin.seed_stop_list(numbers(20))
    snapshot_function.invoke(SCHEDULE)
    feed.deliver()
    assert len(feed.announcements()) == 20

    standin.remove_numbers(numbers(10))
    report = snapshot_function.invoke(SCHEDULE)

    assert report["guard_tripped"] is True
    feed.deliver()
    assert feed.announcements() == []


def test_refused_entries_are_announced_on_the_stream_s_retry_exactly_once(
    sqs_function: LocalFunction, resources: LocalResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PutEvents answers HTTP 200 with FailedEntryCount: here it refuses every entry of its first 3 calls (all
    the attempts of the first invocation); the batch item failure makes the poller retry from that record."""
    feed = ChangeFeed(resources)
    refusals = iter(range(3))

    class RefusingEvents:
        def __init__(self) -> None:
            self._real: Any = boto3.client("events")

        def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
            if next(refusals, None) is not None:
                failed = [{"ErrorCode": "InternalFailure", "ErrorMessage": "retry"} for _ in Entries]
                return {"FailedEntryCount": len(Entries), "Entries": failed}
            return dict(self._real.put_events(Entries=Entries))

    @functools.cache
    def dependencies() -> ChangePublisher:
        with environment(feed.publisher.env):
            return build_change_publisher(Settings.from_env(), events=RefusingEvents())  # type: ignore[arg-type]

    monkeypatch.setattr(feed.publisher.module, "dependencies", dependencies)
    sqs_function.invoke(queued(*({"phoneNumber": number} for number in numbers(4))))

    stats = feed.deliver()

    assert stats.partial_failures == 1
    announcements = feed.announcements()
    assert sorted(a["detail"]["phoneNumber"] for a in announcements) == numbers(4)  # each once
    assert sum(len(feed.history(number)) for number in numbers(4)) == 4  # the retry wrote no duplicate


def test_a_bus_that_cannot_be_reached_is_retried_then_described_to_the_on_failure_queue(
    sqs_function: LocalFunction, resources: LocalResources
) -> None:
    """PutEvents itself fails (moto: the bus does not exist): the invocation fails, the batch is retried, and
    after the retries its range goes to ChangeEventsDeadLetterQueue; the history already holds the change."""
    feed = ChangeFeed(resources, max_retries=2, EVENT_BUS_NAME="no-such-bus")
    sqs_function.invoke(queued({"phoneNumber": "0612345678", "eventId": "web-1"}))

    stats = feed.deliver()

    assert stats.invocation_errors == 3
    [message] = feed.on_failure_messages()
    info = json.loads(message["body"])["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1
    assert info["streamArn"] == resources.stream_arns["StopListTable"]
    assert [entry.event_id for entry in feed.history("+33612345678")] == ["web-1"]
    assert feed.announcements() == []


def test_a_replayed_stream_batch_writes_no_second_history_entry(
    sqs_function: LocalFunction, resources: LocalResources
) -> None:
    captured: list[dict[str, Any]] = []
    feed = ChangeFeed(resources)
    invoke = feed.publisher.invoke

    def keep_and_invoke(event: dict[str, Any]) -> Any:
        captured.append(event)
        return invoke(event)

    feed.poller.invoke = keep_and_invoke
    sqs_function.invoke(queued({"phoneNumber": "0612345678", "eventId": "web-1"}))
    feed.deliver()

    feed.publisher.invoke(captured[0])  # Lambda may deliver a batch again (a timeout after the work)

    assert len(feed.history("+33612345678")) == 1
    assert len(feed.announcements()) == 2  # announcements are at least once: consumers dedupe on changeId


def test_history_entries_carry_their_expiry_and_the_stop_list_never_expires(
    sqs_function: LocalFunction, resources: LocalResources
) -> None:
    """HistoryRetentionDays (1,095 by default) reaches the publisher; DynamoDB Local takes the template's
    time to live on the history table and none on the stop-list table."""
    feed = ChangeFeed(resources)
    sqs_function.invoke(queued({"phoneNumber": "06 12 34 56 78", "eventId": "ttl-1"}))
    feed.deliver()
    client: Any = boto3.client("dynamodb")
    history_table = resources.table_names["StopListHistoryTable"]
    [item] = client.query(
        TableName=history_table,
        KeyConditionExpression="phoneNumber = :n",
        ExpressionAttributeValues={":n": {"S": "+33612345678"}},
    )["Items"]
    recorded = datetime.fromisoformat(item["recordedAt"]["S"].replace("Z", "+00:00"))
    assert int(item["expiresAt"]["N"]) == int(recorded.timestamp()) + 1095 * 86400
    ttl = client.describe_time_to_live(TableName=history_table)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expiresAt")
    stop_list_ttl = client.describe_time_to_live(TableName=resources.table_name)["TimeToLiveDescription"]
    assert stop_list_ttl["TimeToLiveStatus"] == "DISABLED"


def test_the_time_to_honour_reaches_the_history_through_the_stream(
    sqs_function: LocalFunction, resources: LocalResources
) -> None:
    feed = ChangeFeed(resources)
    happened = datetime.now(UTC) - timedelta(seconds=90)
    sqs_function.invoke(queued({"phoneNumber": "0612345678", "eventId": "late-1", "occurredAt": happened.isoformat()}))
    feed.deliver()
    [entry] = feed.history("+33612345678")
    assert entry.honour_seconds is not None
    assert 90 <= entry.honour_seconds < 120
    assert entry.honoured_at is not None
    assert entry.honoured_at > entry.at
    alarms = boto3.client("cloudwatch").describe_alarms(AlarmNamePrefix=resources.alarm_names[0].split("-")[0])
    assert {"HonourLateAlarm", "HonourDailyP99Alarm"} <= {
        a["AlarmName"].split("-", 1)[1] for a in alarms["MetricAlarms"]
    }

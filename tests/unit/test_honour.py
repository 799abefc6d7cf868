"""Time to honour (stoplist.domain.honour), and its way from the opt-out service to the history."""

from __future__ import annotations

import json
from typing import Any

from stoplist.domain.changes import StreamRecord, change_of, stream_time
from stoplist.domain.events import RawEvent, read_sqs_message
from stoplist.domain.honour import honour
from stoplist.observability import metrics

from devkit.template import load_template
from tests.helpers import metrics_counted
from tests.unit.fakes import FakeProvider, FakeTable
from tests.unit.test_optout import service


def test_from_when_it_happened_to_the_confirmation() -> None:
    with metrics_counted() as counted:
        measured = honour("2026-03-01T10:00:00+01:00", "2026-03-01T09:00:01.250000Z")
    assert measured.seconds == 1.25
    assert measured.honoured_at == "2026-03-01T09:00:01.250000Z"
    assert counted["OptOutHonourSeconds"] == 1.25


def test_a_clock_ahead_of_ours_is_not_a_negative_time() -> None:
    assert honour("2026-03-01T09:05:00Z", "2026-03-01T09:00:00.000000Z").seconds == 0.0


def test_without_a_start_nothing_is_measured_or_counted() -> None:
    metrics.clear_metrics()
    assert honour(None, "2026-03-01T09:00:00.000000Z").seconds is None
    assert "OptOutHonourSeconds" not in metrics.metric_set


def test_the_write_through_carries_the_time_to_honour() -> None:
    table = FakeTable()
    written: list[Any] = []
    table.record_opt_out = lambda record, now=None: written.append(record)  # type: ignore[method-assign]
    svc, _ = service(FakeProvider(), table)
    body = json.dumps({"phoneNumber": "0612345678", "occurredAt": "2020-01-01T00:00:00Z"})
    svc.handle(RawEvent(body, "m-1"), read_sqs_message)
    [record] = written
    assert record.honour_seconds is not None
    assert record.honour_seconds > 365 * 86400
    assert record.honoured_at is not None


def test_the_history_keeps_the_time_to_honour_from_the_stream() -> None:
    image = {
        "phoneNumber": "+33612345678",
        "eventId": "crm-1",
        "optedOutAt": "2026-03-01T09:00:00Z",
        "honouredAt": "2026-03-01T09:00:01.250000Z",
        "honourSeconds": 1.25,
    }
    record = StreamRecord("rec-1", "INSERT", "1", stream_time(0), new_image=image)
    change = change_of(record)
    assert change is not None
    assert (change.history.honour_seconds, change.history.honoured_at) == (1.25, "2026-03-01T09:00:01.250000Z")


def test_the_alarms_read_the_queue_and_the_metric_against_the_parameter() -> None:
    template = load_template()
    assert template["Parameters"]["HonourAlarmMinutes"]["Default"] == 60
    late = template["Resources"]["HonourLateAlarm"]["Properties"]
    watched = {query["MetricStat"]["Metric"]["MetricName"] for query in late["Metrics"] if "MetricStat" in query}
    assert watched == {"ApproximateAgeOfOldestMessage", "OptOutHonourSeconds"}
    assert late["Threshold"] == {"Ref": "HonourAlarmMinutes"}
    daily = template["Resources"]["HonourDailyP99Alarm"]["Properties"]
    [p99] = [query["MetricStat"] for query in daily["Metrics"] if "MetricStat" in query]
    assert (p99["Stat"], p99["Period"]) == ("p99", 86400)
    assert daily["Threshold"] == {"Ref": "HonourAlarmMinutes"}

"""Time to honour (stoplist.domain.honour), and its way from the opt-out service to the history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from stoplist.domain.changes import StreamRecord, change_of, stream_time
from stoplist.domain.events import OptOutRequest
from stoplist.domain.honour import honour
from stoplist.domain.optout import OptOutService

from devkit.template import load_template
from tests.helpers import metrics_counted
from tests.unit.fakes import FakeHistory, FakeLocks, FakeProvider, FakeTable


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_from_when_it_counts_to_the_confirmation() -> None:
    with metrics_counted() as counted:
        measured = honour(at("2026-03-01T09:00:00+00:00"), at("2026-03-01T09:00:01.250000+00:00"))
    assert measured.seconds == 1.25
    assert measured.honoured_at == "2026-03-01T09:00:01.250000Z"
    assert counted["OptOutHonourSeconds"] == 1.25


def test_a_clock_ahead_of_ours_is_not_a_negative_time() -> None:
    assert honour(at("2026-03-01T09:05:00+00:00"), at("2026-03-01T09:00:00+00:00")).seconds == 0.0


def test_the_write_through_carries_the_time_to_honour_from_the_opt_outs_receipt() -> None:
    """No occurredAt: the opt-out counts from its receipt, and its time to honour from there too."""
    table = FakeTable()
    written: list[Any] = []
    table.record_opt_out = lambda record, now=None: written.append(record)  # type: ignore[method-assign]
    received = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    svc = OptOutService(
        provider=FakeProvider(),
        table=table,
        locks=FakeLocks(),
        history=FakeHistory(),
        default_region="FR",
        clock=lambda: received + timedelta(seconds=2.5),
    )
    svc.opt_out(OptOutRequest("0612345678", "m-1"), received, None)
    [record] = written
    assert (record.honour_seconds, record.honoured_at) == (2.5, "2026-03-01T09:00:02.500000Z")


def test_a_stop_the_provider_received_itself_is_honoured_at_its_created_at() -> None:
    image = {"phoneNumber": "+33612345678", "providerCreatedAt": "2026-03-01 10:00:00", "updatedAt": "x"}
    change = change_of(StreamRecord("rec-1", "INSERT", "1", stream_time(0), new_image=image))
    assert change is not None
    assert (change.history.honour_seconds, change.history.honoured_at) == (0.0, "2026-03-01T09:00:00.000000Z")


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

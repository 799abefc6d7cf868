"""Stream records -> changes (stoplist.domain.changes): which records announce, what the history keeps, and
the publisher's order (history first) and partial failures."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from stoplist.adapters.stream import stream_record
from stoplist.domain.changes import (
    CHANGE_OPT_IN,
    CHANGE_OPT_OUT,
    CHANGE_SNAPSHOT_ADDITION,
    CHANGE_SNAPSHOT_REMOVAL,
    OPT_IN_RECORDED,
    OPT_OUT_RECORDED,
    ChangePublisher,
    StreamRecord,
    change_of,
)

from tests.unit.fakes import FakeBus, FakeHistory

WHEN = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
NUMBER = "+33612345678"
OPTED_OUT = {
    "phoneNumber": NUMBER,
    "eventId": "web-1",
    "source": "web-unsubscribe",
    "optOutReason": "form",
    "optedOutAt": "2026-11-22T10:19:58+01:00",
    "providerStopId": 41,
    "recordedBy": "optout",
    "firstSeenAt": "2026-11-22T09:20:00.000000Z",
    "updatedAt": "2026-11-22T09:20:00.000000Z",
}
SNAPSHOT_ITEM = {
    "phoneNumber": NUMBER,
    "providerStopId": 41,
    "providerCreatedAt": "2026-11-22 10:00:00",
    "recordedBy": "snapshot",
    "firstSeenAt": "2026-11-22T09:25:00.000000Z",
    "updatedAt": "2026-11-22T09:25:00.000000Z",
}
OPT_IN_MARK = {
    "optInEventId": "crm-9",
    "optInSource": "crm",
    "optInConsentSource": "web-form",
    "optInConsentAt": "2026-11-22T10:00:00+01:00",
    "optInConsentText": "oui",
    "optInRequestedAt": "2026-11-22T09:29:00.000000Z",
}


def record(
    name: str, new: dict[str, Any] | None = None, old: dict[str, Any] | None = None, seq: str = "1"
) -> StreamRecord:
    return StreamRecord(f"rec-{seq}", name, seq, WHEN, new or {}, old or {})


def test_opt_out_written_through_is_announced_and_kept() -> None:
    change = change_of(record("INSERT", new=OPTED_OUT))
    assert change is not None
    assert change.announcement is not None
    assert change.announcement.detail_type == OPT_OUT_RECORDED
    assert change.announcement.detail == {
        "phoneNumber": NUMBER,
        "source": "web-unsubscribe",
        "eventId": "web-1",
        "providerStopId": 41,
        "occurredAt": "2026-11-22T10:19:58+01:00",
        "recordedBy": "optout",
        "changeId": "rec-1",
    }
    assert change.history.change == CHANGE_OPT_OUT
    assert change.history.key == "2026-11-22T09:19:58.000000Z#web-1"
    assert change.history.reason == "form"


def test_snapshot_addition_names_the_provider_and_the_stream_record() -> None:
    change = change_of(record("INSERT", new=SNAPSHOT_ITEM, seq="7"))
    assert change is not None
    assert change.announcement is not None
    assert change.announcement.detail["source"] == "smspartner"
    assert change.announcement.detail["recordedBy"] == "snapshot"
    assert change.announcement.detail["eventId"] == "rec-7"  # the same on every retry of the batch
    assert change.history.change == CHANGE_SNAPSHOT_ADDITION
    assert change.history.provider_created_at == "2026-11-22 10:00:00"


def test_opt_in_removal_carries_the_opt_in_and_its_consent() -> None:
    change = change_of(record("REMOVE", old={**OPTED_OUT, **OPT_IN_MARK}))
    assert change is not None
    assert change.announcement is not None
    assert change.announcement.detail_type == OPT_IN_RECORDED
    detail = change.announcement.detail
    assert (detail["eventId"], detail["source"], detail["recordedBy"]) == ("crm-9", "crm", "optin")
    assert (detail["consentSource"], detail["consentAt"]) == ("web-form", "2026-11-22T10:00:00+01:00")
    assert detail["occurredAt"] == "2026-11-22T10:00:00+01:00"
    assert change.history.change == CHANGE_OPT_IN
    assert change.history.consent_text == "oui"
    assert change.history.key == "2026-11-22T09:00:00.000000Z#crm-9"


def test_removal_without_an_opt_in_is_the_snapshot_s() -> None:
    change = change_of(record("REMOVE", old=SNAPSHOT_ITEM, seq="3"))
    assert change is not None
    assert change.announcement is not None
    assert change.announcement.detail_type == OPT_IN_RECORDED
    assert change.history.change == CHANGE_SNAPSHOT_REMOVAL
    assert change.history.key == "2026-11-22T09:30:00.000000Z#rec-3"
    # The stream's whole seconds do not put a removal before the last write of the item.
    just_written = {**SNAPSHOT_ITEM, "updatedAt": "2026-11-22T09:30:00.250000Z"}
    late = change_of(record("REMOVE", old=just_written, seq="4"))
    assert late is not None
    assert late.history.at == "2026-11-22T09:30:00.250001Z"


def test_a_new_opt_out_of_a_listed_number_is_kept_but_not_announced() -> None:
    again = {**OPTED_OUT, "eventId": "web-2", "optedOutAt": "2026-11-22T12:00:00Z"}
    change = change_of(record("MODIFY", new=again, old=OPTED_OUT))
    assert change is not None
    assert change.announcement is None
    assert change.history.event_id == "web-2"


@pytest.mark.parametrize(
    ("new", "old"),
    [
        ({**OPTED_OUT, "providerStopId": 42}, OPTED_OUT),  # the snapshot merged the provider's fields
        ({**OPTED_OUT, **OPT_IN_MARK}, OPTED_OUT),  # an opt-in marked the item
        ({**SNAPSHOT_ITEM, "providerStopId": 43}, SNAPSHOT_ITEM),
    ],
)
def test_other_modifications_say_nothing(new: dict[str, Any], old: dict[str, Any]) -> None:
    assert change_of(record("MODIFY", new=new, old=old)) is None


@pytest.mark.parametrize("key", ["#snapshot-status", "#snapshot-lease", "#any-later-item"])
@pytest.mark.parametrize("event_name", ["INSERT", "MODIFY", "REMOVE"])
def test_the_tables_own_items_say_nothing(key: str, event_name: str) -> None:
    image = {"phoneNumber": key, "holder": "h", "eventId": "not-a-change"}
    assert change_of(record(event_name, new=image, old=image)) is None


def test_publisher_writes_history_then_announces_and_reports_nothing_failed() -> None:
    history, bus = FakeHistory(), FakeBus()
    records = [
        record("INSERT", new=OPTED_OUT, seq="1"),
        record("MODIFY", new={**OPTED_OUT, "providerStopId": 42}, old=OPTED_OUT, seq="2"),
        record("REMOVE", old={**OPTED_OUT, **OPT_IN_MARK}, seq="3"),
    ]
    assert ChangePublisher(history=history, bus=bus).process(records) == []
    assert len(history.by_key) == 2
    assert history.calls == 1  # one batch write for the whole stream batch
    assert [a.detail_type for a in bus.published] == [OPT_OUT_RECORDED, OPT_IN_RECORDED]


def test_publisher_reports_the_first_record_not_announced() -> None:
    history, bus = FakeHistory(), FakeBus(fail_from=1)
    records = [
        record("INSERT", new=OPTED_OUT, seq="10"),
        record("MODIFY", new={**OPTED_OUT, "eventId": "web-2"}, old=OPTED_OUT, seq="11"),  # history only
        record("INSERT", new={**SNAPSHOT_ITEM, "phoneNumber": "+33700000001"}, seq="12"),
        record("INSERT", new={**SNAPSHOT_ITEM, "phoneNumber": "+33700000002"}, seq="13"),
    ]
    assert ChangePublisher(history=history, bus=bus).process(records) == ["12"]
    assert len(history.by_key) == 4  # all kept before announcing: a retry rewrites the same keys
    ChangePublisher(history=history, bus=FakeBus()).process(records[2:])
    assert len(history.by_key) == 4


def test_stream_record_reads_lambda_s_shape() -> None:
    raw = {
        "eventID": "abc",
        "eventName": "INSERT",
        "dynamodb": {
            "ApproximateCreationDateTime": 1795400000.0,
            "SequenceNumber": "100",
            "NewImage": {"phoneNumber": {"S": NUMBER}, "providerStopId": {"N": "41"}},
        },
    }
    parsed = stream_record(raw)
    assert (parsed.event_id, parsed.event_name, parsed.sequence_number) == ("abc", "INSERT", "100")
    assert parsed.new_image == {"phoneNumber": NUMBER, "providerStopId": 41}
    assert parsed.old_image == {}
    assert parsed.created_at == datetime.fromtimestamp(1795400000, UTC)

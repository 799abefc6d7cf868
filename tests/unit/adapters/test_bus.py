"""EventBus (PutEvents): 10 entries a request, refused entries sent again, and the count from the first."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from stoplist.adapters.bus import EventBus
from stoplist.domain.records import Announcement
from stoplist.errors import AwsServiceError


class FakeEvents:
    """PutEvents that refuses the entries whose phoneNumber is in ``refuse`` (``times`` times each)."""

    def __init__(self, refuse: set[str] | None = None, times: int = 1_000) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self.refuse = refuse or set()
        self.times = times
        self.refused: dict[str, int] = {}

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(Entries)
        results = []
        for entry in Entries:
            number = json.loads(entry["Detail"])["phoneNumber"]
            if number in self.refuse and self.refused.get(number, 0) < self.times:
                self.refused[number] = self.refused.get(number, 0) + 1
                results.append({"ErrorCode": "InternalFailure", "ErrorMessage": "try again"})
            else:
                results.append({"EventId": f"id-{number}"})
        return {"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results}


def announcements(count: int) -> list[Announcement]:
    return [Announcement("SmsOptOutRecorded", {"phoneNumber": f"+3361234{i:04d}"}) for i in range(count)]


def bus(events: Any, attempts: int = 3) -> EventBus:
    return EventBus("stoplist-bus", events, max_attempts=attempts, base_delay=0.0, sleep=lambda _: None)


def test_entries_go_ten_a_request_with_source_and_bus() -> None:
    events = FakeEvents()
    assert bus(events).publish(announcements(23)) == 23
    assert [len(call) for call in events.calls] == [10, 10, 3]
    first = events.calls[0][0]
    assert (first["Source"], first["DetailType"], first["EventBusName"]) == (
        "smspartner-stoplist",
        "SmsOptOutRecorded",
        "stoplist-bus",
    )


def test_only_refused_entries_are_sent_again() -> None:
    events = FakeEvents(refuse={"+33612340003", "+33612340007"}, times=2)
    assert bus(events).publish(announcements(10)) == 10
    assert [len(call) for call in events.calls] == [10, 2, 2]


def test_still_refused_after_the_attempts_counts_up_to_the_first_failure_and_stops() -> None:
    events = FakeEvents(refuse={"+33612340012"})
    assert bus(events).publish(announcements(25)) == 12
    assert [len(call) for call in events.calls] == [10, 10, 1, 1]  # the third chunk is not sent


def test_a_failed_call_is_an_aws_error_without_the_message() -> None:
    class Down:
        def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "+33612340000"}}, "PutEvents")

    with pytest.raises(AwsServiceError, match="ThrottlingException") as caught:
        bus(Down()).publish(announcements(1))
    assert "+336" not in str(caught.value)

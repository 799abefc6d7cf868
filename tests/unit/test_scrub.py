from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from stoplist.domain.sending_hours import SendingHours
from stoplist.errors import AwsServiceError
from stoplist.scrub import BATCH_GET_LIMIT, CHUNKS_PER_REQUEST, Reason, scrub

TUESDAY_NOON = datetime(2026, 6, 2, 12, 0, tzinfo=ZoneInfo("Europe/Paris"))
TUESDAY_NIGHT = datetime(2026, 6, 2, 23, 0, tzinfo=ZoneInfo("Europe/Paris"))


class StopList:
    """``present`` over a set, recording each request (called from the scrub's worker threads)."""

    def __init__(self, *numbers: str) -> None:
        self.numbers = set(numbers)
        self.requests: list[list[str]] = []
        self._lock = threading.Lock()

    def __call__(self, keys: list[str]) -> set[str]:
        with self._lock:
            self.requests.append(list(keys))
        return {key for key in keys if key in self.numbers}


def reasons(rows: list[str], stop_list: StopList, **options: object) -> list[Reason | None]:
    return [verdict.reason for verdict in scrub(rows, stop_list, "FR", **options)]  # type: ignore[arg-type]


def test_each_reason_and_their_order() -> None:
    stop_list = StopList("+33611111111")
    rows = [
        "06 12 34 56 78",  # kept
        "not a number",
        "06 11 11 11 11",  # opted out
        "+33612345678",  # the first row's number, spelled otherwise
        "0033 6 11 11 11 11",  # opted out and a repeat: opted out comes first
        "not a number",  # invalid and a repeat of the text: invalid
    ]
    assert reasons(rows, stop_list) == [
        None,
        Reason.INVALID_NUMBER,
        Reason.OPTED_OUT,
        Reason.DUPLICATE,
        Reason.OPTED_OUT,
        Reason.INVALID_NUMBER,
    ]
    assert stop_list.requests == [["+33612345678", "+33611111111"]]  # each number asked once


def test_sending_hours_apply_only_with_a_moment_and_after_the_other_reasons() -> None:
    rows = ["06 12 34 56 78", "06 12 34 56 78", "0596 30 12 34"]  # Paris, a repeat, Martinique
    assert reasons(rows, StopList()) == [None, Reason.DUPLICATE, None]
    assert reasons(rows, StopList(), at=TUESDAY_NIGHT) == [
        Reason.OUTSIDE_SENDING_HOURS,
        Reason.DUPLICATE,
        None,  # 17:00 in Martinique
    ]
    assert reasons(rows, StopList(), at=TUESDAY_NOON) == [None, Reason.DUPLICATE, Reason.OUTSIDE_SENDING_HOURS]
    late = SendingHours(sundays_and_holidays=True, end=datetime(2026, 1, 1, 23, 30).time())
    assert reasons(rows, StopList(), at=TUESDAY_NIGHT, hours=late) == [None, Reason.DUPLICATE, None]


def test_rows_of_any_shape_come_out_in_order_across_many_requests() -> None:
    opted_out = {f"+3361000{index:04d}" for index in range(0, 2537, 2)}
    stop_list = StopList(*opted_out)
    rows = [(index, f"061000{index:04d}") for index in range(2537)]

    verdicts = list(scrub(rows, stop_list, "FR", number=lambda row: row[1], in_flight=3))

    assert [verdict.row[0] for verdict in verdicts] == list(range(2537))
    assert [verdict.kept for verdict in verdicts] == [index % 2 == 1 for index in range(2537)]
    assert all(verdict.e164 == "+33" + row[1][1:] for verdict, row in zip(verdicts, rows, strict=True))
    assert max(len(keys) for keys in stop_list.requests) == BATCH_GET_LIMIT
    assert sorted(key for keys in stop_list.requests for key in keys) == sorted("+33" + phone[1:] for _, phone in rows)


def test_the_input_is_read_only_a_few_requests_ahead() -> None:
    """Memory stays bounded: the scrub holds at most ``CHUNKS_PER_REQUEST * in_flight`` chunks of rows, whatever
    the input's size."""
    pulled = 0

    def endless() -> Iterator[str]:
        nonlocal pulled
        while True:
            pulled += 1
            yield f"+336{pulled:08d}"

    first = list(itertools.islice(scrub(endless(), StopList(), "FR", in_flight=4), 10_000))

    assert len(first) == 10_000
    assert 10_000 <= pulled <= 10_000 + CHUNKS_PER_REQUEST * 4 * BATCH_GET_LIMIT


def test_a_chunk_without_new_numbers_asks_nothing() -> None:
    stop_list = StopList()
    rows = ["garbage"] * 2500 + ["0612345678"] * 2500

    assert reasons(rows, stop_list) == [Reason.INVALID_NUMBER] * 2500 + [None] + [Reason.DUPLICATE] * 2499
    assert stop_list.requests == [["+33612345678"]]


def test_a_failed_request_stops_the_scrub() -> None:
    def unreachable(keys: list[str]) -> set[str]:
        raise AwsServiceError("cannot batch-read the stop-list table: ResourceNotFoundException")

    with pytest.raises(AwsServiceError, match="ResourceNotFoundException"):
        list(scrub(["0612345678"], unreachable, "FR"))


def test_national_numbers_read_in_the_country_given() -> None:
    verdicts = list(scrub(["030 1234567"], StopList(), "FR", country="DE"))
    assert verdicts[0].e164 == "+49301234567"
    assert verdicts[0].kept

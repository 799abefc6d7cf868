"""Erasure without un-blocking (stoplist.domain.erasure): details go, the objection and its proof stay."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from stoplist.domain.changes import CHANGE_OPT_IN, CHANGE_OPT_OUT
from stoplist.domain.dispatch import Delivery, EventDispatcher
from stoplist.domain.erasure import CHANGE_ERASURE, FORGET_SOURCE, ErasureService, erased_fields
from stoplist.domain.events import RawEvent, eventbridge_reader, read_sqs_message
from stoplist.domain.optout import OptOutService
from stoplist.domain.outcomes import Disposition
from stoplist.domain.records import HistoryEntry
from stoplist.domain.redelivery import SQS_MAX_DELAY_SECONDS, RedeliverySchedule
from stoplist.domain.replies import SOURCE as REPLY_SOURCE
from stoplist.errors import AwsServiceError

from tests.unit.fakes import FakeDeadLetters, FakeHistory, FakeLocks, FakeProvider, FakeQueue, FakeTable

NUMBER = "+33612345678"
RECEIVED = datetime(2026, 4, 1, tzinfo=UTC)
NOW = datetime(2026, 4, 1, 0, 0, 2, tzinfo=UTC)  # the services' clock: when the erasure is recorded


def opt_out(at: str, event_id: str, source: str, reason: str) -> HistoryEntry:
    return HistoryEntry(NUMBER, at, event_id, CHANGE_OPT_OUT, "optout", at, source=source, reason=reason)


def stocked() -> tuple[FakeTable, FakeHistory]:
    table = FakeTable()
    table.items[NUMBER] = {"source": "agent Marie Dupont", "optOutReason": "très en colère", "eventId": "crm-2"}
    history = FakeHistory()
    history.append_all(
        [
            opt_out("2026-01-01T10:00:00.000000Z", "reply-1", source=REPLY_SOURCE, reason="STOP merci"),
            HistoryEntry(
                NUMBER,
                "2026-02-01T10:00:00.000000Z",
                "consent-1",
                CHANGE_OPT_IN,
                "optin",
                "2026-02-01T10:00:01.000000Z",
                source="web",
                consent_source="web-form",
                consent_at="2026-02-01T10:00:00Z",
                consent_text="Oui, Marie Dupont, 12 rue des Lilas",
            ),
            opt_out("2026-03-01T10:00:00.000000Z", "crm-2", source="agent Marie Dupont", reason="très en colère"),
        ]
    )
    return table, history


def erasure_service(
    table: FakeTable,
    history: FakeHistory,
    dead: FakeDeadLetters | None = None,
    erasing: bool = True,
    locks: FakeLocks | None = None,
    queue: FakeQueue | None = None,
    delivery: Delivery = Delivery.QUEUE,
) -> EventDispatcher:
    """The dispatcher of an opt-out function, with the erasure (``erasing``) or without it; one lease for both."""
    locks = locks or FakeLocks()
    erasure = ErasureService(table=table, locks=locks, history=history, default_region="FR", clock=lambda: NOW)
    return EventDispatcher(
        opt_out=OptOutService(provider=FakeProvider(), table=table, locks=locks, history=history, default_region="FR"),
        opt_in=None,
        erasure=erasure if erasing else None,
        dead_letters=dead or FakeDeadLetters(),
        queue=queue or FakeQueue(),
        delivery=delivery,
        max_receive_count=1,
        schedule=RedeliverySchedule(base_seconds=120, min_jitter=0.75),
        deadline_margin_seconds=3.0,
        erasure_recheck_seconds=SQS_MAX_DELAY_SECONDS,
    )


def erase_event(**extra: str) -> RawEvent:
    body = {"action": "erase", "phoneNumber": "06 12 34 56 78", "eventId": "forget-1", **extra}
    return RawEvent(json.dumps(body), "msg-1", received_at=RECEIVED)


def test_an_erase_event_strips_every_entry_and_the_item_and_records_itself() -> None:
    table, history = stocked()

    outcome = erasure_service(table, history).handle(erase_event(source=FORGET_SOURCE), read_sqs_message)

    assert outcome is Disposition.ERASED
    assert table.items[NUMBER] == {"eventId": "crm-2"}  # still opted out: the item stays
    entries = list(history.entries(NUMBER))
    assert [(entry.change, entry.event_id) for entry in entries] == [
        (CHANGE_OPT_OUT, "reply-1"),
        (CHANGE_OPT_IN, "consent-1"),
        (CHANGE_OPT_OUT, "crm-2"),
        (CHANGE_ERASURE, "forget-1"),
    ]
    assert all(entry.reason is None and entry.consent_text is None for entry in entries)
    assert [entry.source for entry in entries] == [REPLY_SOURCE, None, None, FORGET_SOURCE]
    # What proves the objection and the consent stays: dates, ids, who recorded, the consent's source and time.
    assert entries[1].consent_source == "web-form"
    assert entries[1].consent_at == "2026-02-01T10:00:00Z"
    assert entries[3].at == "2026-04-01T00:00:00.000000Z"  # no occurredAt: its receipt
    assert entries[3].recorded_at == "2026-04-01T00:00:02.000000Z"  # the clock's datetime, as the table stores it


def test_an_erasure_again_finds_nothing_to_remove_and_records_the_same_entry() -> None:
    table, history = stocked()
    service = erasure_service(table, history)
    event = erase_event(occurredAt="2026-03-31T12:00:00Z")
    service.handle(event, read_sqs_message)
    first = dict(history.by_key)

    service.handle(event, read_sqs_message)

    assert history.by_key == first
    assert all(erased_fields(entry) == [] for entry in history.entries(NUMBER))


def test_a_number_not_in_the_table_is_not_added_by_its_erasure() -> None:
    table, history = FakeTable(), FakeHistory()
    erasure_service(table, history).handle(erase_event(), read_sqs_message)
    assert table.items == {}
    [entry] = history.entries(NUMBER)
    assert (entry.change, entry.source) == (CHANGE_ERASURE, None)


def test_a_function_without_the_erasure_dead_letters_the_event_as_a_configuration_error() -> None:
    dead = FakeDeadLetters()
    service = erasure_service(FakeTable(), FakeHistory(), dead, erasing=False)
    assert service.handle(erase_event(), read_sqs_message) is Disposition.DEAD_LETTERED
    assert "not set up for erasures" in dead.sent[0]["reason"]


def test_an_erasure_holds_the_number_while_it_rewrites_and_gives_it_back() -> None:
    table, history = stocked()
    locks = FakeLocks()
    held_while: list[bool] = []

    class WatchedHistory(FakeHistory):
        def remove_details(self, entry: HistoryEntry, fields: Collection[str]) -> None:
            held_while.append(NUMBER in locks.held)
            super().remove_details(entry, fields)

    watched = WatchedHistory(by_key=history.by_key)

    assert erasure_service(table, watched, locks=locks).handle(erase_event(), read_sqs_message) is Disposition.ERASED
    assert held_while == [True, True, True]  # each of the three entries rewritten under the lease
    assert locks.taken == [NUMBER]
    assert locks.held == {}  # given back


class LaggingHistory(FakeHistory):
    """The history table as an eventually consistent Query reads it: the last write is not seen yet."""

    last_write: frozenset[tuple[str, str]] = frozenset()

    def append_all(self, entries: Sequence[HistoryEntry]) -> None:
        super().append_all(entries)
        self.last_write = frozenset((entry.phone_number, entry.key) for entry in entries)

    def entries(self, number: str, after: str | None = None, consistent: bool = False) -> Iterator[HistoryEntry]:
        for entry in super().entries(number, after):
            if consistent or (entry.phone_number, entry.key) not in self.last_write:
                yield entry


def test_an_erasure_strips_the_consent_the_number_s_last_holder_wrote_just_before() -> None:
    """An opt-in writes its consent and gives the number back; the erasure, next to hold it, reads the history
    strongly consistently and strips that consent too (found by the interleaving checker, SIM_SEED=37)."""
    table, history = stocked()
    lagging = LaggingHistory(by_key=history.by_key)
    consent = HistoryEntry(
        NUMBER, "2026-03-15T10:00:00.000000Z", "consent-2", CHANGE_OPT_IN, "optin", "2026-03-31T23:59:59.000000Z"
    )
    lagging.append_all([replace(consent, source="crm", consent_source="crm", consent_text="Oui, Marie Dupont")])

    erasure_service(table, lagging).handle(erase_event(), read_sqs_message)

    assert [erased_fields(entry) for entry in lagging.entries(NUMBER, consistent=True)] == [[]] * 5


def test_an_erasure_of_a_held_number_rewrites_nothing_and_comes_back_from_the_queue() -> None:
    """An opt-out or opt-in of the number under way: the erasure is requeued (no receive spent), not interleaved."""
    table, history = stocked()
    before_items, before_history = dict(table.items), dict(history.by_key)
    locks = FakeLocks(held={NUMBER: "2026-04-01T00:00:05.000000Z"})  # the holder's lease ends 3 s after NOW
    queue = FakeQueue()

    outcome = erasure_service(table, history, locks=locks, queue=queue).handle(erase_event(), read_sqs_message)

    assert outcome is Disposition.THROTTLED
    assert (table.items, history.by_key) == (before_items, before_history)
    [requeued] = queue.requeued
    assert json.loads(requeued["body"])["action"] == "erase"
    assert 3 <= requeued["delay"] <= 5  # the holder's 3 s, spread by up to half again


def test_an_erasure_from_the_bus_is_the_queue_s_erasure() -> None:
    """The same object in the ``detail`` of an ``SmsErasureRequested`` event: the same result as from the queue."""
    event = {
        "id": "eb-erase-1",
        "detail-type": "SmsErasureRequested",
        "source": "com.example.crm",
        "detail": {"action": "erase", "phoneNumber": "06 12 34 56 78", "eventId": "forget-1"},
    }
    from_bus, from_queue = stocked(), stocked()

    bus = erasure_service(*from_bus, delivery=Delivery.BUS)
    outcome = bus.handle(RawEvent(json.dumps(event), "eb-erase-1", received_at=RECEIVED), eventbridge_reader(event))
    erasure_service(*from_queue).handle(erase_event(), read_sqs_message)

    assert outcome is Disposition.ERASED
    assert from_bus[0].items == from_queue[0].items
    assert from_bus[1].by_key == from_queue[1].by_key


def test_an_erasure_sends_itself_again_for_a_second_run_once() -> None:
    """A change made before the erasure but still in the table's stream reaches the history after the first run:
    the second run, 15 minutes later, strips it; the second run sends no third."""
    table, history = stocked()
    queue = FakeQueue()
    service = erasure_service(table, history, queue=queue)

    assert service.handle(erase_event(), read_sqs_message) is Disposition.ERASED
    [again] = queue.requeued
    assert again == {
        "body": erase_event().body,
        "delay": SQS_MAX_DELAY_SECONDS,  # as the dispatcher is set: 15 minutes, the production setting
        "original_message_id": "msg-1",  # the default eventId stays
        "received": RECEIVED,  # and so does the erasure's own time
        "erasure_recheck": True,
    }
    late = opt_out("2026-03-31T23:59:00.000000Z", "crm-3", source="agent Marie Dupont", reason="en retard")
    history.append_all([late])  # the stream's late entry, written with its details
    second = RawEvent(again["body"], "msg-1", received_at=RECEIVED, erasure_recheck=True)

    assert service.handle(second, read_sqs_message) is Disposition.ERASURE_RECHECKED
    assert len(queue.requeued) == 1
    assert all(erased_fields(entry) == [] for entry in history.entries(NUMBER))
    assert [entry.change for entry in history.entries(NUMBER)].count(CHANGE_ERASURE) == 1  # the same entry


def test_an_erasure_whose_second_run_cannot_be_queued_stands() -> None:
    table, history = stocked()
    queue = FakeQueue(fail_with=AwsServiceError("cannot send to the opt-out queue: Throttling", "Throttling"))
    assert erasure_service(table, history, queue=queue).handle(erase_event(), read_sqs_message) is Disposition.ERASED
    assert all(erased_fields(entry) == [] for entry in history.entries(NUMBER))

"""Erasure without un-blocking (stoplist.domain.erasure): details go, the objection and its proof stay."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from stoplist.domain.changes import CHANGE_OPT_IN, CHANGE_OPT_OUT
from stoplist.domain.dispatch import Delivery, EventDispatcher
from stoplist.domain.erasure import CHANGE_ERASURE, FORGET_SOURCE, ErasureService, erased_fields
from stoplist.domain.events import RawEvent, read_sqs_message
from stoplist.domain.optout import OptOutService
from stoplist.domain.outcomes import Disposition
from stoplist.domain.records import HistoryEntry
from stoplist.domain.redelivery import RedeliverySchedule
from stoplist.domain.replies import SOURCE as REPLY_SOURCE

from tests.unit.fakes import FakeDeadLetters, FakeHistory, FakeLocks, FakeProvider, FakeQueue, FakeTable

NUMBER = "+33612345678"
RECEIVED = datetime(2026, 4, 1, tzinfo=UTC)


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
    table: FakeTable, history: FakeHistory, dead: FakeDeadLetters | None = None, erasing: bool = True
) -> EventDispatcher:
    """The dispatcher of an opt-out function, with the erasure (``erasing``) or without it."""
    erasure = ErasureService(table=table, history=history, default_region="FR", clock=lambda: "2026-04-01T00:00:00Z")
    return EventDispatcher(
        opt_out=OptOutService(
            provider=FakeProvider(), table=table, locks=FakeLocks(), history=history, default_region="FR"
        ),
        opt_in=None,
        erasure=erasure if erasing else None,
        dead_letters=dead or FakeDeadLetters(),
        queue=FakeQueue(),
        delivery=Delivery.QUEUE,
        max_receive_count=1,
        schedule=RedeliverySchedule(base_seconds=120, min_jitter=0.75),
        deadline_margin_seconds=3.0,
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

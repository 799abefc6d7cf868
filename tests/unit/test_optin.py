"""The re-opt-in rules (stoplist.domain.optin) with fakes typed by the ports: consent, the later one wins,
the provider's id or its list, a crossing opt-out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from stoplist.domain.changes import CHANGE_OPT_IN
from stoplist.domain.deadline import Deadline
from stoplist.domain.events import OPT_IN, Consent, OptOutRequest
from stoplist.domain.optin import OptInService
from stoplist.domain.optout import Disposition
from stoplist.domain.ports import OptOutRecord, StopEntry
from stoplist.errors import ConsentSupersededError, InvalidConsentError, RetryableError

from tests.unit.fakes import FakeHistory, FakeProvider, FakeTable

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
NUMBER = "+33612345678"


def request(consent_at: str = "2026-11-22T11:00:00Z", event_id: str = "in-1") -> OptOutRequest:
    return OptOutRequest(
        phone_number="06 12 34 56 78",
        event_id=event_id,
        source="crm",
        action=OPT_IN,
        consent=Consent(source="web-form", at=consent_at, text="Oui, je veux recevoir vos SMS"),
    )


def service(provider: FakeProvider, table: FakeTable, history: FakeHistory | None = None) -> OptInService:
    return OptInService(
        provider=provider,
        table=table,
        history=history or FakeHistory(),
        default_region="FR",
        clock_skew_seconds=300,
        clock=lambda: NOW,
    )


def opted_out(table: FakeTable, at: str = "2026-11-22T10:00:00+01:00", stop_id: int | None = 7) -> None:
    table.record_opt_out(OptOutRecord(NUMBER, "out-1", "web", None, at, stop_id))
    table.items[NUMBER]["providerStopId"] = stop_id


def test_later_consent_deletes_the_entry_by_the_table_id_and_the_item() -> None:
    provider = FakeProvider(entries=[StopEntry(7, NUMBER, None)])
    table = FakeTable()
    opted_out(table)

    assert service(provider, table).opt_in(request()) is Disposition.OPTED_IN

    assert provider.deleted == [7]
    assert provider.lists == 0  # the table knew the id: the list is not fetched
    assert NUMBER not in table.items


def test_consent_not_later_than_the_opt_out_is_refused_and_nothing_changes() -> None:
    provider = FakeProvider(entries=[StopEntry(7, NUMBER, None)])
    table = FakeTable()
    opted_out(table, at="2026-11-22T11:00:00Z")  # same instant as the consent: the opt-out wins a tie

    with pytest.raises(ConsentSupersededError, match="not earlier than consentAt"):
        service(provider, table).opt_in(request(consent_at="2026-11-22T12:00:00+01:00"))

    assert provider.deleted == []
    assert provider.added == [NUMBER]  # made sure of (code 3 in life): an earlier attempt may have deleted it
    assert NUMBER in table.items


@pytest.mark.parametrize("consent_at", ["2026-11-22T12:05:01Z", "2027-01-01T00:00:00+01:00"])
def test_consent_in_the_future_beyond_the_skew_is_refused(consent_at: str) -> None:
    table = FakeTable()
    opted_out(table)
    with pytest.raises(InvalidConsentError, match="in the future"):
        service(FakeProvider(), table).opt_in(request(consent_at=consent_at))
    assert NUMBER in table.items


def test_consent_within_the_clock_skew_is_accepted() -> None:
    table = FakeTable()
    opted_out(table)
    assert service(FakeProvider(), table).opt_in(request(consent_at="2026-11-22T12:04:00Z")) is Disposition.NOT_LISTED


def test_without_an_id_in_the_table_the_list_gives_it() -> None:
    provider = FakeProvider(entries=[StopEntry(3, "+33700000000", None), StopEntry(9, "0612345678", None)])
    table = FakeTable()
    opted_out(table, stop_id=None)

    assert service(provider, table).opt_in(request()) is Disposition.OPTED_IN
    assert provider.lists == 1
    assert provider.deleted == [9]


def test_a_stale_id_code_4_falls_back_to_the_list() -> None:
    provider = FakeProvider(entries=[StopEntry(12, NUMBER, None)])  # deleted and added again: a new id
    table = FakeTable()
    opted_out(table, stop_id=7)

    assert service(provider, table).opt_in(request()) is Disposition.OPTED_IN
    assert provider.deleted == [7, 12]


def test_not_on_the_list_is_done_and_the_item_still_goes() -> None:
    provider = FakeProvider()
    table = FakeTable()
    opted_out(table, stop_id=7)

    assert service(provider, table).opt_in(request()) is Disposition.NOT_LISTED
    assert NUMBER not in table.items


def test_not_in_the_table_the_provider_decides_and_the_history_keeps_the_consent() -> None:
    provider = FakeProvider(entries=[StopEntry(4, NUMBER, None)])
    history = FakeHistory()

    assert service(provider, FakeTable(), history).opt_in(request()) is Disposition.OPTED_IN

    assert provider.deleted == [4]
    [entry] = history.by_key.values()
    assert (entry.change, entry.event_id, entry.consent_source) == (CHANGE_OPT_IN, "in-1", "web-form")
    assert entry.consent_text == "Oui, je veux recevoir vos SMS"
    assert entry.key == "2026-11-22T11:00:00.000000Z#in-1"


def test_a_later_opt_out_crossing_the_opt_in_wins_and_the_entry_is_restored() -> None:
    provider = FakeProvider(entries=[StopEntry(7, NUMBER, None)])
    table = FakeTable()
    opted_out(table)
    # Between the mark and the delete, the person sends STOP again (after the consent).
    table.on_marked = lambda number: table.record_opt_out(  # type: ignore[method-assign]
        OptOutRecord(number, "out-2", "sms", None, "2026-11-22T11:30:00Z", None)
    )

    with pytest.raises(ConsentSupersededError):
        service(provider, table).opt_in(request())

    assert NUMBER in table.items
    assert table.items[NUMBER]["eventId"] == "out-2"
    assert provider.added == [NUMBER]  # the deleted entry is put back


def test_an_earlier_opt_out_crossing_the_opt_in_loses_and_the_opt_in_runs_again() -> None:
    provider = FakeProvider(entries=[StopEntry(7, NUMBER, None)])
    table = FakeTable()
    opted_out(table)
    crossings = iter([OptOutRecord(NUMBER, "out-old", "redrive", None, "2026-11-22T09:00:00Z", 8)])

    def cross(number: str) -> None:
        for record in crossings:  # once
            table.record_opt_out(record)
            provider.entries.append(StopEntry(8, number, None))  # the old opt-out's add put it back

    table.on_marked = cross  # type: ignore[method-assign]

    assert service(provider, table).opt_in(request()) is Disposition.OPTED_IN
    assert NUMBER not in table.items
    assert provider.entries == []


def test_a_number_that_keeps_changing_is_retried_later() -> None:
    table = FakeTable()
    opted_out(table)
    table.mark_opt_in = lambda seen, mark, now=None: False  # type: ignore[method-assign]

    with pytest.raises(RetryableError, match="kept changing"):
        service(FakeProvider(), table).opt_in(request())


def test_every_provider_call_of_an_opt_in_is_bounded_by_the_invocation_deadline() -> None:
    # A stale id in the table: the delete by id (code 4), then the list, then the delete of the listed id.
    provider = FakeProvider(entries=[StopEntry(8, NUMBER, None)])
    table = FakeTable()
    opted_out(table, stop_id=7)
    deadline = Deadline(at=1_000.0)

    assert service(provider, table).opt_in(request(), deadline) is Disposition.OPTED_IN

    assert provider.deadlines == [("delete", deadline), ("list", deadline), ("delete", deadline)]


def test_the_provider_entry_restored_for_a_later_opt_out_is_bounded_too() -> None:
    provider = FakeProvider()
    table = FakeTable()
    opted_out(table, at="2026-11-22T11:30:00Z")
    deadline = Deadline(at=1_000.0)

    with pytest.raises(ConsentSupersededError):
        service(provider, table).opt_in(request(consent_at="2026-11-22T11:00:00Z"), deadline)

    assert provider.deadlines == [("add", deadline)]

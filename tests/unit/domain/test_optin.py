"""The re-opt-in (stoplist.domain.optin) with fakes typed by the ports: consent later than every opt-out known,
every entry of the number deleted, the consent kept in the history, the number held while it decides."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from stoplist.domain.changes import CHANGE_OPT_IN
from stoplist.domain.deadline import Deadline
from stoplist.domain.events import Consent, OptInRequest
from stoplist.domain.optin import OptInService
from stoplist.domain.outcomes import Disposition
from stoplist.domain.ports import ListedEntry, OptInMark, OptOutRecord, ProviderFields, StopEntry
from stoplist.errors import ConsentSupersededError, InvalidConsentError, NumberBusyError

from tests.unit.fakes import FakeHistory, FakeLocks, FakeProvider, FakeTable

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
NUMBER = "+33612345678"


def request(consent_at: str = "2026-11-22T11:00:00Z", event_id: str = "in-1") -> OptInRequest:
    return OptInRequest(
        phone_number="06 12 34 56 78",
        event_id=event_id,
        source="crm",
        consent=Consent(source="web-form", at=consent_at, text="Oui, je veux recevoir vos SMS"),
    )


def service(
    provider: FakeProvider, table: FakeTable, history: FakeHistory | None = None, locks: FakeLocks | None = None
) -> OptInService:
    return OptInService(
        provider=provider,
        table=table,
        locks=locks or FakeLocks(),
        history=history or FakeHistory(),
        default_region="FR",
        clock_skew_seconds=300,
        clock=lambda: NOW,
    )


def opt_in(svc: OptInService, req: OptInRequest | None = None, deadline: Deadline | None = None) -> Disposition:
    return svc.opt_in(req or request(), NOW, deadline)


def opted_out(table: FakeTable, at: str = "2026-11-22T09:00:00.000000Z", stop_id: int | None = 7) -> None:
    table.record_opt_out(OptOutRecord(NUMBER, "out-1", at, "web", None, stop_id))


def test_later_consent_deletes_the_entry_and_the_item_and_keeps_the_consent() -> None:
    provider = FakeProvider(entries=[StopEntry(7, NUMBER, "2026-11-22 10:00:00")])
    table, history = FakeTable(), FakeHistory()
    opted_out(table)

    assert opt_in(service(provider, table, history)) is Disposition.OPTED_IN

    assert provider.deleted == [7]
    assert NUMBER not in table.items
    assert history.latest_consent(NUMBER) == "2026-11-22T11:00:00.000000Z"


def test_consent_not_later_than_the_opt_out_is_refused_and_nothing_changes() -> None:
    provider = FakeProvider(entries=[StopEntry(7, NUMBER, None)])
    table = FakeTable()
    opted_out(table, at="2026-11-22T11:00:00.000000Z")  # the same instant: a tie goes to the opt-out

    with pytest.raises(ConsentSupersededError):
        opt_in(service(provider, table))
    assert provider.deleted == []
    assert NUMBER in table.items


def test_an_entry_the_provider_received_itself_counts_at_its_created_at_in_paris_time() -> None:
    """11:30 in Paris is 10:30 UTC: a consent at 10:45 UTC is later, one at 10:15 UTC is not."""
    table = FakeTable()
    with pytest.raises(ConsentSupersededError):
        opt_in(
            service(FakeProvider(entries=[StopEntry(9, NUMBER, "2026-11-22 11:30:00")]), table),
            request("2026-11-22T10:15:00Z"),
        )
    provider = FakeProvider(entries=[StopEntry(9, NUMBER, "2026-11-22 11:30:00")])
    assert opt_in(service(provider, table), request("2026-11-22T10:45:00Z")) is Disposition.OPTED_IN
    assert provider.deleted == [9]


def test_an_entry_our_own_add_created_counts_as_the_opt_out_that_added_it() -> None:
    """Its createdAt is when the add was called (a replayed May opt-out added in December): the opt-out's own time,
    recorded in the table, is what the consent must beat."""
    provider = FakeProvider(entries=[StopEntry(7, NUMBER, "2026-12-10 09:00:00")])
    table = FakeTable()
    opted_out(table, at="2026-05-01T00:00:00.000000Z", stop_id=7)
    assert opt_in(service(provider, table), request("2026-11-22T11:00:00Z")) is Disposition.OPTED_IN


def test_every_spelling_of_the_number_in_the_list_is_deleted() -> None:
    overseas = "+262692123456"
    provider = FakeProvider(
        entries=[
            StopEntry(3, "+33692123456", "2026-11-20 08:00:00"),
            StopEntry(4, "262692123456", "2026-11-21 08:00:00"),
            StopEntry(5, NUMBER, "2026-11-21 08:00:00"),
        ]
    )
    table = FakeTable()
    table.put_new([(overseas, _fields(3, 4))], "2026-11-22T08:00:00.000000Z")
    table.record_opt_out(OptOutRecord(overseas, "o", "2026-11-22T09:00:00.000000Z"))
    req = OptInRequest("0692123456", "in-1", Consent("web-form", "2026-11-22T11:00:00Z"))
    assert opt_in(service(provider, table), req) is Disposition.OPTED_IN
    assert sorted(provider.deleted) == [3, 4]


def test_a_consent_from_a_fast_clock_counts_from_its_receipt() -> None:
    """consentAt 12:04 (4 minutes ahead of the clock, within the accepted skew) received at 12:00 counts at 12:00."""
    table, history = FakeTable(), FakeHistory()
    svc = service(FakeProvider(), table, history)
    assert opt_in(svc, request("2026-11-22T12:04:00Z")) is Disposition.NOT_LISTED
    assert history.latest_consent(NUMBER) == "2026-11-22T12:00:00.000000Z"


@pytest.mark.parametrize("consent_at", ["2026-11-22T12:05:01Z", "2027-01-01T00:00:00+01:00"])
def test_consent_in_the_future_beyond_the_skew_is_refused(consent_at: str) -> None:
    with pytest.raises(InvalidConsentError):
        opt_in(service(FakeProvider(), FakeTable()), request(consent_at))


def test_not_in_the_table_nor_listed_the_consent_is_still_kept() -> None:
    history = FakeHistory()
    assert opt_in(service(FakeProvider(), FakeTable(), history)) is Disposition.NOT_LISTED
    [entry] = history.by_key.values()
    assert (entry.change, entry.consent_source) == (CHANGE_OPT_IN, "web-form")


def test_an_item_the_provider_no_longer_lists_is_restored_when_its_opt_out_wins() -> None:
    provider = FakeProvider()
    table = FakeTable()
    opted_out(table, at="2026-11-22T11:30:00.000000Z")
    with pytest.raises(ConsentSupersededError):
        opt_in(service(provider, table))
    assert provider.added == [NUMBER]


def test_an_entry_another_opt_in_deleted_is_not_given_back_by_an_older_consent() -> None:
    """A later consent marked the item and deleted the entry, its answer lost; an older consent, refused, must not
    add the entry back: if the snapshot then removed the marked item, the entry would be nobody's and count as a
    STOP later than the winning consent, which would be refused on its retry (the checker's seed 35000)."""
    provider = FakeProvider()  # the later opt-in's delete went through
    table = FakeTable()
    opted_out(table, at="2026-11-22T09:00:00.000000Z")
    later = service(provider, table)
    seen = table.read(NUMBER)
    assert seen is not None
    winning = request(consent_at="2026-11-22T11:00:00Z", event_id="in-later")
    mark = OptInMark("in-later", "web-form", "2026-11-22T11:00:00.000000Z", "crm", winning.consent.text, None)
    assert table.mark_opt_in(seen, mark)
    with pytest.raises(ConsentSupersededError):
        opt_in(later, request(consent_at="2026-11-22T08:00:00Z", event_id="in-older"))
    assert provider.added == []
    assert opt_in(later, winning) is Disposition.NOT_LISTED  # the winning consent, retried, ends
    assert table.items == {}


def test_a_number_held_by_another_event_is_busy_and_nothing_is_called() -> None:
    locks = FakeLocks(held={NUMBER: "2026-11-22T12:00:30.000000Z"})
    provider = FakeProvider(entries=[StopEntry(7, NUMBER, None)])
    with pytest.raises(NumberBusyError) as raised:
        opt_in(service(provider, FakeTable(), locks=locks))
    assert raised.value.retry_after == pytest.approx(5)  # not the 30 s left: the holder is usually done soon
    assert provider.deadlines == []


def test_the_number_is_held_for_the_opt_in_and_given_back() -> None:
    locks = FakeLocks()
    opt_in(service(FakeProvider(), FakeTable(), locks=locks))
    assert (locks.taken, locks.held) == ([NUMBER], {})


def test_every_provider_call_of_an_opt_in_is_bounded_by_the_invocation_deadline() -> None:
    provider = FakeProvider(entries=[StopEntry(7, NUMBER, None)])
    table = FakeTable()
    opted_out(table)
    deadline = Deadline.after(20)
    assert opt_in(service(provider, table), deadline=deadline) is Disposition.OPTED_IN
    assert [call for call, _ in provider.deadlines] == ["list", "delete"]
    assert all(given is deadline for _, given in provider.deadlines)


def _fields(*ids: int) -> ProviderFields:
    return ProviderFields.of(ListedEntry(stop_id, None) for stop_id in ids)

"""The opt-out (stoplist.domain.optout) with fakes typed by the ports: when it counts, superseded by a consent
already applied, optedOutAt that never moves backwards, the number held while it runs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from stoplist.domain.changes import CHANGE_OPT_IN, CHANGE_OPT_OUT_SUPERSEDED
from stoplist.domain.events import OptOutRequest
from stoplist.domain.optout import OptOutService
from stoplist.domain.outcomes import Disposition
from stoplist.domain.records import HistoryEntry
from stoplist.errors import NumberBusyError, ProviderUnavailableError

from tests.unit.fakes import FakeHistory, FakeLocks, FakeProvider, FakeTable

RECEIVED = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
NUMBER = "+33612345678"


def service(
    provider: FakeProvider | None = None,
    table: FakeTable | None = None,
    history: FakeHistory | None = None,
    locks: FakeLocks | None = None,
) -> OptOutService:
    return OptOutService(
        provider=provider or FakeProvider(),
        table=table or FakeTable(),
        locks=locks or FakeLocks(),
        history=history or FakeHistory(),
        default_region="FR",
        clock=lambda: RECEIVED,
    )


def opt_out(svc: OptOutService, occurred_at: str | None = None, event_id: str = "out-1") -> Disposition:
    return svc.opt_out(OptOutRequest("06 12 34 56 78", event_id, occurred_at=occurred_at), RECEIVED, None)


def consent_applied(history: FakeHistory, at: str) -> None:
    history.append_all([HistoryEntry(NUMBER, at, "in-1", CHANGE_OPT_IN, "optin", at)])


def test_an_opt_out_is_added_and_written_through_with_when_it_counts() -> None:
    provider, table = FakeProvider(), FakeTable()
    assert opt_out(service(provider, table), "2026-12-06T08:00:00+01:00") is Disposition.ADDED
    assert provider.added == [NUMBER]
    item = table.items[NUMBER]
    assert (item["optedOutAt"], item["eventOptedOutAt"]) == ("2026-12-06T07:00:00.000000Z",) * 2
    assert item["addedStopIds"] == {1}


def test_a_replayed_old_opt_out_never_moves_opted_out_at_backwards() -> None:
    """STOP on 10 January, then an opt-out of May before replayed: the table keeps January as the latest."""
    table = FakeTable()
    svc = service(FakeProvider(), table)
    opt_out(svc, "2026-01-10T10:00:00Z", "january")
    assert opt_out(svc, "2025-05-01T10:00:00Z", "may") is Disposition.ALREADY_LISTED
    item = table.items[NUMBER]
    assert item["optedOutAt"] == "2026-01-10T10:00:00.000000Z"
    assert (item["eventId"], item["eventOptedOutAt"]) == ("may", "2025-05-01T10:00:00.000000Z")


def test_an_opt_out_older_than_an_applied_consent_is_superseded_kept_and_not_sent() -> None:
    provider, history = FakeProvider(), FakeHistory()
    consent_applied(history, "2026-11-22T10:00:00.000000Z")
    svc = service(provider, history=history)

    assert opt_out(svc, "2026-11-22T10:30:00+01:00") is Disposition.SUPERSEDED  # 09:30 UTC
    assert provider.added == []
    [entry] = [entry for entry in history.by_key.values() if entry.change == CHANGE_OPT_OUT_SUPERSEDED]
    assert (entry.event_id, entry.at) == ("out-1", "2026-11-22T09:30:00.000000Z")


def test_a_tie_with_an_applied_consent_and_a_later_opt_out_block_the_number_again() -> None:
    provider, history = FakeProvider(), FakeHistory()
    consent_applied(history, "2026-11-22T10:00:00.000000Z")
    svc = service(provider, history=history)
    assert opt_out(svc, "2026-11-22T11:00:00+01:00", "tie") is Disposition.ADDED
    assert opt_out(svc, None, "now") is Disposition.ALREADY_LISTED  # no occurredAt: as of its receipt


def test_an_opt_out_from_a_time_without_offset_is_read_in_the_numbers_zone() -> None:
    history = FakeHistory()
    consent_applied(history, "2026-11-22T09:30:00.000000Z")
    # 10:00 in Paris is 09:00 UTC: older than the consent.
    assert opt_out(service(history=history), "2026-11-22T10:00:00") is Disposition.SUPERSEDED


def test_a_number_held_by_another_event_is_busy_and_nothing_is_called() -> None:
    provider = FakeProvider()
    locks = FakeLocks(held={NUMBER: "2026-12-06T09:00:05.000000Z"})
    with pytest.raises(NumberBusyError) as raised:
        opt_out(service(provider, locks=locks))
    assert raised.value.retry_after == pytest.approx(5)
    assert provider.deadlines == []


def test_the_number_is_given_back_when_the_provider_fails() -> None:
    locks = FakeLocks()
    provider = FakeProvider(errors={NUMBER: ProviderUnavailableError("stop-sms/add: HTTP 503")})
    with pytest.raises(ProviderUnavailableError):
        opt_out(service(provider, locks=locks))
    assert (locks.taken, locks.held) == ([NUMBER], {})

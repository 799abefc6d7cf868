"""The ordering rule (stoplist.domain.ordering), one test per clause, with the issue's worked cases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stoplist.domain.ordering import (
    EARLIEST,
    consent_time,
    consent_wins,
    opt_out_time,
    provider_time,
    superseded,
    utc_text,
)

RECEIVED = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
MAINLAND = "+33612345678"
MARTINIQUE = "+596696123456"
REUNION_OR_MAYOTTE = "+262692123456"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_an_opt_out_counts_from_its_occurred_at() -> None:
    assert opt_out_time("2026-03-10T09:00:00+01:00", RECEIVED, MAINLAND) == at("2026-03-10T08:00:00+00:00")


def test_an_opt_out_without_a_date_counts_from_its_receipt() -> None:
    assert opt_out_time(None, RECEIVED, MAINLAND) == RECEIVED


@pytest.mark.parametrize("future", ["2026-03-10T15:00:01Z", "9999-12-31T23:59:59-01:00", "9999-12-31T23:59:59"])
def test_an_opt_out_never_counts_later_than_its_receipt(future: str) -> None:
    assert opt_out_time(future, RECEIVED, MAINLAND) == RECEIVED


def test_a_date_in_year_one_is_the_earliest_instant_not_an_error() -> None:
    assert opt_out_time("0001-01-01T00:00:00+01:00", RECEIVED, MAINLAND) == EARLIEST
    assert utc_text(EARLIEST) == "0001-01-01T00:00:00.000000Z"  # fixed width: it still sorts as text


def test_a_naive_time_is_read_in_the_numbers_own_zone() -> None:
    """A Martinique STOP at 10:00 local is 14:00 UTC: a consent at 12:30 UTC does not beat it."""
    stop = opt_out_time("2026-03-10T10:00:00", RECEIVED, MARTINIQUE)
    assert stop == at("2026-03-10T14:00:00+00:00")
    assert not consent_wins(at("2026-03-10T12:30:00+00:00"), [stop])


def test_a_naive_time_of_a_mainland_number_is_paris_time() -> None:
    assert opt_out_time("2026-03-10T10:00:00", RECEIVED, MAINLAND) == at("2026-03-10T09:00:00+00:00")


def test_a_number_in_two_zones_takes_the_reading_that_makes_the_opt_out_latest() -> None:
    """+262 692 is Réunion (UTC+4) or Mayotte (UTC+3): 10:00 there is 06:00 or 07:00 UTC; the later counts."""
    assert opt_out_time("2026-03-10T10:00:00", RECEIVED, REUNION_OR_MAYOTTE) == at("2026-03-10T07:00:00+00:00")


def test_a_consent_never_counts_later_than_its_receipt() -> None:
    """A CRM clock 4 minutes fast gains nothing."""
    assert consent_time("2026-03-10T15:04:00Z", RECEIVED) == RECEIVED
    assert consent_time("2026-03-10T14:00:00+00:00", RECEIVED) == at("2026-03-10T14:00:00+00:00")


def test_the_providers_created_at_is_paris_time_the_later_reading_when_the_clock_goes_back() -> None:
    assert provider_time("2026-03-10 10:00:00") == at("2026-03-10T09:00:00+00:00")
    # 25 October 2026, 02:30 happens twice in Paris (CEST then CET): the later, 01:30 UTC.
    assert provider_time("2026-10-25 02:30:00") == at("2026-10-25T01:30:00+00:00")
    assert provider_time(None) is None
    assert provider_time("not a date") is None


def test_a_consent_wins_only_when_later_than_every_opt_out_a_tie_and_an_unknown_time_go_to_the_opt_out() -> None:
    consent = at("2026-03-10T12:00:00+00:00")
    assert consent_wins(consent, [at("2026-03-10T11:59:59+00:00"), at("2026-01-01T00:00:00+00:00")])
    assert consent_wins(consent, [])
    assert not consent_wins(consent, [at("2026-03-10T12:00:00+00:00")])
    assert not consent_wins(consent, [at("2026-01-01T00:00:00+00:00"), None])


def test_an_opt_out_older_than_an_applied_consent_is_superseded_a_tie_is_not() -> None:
    consent = at("2026-03-10T12:00:00+00:00")
    assert superseded(at("2026-03-10T11:00:00+00:00"), consent)
    assert not superseded(consent, consent)
    assert not superseded(EARLIEST, None)


offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: f"{'+-'[minutes < 0]}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
)


@given(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
    st.one_of(st.none(), offsets),
    st.sampled_from([MAINLAND, MARTINIQUE, REUNION_OR_MAYOTTE, "+14155550100"]),
)
def test_any_valid_date_gives_an_instant_no_later_than_the_receipt(
    naive: datetime, offset: str | None, number: str
) -> None:
    """No extreme date, offset or zone escapes as an exception: every opt-out gets a time, at most its receipt."""
    text = naive.isoformat() + (offset or "")
    counted = opt_out_time(text, RECEIVED, number)
    assert counted <= RECEIVED
    assert len(utc_text(counted)) == len("2026-03-10T15:00:00.000000Z")

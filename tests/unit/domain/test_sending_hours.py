from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import timezone
from stoplist.domain.phone import regions, time_zones
from stoplist.domain.sending_hours import (
    LOCAL_LAW_PREFIXES,
    OVERSEAS_SUBDIVISIONS,
    Place,
    SendingHours,
    parse_window,
    place_of,
)

HOURS = SendingHours()
OPEN = SendingHours(sundays_and_holidays=True)
MOBILE = "+33612345678"  # a mainland mobile: Paris, no department
STRASBOURG = "+33388123456"  # 03 88: Bas-Rhin
METZ = "+33387123456"  # 03 87: Moselle
MULHOUSE = "+33389123456"  # 03 89: Haut-Rhin
PARIS = ZoneInfo("Europe/Paris")
TUESDAY = date(2026, 6, 2)  # an ordinary working day everywhere below


def at(day: date, hour: int, minute: int = 0, second: int = 0, zone: str = "Europe/Paris") -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=ZoneInfo(zone))


# --- the window --------------------------------------------------------------------------------------------------
def test_the_window_edges_are_inside() -> None:
    assert HOURS.allows(MOBILE, at(TUESDAY, 8, 0))
    assert HOURS.allows(MOBILE, at(TUESDAY, 21, 30))
    assert not HOURS.allows(MOBILE, at(TUESDAY, 7, 59, 59))
    assert not HOURS.allows(MOBILE, at(TUESDAY, 21, 30, 1))


def test_a_narrower_window() -> None:
    narrow = SendingHours(*parse_window("09:00-20:00"))
    assert not narrow.allows(MOBILE, at(TUESDAY, 8, 30))
    assert narrow.allows(MOBILE, at(TUESDAY, 9, 0))
    assert narrow.allows(MOBILE, at(TUESDAY, 20, 0))
    assert not narrow.allows(MOBILE, at(TUESDAY, 20, 0, 1))


@pytest.mark.parametrize("text", ["9-20", "09:00", "20:00-09:00", "25:00-26:00", "09:60-10:00", ""])
def test_a_window_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="sending hours"):
        parse_window(text)


def test_the_moment_needs_an_offset() -> None:
    with pytest.raises(ValueError, match="UTC offset"):
        HOURS.allows(MOBILE, datetime(2026, 6, 2, 12, 0))


def test_the_moment_of_a_campaign_needs_an_offset() -> None:
    with pytest.raises(ValueError, match="UTC offset"):
        HOURS.at(datetime(2026, 6, 2, 12, 0))


def test_the_same_instant_written_in_utc() -> None:
    assert HOURS.allows(MOBILE, datetime(2026, 6, 2, 6, 0, tzinfo=ZoneInfo("UTC")))  # 08:00 in Paris (summer)
    assert not HOURS.allows(MOBILE, datetime(2026, 6, 2, 5, 59, tzinfo=ZoneInfo("UTC")))


# --- the recipient's zone -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("number", "zone"),
    [
        ("+596696201234", "America/Martinique"),
        ("+594694201234", "America/Cayenne"),
        ("+590590201234", "America/Guadeloupe"),
        ("+590590271234", "America/Guadeloupe"),  # Saint-Barthélemy: phonenumbers gives Guadeloupe's zone
        ("+262262161234", "Indian/Reunion"),
        ("+262269601234", "Indian/Mayotte"),
        ("+508551234", "America/Miquelon"),
    ],
)
def test_each_overseas_zone_has_its_own_hours(number: str, zone: str) -> None:
    assert time_zones(number) == (zone,)
    opening = at(TUESDAY, 8, 0, zone=zone)
    closing = at(TUESDAY, 21, 30, zone=zone)
    assert HOURS.allows(number, opening)
    assert HOURS.allows(number, closing)
    assert not HOURS.allows(number, opening - timedelta(seconds=1))
    assert not HOURS.allows(number, closing + timedelta(seconds=1))


def test_a_number_in_two_zones_needs_the_hours_in_both() -> None:
    reunion_mobile = "+262692123456"  # Réunion (UTC+4) or Mayotte (UTC+3) by phonenumbers' time-zone data
    assert time_zones(reunion_mobile) == ("Indian/Mayotte", "Indian/Reunion")
    assert not HOURS.allows(reunion_mobile, at(TUESDAY, 8, 0, zone="Indian/Reunion"))  # 07:00 in Mayotte
    assert HOURS.allows(reunion_mobile, at(TUESDAY, 8, 0, zone="Indian/Mayotte"))  # 09:00 in Réunion
    assert HOURS.allows(reunion_mobile, at(TUESDAY, 21, 30, zone="Indian/Reunion"))  # 20:30 in Mayotte
    assert not HOURS.allows(reunion_mobile, at(TUESDAY, 21, 30, zone="Indian/Mayotte"))  # 22:30 in Réunion


# --- Sundays and holidays ----------------------------------------------------------------------------------------
def test_a_sunday_is_closed_unless_allowed() -> None:
    sunday = date(2026, 6, 7)
    assert sunday.weekday() == 6
    assert not HOURS.allows(MOBILE, at(sunday, 12))
    assert OPEN.allows(MOBILE, at(sunday, 12))
    assert not OPEN.allows(MOBILE, at(sunday, 22))  # the window still holds


def test_christmas_is_closed_everywhere() -> None:
    christmas = date(2026, 12, 25)  # a Friday
    for number in (MOBILE, STRASBOURG, "+596696201234", "+262262161234"):
        zone = time_zones(number)[0]
        assert not HOURS.allows(number, at(christmas, 12, zone=zone)), number
        assert OPEN.allows(number, at(christmas, 12, zone=zone)), number


def test_the_sunday_is_the_recipients() -> None:
    """Saturday 23:00 in Martinique is Sunday 05:00 in Paris: the day that counts is Martinique's."""
    saturday_evening = at(date(2026, 6, 6), 20, 0, zone="America/Martinique")
    assert saturday_evening.astimezone(PARIS).weekday() == 6
    assert HOURS.allows("+596696201234", saturday_evening)


@pytest.mark.parametrize("number", [STRASBOURG, METZ, MULHOUSE])
def test_alsace_and_moselle_landlines_keep_26_december_and_good_friday(number: str) -> None:
    st_stephen = date(2026, 12, 26)  # a Saturday
    good_friday = date(2026, 4, 3)
    for day in (st_stephen, good_friday):
        assert not HOURS.allows(number, at(day, 12))
        assert HOURS.allows(MOBILE, at(day, 12))  # a mainland mobile tells no department
        assert OPEN.allows(number, at(day, 12))


@pytest.mark.parametrize(
    ("number", "abolition_day"),
    [
        ("+590590201234", date(2026, 5, 27)),  # Guadeloupe
        ("+596696201234", date(2026, 5, 22)),  # Martinique
        ("+594694201234", date(2026, 6, 10)),  # Guyane
        ("+262262161234", date(2027, 12, 20)),  # La Réunion (a Monday in 2027)
        ("+262269601234", date(2026, 4, 27)),  # Mayotte
        ("+590590271234", date(2026, 10, 9)),  # Saint-Barthélemy (range shared with Saint-Martin)
        ("+590590871234", date(2026, 5, 28)),  # Saint-Martin (range shared with Saint-Barthélemy)
    ],
)
def test_each_departments_abolition_day_is_closed_there_only(number: str, abolition_day: date) -> None:
    assert abolition_day.weekday() != 6
    zone = time_zones(number)[0]
    assert not HOURS.allows(number, at(abolition_day, 12, zone=zone))
    assert OPEN.allows(number, at(abolition_day, 12, zone=zone))
    assert HOURS.allows(MOBILE, at(abolition_day, 12))


def test_a_reunion_mobile_keeps_reunions_days_not_mayottes() -> None:
    """Its zones are both (the time-zone data), its region is Réunion alone (the numbering metadata)."""
    number = "+262692123456"
    assert place_of(number) == Place(("Indian/Mayotte", "Indian/Reunion"), ("974",))
    assert HOURS.allows(number, at(date(2026, 4, 27), 12, zone="Indian/Reunion"))  # Mayotte's day
    assert not HOURS.allows(number, at(date(2027, 12, 20), 12, zone="Indian/Reunion"))  # Réunion's


def test_a_mobile_shared_by_three_places_keeps_the_days_of_each() -> None:
    shared = "+590690001234"
    assert regions(shared) == ("BL", "GP", "MF")
    assert place_of(shared).subdivisions == ("971", "BL", "MF")


def test_a_foreign_number_gets_frances_days_and_its_own_hours() -> None:
    brussels = "+32470123456"
    assert place_of(brussels) == Place(("Europe/Brussels",), ("",))
    assert not HOURS.allows(brussels, at(date(2026, 7, 14), 12, zone="Europe/Brussels"))
    assert HOURS.allows(brussels, at(date(2026, 7, 21), 12, zone="Europe/Brussels"))


# --- the holiday source -------------------------------------------------------------------------------------------
def test_the_subdivision_codes_are_the_holidays_packages() -> None:
    known = set(holidays.list_supported_countries()["FR"])
    assert set(OVERSEAS_SUBDIVISIONS.values()) | set(LOCAL_LAW_PREFIXES.values()) <= known
    # The overseas entries of their own give the same days as France's subdivisions.
    for region, subdivision in OVERSEAS_SUBDIVISIONS.items():
        own = holidays.country_holidays(region, years=2026)
        assert set(own) == set(holidays.country_holidays("FR", subdiv=subdivision, years=2026)), region


# --- the zone lookup's fast path -----------------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"\A[1-9][0-9]{8}\Z"))
def test_single_zone_codes_answer_as_the_full_lookup(national: str) -> None:
    number = phonenumbers.parse("+33" + national)
    full = tuple(sorted(zone for zone in timezone.time_zones_for_number(number) if zone != "Etc/Unknown"))
    assert time_zones("+33" + national) == (full or ("Europe/Paris",))


# --- one moment, many numbers: the answer kept per mainland prefix ---------------------------------------------
MOMENTS = [at(TUESDAY, 7, 59), at(TUESDAY, 12), at(date(2026, 12, 26), 10), at(date(2026, 4, 3), 10)]  # Good Friday
CAMPAIGN_NUMBERS = [MOBILE, STRASBOURG, METZ, MULHOUSE, "+33612345679", "+33388000000", "+596696201234"]


@pytest.mark.parametrize("moment", MOMENTS)
def test_a_campaigns_checker_answers_as_allows(moment: datetime) -> None:
    allowed = HOURS.at(moment)
    for number in CAMPAIGN_NUMBERS * 2:  # the second pass answers from what the first kept
        assert allowed(number) == HOURS.allows(number, moment), number


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"\A\+33[1-9][0-9]{8}\Z"), st.sampled_from(MOMENTS))
def test_a_campaigns_checker_answers_as_allows_for_any_number(number: str, moment: datetime) -> None:
    allowed = HOURS.at(moment)
    allowed(number[:6] + "000000")  # the prefix's answer kept first, from another number
    assert allowed(number) == HOURS.allows(number, moment)


def test_sending_hours_defaults() -> None:
    assert (HOURS.start, HOURS.end, HOURS.sundays_and_holidays) == (time(8, 0), time(21, 30), False)

"""May a marketing SMS reach this number at this moment? The French sending hours, at the recipient's place.

The profession's rule (af2m charter; SMS Partner refuses marketing sends outside its hours with codes 22 and
23): from 08:00 to 21:30 local time, both edges inside, Monday to Saturday, never on a public holiday. Local
means the recipient's: an evening in Martinique is the middle of the night in Paris.

- **Where**: the time zones of the number (``phone.time_zones``). Where the number does not tell one place
  (``+262 692…`` is Réunion or Mayotte, an hour apart), a send is allowed only when it is within the hours in
  every one of them.
- **Holidays**: France's, plus those of the number's own subdivision where the number tells it: the
  overseas departments and collectivities (their abolition-of-slavery days, Guadeloupe's Mi-Carême...) from
  the regions phonenumbers finds the number valid in (every one of them when a range is shared, as +590
  mobiles are by Guadeloupe, Saint-Barthélemy and Saint-Martin), and the Moselle and Alsace landlines
  (``03 87``, ``03 88``, ``03 89``) with Good Friday and 26 December. A mainland mobile tells no department:
  France's days only. Numbers of other countries get France's days (the sender's) and their own zone's hours.
- **Source**: the ``holidays`` package, ``country_holidays("FR", subdiv=...)``. It names the subdivisions
  ``57`` (Moselle), ``6AE`` (Alsace), ``971`` to ``976`` (the overseas departments), ``BL``, ``MF``, ``PM``
  (``holidays.list_supported_countries()["FR"]``). Its overseas entries of their own
  (``country_holidays("RE")``...) hold the same days as those subdivisions (a unit test compares them); this
  module asks France with the subdivision codes: one entity, one source for all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

from stoplist.domain.phone import is_canonical_mainland, regions, time_zones

DEFAULT_START = time(8, 0)
DEFAULT_END = time(21, 30)
SUNDAY = 6  # date.weekday()
# ISO 3166 region of an overseas number -> the holidays package's France subdivision.
OVERSEAS_SUBDIVISIONS = {
    "GP": "971",
    "MQ": "972",
    "GF": "973",
    "RE": "974",
    "YT": "976",
    "BL": "BL",
    "MF": "MF",
    "PM": "PM",
}
# Mainland landline prefixes (E.164) whose department keeps the local law's two extra days.
LOCAL_LAW_PREFIXES = {"+33387": "57", "+33388": "6AE", "+33389": "6AE"}
_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class Place:
    """What the hours depend on: the recipient's possible zones and holiday subdivisions (``""``: France's)."""

    zones: tuple[str, ...]
    subdivisions: tuple[str, ...]


def place_of(e164: str) -> Place:
    """The zones and holiday subdivisions of a valid E.164 number."""
    subdivisions = {OVERSEAS_SUBDIVISIONS[region] for region in regions(e164) if region in OVERSEAS_SUBDIVISIONS}
    local_law = LOCAL_LAW_PREFIXES.get(e164[:6])
    if local_law:
        subdivisions.add(local_law)
    return Place(time_zones(e164), tuple(sorted(subdivisions)) or ("",))


def parse_window(text: str) -> tuple[time, time]:
    """``"09:00-20:00"`` -> (09:00, 20:00); raises ValueError for anything else or an empty window."""
    match = _WINDOW.match(text)
    if not match:
        raise ValueError(f"sending hours are HH:MM-HH:MM, not {text!r}")
    start_hour, start_minute, end_hour, end_minute = (int(part) for part in match.groups())
    try:
        start, end = time(start_hour, start_minute), time(end_hour, end_minute)
    except ValueError:
        raise ValueError(f"sending hours are times of day, not {text!r}") from None
    if end < start:
        raise ValueError(f"sending hours end before they start: {text!r}")
    return start, end


@dataclass(frozen=True)
class SendingHours:
    """The window (both edges inside) and whether Sundays and public holidays are closed."""

    start: time = DEFAULT_START
    end: time = DEFAULT_END
    sundays_and_holidays: bool = False  # True: allowed on them too

    def allows(self, e164: str, at: datetime) -> bool:
        """True when a send at ``at`` (timezone-aware) reaches the number within the hours in each of its
        zones, on a day that is not closed there."""
        if at.tzinfo is None:
            raise ValueError("the moment of the send needs a UTC offset")
        return _allowed(self, place_of(e164), at)

    def at(self, moment: datetime) -> Callable[[str], bool]:
        """``allows(e164, moment)`` for the many numbers of a campaign sent at one moment. A mainland number's
        place depends on its first six characters alone (``+33`` has one zone, Paris, for all its numbers;
        the region is France; ``+33387``... tells the local-law department), so the answer is kept per
        prefix: ``allows`` costs ~10 us a number (the place, then the hash of an aware datetime), a dict
        lookup under 1 us. Other numbers go through ``allows``."""
        if moment.tzinfo is None:
            raise ValueError("the moment of the send needs a UTC offset")
        by_prefix: dict[str, bool] = {}

        def allows(e164: str) -> bool:
            if not is_canonical_mainland(e164):
                return self.allows(e164, moment)
            prefix = e164[:6]
            answer = by_prefix.get(prefix)
            if answer is None:
                answer = by_prefix[prefix] = self.allows(e164, moment)
            return answer

        return allows


@lru_cache(maxsize=4096)  # a campaign: one moment, a handful of places
def _allowed(hours: SendingHours, place: Place, at: datetime) -> bool:
    for zone in place.zones:
        local = at.astimezone(_zone(zone))
        if not hours.start <= local.time() <= hours.end:
            return False
        if not hours.sundays_and_holidays and _closed(local.date(), place.subdivisions):
            return False
    return True


def _closed(day: date, subdivisions: tuple[str, ...]) -> bool:
    return day.weekday() == SUNDAY or any(day in _holidays(subdivision, day.year) for subdivision in subdivisions)


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@cache
def _holidays(subdivision: str, year: int) -> frozenset[date]:
    """France's public holidays of ``year``, with those of ``subdivision`` (``""``: France's alone)."""
    import holidays

    return frozenset(holidays.country_holidays("FR", subdiv=subdivision or None, years=year))

"""The ordering rule, in one place: when an opt-out or a re-opt-in counts, and which of them wins.

Every path asks this module (the queue and the bus through ``stoplist.domain.dispatch``, the HTTP doors and
``stoplist import`` and ``stoplist dlq replay`` through the queue, the opt-in's view of the provider's
``createdAt``); docs/ordering.md explains it with a worked example per case.

- An **opt-out** counts from its ``occurredAt``, or from when it was received when it has none, and never later
  than when it was received: nothing happens in the future, and a date in year 9999 counts as its receipt.
- A **re-opt-in** counts from its ``consentAt``, never later than when it was received: a fast clock gains nothing.
- A time **without offset** is read in the number's own time zone (``phone.time_zones``); where the number has
  several (+262 is Réunion and Mayotte, an hour apart), the reading that makes the opt-out latest; a consent's
  time always has an offset (``events`` refuses one without). The provider's ``createdAt`` (no offset: SMS
  Partner is French) is read as Paris time, the later reading when a clock change makes it ambiguous.
- A number is opted back in **only when its consent is later than every opt-out known for it**; a tie goes to
  the opt-out.
- An opt-out older than a consent already applied does not block the number again: it is **superseded**, kept
  in the history and counted, never dead-lettered.

Instants are aware UTC datetimes, clamped to the years 1..9999 so that an extreme date is an extreme instant
rather than an ``OverflowError``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo

from stoplist.domain.phone import PARIS, time_zones

EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


def parse_time(text: str) -> datetime:
    """An ISO 8601 date-time as written (aware or naive); ``Z`` accepted. Raises ValueError."""
    return datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))


def utc_text(moment: datetime) -> str:
    """Fixed-width ISO 8601 UTC with microseconds (the tables' format: it compares correctly as a string), years
    written with four digits (``strftime('%Y')`` writes year 1 as ``1``)."""
    moment = to_utc(moment)
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S.%f}Z"


def to_utc(moment: datetime) -> datetime:
    """An aware datetime in UTC; one too close to year 1 or 9999 for its offset is clamped to the limit."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return EARLIEST if moment.year == datetime.min.year else LATEST


def opt_out_time(occurred_at: str | None, received_at: datetime, number: str) -> datetime:
    """When an opt-out counts: ``occurredAt`` (a naive one in the number's zone, read as late as it can be), never
    later than its receipt. ``occurred_at`` was validated by ``events``; ``number`` is E.164."""
    if occurred_at is None:
        return to_utc(received_at)
    moment = parse_time(occurred_at)
    instant = to_utc(moment) if moment.tzinfo is not None else _latest_reading(moment, time_zones(number))
    return min(instant, to_utc(received_at))


def consent_time(consent_at: str, received_at: datetime) -> datetime:
    """When a re-opt-in counts: its ``consentAt`` (always with an offset), never later than its receipt."""
    return min(to_utc(parse_time(consent_at)), to_utc(received_at))


def provider_time(created_at: str | None) -> datetime | None:
    """The provider's ``createdAt`` (``2015-07-20 10:19:45``, Paris time) as an instant; None when absent or
    unreadable (an entry we cannot date cannot be compared: ``consent_wins`` then refuses the consent)."""
    if not created_at:
        return None
    try:
        moment = parse_time(created_at)
    except ValueError:
        return None
    return to_utc(moment) if moment.tzinfo is not None else _latest_reading(moment, (PARIS,))


def stored_time(text: str | None) -> datetime | None:
    """A time this application stored (``utc_text``; one without offset is UTC); None when absent. Raises
    ValueError for text that is no date."""
    if not text:
        return None
    moment = parse_time(text)
    return to_utc(moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC))


def consent_wins(consent: datetime, opt_outs: Iterable[datetime | None]) -> bool:
    """The rule: a consent re-opts a number in only when it is later than every opt-out known for it. A tie goes
    to the opt-out, and so does an opt-out whose time is unknown (``None``: the safe side)."""
    return all(opt_out is not None and consent > opt_out for opt_out in opt_outs)


def superseded(opt_out: datetime, applied_consent: datetime | None) -> bool:
    """An opt-out older than a consent already applied does not block the number again (a tie: it does)."""
    return applied_consent is not None and applied_consent > opt_out


def _latest_reading(naive: datetime, zones: Iterable[str]) -> datetime:
    """The latest instant a wall-clock time can stand for in any of ``zones`` (both sides of a clock change)."""
    readings = [to_utc(naive.replace(tzinfo=_zone(name), fold=fold)) for name in zones for fold in (0, 1)]
    return max(readings)


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)

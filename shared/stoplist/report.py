"""The period report a data-protection officer reads (``stoplist report``): what happened, by door, and how fast
every STOP was honoured. Computation only: the command reads the history's index by day and the dead-letter
queues, and ``stoplist_cli.report_render`` writes it as text, JSON, CSV or one HTML page.

Days are UTC days (the history's index is by UTC day). Opt-outs are counted by door:

- ``sms-reply`` and ``link``: the stack's HTTP doors (their ``source``);
- ``import``: ``stoplist import``;
- ``provider``: a STOP SMS Partner received itself (its short code), first seen by a snapshot;
- ``bus``: an event from the event bus; ``queue``: any other event sent to OptOutQueue.

Time to honour is the history's ``honourSeconds`` (``stoplist.domain.honour``): from when the opt-out counts to
the provider's confirmation. Percentiles are nearest-rank: p99 of 200 values is the 198th smallest.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from stoplist.domain.changes import (
    CHANGE_OPT_IN,
    CHANGE_OPT_OUT,
    CHANGE_OPT_OUT_SUPERSEDED,
    CHANGE_SNAPSHOT_ADDITION,
)
from stoplist.domain.erasure import CHANGE_ERASURE
from stoplist.domain.events import IMPORT_SOURCE
from stoplist.domain.ordering import stored_time
from stoplist.domain.records import HistoryEntry
from stoplist.domain.replies import SOURCE as REPLY_SOURCE
from stoplist.domain.unsubscribe import SOURCE as LINK_SOURCE
from stoplist.errors import ConsentSupersededError
from stoplist.observability import mask_phone

DOORS = ("queue", "bus", "sms-reply", "link", "import", "provider")
SLOWEST_SHOWN = 10
RETRIED = "retried"
LATE_ARRIVAL = "late_arrival"
# What the report reads of an entry: the history's index by day projects these (template.yaml, byDay).
FIELDS_READ = (
    "phone_number",
    "at",
    "change",
    "source",
    "channel",
    "consent_source",
    "occurred_at",
    "received_at",
    "receive_count",
    "honoured_at",
    "honour_seconds",
)


def days_between(start: date, end: date) -> list[date]:
    """Every day from ``start`` to ``end``, both included."""
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]


def door_of(entry: HistoryEntry) -> str:
    if entry.change == CHANGE_SNAPSHOT_ADDITION:
        return "provider"
    if entry.source == REPLY_SOURCE:
        return "sms-reply"
    if entry.source == LINK_SOURCE:
        return "link"
    if entry.source == IMPORT_SOURCE:
        return "import"
    return "bus" if entry.channel == "bus" else "queue"


def percentile(sorted_values: Sequence[float], rank: float) -> float | None:
    """Nearest-rank percentile of values sorted ascending; None for none."""
    if not sorted_values:
        return None
    index = max(0, math.ceil(rank / 100 * len(sorted_values)) - 1)
    return sorted_values[index]


@dataclass(frozen=True)
class HonourStats:
    count: int
    median: float | None
    p90: float | None
    p99: float | None
    max: float | None

    @classmethod
    def of(cls, seconds: Iterable[float]) -> HonourStats:
        values = sorted(seconds)
        return cls(
            count=len(values),
            median=percentile(values, 50),
            p90=percentile(values, 90),
            p99=percentile(values, 99),
            max=values[-1] if values else None,
        )


@dataclass(frozen=True)
class SlowOptOut:
    phone: str  # masked
    at: str
    door: str
    seconds: float
    causes: list[tuple[str, int]]  # empty when the history holds none (``causes_of``)


@dataclass(frozen=True)
class Day:
    day: str
    opt_outs: int
    honour: HonourStats


@dataclass
class Report:
    start: str
    end: str
    opt_outs: int = 0
    opt_outs_by_door: dict[str, int] = field(default_factory=dict)
    opt_ins_by_consent_source: dict[str, int] = field(default_factory=dict)
    erasures: int = 0
    # Opt-outs older than a consent applied (in the history) and consents older than an opt-out (dead letters).
    superseded: dict[str, int] = field(default_factory=dict)
    dead_letters_by_reason: dict[str, int] = field(default_factory=dict)
    honour: HonourStats = field(default_factory=lambda: HonourStats.of([]))
    not_measured: int = 0  # opt-outs without a time to honour (recorded before it was kept)
    slowest: list[SlowOptOut] = field(default_factory=list)
    days: list[Day] = field(default_factory=list)


def causes_of(entry: HistoryEntry) -> list[tuple[str, int]]:
    """Why an opt-out took long, from what its entry holds, as ``(cause, figure)``: ``retried`` (times it was
    received), ``late_arrival`` (seconds between when it happened and when it reached the stack, when that is
    most of its time to honour)."""
    causes = []
    if entry.receive_count and entry.receive_count > 1:
        causes.append((RETRIED, entry.receive_count))
    if entry.received_at and entry.occurred_at and entry.honour_seconds:
        try:
            received, occurred = stored_time(entry.received_at), stored_time(entry.occurred_at)
            before = (received - occurred).total_seconds() if received and occurred else 0.0
        except ValueError:
            before = 0.0
        if before > entry.honour_seconds / 2:
            causes.append((LATE_ARRIVAL, round(before)))
    return causes


def build_report(entries: Iterable[HistoryEntry], dead_letter_types: Iterable[str], start: date, end: date) -> Report:
    """The report of the entries that took effect from ``start`` to ``end`` (UTC days, both included), with the
    ``errorType`` of every dead letter now waiting."""
    report = Report(start=start.isoformat(), end=end.isoformat())
    doors: Counter[str] = Counter()
    consents: Counter[str] = Counter()
    per_day: dict[str, list[HistoryEntry]] = {day.isoformat(): [] for day in days_between(start, end)}
    timed: list[HistoryEntry] = []
    superseded_opt_outs = 0
    for entry in entries:
        if entry.change in (CHANGE_OPT_OUT, CHANGE_SNAPSHOT_ADDITION):
            doors[door_of(entry)] += 1
            per_day.setdefault(entry.at[:10], []).append(entry)
            if entry.honour_seconds is not None:
                timed.append(entry)
            else:
                report.not_measured += 1
        elif entry.change == CHANGE_OPT_IN:
            consents[entry.consent_source or "-"] += 1
        elif entry.change == CHANGE_ERASURE:
            report.erasures += 1
        elif entry.change == CHANGE_OPT_OUT_SUPERSEDED:
            superseded_opt_outs += 1
    report.opt_outs = sum(doors.values())
    report.opt_outs_by_door = {door: doors[door] for door in DOORS}
    report.opt_ins_by_consent_source = dict(consents.most_common())
    letters = Counter(dead_letter_types)
    report.dead_letters_by_reason = dict(letters.most_common())
    report.superseded = {
        CHANGE_OPT_OUT_SUPERSEDED: superseded_opt_outs,
        ConsentSupersededError.reason: letters[ConsentSupersededError.reason],
    }
    report.honour = HonourStats.of(entry.honour_seconds for entry in timed if entry.honour_seconds is not None)
    slowest = sorted(timed, key=lambda entry: -(entry.honour_seconds or 0.0))[:SLOWEST_SHOWN]
    report.slowest = [
        SlowOptOut(
            mask_phone(entry.phone_number), entry.at, door_of(entry), entry.honour_seconds or 0.0, causes_of(entry)
        )
        for entry in slowest
    ]
    report.days = [
        Day(
            day,
            len(day_entries),
            HonourStats.of(entry.honour_seconds for entry in day_entries if entry.honour_seconds is not None),
        )
        for day, day_entries in sorted(per_day.items())
    ]
    return report

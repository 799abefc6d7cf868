"""Time to honour: seconds from when an opt-out counts to the provider's confirmation (its ``add`` answered,
or "already listed"), kept with the opt-out (``honouredAt``, ``honourSeconds``, through the table's
write-through, its stream and the history) and emitted as the metric ``OptOutHonourSeconds``, here only.

When an opt-out counts is its ``occurredAt`` when the event has one, never later than its confirmation (a
clock ahead of ours does not make it negative). An event without ``occurredAt`` is not measured here: its
receipt time is the start, which the handlers do not yet pass to the service (``RawEvent`` has no receipt
time), so ``honourSeconds`` stays empty for it and the report counts it as not measured.
"""

from __future__ import annotations

from dataclasses import dataclass

from stoplist.domain.events import to_instant, utc_text
from stoplist.observability import MetricUnit, metrics


@dataclass(frozen=True)
class Honour:
    honoured_at: str  # the provider's confirmation, UTC fixed width
    seconds: float | None  # None: the start is unknown


def honour(counts_from: str | None, confirmed_at: str) -> Honour:
    """The opt-out's time to honour, and the metric counted for it (one value per measured opt-out)."""
    if counts_from is None:
        return Honour(confirmed_at, None)
    try:
        start = to_instant(counts_from)
    except ValueError:  # refused by the parser before; kept unmeasured rather than failing an honoured opt-out
        return Honour(confirmed_at, None)
    seconds = round(max(0.0, (to_instant(confirmed_at) - start).total_seconds()), 3)
    metrics.add_metric(name="OptOutHonourSeconds", unit=MetricUnit.Seconds, value=seconds)
    return Honour(utc_text(to_instant(confirmed_at)), seconds)

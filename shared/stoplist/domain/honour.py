"""Time to honour: seconds from when an opt-out counts (``stoplist.domain.ordering.opt_out_time``: its
``occurredAt``, or its receipt, never later than that) to the provider's confirmation (its ``add`` answered, or
"already listed"), kept with the opt-out (``honouredAt``, ``honourSeconds``, through the table's write-through,
its stream and the history) and emitted as the metric ``OptOutHonourSeconds``, here only. A STOP the provider
received itself is honoured at its ``createdAt`` (``stoplist.domain.changes``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from stoplist.domain.ordering import to_utc, utc_text
from stoplist.observability import MetricUnit, metrics


@dataclass(frozen=True)
class Honour:
    honoured_at: str  # the provider's confirmation, UTC fixed width
    seconds: float


def honour(counts_from: datetime, confirmed_at: datetime) -> Honour:
    """The opt-out's time to honour, and the metric counted for it (one value per opt-out honoured)."""
    seconds = round(max(0.0, (to_utc(confirmed_at) - counts_from).total_seconds()), 3)
    metrics.add_metric(name="OptOutHonourSeconds", unit=MetricUnit.Seconds, value=seconds)
    return Honour(utc_text(confirmed_at), seconds)

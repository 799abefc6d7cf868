"""What the domain records about a change: a line of a number's history, an announcement for the bus.

Kept apart from ``stoplist.domain.changes`` (which builds them from stream records) so that the ports that store
and publish them (``stoplist.domain.ports``) and the services that write them import them without a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a number's story. ``at`` is when it took effect (the opt-out's ``occurredAt``, the opt-in's
    ``consentAt``, when the snapshot saw it), UTC and fixed width, so that the sort key sorts in time."""

    phone_number: str
    at: str
    event_id: str
    change: str
    recorded_by: str
    recorded_at: str
    source: str | None = None
    provider_stop_id: int | None = None
    reason: str | None = None
    occurred_at: str | None = None
    consent_source: str | None = None
    consent_at: str | None = None
    consent_text: str | None = None
    provider_created_at: str | None = None
    # How the opt-out arrived (``queue`` or ``bus``; None for the HTTP doors' and older entries, which came
    # through the queue too) and how long it took to be honoured (docs/privacy.md, "Time to honour").
    channel: str | None = None
    received_at: str | None = None
    receive_count: int | None = None
    honoured_at: str | None = None
    honour_seconds: float | None = None

    @property
    def key(self) -> str:
        return f"{self.at}#{self.event_id}"


@dataclass(frozen=True)
class Announcement:
    detail_type: str
    detail: dict[str, Any]

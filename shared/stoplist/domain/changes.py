"""Changes of the stop list, read from the table's stream: announced on the bus, kept in the history table.

The table is the single place where state changes, so its DynamoDB stream (NEW_AND_OLD_IMAGES) is the one
source of the announcements: whoever changed it (an opt-out written through, a snapshot, a re-opt-in), a
change is seen exactly once there, and nothing else has to remember to announce it.

- INSERT: the number entered the table -> ``SmsOptOutRecorded`` (written through by a handler, or first seen
  by a snapshot: SMS Partner got the STOP itself) and a history entry.
- REMOVE: the number left the table -> ``SmsOptInRecorded`` (a re-opt-in, whose evidence the item carries,
  or gone from the provider's list) and a history entry.
- MODIFY: no announcement (the number was already opted out); a history entry when a new opt-out event
  was written through (its ``eventId`` changed), so that every opt-out of the number is in its story.

History keys are deterministic (``<when>#<eventId>``; for a snapshot change the stream record's own id, which
is the same on every retry of a batch), so a retried batch writes the same entries again, never new ones.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from stoplist.domain.keys import is_control_key
from stoplist.domain.ordering import provider_time, stored_time, utc_text
from stoplist.domain.ports import AnnouncementBus, HistoryWriter
from stoplist.domain.records import Announcement, HistoryEntry
from stoplist.observability import count, logger

ANNOUNCEMENT_SOURCE = "smspartner-stoplist"
OPT_OUT_RECORDED = "SmsOptOutRecorded"
OPT_IN_RECORDED = "SmsOptInRecorded"
# The provider as the source of a change the snapshot saw (a STOP sent to SMS Partner's short code).
PROVIDER_SOURCE = "smspartner"

# What a history entry says happened.
CHANGE_OPT_OUT = "opt-out"
CHANGE_OPT_IN = "opt-in"
# An opt-out older than a consent already applied: kept in the story, the number stays opted in.
CHANGE_OPT_OUT_SUPERSEDED = "opt-out-superseded"
CHANGE_SNAPSHOT_ADDITION = "snapshot-addition"
CHANGE_SNAPSHOT_REMOVAL = "snapshot-removal"


@dataclass(frozen=True)
class StreamRecord:
    """A DynamoDB stream record with its images as plain values (``adapters.stream`` reads them)."""

    event_id: str
    event_name: str  # INSERT | MODIFY | REMOVE
    sequence_number: str
    created_at: datetime
    new_image: Mapping[str, Any] = field(default_factory=dict)
    old_image: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Change:
    sequence_number: str
    history: HistoryEntry
    announcement: Announcement | None


def change_of(record: StreamRecord) -> Change | None:
    """The change a stream record stands for, or None (the table's own items; a provider-field update)."""
    image = record.old_image if record.event_name == "REMOVE" else record.new_image
    number = image.get("phoneNumber")
    if not isinstance(number, str) or is_control_key(number):
        return None
    if record.event_name == "INSERT":
        entry = _entered(number, image, record)
        return Change(record.sequence_number, entry, _announce(OPT_OUT_RECORDED, entry, record))
    if record.event_name == "REMOVE":
        entry = _left(number, image, record)
        return Change(record.sequence_number, entry, _announce(OPT_IN_RECORDED, entry, record))
    event_id = _text(image, "eventId")
    if record.event_name == "MODIFY" and event_id and event_id != _text(record.old_image, "eventId"):
        return Change(record.sequence_number, _entered(number, image, record), None)
    return None


def _entered(number: str, image: Mapping[str, Any], record: StreamRecord) -> HistoryEntry:
    recorded_at = _text(image, "updatedAt") or utc_text(record.created_at)
    event_id = _text(image, "eventId")
    snapshot = event_id is None  # only the snapshot writes items without an event
    if snapshot:
        # A STOP SMS Partner received itself took effect at its createdAt (Paris time), not when we saw it.
        created = provider_time(_text(image, "providerCreatedAt"))
        occurred_at = (utc_text(created) if created else _text(image, "firstSeenAt")) or recorded_at
    else:
        occurred_at = _text(image, "eventOptedOutAt") or _text(image, "optedOutAt") or recorded_at
    return HistoryEntry(
        phone_number=number,
        at=_utc(occurred_at),
        event_id=event_id or record.event_id,
        change=CHANGE_SNAPSHOT_ADDITION if snapshot else CHANGE_OPT_OUT,
        recorded_by="snapshot" if snapshot else "optout",
        recorded_at=recorded_at,
        source=PROVIDER_SOURCE if snapshot else _text(image, "source"),
        provider_stop_id=_number(image, "providerStopId"),
        reason=_text(image, "optOutReason"),
        occurred_at=occurred_at,
        provider_created_at=_text(image, "providerCreatedAt"),
        # SMS Partner honoured a STOP it received itself when it received it: at its createdAt, in no time.
        honoured_at=occurred_at if snapshot else _text(image, "honouredAt"),
        honour_seconds=0.0 if snapshot else _seconds(image, "honourSeconds"),
    )


def _left(number: str, image: Mapping[str, Any], record: StreamRecord) -> HistoryEntry:
    stop_id = _number(image, "providerStopId")
    opt_in_event = _text(image, "optInEventId")
    consent_at = _text(image, "optInConsentAt")
    if opt_in_event is not None and consent_at is not None:
        return HistoryEntry(
            phone_number=number,
            at=_utc(consent_at),
            event_id=opt_in_event,
            change=CHANGE_OPT_IN,
            recorded_by="optin",
            recorded_at=_text(image, "optInRequestedAt") or utc_text(record.created_at),
            source=_text(image, "optInSource"),
            provider_stop_id=stop_id,
            occurred_at=consent_at,
            consent_source=_text(image, "optInConsentSource"),
            consent_at=consent_at,
            consent_text=_text(image, "optInConsentText"),
        )
    removed_at = utc_text(record.created_at)
    last_write = _text(image, "updatedAt")
    if last_write is not None:
        # The stream's time has whole seconds only: a removal sorts after the item's last write all the same.
        with contextlib.suppress(ValueError):
            written = stored_time(last_write)
            if written is not None:
                removed_at = max(removed_at, utc_text(written + timedelta(microseconds=1)))
    return HistoryEntry(
        phone_number=number,
        at=removed_at,
        event_id=record.event_id,
        change=CHANGE_SNAPSHOT_REMOVAL,
        recorded_by="snapshot",
        recorded_at=removed_at,
        source=PROVIDER_SOURCE,
        provider_stop_id=stop_id,
        occurred_at=removed_at,
    )


def _announce(detail_type: str, entry: HistoryEntry, record: StreamRecord) -> Announcement:
    """The announcements' contract (docs/integrating.md, "Change events"). ``changeId`` is the same on a re-send."""
    detail: dict[str, Any] = {
        "phoneNumber": entry.phone_number,
        "source": entry.source,
        "eventId": entry.event_id,
        "providerStopId": entry.provider_stop_id,
        "occurredAt": entry.occurred_at,
        "recordedBy": entry.recorded_by,
        "changeId": record.event_id,
    }
    if entry.consent_at is not None:
        detail["consentSource"] = entry.consent_source
        detail["consentAt"] = entry.consent_at
    return Announcement(detail_type, detail)


def _text(image: Mapping[str, Any], name: str) -> str | None:
    value = image.get(name)
    return value if isinstance(value, str) and value else None


def _number(image: Mapping[str, Any], name: str) -> int | None:
    value = image.get(name)
    return int(value) if value is not None and not isinstance(value, bool | str) else None


def _seconds(image: Mapping[str, Any], name: str) -> float | None:
    value = image.get(name)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _utc(text: str) -> str:
    """A stored time in the sort key's form; one that does not parse (never written by us) is kept as is."""
    try:
        moment = stored_time(text)
    except ValueError:
        return text
    return text if moment is None else utc_text(moment)


class ChangePublisher:
    """One stream batch in, the sequence numbers to retry out (at most one: the stream retries from there).

    History first, then the bus: a change whose announcement failed is already in the history, and the
    retried batch writes the same history items again (deterministic keys) before it announces again.
    """

    def __init__(self, *, history: HistoryWriter, bus: AnnouncementBus) -> None:
        self._history = history
        self._bus = bus

    def process(self, records: Sequence[StreamRecord]) -> list[str]:
        changes = [change for record in records if (change := change_of(record)) is not None]
        count("ChangesRecorded", len(changes))  # 0 too: a batch of status writes is a batch all the same
        if not changes:
            return []
        self._history.append_all([change.history for change in changes])
        announced = [change for change in changes if change.announcement is not None]
        published = self._bus.publish([change.announcement for change in announced if change.announcement])
        count("ChangesAnnounced", published)
        if published == len(announced):
            return []
        failed = announced[published]
        count("ChangeAnnouncementFailed", len(announced) - published)
        logger.warning(
            "announcements failed, the stream will retry from the first one",
            failed=len(announced) - published,
            sequence_number=failed.sequence_number,
        )
        return [failed.sequence_number]


def stream_time(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)

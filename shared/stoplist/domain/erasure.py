"""Erasure without un-blocking: a person's request to erase their data (GDPR art. 17), as an ``erase`` event.

The objection itself is what the stack must keep (art. 17(3): honouring the objection is the legal ground for
keeping the number), so the number stays in the table and on the provider's list, and the history keeps what
proves it: the number, the dates, the door (``source`` when it is one of the stack's own doors, ``recordedBy``),
the event ids and the provider's id. What goes is what only describes the person:

- the opt-out's free-text ``reason`` (``optOutReason``),
- a re-opt-in's ``consentText`` (the item's ``optInConsentText`` while one is under way),
- a ``source`` that is not one of the stack's doors (another system's free text may name a person, an agent,
  a ticket).

The erasure is itself recorded: a history entry ``erasure`` with the event's id. Run again (a redelivery), it
finds nothing left to remove and records the same entry (same time, same id) when the event has ``occurredAt``.

It holds the number (``stoplist.domain.number_lease``) like an opt-out or an opt-in: their rewrites of the item
and the history never interleave with its own, and an erasure that finds the number held comes back a few
seconds later (``NumberBusyError``, requeued by the dispatcher). It reads the history strongly consistently:
an eventually consistent read can miss the consent an opt-in wrote just before it gave the number back, whose
text would then stay (the interleaving checker found it, docs/ordering-checker.md).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from stoplist.domain.changes import PROVIDER_SOURCE
from stoplist.domain.deadline import Deadline
from stoplist.domain.events import IMPORT_SOURCE, ErasureRequest
from stoplist.domain.number_lease import number_held
from stoplist.domain.ordering import opt_out_time, utc_text
from stoplist.domain.outcomes import Disposition, log_done
from stoplist.domain.phone import to_e164
from stoplist.domain.ports import ErasureHistory, ErasureStore, NumberLocks, utc_clock
from stoplist.domain.records import HistoryEntry
from stoplist.domain.replies import SOURCE as REPLY_SOURCE
from stoplist.domain.unsubscribe import SOURCE as LINK_SOURCE
from stoplist.observability import logger, mask_phone

CHANGE_ERASURE = "erasure"
# ``source`` of the erasures ``stoplist forget`` sends.
FORGET_SOURCE = "stoplist-forget"
# Sources the stack itself writes: they name a door, never a person, and are kept.
DOOR_SOURCES = frozenset({REPLY_SOURCE, LINK_SOURCE, PROVIDER_SOURCE, IMPORT_SOURCE, FORGET_SOURCE})
# HistoryEntry fields an erasure always removes.
ERASED_FIELDS = ("reason", "consent_text")


def erased_fields(entry: HistoryEntry) -> list[str]:
    """The fields of ``entry`` that an erasure removes (empty when there is nothing left to remove)."""
    fields = [name for name in ERASED_FIELDS if getattr(entry, name)]
    if entry.source and entry.source not in DOOR_SOURCES:
        fields.append("source")
    return fields


class ErasureService:
    def __init__(
        self,
        *,
        table: ErasureStore,
        locks: NumberLocks,
        history: ErasureHistory,
        default_region: str,
        clock: Callable[[], datetime] = utc_clock,
    ) -> None:
        self._table = table
        self._locks = locks
        self._history = history
        self._default_region = default_region
        self._clock = clock

    def erase(self, request: ErasureRequest, received_at: datetime, deadline: Deadline | None) -> Disposition:
        """Strip the number's history entries and item of what only describes the person, then record the
        erasure (at its ``occurredAt``, read like an opt-out's: never later than its receipt), all while holding
        the number; ``deadline`` bounds the hold as it does an opt-out's."""
        number = to_e164(request.phone_number, request.country, self._default_region)
        at = utc_text(opt_out_time(request.occurred_at, received_at, number))
        with number_held(self._locks, number, deadline, self._clock):
            in_table = self._table.forget_details(number, DOOR_SOURCES)
            rewritten = 0
            for entry in list(self._history.entries(number, consistent=True)):
                fields = erased_fields(entry)
                if fields:
                    self._history.remove_details(entry, fields)
                    rewritten += 1
            self._history.append_all(
                [
                    HistoryEntry(
                        phone_number=number,
                        at=at,
                        event_id=request.event_id,
                        change=CHANGE_ERASURE,
                        recorded_by=CHANGE_ERASURE,
                        recorded_at=utc_text(self._clock()),
                        source=request.source if request.source in DOOR_SOURCES else None,
                    )
                ]
            )
        logger.info("erasure recorded", phone=mask_phone(number), in_table=in_table, entries_stripped=rewritten)
        return log_done(request, number, Disposition.ERASED)

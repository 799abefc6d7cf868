"""The opt-out: a number goes on the provider's stop list, unless a consent already applied is later.

    E.164 (phone) -> when it counts (ordering) -> hold the number (number_lease)
    -> a later consent applied? superseded, kept in the history
    -> POST /stop-sms/add (provider) -> write-through (table: optedOutAt never moves backwards, by a condition
       of the write itself: nothing is read from the table)

Holding the number makes the decision and the calls one step for every other opt-out and opt-in of it: an opt-in
sees this opt-out once it reached the provider and the table, never in between (docs/ordering.md).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from stoplist.domain.changes import CHANGE_OPT_OUT_SUPERSEDED
from stoplist.domain.deadline import Deadline
from stoplist.domain.events import OptOutRequest
from stoplist.domain.honour import honour
from stoplist.domain.number_lease import number_held
from stoplist.domain.ordering import opt_out_time, stored_time, superseded, utc_text
from stoplist.domain.outcomes import Disposition, log_done
from stoplist.domain.phone import to_e164
from stoplist.domain.ports import (
    ConsentHistory,
    NumberLocks,
    OptOutRecord,
    OptOutStore,
    StopListProvider,
    utc_clock,
)
from stoplist.domain.records import HistoryEntry


class OptOutService:
    def __init__(
        self,
        *,
        provider: StopListProvider,
        table: OptOutStore,
        locks: NumberLocks,
        history: ConsentHistory,
        default_region: str,
        clock: Callable[[], datetime] = utc_clock,
    ) -> None:
        self._provider = provider
        self._table = table
        self._locks = locks
        self._history = history
        self._default_region = default_region
        self._clock = clock

    def opt_out(self, request: OptOutRequest, received_at: datetime, deadline: Deadline | None) -> Disposition:
        """Take the opt-out to its end; ``received_at`` caps when it counts, ``deadline`` bounds every call."""
        number = to_e164(request.phone_number, request.country, self._default_region)
        counts_from = opt_out_time(request.occurred_at, received_at, number)
        with number_held(self._locks, number, deadline, self._clock):
            consent = stored_time(self._history.latest_consent(number))
            if superseded(counts_from, consent):
                return self._superseded(request, number, counts_from)
            result = self._provider.add_stop(number, deadline)
            honoured = honour(counts_from, self._clock())
            self._table.record_opt_out(
                OptOutRecord(
                    phone_number=number,
                    event_id=request.event_id,
                    opted_out_at=utc_text(counts_from),
                    source=request.source,
                    reason=request.reason,
                    stop_id=result.stop_id,
                    honoured_at=honoured.honoured_at,
                    honour_seconds=honoured.seconds,
                )
            )
        return log_done(request, number, Disposition.ALREADY_LISTED if result.already_listed else Disposition.ADDED)

    def _superseded(self, request: OptOutRequest, number: str, counts_from: datetime) -> Disposition:
        """Kept in the number's story, and counted; not dead-lettered: there is nothing for a person to do."""
        self._history.append_all(
            [
                HistoryEntry(
                    phone_number=number,
                    at=utc_text(counts_from),
                    event_id=request.event_id,
                    change=CHANGE_OPT_OUT_SUPERSEDED,
                    recorded_by="optout",
                    recorded_at=utc_text(self._clock()),
                    source=request.source,
                    reason=request.reason,
                    occurred_at=request.occurred_at,
                )
            ]
        )
        return log_done(request, number, Disposition.SUPERSEDED)

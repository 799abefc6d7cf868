"""Re-opt-in: a number comes off the stop list, on consent evidence, unless a later opt-out says otherwise.

    consent checks -> read the item -> later one wins? -> mark the item with the evidence
    -> GET /stop-sms/delete (the item's providerStopId, else the id found in the list)
    -> delete the item on condition that it still carries this opt-in's mark

The rule when an opt-out and an opt-in of one number cross: **the later one wins**, the opt-in's time being
its ``consentAt`` (the moment the person agreed; a consent given before a STOP cannot undo that STOP), the
opt-out's its ``occurredAt`` (or when it was processed). A tie goes to the opt-out. Concretely:

- the item's ``optedOutAt`` is not earlier than ``consentAt``: the opt-in is refused (ConsentSupersededError),
  after making sure the provider has the entry (an earlier attempt of this opt-in may have deleted it);
- an opt-out is written through while the opt-in is under way: it removes the mark, the conditional delete
  fails, and the opt-in decides again on the item as it now is; if the new opt-out is the later one, the
  provider's entry is restored (add, idempotent) and the opt-in is refused; if not, the opt-in runs again;
- an opt-out whose ``occurredAt`` is earlier than a re-opt-in already in the history is refused by the
  opt-out service (OptOutSupersededError), before it reaches the provider.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from stoplist.domain.changes import CHANGE_OPT_IN, HistoryEntry
from stoplist.domain.deadline import Deadline
from stoplist.domain.events import OptOutRequest, to_instant, utc_text
from stoplist.domain.optout import Disposition, log_done
from stoplist.domain.phone import provider_e164, to_e164
from stoplist.domain.ports import HistoryWriter, OptInMark, OptInProvider, OptInStore, StoredOptOut
from stoplist.errors import ConsentSupersededError, InvalidConsentError, RetryableError

# An opt-out racing the same opt-in again and again is not a steady state: give the event back to the queue.
MAX_ROUNDS = 3


class OptInService:
    def __init__(
        self,
        *,
        provider: OptInProvider,
        table: OptInStore,
        history: HistoryWriter,
        default_region: str,
        clock_skew_seconds: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._provider = provider
        self._table = table
        self._history = history
        self._default_region = default_region
        self._skew = timedelta(seconds=clock_skew_seconds)
        self._clock = clock

    def opt_in(self, request: OptOutRequest, deadline: Deadline | None = None) -> Disposition:
        """Take the re-opt-in to its end; with ``deadline``, every provider call ends before it (as opt-outs)."""
        consent = request.consent
        if consent is None:
            raise InvalidConsentError("an opt-in needs consentSource and consentAt")
        if consent.instant > self._clock() + self._skew:
            raise InvalidConsentError(f"consentAt is in the future ({consent.at})")
        number = to_e164(request.phone_number, request.country, self._default_region)
        mark = OptInMark(
            event_id=request.event_id,
            consent_source=consent.source,
            consent_at=consent.at,
            source=request.source or consent.source,
            consent_text=consent.text,
            occurred_at=request.occurred_at,
        )
        for _ in range(MAX_ROUNDS):
            item = self._table.read(number)
            if item is None:
                return self._not_in_table(number, request, mark, deadline)
            if self._opt_out_wins(item, consent.instant):
                # This opt-in (now, or in an attempt that failed after its delete) may have deleted the entry
                # before the later opt-out was recorded: make sure the provider has it (code 3 if it does).
                self._provider.add_stop(number, deadline)
                raise ConsentSupersededError(
                    f"the opt-out on record ({item.opted_out_at}) is not earlier than consentAt ({consent.at})"
                )
            if not self._table.mark_opt_in(item, mark):
                continue  # written since we read it: decide again
            removed = self._remove_at_provider(number, item.stop_id, deadline)
            if self._table.delete_opted_in(number, request.event_id):
                return self._done(number, request, removed)
        raise RetryableError("the number kept changing during the opt-in; it will be tried again")

    def _not_in_table(
        self, number: str, request: OptOutRequest, mark: OptInMark, deadline: Deadline | None
    ) -> Disposition:
        """Not in the table (the snapshot has not seen it, or it was never opted out): the provider's list
        decides; the evidence is kept in the history all the same, since no stream record will carry it."""
        removed = self._remove_at_provider(number, None, deadline)
        now = utc_text(self._clock())
        self._history.append_all(
            [
                HistoryEntry(
                    phone_number=number,
                    at=utc_text(to_instant(mark.consent_at)),
                    event_id=mark.event_id,
                    change=CHANGE_OPT_IN,
                    recorded_by="optin",
                    recorded_at=now,
                    source=mark.source,
                    occurred_at=mark.consent_at,
                    consent_source=mark.consent_source,
                    consent_at=mark.consent_at,
                    consent_text=mark.consent_text,
                )
            ]
        )
        return self._done(number, request, removed)

    def _remove_at_provider(self, number: str, stop_id: int | None, deadline: Deadline | None) -> bool:
        """Delete the number's entry; True when one was there. A stale id (code 4) falls back to the list."""
        if stop_id is not None and self._provider.delete_stop(stop_id, deadline).found:
            return True
        listed = self._listed_id(number, deadline)
        return listed is not None and self._provider.delete_stop(listed, deadline).found

    def _listed_id(self, number: str, deadline: Deadline | None) -> int | None:
        """The id of the number in the provider's list (the whole list: there is no lookup by number)."""
        for entry in self._provider.list_stops(deadline):
            if entry.stop_id is not None and provider_e164(entry.phone_number, self._default_region) == number:
                return entry.stop_id
        return None

    @staticmethod
    def _opt_out_wins(item: StoredOptOut, consent_at: datetime) -> bool:
        if item.opted_out_at is None:
            return False  # an item the snapshot wrote: the provider has no date we could compare
        try:
            return to_instant(item.opted_out_at) >= consent_at
        except ValueError:
            return True  # a date we cannot read: the safe side, the number stays out

    def _done(self, number: str, request: OptOutRequest, removed: bool) -> Disposition:
        return log_done(request, number, Disposition.OPTED_IN if removed else Disposition.NOT_LISTED)

"""Re-opt-in: a number comes off the stop list, on consent evidence, only when its consent is later than every
opt-out known for it (``stoplist.domain.ordering``; docs/ordering.md).

    consent checks -> hold the number (number_lease) -> read the item, and the number's entries in the list
    -> consent later than every opt-out known? (the table's optedOutAt; the createdAt of each entry SMS Partner
       received itself) -> mark the item with the evidence -> GET /stop-sms/delete every entry of the number
    -> the consent into the history (the memory that supersedes older opt-outs) -> delete the item

The opt-outs known for the number are all there while it is held: an opt-out under way on another instance holds
it until its ``add`` and its write-through are done. The list is read every time, as a stream, because the
provider may have received a STOP itself (or hold a second spelling of the number) since the last snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from stoplist.domain.changes import CHANGE_OPT_IN
from stoplist.domain.deadline import Deadline
from stoplist.domain.events import OptInRequest
from stoplist.domain.number_lease import number_held
from stoplist.domain.ordering import consent_time, consent_wins, parse_time, provider_time, stored_time, utc_text
from stoplist.domain.outcomes import Disposition, log_done
from stoplist.domain.phone import listed_as, to_e164
from stoplist.domain.ports import (
    ConsentHistory,
    ListedEntry,
    NumberLocks,
    OptInMark,
    OptInProvider,
    OptInStore,
    StoredOptOut,
    utc_clock,
)
from stoplist.domain.records import HistoryEntry
from stoplist.errors import ConsentSupersededError, InvalidConsentError, RetryableError

# The snapshot writing the item between our read and our mark, again and again, is not a steady state.
MAX_ROUNDS = 3


class OptInService:
    def __init__(
        self,
        *,
        provider: OptInProvider,
        table: OptInStore,
        locks: NumberLocks,
        history: ConsentHistory,
        default_region: str,
        clock_skew_seconds: float,
        clock: Callable[[], datetime] = utc_clock,
    ) -> None:
        self._provider = provider
        self._table = table
        self._locks = locks
        self._history = history
        self._default_region = default_region
        self._skew = timedelta(seconds=clock_skew_seconds)
        self._clock = clock

    def opt_in(self, request: OptInRequest, received_at: datetime, deadline: Deadline | None) -> Disposition:
        """Take the re-opt-in to its end; with ``deadline``, every provider call ends before it (as opt-outs)."""
        consent = request.consent
        if parse_time(consent.at) > self._clock() + self._skew:
            raise InvalidConsentError(f"consentAt is in the future ({consent.at})")
        counts_from = consent_time(consent.at, received_at)
        number = to_e164(request.phone_number, request.country, self._default_region)
        with number_held(self._locks, number, deadline, self._clock):
            for _ in range(MAX_ROUNDS):
                item = self._table.read(number)
                listed = list(self._entries_of(number, deadline))
                if not consent_wins(counts_from, _opt_outs_known(item, listed)):
                    if item is not None and not listed and not item.opt_in_under_way:
                        # Table and list disagree (an entry deleted from the provider's console): the table's
                        # opt-out stands, so the provider gets it back, as the table's own entry (a consent later
                        # than that opt-out still wins against it). Not while another opt-in's mark is on the item:
                        # its consent won and its deletes explain the missing entry; given back, the entry would
                        # count against that consent if the item went before it was noted as the table's own.
                        restored = self._provider.add_stop(number, deadline)
                        if restored.stop_id is not None:
                            self._table.note_added(number, restored.stop_id)
                    raise ConsentSupersededError(
                        f"an opt-out of this number is not earlier than consentAt ({consent.at})"
                    )
                mark = _mark(request, utc_text(counts_from))
                if item is not None and not self._table.mark_opt_in(item, mark):
                    continue  # the snapshot wrote it since we read it: decide again
                removed = self._remove(_ids(item, listed), deadline)
                self._history.append_all([self._entry(number, mark)])
                if item is None or self._table.delete_opted_in(number, request.event_id):
                    return log_done(request, number, Disposition.OPTED_IN if removed else Disposition.NOT_LISTED)
        raise RetryableError("the number's item kept changing during the opt-in; it will be tried again")

    def _entries_of(self, number: str, deadline: Deadline | None) -> Iterator[ListedEntry]:
        """Every entry of the provider's list that normalises to ``number``, read as a stream."""
        matches = listed_as(number, self._default_region)
        for entry in self._provider.list_stops(deadline):
            if matches(entry.phone_number):
                yield ListedEntry(entry.stop_id, entry.created_at)

    def _remove(self, stop_ids: set[int], deadline: Deadline | None) -> bool:
        """Delete every entry; True when one was there (code 4, not found, is done too)."""
        found = False
        for stop_id in sorted(stop_ids):
            found = self._provider.delete_stop(stop_id, deadline).found or found
        return found

    def _entry(self, number: str, mark: OptInMark) -> HistoryEntry:
        """The consent, as the history keeps it: the same key the table's stream gives it (``changes``), so the
        change publisher writes the same item again, never a second one."""
        return HistoryEntry(
            phone_number=number,
            at=mark.consent_at,
            event_id=mark.event_id,
            change=CHANGE_OPT_IN,
            recorded_by="optin",
            recorded_at=utc_text(self._clock()),
            source=mark.source,
            occurred_at=mark.occurred_at,
            consent_source=mark.consent_source,
            consent_at=mark.consent_at,
            consent_text=mark.consent_text,
        )


def _opt_outs_known(item: StoredOptOut | None, listed: list[ListedEntry]) -> list[datetime | None]:
    """Every opt-out the consent must be later than: the latest the table recorded, and the ``createdAt`` of each
    entry the provider received itself (an entry our own ``add`` created counts as the opt-out that added it,
    which the table recorded)."""
    ours = item.added_stop_ids if item is not None else frozenset()
    known: list[datetime | None] = []
    if item is not None and item.opted_out_at is not None:
        known.append(stored_time(item.opted_out_at))
    known.extend(provider_time(entry.created_at) for entry in listed if entry.stop_id not in ours)
    return known


def _ids(item: StoredOptOut | None, listed: list[ListedEntry]) -> set[int]:
    ids = {entry.stop_id for entry in listed if entry.stop_id is not None}
    return ids | set(item.stop_ids) if item is not None else ids


def _mark(request: OptInRequest, consent_at: str) -> OptInMark:
    """The evidence put on the item; ``consent_at`` is when the consent counts (UTC), the history's time."""
    return OptInMark(
        event_id=request.event_id,
        consent_source=request.consent.source,
        consent_at=consent_at,
        source=request.source or request.consent.source,
        consent_text=request.consent.text,
        occurred_at=request.occurred_at,
    )

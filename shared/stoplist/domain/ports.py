"""What the domain needs from the outside world, as ``typing.Protocol``s, and the values that cross them.

The services in ``stoplist.domain`` are typed against these, never against an adapter class, so the adapters of
``stoplist.adapters`` and the unit tests' fakes are both checked by mypy against the same contract.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar, Protocol

from stoplist.domain.deadline import Deadline
from stoplist.domain.ordering import utc_text
from stoplist.domain.records import Announcement, HistoryEntry


def utc_clock() -> datetime:
    """The services' clock: now, an aware datetime in UTC (what every ``clock: Callable[[], datetime]`` defaults
    to; tests pass their own)."""
    return datetime.now(UTC)


def utc_now() -> str:
    """Every timestamp the application stores: fixed-width ISO 8601 UTC with microseconds, so it compares
    correctly as a string (the snapshot's conditional deletes rely on that)."""
    return utc_text(utc_clock())


@dataclass(frozen=True)
class AddResult:
    """The provider's answer to ``stop-sms/add``: code 3 (already listed) is a success too."""

    already_listed: bool
    stop_id: int | None = None


@dataclass(frozen=True)
class DeleteResult:
    """The provider's answer to ``stop-sms/delete``: ``found`` is False for code 4 (no entry with that id)."""

    found: bool


@dataclass(frozen=True, slots=True)
class StopEntry:
    """One entry of the provider's stop list, as the provider returns it (number not yet normalised).

    ``phone_number`` is ``None`` when the entry holds nothing that could be a number (``null``, an object,
    ``true``, an entry that is not an object): the snapshot counts it as invalid and goes on.
    """

    stop_id: int | None
    phone_number: str | None
    created_at: str | None


@dataclass(frozen=True, slots=True)
class ListedEntry:
    """One entry of the provider's list for a number: its id (what the delete takes) and ``createdAt``."""

    stop_id: int | None
    created_at: str | None


def listed_order(entry: ListedEntry) -> tuple[bool, int, str]:
    return (entry.stop_id is None, entry.stop_id or 0, entry.created_at or "")


@dataclass(frozen=True, slots=True)
class ProviderFields:
    """What the provider's list says of a number: every entry that normalises to it (the provider may spell one
    number two ways, ``+33692…`` and ``+262692…``), in id order. The snapshot compares these to decide on a write."""

    entries: tuple[ListedEntry, ...]

    @classmethod
    def of(cls, entries: Iterable[ListedEntry]) -> ProviderFields:
        return cls(tuple(sorted(set(entries), key=listed_order)))

    @property
    def stop_id(self) -> int | None:
        """The first id (the item's ``providerStopId``, kept for readers of one id)."""
        return next((entry.stop_id for entry in self.entries if entry.stop_id is not None), None)

    @property
    def created_at(self) -> str | None:
        """The first entry's ``createdAt`` (the item's ``providerCreatedAt``)."""
        return self.entries[0].created_at if self.entries else None


@dataclass(frozen=True)
class OptOutRecord:
    """An accepted opt-out, as written through to the table (audit fields from the event).

    ``opted_out_at`` is when this opt-out counts (``ordering.opt_out_time``): the item's ``optedOutAt`` becomes it
    unless a later opt-out is recorded there (it never moves backwards). ``stop_id`` is the entry the provider
    created for this call (None when already listed)."""

    phone_number: str
    event_id: str
    opted_out_at: str
    source: str | None = None
    reason: str | None = None
    stop_id: int | None = None
    honoured_at: str | None = None  # the provider's confirmation (stoplist.domain.honour)
    honour_seconds: float | None = None


@dataclass(frozen=True)
class StoredOptOut:
    """What the opt-out and the opt-in read of an item before they decide.

    ``opted_out_at``: the latest opt-out this application recorded (None for an item only the snapshot wrote);
    ``listed``: the provider's entries as the last snapshot saw them; ``added_stop_ids``: the entries this
    application's own ``add`` created, whose time is the opt-out that added them, not their ``createdAt``;
    ``opt_in_under_way``: an opt-in's mark is on the item (its consent won, and it may have deleted entries)."""

    phone_number: str
    opted_out_at: str | None
    updated_at: str | None
    listed: tuple[ListedEntry, ...] = ()
    added_stop_ids: frozenset[int] = frozenset()
    opt_in_under_way: bool = False

    @property
    def stop_ids(self) -> frozenset[int]:
        return frozenset(entry.stop_id for entry in self.listed if entry.stop_id is not None) | self.added_stop_ids


@dataclass(frozen=True)
class OptInMark:
    """A re-opt-in's evidence, put on the item before the provider's entry is deleted."""

    event_id: str
    consent_source: str
    consent_at: str
    source: str | None = None
    consent_text: str | None = None
    occurred_at: str | None = None


@dataclass(frozen=True)
class DeadLetter:
    """A refused event: its body unchanged (so it can be redriven) and why it was refused."""

    body: str
    reason: str
    error_type: str
    event_id: str | None
    original_message_id: str | None
    receive_count: int | None
    # When the event first reached the stack: a replay keeps it, so the ordering rule still counts an opt-out
    # without occurredAt from then, not from the replay.
    received_at: datetime | None = None


class StopListProvider(Protocol):
    """SMS Partner's stop-list endpoints (``stoplist.adapters.provider.SmsPartnerClient``); ``deadline`` bounds
    the call and its retries."""

    def add_stop(self, e164: str, deadline: Deadline | None = None) -> AddResult: ...

    def list_stops(self, deadline: Deadline | None = None) -> Iterator[StopEntry]:
        """The whole list, its entries as read, in memory that does not grow with it. A list found truncated or
        unreadable raises at the end, after the entries read so far: act on them only once it is exhausted."""


class RetryQueue(Protocol):
    """OptOutQueue, where events come back later (``stoplist.adapters.opt_out_queue.OptOutQueue``)."""

    def postpone(self, receipt_handle: str, seconds: int) -> None: ...

    def requeue(
        self,
        body: str,
        delay_seconds: int,
        original_message_id: str | None,
        received: datetime | None,
        erasure_recheck: bool = False,
    ) -> None:
        """Send ``body`` again as a new message; ``received`` (when its event first arrived) rides along, and
        ``erasure_recheck`` marks an erasure's second run."""
        ...


class DeadLetterSink(Protocol):
    """Where a refused event goes, unchanged, with its reason (``stoplist.adapters.dead_letters``)."""

    def send(self, letter: DeadLetter) -> None: ...


class OptOutStore(Protocol):
    """What the opt-out writes of the table (``stoplist.adapters.table.StopListTable``): it reads nothing there."""

    def record_opt_out(self, record: OptOutRecord, now: str | None = None) -> None:
        """Upsert the item with the record's fields; ``optedOutAt`` becomes ``record.opted_out_at`` unless it is
        later already, without a read first (it never moves backwards; the other fields are written either
        way)."""
        ...


class NumberLocks(Protocol):
    """A lease on one number (``stoplist.adapters.locks.NumberLeases``): one opt-out, opt-in or erasure of a
    number at a time, across every instance, so that each decides on what the others finished."""

    def acquire(self, number: str, owner: str, until: str, now: str) -> str | None:
        """Take the lease until ``until`` (UTC text); None when taken, else when the holder's lease ends."""
        ...

    def release(self, number: str, owner: str) -> None:
        """Give the lease back if ``owner`` still holds it."""
        ...


class SnapshotStore(Protocol):
    """What the snapshot reads and writes of the table (``stoplist.adapters.table.SnapshotTable``)."""

    # Most new items one ``put_new`` call writes in one request: the snapshot hands them over in such chunks.
    batch_write_limit: ClassVar[int]

    def scan_segment(self, segment: int, total_segments: int) -> Iterator[tuple[str, ProviderFields]]: ...

    def put_new(self, entries: Iterable[tuple[str, ProviderFields]], now: str) -> int: ...

    def merge_provider_fields(self, number: str, fields: ProviderFields, now: str) -> None: ...

    def delete_unless_written_since(self, number: str, cutoff: str) -> bool: ...

    def write_status(self, status: dict[str, str | int | float]) -> None: ...


class Lease(Protocol):
    """A job's right to run alone, held until released or until it expires (``stoplist.adapters.lease``): a
    holder that dies (a timeout, a crash) leaves it to expire rather than block the job for good."""

    def acquire(self, seconds: float) -> bool:
        """Take the lease for ``seconds`` if nobody holds it (or their hold has expired); False if held."""

    def release(self) -> None:
        """Give back a lease this object holds (nothing if it holds none, or if its hold expired meanwhile)."""


class OptOutPublisher(Protocol):
    """Where the HTTP doors send an opt-out event, the contract's object (``adapters.opt_out_queue.OptOutQueue``)."""

    def publish(self, event: Mapping[str, str]) -> None: ...


# A token or a link made with a secret newer than the cached one (just rotated) re-reads it, at most this often.
SECRET_REREAD_SECONDS = 30.0


@dataclass(frozen=True)
class SecretVersion:
    """One version of a generated secret and when it was created (Secrets Manager's ``CreatedDate``)."""

    value: str
    created_at: datetime


class SigningKeys(Protocol):
    """The unsubscribe links' keys: every version of their secret, newest first (``stoplist.adapters.secrets``)."""

    def history(self) -> list[SecretVersion]: ...

    def reread_if_older_than(self, seconds: float) -> bool: ...


class WebhookToken(Protocol):
    """The reply webhook's token: its current version and the one before (``stoplist.adapters.secrets``)."""

    def current_version(self) -> SecretVersion: ...

    def previous_version(self) -> SecretVersion | None: ...

    def reread_if_older_than(self, seconds: float) -> bool: ...


class OptInProvider(StopListProvider, Protocol):
    """The provider as the opt-in uses it: the list (to find an id) and the delete, and add to restore."""

    def delete_stop(self, stop_id: int, deadline: Deadline | None = None) -> DeleteResult: ...


class OptInStore(Protocol):
    """What the opt-in reads and writes of the table (``stoplist.adapters.table.StopListTable``)."""

    def read(self, number: str) -> StoredOptOut | None: ...

    def note_added(self, number: str, stop_id: int) -> None:
        """An entry put back at the provider for the item's own opt-out: its time is that opt-out's, not its
        ``createdAt`` (``addedStopIds``)."""
        ...

    def mark_opt_in(self, seen: StoredOptOut, mark: OptInMark, now: str | None = None) -> bool: ...

    def delete_opted_in(self, number: str, event_id: str) -> bool: ...


class HistoryWriter(Protocol):
    """The history table, appended to (``stoplist.adapters.history.HistoryTable``)."""

    def append_all(self, entries: Sequence[HistoryEntry]) -> None:
        """Write the entries; writing the same entry twice leaves one."""


class ConsentHistory(HistoryWriter, Protocol):
    """The history as the opt-out and the opt-in use it: the memory of the consents applied, written before the
    number is released (``stoplist.adapters.history.HistoryTable``)."""

    def latest_consent(self, number: str) -> str | None:
        """The consent time (UTC text) of the latest re-opt-in applied to ``number``, read consistently."""
        ...


class ErasureStore(Protocol):
    """What the erasure does to the number's item (``stoplist.adapters.table.StopListTable``)."""

    def forget_details(self, number: str, kept_sources: Collection[str]) -> bool:
        """Remove the item's free text (reason, consent text) and its ``source`` unless it is one of
        ``kept_sources``; the item itself stays. False when the table has no item for the number."""


class ErasureHistory(HistoryWriter, Protocol):
    """What the erasure reads and rewrites of the history (``stoplist.adapters.history.HistoryTable``)."""

    def entries(self, number: str, after: str | None = None, consistent: bool = False) -> Iterator[HistoryEntry]:
        """The number's entries oldest first; ``consistent``: a strongly consistent read, which sees every entry
        written before it (what the number's last holder wrote just before giving it back)."""
        ...

    def remove_details(self, entry: HistoryEntry, fields: Collection[str]) -> None:
        """Remove these ``HistoryEntry`` fields from the stored entry, keeping the rest (its expiry too)."""


class AnnouncementBus(Protocol):
    """The event bus the changes are announced on (``stoplist.adapters.bus.EventBus``)."""

    def publish(self, announcements: Sequence[Announcement]) -> int:
        """Publish in order; returns how many, from the first, were published (all of them on success)."""

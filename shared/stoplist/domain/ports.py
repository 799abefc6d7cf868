"""What the domain needs from the outside world, as ``typing.Protocol``s, and the values that cross them.

The services in ``stoplist.domain`` are typed against these, never against an adapter class, so the adapters of
``stoplist.adapters`` and the unit tests' fakes are both checked by mypy against the same contract.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar, Protocol

if TYPE_CHECKING:
    from stoplist.domain.changes import Announcement, HistoryEntry

from stoplist.domain.deadline import Deadline


def utc_now() -> str:
    """Every timestamp the application stores: fixed-width ISO 8601 UTC with microseconds, so it compares
    correctly as a string (the snapshot's conditional deletes rely on that)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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
class ProviderFields:
    """What the provider's list says of a number; what the snapshot compares to decide on a write."""

    stop_id: int | None
    created_at: str | None


@dataclass(frozen=True)
class OptOutRecord:
    """An accepted opt-out, as written through to the table (audit fields from the event)."""

    phone_number: str
    event_id: str
    source: str | None = None
    reason: str | None = None
    opted_out_at: str | None = None
    stop_id: int | None = None
    honoured_at: str | None = None  # the provider's confirmation (stoplist.domain.honour)
    honour_seconds: float | None = None


@dataclass(frozen=True)
class StoredOptOut:
    """What the opt-in reads of an item before it decides: when the opt-out happened, and the provider's id."""

    phone_number: str
    opted_out_at: str | None
    updated_at: str | None
    stop_id: int | None


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


class StopListProvider(Protocol):
    """SMS Partner's stop-list endpoints (``stoplist.adapters.provider.SmsPartnerClient``); ``deadline`` bounds
    the call and its retries."""

    def add_stop(self, e164: str, deadline: Deadline | None = None) -> AddResult: ...

    def list_stops(self, deadline: Deadline | None = None) -> list[StopEntry]: ...


class RetryQueue(Protocol):
    """OptOutQueue, where events come back later (``stoplist.adapters.opt_out_queue.OptOutQueue``)."""

    def postpone(self, receipt_handle: str, seconds: int) -> None: ...

    def requeue(self, body: str, delay_seconds: int, original_message_id: str | None) -> None: ...


class DeadLetterSink(Protocol):
    """Where a refused event goes, unchanged, with its reason (``stoplist.adapters.dead_letters``)."""

    def send(self, letter: DeadLetter) -> None: ...


class OptOutStore(Protocol):
    """The write-through of accepted opt-outs (``stoplist.adapters.table.StopListTable``)."""

    def record_opt_out(self, record: OptOutRecord, now: str | None = None) -> None: ...


class SnapshotStore(Protocol):
    """What the snapshot reads and writes of the table (``stoplist.adapters.table.StopListTable``)."""

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

    def mark_opt_in(self, seen: StoredOptOut, mark: OptInMark, now: str | None = None) -> bool: ...

    def delete_opted_in(self, number: str, event_id: str) -> bool: ...


class HistoryWriter(Protocol):
    """The history table, appended to (``stoplist.adapters.history.HistoryTable``)."""

    def append_all(self, entries: Sequence[HistoryEntry]) -> None:
        """Write the entries; writing the same entry twice leaves one."""


class HistoryReader(Protocol):
    """What the opt-out service asks the history (``stoplist.adapters.history.HistoryTable``)."""

    def opt_in_after(self, number: str, moment: str) -> str | None:
        """The consent time of a re-opt-in of ``number`` that took effect after ``moment``, if any."""


class ErasureStore(Protocol):
    """What the erasure does to the number's item (``stoplist.adapters.table.StopListTable``)."""

    def forget_details(self, number: str, kept_sources: Collection[str]) -> bool:
        """Remove the item's free text (reason, consent text) and its ``source`` unless it is one of
        ``kept_sources``; the item itself stays. False when the table has no item for the number."""


class ErasureHistory(HistoryWriter, Protocol):
    """What the erasure reads and rewrites of the history (``stoplist.adapters.history.HistoryTable``)."""

    def entries(self, number: str, after: str | None = None) -> Iterator[HistoryEntry]: ...

    def remove_details(self, entry: HistoryEntry, fields: Collection[str]) -> None:
        """Remove these ``HistoryEntry`` fields from the stored entry, keeping the rest (its expiry too)."""


class AnnouncementBus(Protocol):
    """The event bus the changes are announced on (``stoplist.adapters.bus.EventBus``)."""

    def publish(self, announcements: Sequence[Announcement]) -> int:
        """Publish in order; returns how many, from the first, were published (all of them on success)."""

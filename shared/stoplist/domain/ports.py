"""The protocols the domain's collaborators implement: the adapters in production, small fakes in unit tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from stoplist.adapters.provider import AddResult, DeleteResult, StopEntry
    from stoplist.adapters.table import OptInMark, StoredOptOut
    from stoplist.domain.changes import Announcement, HistoryEntry


class HistoryWriter(Protocol):
    def append_all(self, entries: Sequence[HistoryEntry]) -> None:
        """Write the entries; writing the same entry twice leaves one."""


class HistoryReader(Protocol):
    def opt_in_after(self, number: str, moment: str) -> str | None:
        """The consent time of a re-opt-in of ``number`` that took effect after ``moment``, if any."""


class AnnouncementBus(Protocol):
    def publish(self, announcements: Sequence[Announcement]) -> int:
        """Publish in order; returns how many, from the first, were published (all of them on success)."""


class OptInProvider(Protocol):
    def add_stop(self, e164: str) -> AddResult: ...

    def delete_stop(self, stop_id: int) -> DeleteResult: ...

    def list_stops(self) -> list[StopEntry]: ...


class OptInTable(Protocol):
    def read(self, number: str) -> StoredOptOut | None: ...

    def mark_opt_in(self, seen: StoredOptOut, mark: OptInMark, now: str | None = None) -> bool: ...

    def delete_opted_in(self, number: str, event_id: str) -> bool: ...

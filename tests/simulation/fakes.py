"""Fakes of the ports for the interleaving checker, mirroring the real adapters' semantics call for call.

Every call is a yield point of the scheduler before its effect, so another actor may run between any two calls
of a service. The provider can fail a call before or after it took effect (the answer lost) or answer late;
the table keeps its stream of INSERT/MODIFY/REMOVE records with old and new images, as DynamoDB's does.

Three switches reproduce behaviours the services replaced: ``SimTable(keeps_latest=False)`` writes the
event's own time into ``optedOutAt`` with no condition (the old write-through, which let a replayed opt-out move
it backwards), ``SimLocks(always_grant=True)`` grants every lease (no serialisation of a number's events), and
``SimHistory(strong_reads=False)`` reads the history eventually consistently even when asked for a strong read
(the erasure's read that missed a consent written just before).
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from stoplist.adapters.aws import BATCH_WRITE_LIMIT, CONDITION_FAILED
from stoplist.adapters.table import ALTERNATIONS, OPT_IN_MARK_ATTRIBUTES, opt_in_mark_attributes
from stoplist.domain.changes import CHANGE_OPT_IN, StreamRecord
from stoplist.domain.deadline import Deadline
from stoplist.domain.ordering import utc_text
from stoplist.domain.phone import PARIS, provider_e164
from stoplist.domain.ports import (
    AddResult,
    DeadLetter,
    DeleteResult,
    ListedEntry,
    OptInMark,
    OptOutRecord,
    ProviderFields,
    StopEntry,
    StoredOptOut,
)
from stoplist.domain.records import Announcement, HistoryEntry
from stoplist.errors import AwsServiceError, ProviderUnavailableError

from tests.simulation.scheduler import Scheduler

REGION = "FR"
# An eventually consistent Query of the history may miss an item put this recently (logical seconds; DynamoDB:
# "usually within a second", while the calls between a put and the next read take milliseconds).
STALE_SECONDS = 5
_PARIS = ZoneInfo(PARIS)


@dataclass
class ProviderEntry:
    stop_id: int
    spelling: str
    created_at: str  # Paris wall-clock time, no offset, as SMS Partner writes it


class SimProvider:
    """SMS Partner's stop list: ``add`` answers already-listed (code 3, no id) when an entry normalises to the
    number; ``delete`` by id; the list is read as a stream, its contents taken when the read starts."""

    def __init__(self, scheduler: Scheduler, rng: random.Random, fault_rate: float) -> None:
        self._s = scheduler
        self._rng = rng
        self._fault_rate = fault_rate
        self.entries: dict[int, ProviderEntry] = {}
        self._next_id = 1000
        self.lost_answers: list[ProviderEntry] = []  # entries created by an add whose answer never reached the caller
        self.received_itself: list[ProviderEntry] = []  # STOPs sent to the provider directly

    def created_now(self) -> str:
        return self._s.now().astimezone(_PARIS).strftime("%Y-%m-%d %H:%M:%S")

    def listed(self, number: str) -> list[ProviderEntry]:
        return [entry for entry in self.entries.values() if provider_e164(entry.spelling, REGION) == number]

    def _create(self, spelling: str, created_at: str) -> ProviderEntry:
        entry = ProviderEntry(self._next_id, spelling, created_at)
        self._next_id += 1
        self.entries[entry.stop_id] = entry
        return entry

    def _fault(self) -> str | None:
        """before | after | late, at ``fault_rate``; never outside a schedule (the final snapshot)."""
        if self._s.actor == "-" or self._rng.random() >= self._fault_rate:
            return None
        return self._rng.choice(("before", "after", "late"))

    def _fail(self, fault: str, what: str) -> None:
        self._s.point(f"  provider {what}: answer lost ({fault})")
        raise ProviderUnavailableError(f"simulated: {what}, answer lost ({fault} its effect)")

    def _answer(self, fault: str | None, what: str) -> None:
        if fault == "after":
            self._fail(fault, what)
        if fault == "late":
            self._s.sleep(self._rng.randint(5, 40), f"late answer to {what}")

    def add_stop(self, e164: str, deadline: Deadline | None = None) -> AddResult:
        self._s.point(f"provider.add {e164}")
        fault = self._fault()
        if fault == "before":
            self._fail(fault, "add")
        if self.listed(e164):
            result = AddResult(already_listed=True)
        else:
            entry = self._create(e164, self.created_now())
            result = AddResult(already_listed=False, stop_id=entry.stop_id)
            if fault == "after":
                self.lost_answers.append(entry)
        self._answer(fault, f"add -> {result}")
        return result

    def delete_stop(self, stop_id: int, deadline: Deadline | None = None) -> DeleteResult:
        self._s.point(f"provider.delete #{stop_id}")
        fault = self._fault()
        if fault == "before":
            self._fail(fault, "delete")
        found = self.entries.pop(stop_id, None) is not None
        self._answer(fault, f"delete #{stop_id} found={found}")
        return DeleteResult(found=found)

    def list_stops(self, deadline: Deadline | None = None) -> Iterator[StopEntry]:
        self._s.point("provider.list starts")
        fault = self._fault()
        if fault == "before":
            self._fail(fault, "list")
        contents = [StopEntry(entry.stop_id, entry.spelling, entry.created_at) for entry in self.entries.values()]
        for entry in contents:
            self._s.point(f"provider.list reads #{entry.stop_id} {entry.phone_number}")
            yield entry
        if fault == "after":
            self._fail(fault, "list (truncated)")
        elif fault == "late":
            self._s.sleep(self._rng.randint(5, 40), "list read slowly")

    def stop_received(self, spelling: str) -> None:
        """A STOP SMS Partner receives itself: an entry with its own ``createdAt`` (none if already listed as
        spelled)."""
        self._s.point(f"provider receives STOP {spelling}")
        if any(entry.spelling == spelling for entry in self.entries.values()):
            return
        self.received_itself.append(self._create(spelling, self.created_now()))

    def seed_entry(self, spelling: str, created_at: str) -> None:
        """An entry present before the schedule starts, received by the provider itself."""
        self.received_itself.append(self._create(spelling, created_at))


class SimTable:
    """The StopListTable (``adapters.table``) with its stream: items as plain images, conditions as DynamoDB
    evaluates them, ``put_new`` replacing whole items (BatchWriteItem), ``merge`` upserting (UpdateItem)."""

    batch_write_limit: ClassVar[int] = BATCH_WRITE_LIMIT

    def __init__(self, scheduler: Scheduler, keeps_latest: bool = True) -> None:
        self._s = scheduler
        self._keeps_latest = keeps_latest
        self.items: dict[str, dict[str, Any]] = {}
        self.stream: list[StreamRecord] = []
        self.status: dict[str, str | int | float] = {}
        self.moved_backwards: list[str] = []  # numbers whose optedOutAt an opt-out moved backwards

    def _now(self, now: str | None = None) -> str:
        return now or utc_text(self._s.now())

    def _put(self, number: str, new: dict[str, Any] | None) -> None:
        old = self.items.get(number)
        if new is None:
            del self.items[number]
            name = "REMOVE"
        else:
            self.items[number] = new
            name = "INSERT" if old is None else "MODIFY"
        sequence = len(self.stream) + 1
        self.stream.append(
            StreamRecord(
                event_id=f"stream-{sequence}",
                event_name=name,
                sequence_number=f"{sequence:012d}",
                created_at=self._s.now(),
                new_image=dict(new or {}),
                old_image=dict(old or {}),
            )
        )

    # --- OptOutStore / OptInStore ---------------------------------------------------------------------
    def read(self, number: str) -> StoredOptOut | None:
        self._s.point(f"table.read {number}")
        item = self.items.get(number)
        if item is None:
            return None
        return StoredOptOut(
            phone_number=number,
            opted_out_at=item.get("optedOutAt"),
            updated_at=item.get("updatedAt"),
            listed=_fields(item).entries,
            added_stop_ids=frozenset(item.get("addedStopIds", ())),
            opt_in_under_way="optInEventId" in item,
        )

    def record_opt_out(self, record: OptOutRecord, now: str | None = None) -> None:
        """As the adapter: the write on condition that ``optedOutAt`` is not later, else (a yield point later, as
        a second request) the write without it on the opposite condition, in turn up to ``ALTERNATIONS`` times."""
        number = record.phone_number
        now = self._now(now)
        for attempt in range(ALTERNATIONS):
            latest = attempt % 2 == 0
            self._s.point(f"table.record_opt_out {number} {record.event_id}{'' if latest else ' (a later one kept)'}")
            old = self.items.get(number)
            current = old.get("optedOutAt") if old is not None else None
            if not self._keeps_latest:
                opted_out_at = record.opted_out_at
                if current is not None and opted_out_at < current:
                    self.moved_backwards.append(number)
            elif latest and (current is None or current <= record.opted_out_at):
                opted_out_at = record.opted_out_at
            elif not latest and current is not None and current > record.opted_out_at:
                opted_out_at = current
            else:
                continue  # the condition failed
            self._write_opt_out(record, old, opted_out_at, now)
            return
        raise AwsServiceError(f"cannot write the opt-out to the table: {CONDITION_FAILED}", CONDITION_FAILED)

    def _write_opt_out(self, record: OptOutRecord, old: dict[str, Any] | None, opted_out_at: str, now: str) -> None:
        number = record.phone_number
        new = {key: value for key, value in (old or {}).items() if key not in OPT_IN_MARK_ATTRIBUTES}
        new.update(
            phoneNumber=number,
            updatedAt=now,
            eventId=record.event_id,
            optedOutAt=opted_out_at,
            eventOptedOutAt=record.opted_out_at,
        )
        for attribute, value in (
            ("source", record.source),
            ("optOutReason", record.reason),
            ("providerStopId", record.stop_id),
        ):
            if value is not None and value != "":
                new[attribute] = value
        if record.stop_id is not None:
            new["addedStopIds"] = tuple(sorted({*new.get("addedStopIds", ()), record.stop_id}))
        new.setdefault("recordedBy", "optout")
        new.setdefault("firstSeenAt", now)
        self._put(number, new)

    def mark_opt_in(self, seen: StoredOptOut, mark: OptInMark, now: str | None = None) -> bool:
        number = seen.phone_number
        self._s.point(f"table.mark_opt_in {number} {mark.event_id}")
        item = self.items.get(number)
        if item is None or item.get("updatedAt") != seen.updated_at:
            return False
        fields = opt_in_mark_attributes(mark, self._now(now))
        self._put(number, {**item, **{name: value for name, value in fields.items() if value}})
        return True

    def note_added(self, number: str, stop_id: int) -> None:
        self._s.point(f"table.note_added {number} {stop_id}")
        item = self.items.get(number)
        if item is not None:
            self._put(number, {**item, "addedStopIds": tuple(sorted({*item.get("addedStopIds", ()), stop_id}))})

    def delete_opted_in(self, number: str, event_id: str) -> bool:
        self._s.point(f"table.delete_opted_in {number} {event_id}")
        item = self.items.get(number)
        if item is None or item.get("optInEventId") != event_id:
            return False
        self._put(number, None)
        return True

    # --- ErasureStore -----------------------------------------------------------------------------------
    def forget_details(self, number: str, kept_sources: Collection[str]) -> bool:
        """As the adapter: one UpdateItem for the free text (on condition the item exists, ``updatedAt``
        untouched), then one per source attribute (on condition it is there and not one of ``kept_sources``)."""
        self._s.point(f"table.forget_details {number}")
        item = self.items.get(number)
        if item is None:
            return False
        if "optOutReason" in item or "optInConsentText" in item:
            self._put(number, {k: v for k, v in item.items() if k not in ("optOutReason", "optInConsentText")})
        for attribute in ("source", "optInSource"):
            self._s.point(f"table.forget_details {number} {attribute}")
            item = self.items.get(number)
            if item is not None and attribute in item and item[attribute] not in kept_sources:
                self._put(number, {k: v for k, v in item.items() if k != attribute})
        return True

    # --- SnapshotStore ----------------------------------------------------------------------------------
    def scan_segment(self, segment: int, total_segments: int) -> Iterator[tuple[str, ProviderFields]]:
        self._s.point(f"table.scan {segment}/{total_segments}")
        numbers = sorted(self.items)
        contents = [(number, _fields(self.items[number])) for number in numbers[segment::total_segments]]
        yield from contents

    def put_new(self, entries: Iterable[tuple[str, ProviderFields]], now: str) -> int:
        """Upserts, as the adapter's transaction of UpdateItems: an item written since the scan keeps its fields."""
        written = 0
        for number, fields in entries:
            self._s.point(f"table.put_new {number}")
            self._merge(number, fields, now)
            written += 1
        return written

    def merge_provider_fields(self, number: str, fields: ProviderFields, now: str) -> None:
        self._s.point(f"table.merge {number}")
        self._merge(number, fields, now)

    def _merge(self, number: str, fields: ProviderFields, now: str) -> None:
        new = dict(self.items.get(number) or {"phoneNumber": number})
        new.update(updatedAt=now, providerEntries=fields.entries)
        for attribute, value in (("providerStopId", fields.stop_id), ("providerCreatedAt", fields.created_at)):
            if value is None:
                new.pop(attribute, None)
            else:
                new[attribute] = value
        new.setdefault("recordedBy", "snapshot")
        new.setdefault("firstSeenAt", now)
        self._put(number, new)

    def delete_unless_written_since(self, number: str, cutoff: str) -> bool:
        self._s.point(f"table.delete_unless_written_since {number}")
        item = self.items.get(number)
        if item is None or ("updatedAt" in item and item["updatedAt"] >= cutoff):
            return False
        self._put(number, None)
        return True

    def write_status(self, status: dict[str, str | int | float]) -> None:
        self.status = dict(status)


def _fields(item: dict[str, Any]) -> ProviderFields:
    """What ``adapters.table._provider_fields`` reads of an item."""
    entries: tuple[ListedEntry, ...] | None = item.get("providerEntries")
    if entries is not None:
        return ProviderFields.of(entries)
    stop, created = item.get("providerStopId"), item.get("providerCreatedAt")
    if stop is None and created is None:
        return ProviderFields(())
    return ProviderFields((ListedEntry(stop, created),))


@dataclass
class Hold:
    number: str
    actor: str
    start: int
    end: int | None = None


class SimLocks:
    """Numbers' leases (``adapters.locks``): taken when absent or ended on the logical clock, given back by the
    owner. ``always_grant`` grants every request (no lease at all); ``holds`` records who held what when,
    ``refused`` which actor found a number held by which."""

    def __init__(self, scheduler: Scheduler, always_grant: bool = False) -> None:
        self._s = scheduler
        self._always_grant = always_grant
        self._leases: dict[str, tuple[str, str]] = {}
        self.holds: dict[str, Hold] = {}  # by owner
        self.refused: list[tuple[str, str]] = []  # (actor refused, actor holding)

    def acquire(self, number: str, owner: str, until: str, now: str) -> str | None:
        self._s.point(f"locks.acquire {number}")
        held = self._leases.get(number)
        if not self._always_grant and held is not None and held[1] >= now:
            self.refused.append((self._s.actor, self.holds[held[0]].actor))
            return held[1]
        self._leases[number] = (owner, until)
        self.holds[owner] = Hold(number, self._s.actor, self._s.step)
        return None

    def release(self, number: str, owner: str) -> None:
        self._s.point(f"locks.release {number}")
        self.holds[owner].end = self._s.step
        held = self._leases.get(number)
        if held is not None and held[0] == owner:
            del self._leases[number]


class SimHistory:
    """The history table (``adapters.history``): items keyed by number and ``<at>#<eventId>``, a put of the same
    key leaves one item. ``appended`` numbers each item's last put, in the order of every put. A Query that is
    not strongly consistent (``entries``' default, as the adapter's) misses items first put less than
    ``STALE_SECONDS`` ago; ``strong_reads=False`` makes every Query such a read."""

    def __init__(self, scheduler: Scheduler, strong_reads: bool = True) -> None:
        self._s = scheduler
        self._strong_reads = strong_reads
        self.items: dict[tuple[str, str], HistoryEntry] = {}
        self.appended: dict[tuple[str, str], int] = {}
        self._first_put: dict[tuple[str, str], int] = {}  # the step of each item's first put
        self._puts = 0

    def append_all(self, entries: Sequence[HistoryEntry]) -> None:
        self._s.point(f"history.append {len(entries)}")
        for entry in entries:
            key = (entry.phone_number, entry.key)
            self.items[key] = entry
            self._puts += 1
            self.appended[key] = self._puts
            self._first_put.setdefault(key, self._s.step)

    def entries(self, number: str, after: str | None = None, consistent: bool = False) -> Iterator[HistoryEntry]:
        """The number's entries oldest first, as a Query reads them when it starts."""
        self._s.point(f"history.entries {number}{' consistent' if consistent else ''}")
        consistent = consistent and self._strong_reads
        seen_from = self._s.step if consistent else self._s.step - STALE_SECONDS
        found = sorted(
            (key, entry)
            for (phone, key), entry in self.items.items()
            if phone == number and self._first_put[phone, key] <= seen_from
        )
        yield from [entry for key, entry in found if after is None or key > after]

    def remove_details(self, entry: HistoryEntry, fields: Collection[str]) -> None:
        """An UpdateItem REMOVE on condition the item exists: one gone meanwhile is not written again."""
        self._s.point(f"history.remove_details {entry.key} {','.join(fields)}")
        key = (entry.phone_number, entry.key)
        stored = self.items.get(key)
        if stored is not None:
            cleared: dict[str, Any] = dict.fromkeys(fields)
            self.items[key] = replace(stored, **cleared)

    def latest_consent(self, number: str) -> str | None:
        self._s.point(f"history.latest_consent {number}")
        consents = [
            entry.at for (phone, _), entry in self.items.items() if phone == number and entry.change == CHANGE_OPT_IN
        ]
        return max(consents) if consents else None


class SimQueue:
    """OptOutQueue: the checker's actors redeliver events themselves; this records what was asked."""

    def __init__(self) -> None:
        self.requeued: list[tuple[str, int]] = []
        self.postponed: list[tuple[str, int]] = []

    def postpone(self, receipt_handle: str, seconds: int) -> None:
        self.postponed.append((receipt_handle, seconds))

    def requeue(
        self,
        body: str,
        delay_seconds: int,
        original_message_id: str | None,
        received: object,
        erasure_recheck: bool = False,
    ) -> None:
        self.requeued.append((original_message_id or "", delay_seconds))


class SimDeadLetters:
    def __init__(self) -> None:
        self.letters: list[DeadLetter] = []

    def send(self, letter: DeadLetter) -> None:
        self.letters.append(letter)


class SimBus:
    def __init__(self) -> None:
        self.announcements: list[Announcement] = []

    def publish(self, announcements: Sequence[Announcement]) -> int:
        self.announcements.extend(announcements)
        return len(announcements)

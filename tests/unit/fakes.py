"""Small in-memory fakes for unit tests (the integration tests use the real services).

Each is checked by mypy against the protocol it stands for (``stoplist.domain.ports``, ``HttpSession``,
``SecretReader``): the ``_checked`` assignments at the bottom fail the type check if a fake drifts.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import requests
from stoplist.adapters.provider import HttpSession
from stoplist.adapters.secrets import SecretReader
from stoplist.domain.changes import CHANGE_OPT_IN
from stoplist.domain.deadline import Deadline
from stoplist.domain.ports import (
    AddResult,
    AnnouncementBus,
    ConsentHistory,
    DeadLetter,
    DeadLetterSink,
    DeleteResult,
    ErasureHistory,
    ErasureStore,
    HistoryWriter,
    Lease,
    NumberLocks,
    OptInMark,
    OptInProvider,
    OptInStore,
    OptOutPublisher,
    OptOutRecord,
    OptOutStore,
    ProviderFields,
    RetryQueue,
    SecretVersion,
    SigningKeys,
    SnapshotStore,
    StopEntry,
    StopListProvider,
    StoredOptOut,
    WebhookToken,
)
from stoplist.domain.records import Announcement, HistoryEntry
from stoplist.errors import AwsServiceError


class FakeSecrets:
    """Stands in for Powertools' SecretsProvider: returns the current value, counts forced reads."""

    def __init__(self, value: str) -> None:
        self.value = value
        self.reads = 0
        self.forced_reads = 0

    def get(self, name: str, *, max_age: int | None = None, force_fetch: bool = False) -> str:
        self.reads += 1
        self.forced_reads += int(force_fetch)
        return self.value


def response(
    status: int, body: bytes | str | dict[str, Any], headers: dict[str, str] | None = None
) -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    answer._content = (
        json.dumps(body).encode() if isinstance(body, dict) else (body.encode() if isinstance(body, str) else body)
    )
    # The content is there already: iter_content, as a streamed read uses it, gives it in slices.
    answer._content_consumed = True  # type: ignore[attr-defined]
    answer.headers.update(headers or {})
    answer.encoding = "utf-8"
    return answer


class FakeSession:
    """Answers requests from a script; an exception in the script is raised like a network failure."""

    def __init__(self, *script: requests.Response | Exception) -> None:
        self.script = list(script)
        self.sent: list[dict[str, Any]] = []

    def _next(self, **sent: Any) -> requests.Response:
        self.sent.append(sent)
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    def post(self, url: str, *, json: Any, timeout: tuple[float, float]) -> requests.Response:
        return self._next(method="POST", url=url, json=json, timeout=timeout)

    def get(self, url: str, *, params: Any, timeout: tuple[float, float], stream: bool = False) -> requests.Response:
        return self._next(method="GET", url=url, params=params, timeout=timeout, stream=stream)


@dataclass
class FakeProvider:
    already: set[str] = field(default_factory=set)
    errors: dict[str, Exception] = field(default_factory=dict)
    entries: list[StopEntry] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    # The deadline each call was given, in call order: ("add" | "list" | "delete", deadline).
    deadlines: list[tuple[str, Deadline | None]] = field(default_factory=list)

    def add_stop(self, e164: str, deadline: Deadline | None = None) -> AddResult:
        self.deadlines.append(("add", deadline))
        if e164 in self.errors:
            raise self.errors[e164]
        if e164 in self.already:
            return AddResult(already_listed=True)
        self.added.append(e164)
        self.already.add(e164)
        return AddResult(already_listed=False, stop_id=len(self.added))

    deleted: list[int] = field(default_factory=list)
    lists: int = 0

    def list_stops(self, deadline: Deadline | None = None) -> Iterator[StopEntry]:
        self.deadlines.append(("list", deadline))
        self.lists += 1
        return iter(list(self.entries))

    def delete_stop(self, stop_id: int, deadline: Deadline | None = None) -> DeleteResult:
        """Code 4 unless an entry of ``entries`` has the id."""
        self.deadlines.append(("delete", deadline))
        found = [entry for entry in self.entries if entry.stop_id == stop_id]
        self.deleted.append(stop_id)
        self.entries = [entry for entry in self.entries if entry.stop_id != stop_id]
        return DeleteResult(found=bool(found))


@dataclass
class FakeDeadLetters:
    sent: list[dict[str, Any]] = field(default_factory=list)

    def send(self, letter: DeadLetter) -> None:
        self.sent.append(asdict(letter))


@dataclass
class FakeQueue:
    """OptOutQueue: records the postponements and requeued bodies."""

    postponed: list[tuple[str, int]] = field(default_factory=list)
    requeued: list[dict[str, Any]] = field(default_factory=list)
    fail_with: Exception | None = None

    def postpone(self, receipt_handle: str, seconds: int) -> None:
        self.postponed.append((receipt_handle, seconds))

    def requeue(
        self,
        body: str,
        delay_seconds: int,
        original_message_id: str | None,
        received: datetime | None,
        erasure_recheck: bool = False,
    ) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.requeued.append(
            {
                "body": body,
                "delay": delay_seconds,
                "original_message_id": original_message_id,
                "received": received,
                **({"erasure_recheck": True} if erasure_recheck else {}),
            }
        )


@dataclass
class FakeTable:
    """In-memory StopListTable: same methods, items as dicts, counts every write."""

    batch_write_limit: ClassVar[int] = 25
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    writes: int = 0
    status: dict[str, Any] = field(default_factory=dict)

    def record_opt_out(self, record: OptOutRecord, now: str | None = None) -> None:
        self.writes += 1
        item = self.items.setdefault(record.phone_number, {"recordedBy": "optout"})
        written = now or f"9999-{self.writes:06d}"  # each write-through a new updatedAt, as in DynamoDB
        item.update(eventId=record.event_id, source=record.source, updatedAt=written)
        item.update(
            optedOutAt=max(item.get("optedOutAt", ""), record.opted_out_at), eventOptedOutAt=record.opted_out_at
        )
        if record.stop_id is not None:
            item.setdefault("addedStopIds", set()).add(record.stop_id)
        item.pop("optInEventId", None)  # an opt-out cancels a re-opt-in under way

    def scan_segment(self, segment: int, total_segments: int) -> Iterator[tuple[str, ProviderFields]]:
        for number, item in list(self.items.items()):
            if hash(number) % total_segments == segment:
                yield number, ProviderFields(tuple(item.get("providerEntries", ())))

    def put_new(self, entries: Iterable[tuple[str, ProviderFields]], now: str) -> int:
        count = 0
        for number, fields in entries:
            self.writes += 1
            count += 1
            self.items[number] = {"providerEntries": fields.entries, "updatedAt": now}
        return count

    def merge_provider_fields(self, number: str, fields: ProviderFields, now: str) -> None:
        self.writes += 1
        self.items[number].update(providerEntries=fields.entries, updatedAt=now)

    def delete_unless_written_since(self, number: str, cutoff: str) -> bool:
        if self.items[number].get("updatedAt", "") >= cutoff:
            return False
        self.writes += 1
        del self.items[number]
        return True

    def write_status(self, status: dict[str, str | int | float]) -> None:
        self.status = status

    # --- re-opt-in ---------------------------------------------------------------------------------------------
    def read(self, number: str) -> StoredOptOut | None:
        item = self.items.get(number)
        if item is None:
            return None
        return StoredOptOut(
            number,
            item.get("optedOutAt"),
            item.get("updatedAt"),
            tuple(item.get("providerEntries", ())),
            frozenset(item.get("addedStopIds", ())),
            "optInEventId" in item,
        )

    def mark_opt_in(self, seen: StoredOptOut, mark: OptInMark, now: str | None = None) -> bool:
        item = self.items.get(seen.phone_number)
        if item is None or item.get("updatedAt") != seen.updated_at:
            return False
        self.writes += 1
        item["optInEventId"] = mark.event_id
        self.on_marked(seen.phone_number)
        return True

    def note_added(self, number: str, stop_id: int) -> None:
        if number in self.items:
            self.items[number].setdefault("addedStopIds", set()).add(stop_id)

    def delete_opted_in(self, number: str, event_id: str) -> bool:
        item = self.items.get(number)
        if item is None or item.get("optInEventId") != event_id:
            return False
        self.writes += 1
        del self.items[number]
        return True

    def on_marked(self, number: str) -> None:
        """A hook for tests: what happens between the opt-in's mark and its delete (a crossing opt-out)."""

    # --- erasure -----------------------------------------------------------------------------------------------
    def forget_details(self, number: str, kept_sources: Collection[str]) -> bool:
        item = self.items.get(number)
        if item is None:
            return False
        self.writes += 1
        item.pop("optOutReason", None)
        item.pop("optInConsentText", None)
        if item.get("source") not in kept_sources:
            item.pop("source", None)
        return True


@dataclass
class FakeHistory:
    by_key: dict[tuple[str, str], HistoryEntry] = field(default_factory=dict)
    calls: int = 0

    def append_all(self, entries: Sequence[HistoryEntry]) -> None:
        self.calls += 1
        for entry in entries:
            self.by_key[(entry.phone_number, entry.key)] = entry

    def entries(self, number: str, after: str | None = None, consistent: bool = False) -> Iterator[HistoryEntry]:
        found = [entry for (phone, _), entry in self.by_key.items() if phone == number]
        yield from sorted((entry for entry in found if after is None or entry.key > after), key=lambda e: e.key)

    def remove_details(self, entry: HistoryEntry, fields: Collection[str]) -> None:
        key = (entry.phone_number, entry.key)
        cleared: dict[str, Any] = dict.fromkeys(fields)
        self.by_key[key] = replace(self.by_key[key], **cleared)

    def latest_consent(self, number: str) -> str | None:
        consents = [
            entry.at for (phone, _), entry in self.by_key.items() if phone == number and entry.change == CHANGE_OPT_IN
        ]
        return max(consents) if consents else None


@dataclass
class FakeLocks:
    """NumberLocks: leases by number, each taken and given back once; ``held`` makes a number busy."""

    held: dict[str, str] = field(default_factory=dict)
    taken: list[str] = field(default_factory=list)

    def acquire(self, number: str, owner: str, until: str, now: str) -> str | None:
        if number in self.held and self.held[number] >= now:
            return self.held[number]
        self.held[number] = until
        self.taken.append(number)
        return None

    def release(self, number: str, owner: str) -> None:
        self.held.pop(number, None)


@dataclass
class FakeBus:
    """Publishes all, or refuses from ``fail_from`` on (as PutEvents entries that kept failing)."""

    published: list[Announcement] = field(default_factory=list)
    fail_from: int | None = None

    def publish(self, announcements: Sequence[Announcement]) -> int:
        accepted = list(announcements) if self.fail_from is None else list(announcements)[: self.fail_from]
        self.published.extend(accepted)
        return len(accepted)


class FakePublisher:
    """Stands in for OptOutQueue: keeps what was published."""

    def __init__(self) -> None:
        self.events: list[dict[str, str]] = []

    def publish(self, event: Mapping[str, str]) -> None:
        self.events.append(dict(event))


@dataclass
class FakeLease:
    """The lease as a flag: ``held_elsewhere`` stands for another snapshot holding it. Records what was asked."""

    held_elsewhere: bool = False
    held: bool = False
    asked_seconds: list[float] = field(default_factory=list)
    releases: int = 0
    release_error: Exception | None = None

    def acquire(self, seconds: float) -> bool:
        self.asked_seconds.append(seconds)
        if self.held_elsewhere or self.held:
            return False
        self.held = True
        return True

    def release(self) -> None:
        if self.release_error is not None:
            raise self.release_error
        if self.held:
            self.releases += 1
            self.held = False


class FakeSigningKeys:
    """Stands in for the link key secret: fixed versions (newest first, created a day apart by default before
    ``created``), counts re-reads."""

    def __init__(self, *versions: str | SecretVersion, created: datetime = datetime(2026, 1, 1, tzinfo=UTC)) -> None:
        self.values = [
            version if isinstance(version, SecretVersion) else SecretVersion(version, created - timedelta(days=index))
            for index, version in enumerate(versions)
        ]
        self.rereads = 0

    def history(self) -> list[SecretVersion]:
        return list(self.values)

    def reread_if_older_than(self, seconds: float) -> bool:
        self.rereads += 1
        return False


class FakeWebhookToken:
    """Stands in for the webhook token secret: a current version, maybe a previous one, counts re-reads."""

    def __init__(self, current: SecretVersion, previous: SecretVersion | None = None) -> None:
        self.current = current
        self.previous = previous
        self.rereads = 0

    def current_version(self) -> SecretVersion:
        return self.current

    def previous_version(self) -> SecretVersion | None:
        return self.previous

    def reread_if_older_than(self, seconds: float) -> bool:
        self.rereads += 1
        return False


class FailingPublisher:
    """OptOutQueue refusing every send, as SQS does when it cannot be reached."""

    def publish(self, event: Mapping[str, str]) -> None:
        raise AwsServiceError("send to the opt-out queue: AWS.SimpleQueueService.NonExistentQueue")


class FailingDeadLetters:
    def send(self, letter: DeadLetter) -> None:
        raise AwsServiceError("send to the dead-letter queue: AccessDenied")


_checked: tuple[
    StopListProvider,
    DeadLetterSink,
    RetryQueue,
    OptOutStore,
    SnapshotStore,
    HttpSession,
    SecretReader,
    OptOutPublisher,
    SigningKeys,
    Lease,
] = (
    FakeProvider(),
    FakeDeadLetters(),
    FakeQueue(),
    FakeTable(),
    FakeTable(),
    FakeSession(),
    FakeSecrets(""),
    FakePublisher(),
    FakeSigningKeys(),
    FakeLease(),
)


_checked_webhook: tuple[WebhookToken, OptOutPublisher, DeadLetterSink] = (
    FakeWebhookToken(SecretVersion("token", datetime(2026, 1, 1, tzinfo=UTC))),
    FailingPublisher(),
    FailingDeadLetters(),
)


_checked_opt_in: tuple[OptInProvider, OptInStore, HistoryWriter, ConsentHistory, AnnouncementBus, NumberLocks] = (
    FakeProvider(),
    FakeTable(),
    FakeHistory(),
    FakeHistory(),
    FakeBus(),
    FakeLocks(),
)


_checked_erasure: tuple[ErasureStore, ErasureHistory] = (FakeTable(), FakeHistory())

"""Small in-memory fakes for unit tests (the integration tests use the real services).

Each is checked by mypy against the protocol it stands for (``stoplist.domain.ports``, ``HttpSession``,
``SecretReader``): the ``_checked`` assignments at the bottom fail the type check if a fake drifts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import requests
from stoplist.adapters.provider import HttpSession
from stoplist.adapters.secrets import SecretReader
from stoplist.domain.ports import (
    AddResult,
    DeadLetter,
    DeadLetterSink,
    OptOutRecord,
    OptOutStore,
    ProviderFields,
    SnapshotStore,
    StopEntry,
    StopListProvider,
)


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

    def get(self, url: str, *, params: Any, timeout: tuple[float, float]) -> requests.Response:
        return self._next(method="GET", url=url, params=params, timeout=timeout)


@dataclass
class FakeProvider:
    already: set[str] = field(default_factory=set)
    errors: dict[str, Exception] = field(default_factory=dict)
    entries: list[StopEntry] = field(default_factory=list)
    added: list[str] = field(default_factory=list)

    def add_stop(self, e164: str) -> AddResult:
        if e164 in self.errors:
            raise self.errors[e164]
        if e164 in self.already:
            return AddResult(already_listed=True)
        self.added.append(e164)
        return AddResult(already_listed=False, stop_id=len(self.added))

    def list_stops(self) -> list[StopEntry]:
        return list(self.entries)


@dataclass
class FakeDeadLetters:
    sent: list[dict[str, Any]] = field(default_factory=list)

    def send(self, letter: DeadLetter) -> None:
        self.sent.append(asdict(letter))


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
        item.update(eventId=record.event_id, source=record.source, updatedAt=now or "9999")

    def scan_segment(self, segment: int, total_segments: int) -> Iterator[tuple[str, ProviderFields]]:
        for number, item in list(self.items.items()):
            if hash(number) % total_segments == segment:
                yield number, ProviderFields(item.get("providerStopId"), item.get("providerCreatedAt"))

    def put_new(self, entries: Iterable[tuple[str, ProviderFields]], now: str) -> int:
        count = 0
        for number, fields in entries:
            self.writes += 1
            count += 1
            self.items[number] = {
                "providerStopId": fields.stop_id,
                "providerCreatedAt": fields.created_at,
                "updatedAt": now,
            }
        return count

    def merge_provider_fields(self, number: str, fields: ProviderFields, now: str) -> None:
        self.writes += 1
        self.items[number].update(providerStopId=fields.stop_id, providerCreatedAt=fields.created_at, updatedAt=now)

    def delete_unless_written_since(self, number: str, cutoff: str) -> bool:
        if self.items[number].get("updatedAt", "") >= cutoff:
            return False
        self.writes += 1
        del self.items[number]
        return True

    def write_status(self, status: dict[str, str | int | float]) -> None:
        self.status = status


_checked: tuple[StopListProvider, DeadLetterSink, OptOutStore, SnapshotStore, HttpSession, SecretReader] = (
    FakeProvider(),
    FakeDeadLetters(),
    FakeTable(),
    FakeTable(),
    FakeSession(),
    FakeSecrets(""),
)

"""The StopListHistoryTable (DynamoDB): append-only, one item per change of a number's opt-out state.

Key: ``phoneNumber`` (S, E.164) and ``changeKey`` (S, ``<when, UTC fixed width>#<eventId>``), so a Query
on the number returns its story in time order. Items are only ever put with a key derived from the change
itself, never deleted, and updated only by an erasure, which removes a person's details from them
(``stoplist.domain.erasure``): a retried batch puts the same items again, and none is added. Each item
carries ``expiresAt`` (epoch seconds), after which DynamoDB's time to live deletes it (``HistoryRetentionDays``).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import asdict, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from stoplist.adapters.aws import BATCH_WRITE_LIMIT, aws_errors, batch_write, conditional_write
from stoplist.domain.changes import CHANGE_OPT_IN
from stoplist.domain.ordering import stored_time
from stoplist.domain.records import HistoryEntry

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# HistoryEntry field -> item attribute (docs/data-model.md documents the attributes).
_ATTRIBUTES = {
    "phone_number": "phoneNumber",
    "at": "at",
    "event_id": "eventId",
    "change": "change",
    "recorded_by": "recordedBy",
    "recorded_at": "recordedAt",
    "source": "source",
    "provider_stop_id": "providerStopId",
    "reason": "optOutReason",
    "occurred_at": "occurredAt",
    "consent_source": "consentSource",
    "consent_at": "consentAt",
    "consent_text": "consentText",
    "provider_created_at": "providerCreatedAt",
    "channel": "channel",
    "received_at": "receivedAt",
    "receive_count": "receiveCount",
    "honoured_at": "honouredAt",
    "honour_seconds": "honourSeconds",
}
assert set(_ATTRIBUTES) == {f.name for f in fields(HistoryEntry)}


# The item attribute DynamoDB's time to live reads (template.yaml, StopListHistoryTable): epoch seconds.
EXPIRES_AT = "expiresAt"
# The index by day (template.yaml, StopListHistoryTable ``byDay``): ``day`` is the UTC date of ``at``.
DAY_INDEX = "byDay"
DAY = "day"
_FIXED_WIDTH_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T")
_DAY_SECONDS = 86400


def expires_at(entry: HistoryEntry, retention_days: int) -> int | None:
    """When the entry may go: ``retention_days`` after it was recorded, or after it took effect if that is
    later (an opt-in whose consent lies a little ahead); None keeps it forever (``retention_days`` 0)."""
    if retention_days <= 0:
        return None
    moments = []
    for text in (entry.recorded_at, entry.at):
        with contextlib.suppress(ValueError):  # a time we never wrote: the other one, or now
            moments.append(stored_time(text) or datetime.now(UTC))
    start = max(moments, default=datetime.now(UTC))
    return int(start.timestamp()) + retention_days * _DAY_SECONDS


def history_item(entry: HistoryEntry, retention_days: int = 0) -> dict[str, Any]:
    item: dict[str, Any] = {"changeKey": {"S": entry.key}}
    for name, value in asdict(entry).items():
        if value is None or value == "":
            continue
        item[_ATTRIBUTES[name]] = {"N": str(value)} if isinstance(value, int | float) else {"S": value}
    if _FIXED_WIDTH_UTC.match(entry.at):
        item[DAY] = {"S": entry.at[:10]}
    expiry = expires_at(entry, retention_days)
    if expiry is not None:
        item[EXPIRES_AT] = {"N": str(expiry)}
    return item


def history_entry(item: dict[str, Any]) -> HistoryEntry:
    values: dict[str, Any] = {}
    for name, attribute in _ATTRIBUTES.items():
        value = item.get(attribute)
        if value is None:
            continue
        values[name] = _number(value["N"]) if "N" in value else value["S"]
    return HistoryEntry(**values)


def _number(text: str) -> int | float:
    return float(text) if "." in text or "e" in text.lower() else int(text)


class HistoryTable:
    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient,
        sleep: Callable[[float], None] = time.sleep,
        *,
        retention_days: int = 0,
    ) -> None:
        """``retention_days``: how long the entries this instance writes are kept (``stoplist.wiring`` passes
        the setting; a reader, which writes nothing, leaves it at 0)."""
        self.name = table_name
        self._client = client
        self._sleep = sleep
        self._retention_days = retention_days

    def append_all(self, entries: Sequence[HistoryEntry]) -> None:
        """Batch-put (25 a request). A BatchWriteItem cannot be conditional; the key makes it idempotent."""
        unique = {(entry.phone_number, entry.key): history_item(entry, self._retention_days) for entry in entries}
        requests_ = [{"PutRequest": {"Item": item}} for item in unique.values()]
        for start in range(0, len(requests_), BATCH_WRITE_LIMIT):
            batch_write(self._client, self.name, requests_[start : start + BATCH_WRITE_LIMIT], self._sleep)

    def remove_details(self, entry: HistoryEntry, fields: Collection[str]) -> None:
        """Remove these fields from the stored entry (the erasure), keeping the rest and its expiry; an entry
        gone meanwhile (expired) is not written again."""
        names = {f"#f{index}": _ATTRIBUTES[name] for index, name in enumerate(fields)}
        if not names:
            return
        conditional_write(
            "erase a history entry's details",
            lambda: self._client.update_item(
                TableName=self.name,
                Key={"phoneNumber": {"S": entry.phone_number}, "changeKey": {"S": entry.key}},
                UpdateExpression="REMOVE " + ", ".join(names),
                ConditionExpression="attribute_exists(changeKey)",
                ExpressionAttributeNames=names,
            ),
        )

    def entries(self, number: str, after: str | None = None, consistent: bool = False) -> Iterator[HistoryEntry]:
        """The number's story, oldest first (``after``: only what took effect after that UTC time)."""
        condition = "phoneNumber = :number" + (" AND changeKey > :after" if after is not None else "")
        values = {":number": {"S": number}} | ({":after": {"S": after}} if after is not None else {})
        yield from self._query(
            KeyConditionExpression=condition, ExpressionAttributeValues=values, ConsistentRead=consistent
        )

    def _query(self, **kwargs: Any) -> Iterator[HistoryEntry]:
        kwargs["TableName"] = self.name
        while True:
            with aws_errors("read the history"):
                page = self._client.query(**kwargs)
            yield from (history_entry(item) for item in page.get("Items", []))
            last = page.get("LastEvaluatedKey")
            if not last:
                return
            kwargs["ExclusiveStartKey"] = last

    def entries_on(self, day: str) -> Iterator[HistoryEntry]:
        """Every entry that took effect on ``day`` (``YYYY-MM-DD``, UTC), in time order: a Query of the index
        by day, which holds what the report counts (no reason, no consent text, no provider id)."""
        yield from self._query(
            IndexName=DAY_INDEX,
            KeyConditionExpression="#day = :day",
            ExpressionAttributeNames={"#day": DAY},
            ExpressionAttributeValues={":day": {"S": day}},
        )

    def latest_consent(self, number: str) -> str | None:
        """The consent time of the latest re-opt-in applied to ``number`` (a strongly consistent Query: the opt-in
        writes it before it releases the number, and the next event of the number must see it)."""
        consents = [entry.at for entry in self.entries(number, consistent=True) if entry.change == CHANGE_OPT_IN]
        return max(consents) if consents else None

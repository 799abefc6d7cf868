"""Access to the StopListTable (DynamoDB): one item per opted-out number, key ``phoneNumber`` in E.164.

Item attributes (the README documents them for readers):
``phoneNumber`` (S, key), ``providerStopId`` (N), ``providerCreatedAt`` (S, as the provider writes it),
``source``, ``eventId``, ``optOutReason`` (S, from the opt-out event), ``optedOutAt`` (S, ISO 8601 UTC),
``recordedBy`` (S: ``optout`` or ``snapshot``, who wrote the item first), ``firstSeenAt`` and
``updatedAt`` (S, ISO 8601 UTC, fixed width so that they sort as text).
One extra item, key ``#snapshot-status``, holds the last snapshot's status; it is never an E.164 number.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from stoplist.errors import AwsServiceError, aws_error

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

STATUS_KEY = "#snapshot-status"
# Every attribute an item may hold, in the order an audit export lists them (the operators' `stoplist export`).
ITEM_ATTRIBUTES = (
    "phoneNumber",
    "providerStopId",
    "providerCreatedAt",
    "source",
    "eventId",
    "optOutReason",
    "optedOutAt",
    "recordedBy",
    "firstSeenAt",
    "updatedAt",
)
BATCH_WRITE_LIMIT = 25
_MAX_UNPROCESSED_ROUNDS = 8


def utc_now() -> str:
    """Fixed-width ISO 8601 UTC with microseconds: compares correctly as a string."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class ProviderFields:
    """What the provider's list says of a number; what the snapshot compares to decide on a write."""

    stop_id: int | None
    created_at: str | None


@dataclass(frozen=True)
class OptOutRecord:
    phone_number: str
    event_id: str
    source: str | None = None
    reason: str | None = None
    opted_out_at: str | None = None
    stop_id: int | None = None


class StopListTable:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.name = table_name
        self._client = client or boto3.client("dynamodb")

    # --- write-through from the opt-out handlers ----------------------------------------------------------
    def record_opt_out(self, record: OptOutRecord, now: str | None = None) -> None:
        """Upsert the number with its audit fields; provider fields already there are kept."""
        now = now or utc_now()
        assignments: dict[str, str | int | None] = {
            "updatedAt": now,
            "eventId": record.event_id,
            "optedOutAt": record.opted_out_at or now,
            "source": record.source,
            "optOutReason": record.reason,
            "providerStopId": record.stop_id,
        }
        self._update(
            record.phone_number,
            assignments,
            set_if_missing={"recordedBy": "optout", "firstSeenAt": now},
            action="write the opt-out to the table",
        )

    # --- snapshot ------------------------------------------------------------------------------------------
    def scan_segment(self, segment: int, total_segments: int) -> Iterator[tuple[str, ProviderFields]]:
        """One segment of a parallel scan, projected to what the snapshot compares."""
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "ProjectionExpression": "phoneNumber, providerStopId, providerCreatedAt",
            "Segment": segment,
            "TotalSegments": total_segments,
        }
        try:
            while True:
                page = self._client.scan(**kwargs)
                for item in page.get("Items", []):
                    key = item["phoneNumber"]["S"]
                    if key == STATUS_KEY:
                        continue
                    stop = item.get("providerStopId", {}).get("N")
                    created = item.get("providerCreatedAt", {}).get("S")
                    yield key, ProviderFields(int(stop) if stop is not None else None, created)
                last = page.get("LastEvaluatedKey")
                if not last:
                    return
                kwargs["ExclusiveStartKey"] = last
        except (ClientError, BotoCoreError) as exc:
            raise aws_error("scan the table", exc) from None

    def put_new(self, entries: Iterable[tuple[str, ProviderFields]], now: str) -> int:
        """Batch-put numbers the table did not have (at most 25 a request); returns the items written.

        BatchWriteItem cannot be conditional: a number written through by a handler between the snapshot's
        scan and this put loses its audit fields (source, eventId) to the provider's; it stays opted out.
        One conditional write per new number would close that window at 25 times the requests.
        """
        requests_ = [{"PutRequest": {"Item": _snapshot_item(number, fields, now)}} for number, fields in entries]
        for start in range(0, len(requests_), BATCH_WRITE_LIMIT):
            self._batch_write(requests_[start : start + BATCH_WRITE_LIMIT])
        return len(requests_)

    def merge_provider_fields(self, number: str, fields: ProviderFields, now: str) -> None:
        """Update the provider's id and date on an item, keeping its audit fields."""
        assignments: dict[str, str | int | None] = {
            "updatedAt": now,
            "providerStopId": fields.stop_id,
            "providerCreatedAt": fields.created_at,
        }
        self._update(
            number,
            assignments,
            set_if_missing={"recordedBy": "snapshot", "firstSeenAt": now},
            action="update an item",
            remove_missing={"providerStopId", "providerCreatedAt"},
        )

    def _update(
        self,
        number: str,
        assignments: dict[str, str | int | None],
        set_if_missing: dict[str, str],
        action: str,
        remove_missing: Collection[str] = (),
    ) -> None:
        """One UpdateItem; every name goes through ExpressionAttributeNames (``source`` is a reserved word)."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets: list[str] = []
        removes: list[str] = []
        for index, (attribute, value) in enumerate(assignments.items()):
            names[f"#a{index}"] = attribute
            if value is None or value == "":
                if attribute in remove_missing:
                    removes.append(f"#a{index}")
                else:
                    del names[f"#a{index}"]
                continue
            values[f":v{index}"] = {"N": str(value)} if isinstance(value, int) else {"S": value}
            sets.append(f"#a{index} = :v{index}")
        for index, (attribute, value) in enumerate(set_if_missing.items()):
            names[f"#m{index}"] = attribute
            values[f":m{index}"] = {"S": value}
            sets.append(f"#m{index} = if_not_exists(#m{index}, :m{index})")
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        try:
            self._client.update_item(
                TableName=self.name,
                Key={"phoneNumber": {"S": number}},
                UpdateExpression=expression,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except (ClientError, BotoCoreError) as exc:
            raise aws_error(action, exc) from None

    def delete_unless_written_since(self, number: str, cutoff: str) -> bool:
        """Delete ``number`` unless it was written at or after ``cutoff`` (a write-through that raced us)."""
        try:
            self._client.delete_item(
                TableName=self.name,
                Key={"phoneNumber": {"S": number}},
                ConditionExpression="attribute_exists(phoneNumber) AND "
                "(attribute_not_exists(updatedAt) OR updatedAt < :cutoff)",
                ExpressionAttributeValues={":cutoff": {"S": cutoff}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise aws_error("delete an item", exc) from None
        except BotoCoreError as exc:
            raise aws_error("delete an item", exc) from None
        return True

    def write_status(self, status: dict[str, str | int | float]) -> None:
        item: dict[str, Any] = {"phoneNumber": {"S": STATUS_KEY}}
        for name, value in status.items():
            item[name] = {"S": value} if isinstance(value, str) else {"N": str(value)}
        try:
            self._client.put_item(TableName=self.name, Item=item)
        except (ClientError, BotoCoreError) as exc:
            raise aws_error("write the snapshot status", exc) from None

    def _batch_write(self, chunk: list[dict[str, Any]]) -> None:
        pending: dict[str, Any] = {self.name: chunk}
        for round_ in range(_MAX_UNPROCESSED_ROUNDS):
            try:
                answer = self._client.batch_write_item(RequestItems=pending)
            except (ClientError, BotoCoreError) as exc:
                raise aws_error("batch-write items", exc) from None
            pending = answer.get("UnprocessedItems") or {}
            if not pending:
                return
            time.sleep(min(1.0, 0.05 * 2**round_))
        raise AwsServiceError("cannot batch-write items: unprocessed items left after retries")


def _snapshot_item(number: str, fields: ProviderFields, now: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "phoneNumber": {"S": number},
        "recordedBy": {"S": "snapshot"},
        "firstSeenAt": {"S": now},
        "updatedAt": {"S": now},
    }
    if fields.stop_id is not None:
        item["providerStopId"] = {"N": str(fields.stop_id)}
    if fields.created_at is not None:
        item["providerCreatedAt"] = {"S": fields.created_at}
    return item

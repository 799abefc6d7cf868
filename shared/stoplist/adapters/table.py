"""Access to the StopListTable (DynamoDB): one item per opted-out number, key ``phoneNumber`` in E.164.

Item attributes (docs/data-model.md documents them for readers):
``phoneNumber`` (S, key), ``providerStopId`` (N), ``providerCreatedAt`` (S, as the provider writes it),
``source``, ``eventId``, ``optOutReason`` (S, from the opt-out event), ``optedOutAt`` (S, ISO 8601 UTC),
``recordedBy`` (S: ``optout`` or ``snapshot``, who wrote the item first), ``firstSeenAt`` and
``updatedAt`` (S, ISO 8601 UTC, fixed width so that they sort as text); ``honouredAt`` (S) and
``honourSeconds`` (N) of the last opt-out written through (``stoplist.domain.honour``).
While a re-opt-in is under way the item also carries its evidence (``optInEventId``, ``optInSource``,
``optInConsentSource``, ``optInConsentAt``, ``optInConsentText``, ``optInOccurredAt``, ``optInRequestedAt``):
the delete that ends the opt-in is conditional on ``optInEventId``, and the stream's REMOVE record then
carries who opted the number in and on what consent. An opt-out written through meanwhile removes them.
Items whose key starts with ``#`` are the table's own (``stoplist.domain.keys``): ``#snapshot-status`` holds the
last snapshot's status, ``#snapshot-lease`` is held by the running snapshot; neither is ever an E.164 number.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from botocore.exceptions import ClientError

from stoplist.adapters.group_write import GroupWriter
from stoplist.adapters.unprocessed import until_processed
from stoplist.domain.keys import STATUS_KEY, is_control_key
from stoplist.domain.ports import OptInMark, OptOutRecord, ProviderFields, StoredOptOut, utc_now
from stoplist.errors import AwsServiceError, aws_error_code, aws_errors
from stoplist.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

BATCH_WRITE_LIMIT = 25
TRANSACT_WRITE_LIMIT = 100  # actions in one TransactWriteItems
_CONDITION_FAILED = "ConditionalCheckFailedException"
_TRANSACTION_CANCELED = "TransactionCanceledException"
OPT_IN_MARK_ATTRIBUTES = (
    "optInEventId",
    "optInSource",
    "optInConsentSource",
    "optInConsentAt",
    "optInConsentText",
    "optInOccurredAt",
    "optInRequestedAt",
)
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
    "honouredAt",
    "honourSeconds",
    *OPT_IN_MARK_ATTRIBUTES,
)


class StopListTable:
    """Implements ``OptOutStore`` and ``SnapshotStore`` (``stoplist.domain.ports``)."""

    batch_write_limit: ClassVar[int] = BATCH_WRITE_LIMIT

    def __init__(self, table_name: str, client: DynamoDBClient, sleep: Callable[[float], None] = time.sleep) -> None:
        self.name = table_name
        self._client = client
        self._sleep = sleep
        # Concurrent records' write-throughs leave together (stoplist.adapters.group_write).
        self._write_through = GroupWriter(
            self._write_opt_outs, key=lambda update: update["Key"]["phoneNumber"]["S"], limit=TRANSACT_WRITE_LIMIT
        )

    # --- write-through from the opt-out handlers ----------------------------------------------------------
    def record_opt_out(self, record: OptOutRecord, now: str | None = None) -> None:
        """Upsert the number with its audit fields; provider fields already there are kept."""
        now = now or utc_now()
        assignments: dict[str, str | int | float | None] = {
            "updatedAt": now,
            "eventId": record.event_id,
            "optedOutAt": record.opted_out_at or now,
            "source": record.source,
            "optOutReason": record.reason,
            "providerStopId": record.stop_id,
            "honouredAt": record.honoured_at,
            "honourSeconds": record.honour_seconds,
            # An opt-out cancels a re-opt-in under way: its conditional delete will not match any more.
            **dict.fromkeys(OPT_IN_MARK_ATTRIBUTES),
        }
        self._write_through.write(
            _update_request(
                record.phone_number,
                assignments,
                set_if_missing={"recordedBy": "optout", "firstSeenAt": now},
                remove_missing=(*OPT_IN_MARK_ATTRIBUTES, "honouredAt", "honourSeconds"),
            )
        )

    # --- re-opt-in -----------------------------------------------------------------------------------------
    def read(self, number: str) -> StoredOptOut | None:
        """A strongly consistent read of the number's item; None when it is not in the table."""
        with aws_errors("read the table"):
            answer = self._client.get_item(TableName=self.name, Key={"phoneNumber": {"S": number}}, ConsistentRead=True)
        item = answer.get("Item")
        if item is None:
            return None
        stop = item.get("providerStopId", {}).get("N")
        return StoredOptOut(
            phone_number=number,
            # An item only the snapshot wrote has the provider's date (Paris time, no offset): read as UTC it is
            # one or two hours later than it was, which errs on the side of the opt-out.
            opted_out_at=item.get("optedOutAt", {}).get("S") or item.get("providerCreatedAt", {}).get("S"),
            updated_at=item.get("updatedAt", {}).get("S"),
            stop_id=int(stop) if stop is not None else None,
        )

    def mark_opt_in(self, seen: StoredOptOut, mark: OptInMark, now: str | None = None) -> bool:
        """Put the opt-in's evidence on the item, if nobody wrote it since ``seen`` was read (False if so)."""
        values: dict[str, Any] = {}
        sets = []
        fields = {
            "optInEventId": mark.event_id,
            "optInSource": mark.source,
            "optInConsentSource": mark.consent_source,
            "optInConsentAt": mark.consent_at,
            "optInConsentText": mark.consent_text,
            "optInOccurredAt": mark.occurred_at,
            "optInRequestedAt": now or utc_now(),
        }
        for attribute, value in fields.items():
            if value:
                values[f":{attribute}"] = {"S": value}
                sets.append(f"{attribute} = :{attribute}")
        if seen.updated_at is None:
            condition = "attribute_exists(phoneNumber) AND attribute_not_exists(updatedAt)"
        else:
            condition = "updatedAt = :seen"
            values[":seen"] = {"S": seen.updated_at}
        return conditional_write(
            "mark the opt-in",
            lambda: self._client.update_item(
                TableName=self.name,
                Key={"phoneNumber": {"S": seen.phone_number}},
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            ),
        )

    def delete_opted_in(self, number: str, event_id: str) -> bool:
        """Delete the item if it still carries this opt-in's mark (False: an opt-out was recorded meanwhile)."""
        return conditional_write(
            "delete the opted-in number",
            lambda: self._client.delete_item(
                TableName=self.name,
                Key={"phoneNumber": {"S": number}},
                ConditionExpression="optInEventId = :event",
                ExpressionAttributeValues={":event": {"S": event_id}},
            ),
        )

    def _conditional(self, action: str, write: Callable[[], object]) -> bool:
        return conditional_write(action, write)

    # --- erasure -------------------------------------------------------------------------------------------
    def forget_details(self, number: str, kept_sources: Collection[str]) -> bool:
        """Remove the free text of the number's item (``optOutReason``, ``optInConsentText``), and its
        ``source`` and ``optInSource`` unless they are one of ``kept_sources``; False when there is no item.
        The item stays: the number is still opted out. Conditional on the item, so none is created."""
        found = conditional_write(
            "erase the item's details",
            lambda: self._client.update_item(
                TableName=self.name,
                Key={"phoneNumber": {"S": number}},
                UpdateExpression="REMOVE optOutReason, optInConsentText",
                ConditionExpression="attribute_exists(phoneNumber)",
            ),
        )
        if found:
            for attribute in ("source", "optInSource"):
                self._remove_unless(number, attribute, kept_sources)
        return found

    def _remove_unless(self, number: str, attribute: str, kept: Collection[str]) -> None:
        values = {f":k{index}": {"S": value} for index, value in enumerate(sorted(kept))}
        conditional_write(
            "erase the item's source",
            lambda: self._client.update_item(
                TableName=self.name,
                Key={"phoneNumber": {"S": number}},
                UpdateExpression="REMOVE #a",
                ConditionExpression=f"attribute_exists(#a) AND NOT #a IN ({', '.join(values)})",
                ExpressionAttributeNames={"#a": attribute},
                ExpressionAttributeValues=values,
            ),
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
        while True:
            with aws_errors("scan the table"):
                page = self._client.scan(**kwargs)
            for item in page.get("Items", []):
                key = item["phoneNumber"]["S"]
                if is_control_key(key):
                    continue
                stop = item.get("providerStopId", {}).get("N")
                created = item.get("providerCreatedAt", {}).get("S")
                yield key, ProviderFields(int(stop) if stop is not None else None, created)
            last = page.get("LastEvaluatedKey")
            if not last:
                return
            kwargs["ExclusiveStartKey"] = last

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
        assignments: dict[str, str | int | float | None] = {
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
        assignments: dict[str, str | int | float | None],
        set_if_missing: dict[str, str],
        action: str,
        remove_missing: Collection[str] = (),
    ) -> None:
        with aws_errors(action):
            self._client.update_item(
                TableName=self.name, **_update_request(number, assignments, set_if_missing, remove_missing)
            )

    def _write_opt_outs(self, updates: Sequence[dict[str, Any]]) -> list[Exception | None]:
        """The write-through's requests (``GroupWriter``): a write alone is one UpdateItem; writes that waited
        together are one TransactWriteItems, two write units an item instead of one (with on-demand capacity,
        1.25 dollars more per million opt-outs) for one request instead of ten. A transaction is cancelled
        whole when one of its items is being written by someone else (a snapshot, another instance): each
        item is then written alone, so that only the one in conflict can fail."""
        if len(updates) > 1:
            items: list[TransactWriteItemTypeDef] = [
                {
                    "Update": {
                        "TableName": self.name,
                        "Key": update["Key"],
                        "UpdateExpression": update["UpdateExpression"],
                        "ExpressionAttributeNames": update["ExpressionAttributeNames"],
                        "ExpressionAttributeValues": update["ExpressionAttributeValues"],
                    }
                }
                for update in updates
            ]
            try:
                with aws_errors("write opt-outs to the table", expected=frozenset({_TRANSACTION_CANCELED})):
                    self._client.transact_write_items(TransactItems=items)
            except ClientError as exc:
                reasons = [reason.get("Code") for reason in getattr(exc, "response", {}).get("CancellationReasons", [])]
                logger.info("write-through transaction cancelled, writing each item alone", reasons=reasons)
            except AwsServiceError as exc:
                return [exc] * len(updates)
            else:
                return [None] * len(updates)
        errors: list[Exception | None] = []
        for update in updates:
            try:
                with aws_errors("write the opt-out to the table"):
                    self._client.update_item(TableName=self.name, **update)
            except AwsServiceError as exc:
                errors.append(exc)
            else:
                errors.append(None)
        return errors

    def delete_unless_written_since(self, number: str, cutoff: str) -> bool:
        """Delete ``number`` unless it was written at or after ``cutoff`` (a write-through that raced us)."""
        return conditional_write(
            "delete an item",
            lambda: self._client.delete_item(
                TableName=self.name,
                Key={"phoneNumber": {"S": number}},
                ConditionExpression="attribute_exists(phoneNumber) AND "
                "(attribute_not_exists(updatedAt) OR updatedAt < :cutoff)",
                ExpressionAttributeValues={":cutoff": {"S": cutoff}},
            ),
        )

    def write_status(self, status: dict[str, str | int | float]) -> None:
        item: dict[str, Any] = {"phoneNumber": {"S": STATUS_KEY}}
        for name, value in status.items():
            item[name] = {"S": value} if isinstance(value, str) else {"N": str(value)}
        with aws_errors("write the snapshot status"):
            self._client.put_item(TableName=self.name, Item=item)

    def _batch_write(self, chunk: list[dict[str, Any]]) -> None:
        batch_write(self._client, self.name, chunk, self._sleep)


def conditional_write(action: str, write: Callable[[], object]) -> bool:
    """Run a conditional DynamoDB write; False when its condition did not hold, other failures translated."""
    try:
        with aws_errors(action, expected=frozenset({_CONDITION_FAILED})):
            write()
    except ClientError as exc:
        if aws_error_code(exc) == _CONDITION_FAILED:
            return False
        raise
    return True


def _update_request(
    number: str,
    assignments: dict[str, str | int | float | None],
    set_if_missing: dict[str, str],
    remove_missing: Collection[str] = (),
) -> dict[str, Any]:
    """An UpdateItem's key and expressions (without the table); every name goes through
    ExpressionAttributeNames (``source`` is a reserved word). Empty values are removed if listed in
    ``remove_missing``, left as they are otherwise."""
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
        values[f":v{index}"] = {"N": str(value)} if isinstance(value, int | float) else {"S": value}
        sets.append(f"#a{index} = :v{index}")
    for index, (attribute, value) in enumerate(set_if_missing.items()):
        names[f"#m{index}"] = attribute
        values[f":m{index}"] = {"S": value}
        sets.append(f"#m{index} = if_not_exists(#m{index}, :m{index})")
    return {
        "Key": {"phoneNumber": {"S": number}},
        "UpdateExpression": "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else ""),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def batch_write(
    client: DynamoDBClient, table_name: str, chunk: list[dict[str, Any]], sleep: Callable[[float], None]
) -> None:
    """One BatchWriteItem of at most 25 requests, what it leaves unprocessed sent again (``until_processed``)."""

    def send(request: dict[str, Any]) -> dict[str, Any]:
        return dict(client.batch_write_item(RequestItems=request))

    for _answer in until_processed(send, {table_name: chunk}, "UnprocessedItems", "batch-write items", sleep=sleep):
        pass


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

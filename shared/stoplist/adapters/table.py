"""Access to the StopListTable (DynamoDB): one item per opted-out number, key ``phoneNumber`` in E.164.

Item attributes (docs/data-model.md documents them for readers):
``phoneNumber`` (S, key), ``providerStopId`` (N), ``providerCreatedAt`` (S, as the provider writes it),
``source``, ``eventId``, ``optOutReason`` (S, from the opt-out event), ``optedOutAt`` (S, ISO 8601 UTC),
``recordedBy`` (S: ``optout`` or ``snapshot``, who wrote the item first), ``firstSeenAt`` and
``updatedAt`` (S, ISO 8601 UTC, fixed width so that they sort as text). ``optedOutAt`` is the latest opt-out the
table has seen for the number and never moves backwards (a conditional write); ``eventOptedOutAt`` is when the
opt-out of ``eventId`` counts. ``providerEntries`` (L of M ``{id, createdAt}``) lists every entry of the list
that normalises to the number, as the last snapshot saw them; ``addedStopIds`` (NS) the entries this
application's own ``add`` created (their time is the opt-out that added them, not their ``createdAt``).
``honouredAt`` (S) and ``honourSeconds`` (N) are those of the last opt-out written through
(``stoplist.domain.honour``).
While a re-opt-in is under way the item also carries its evidence (``optInEventId``, ``optInSource``,
``optInConsentSource``, ``optInConsentAt``, ``optInConsentText``, ``optInOccurredAt``, ``optInRequestedAt``):
the delete that ends the opt-in is conditional on ``optInEventId``, and the stream's REMOVE record then
carries who opted the number in and on what consent. An opt-out written through meanwhile removes them.
Items whose key starts with ``#`` are the table's own (``stoplist.domain.keys``): ``#snapshot-status`` holds the
last snapshot's status, ``#snapshot-lease`` is held by the running snapshot; neither is ever an E.164 number.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from botocore.exceptions import ClientError

from stoplist.adapters.aws import CONDITION_FAILED, aws_errors, conditional_write
from stoplist.adapters.group_write import GroupWriter
from stoplist.domain.keys import STATUS_KEY, is_control_key
from stoplist.domain.ports import ListedEntry, OptInMark, OptOutRecord, ProviderFields, StoredOptOut, utc_now
from stoplist.errors import AwsServiceError
from stoplist.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

TRANSACT_WRITE_LIMIT = 100  # actions in one TransactWriteItems
_TRANSACTION_CANCELED = "TransactionCanceledException"
_CONDITION_CANCELLED = "ConditionalCheckFailed"  # an item's code in a cancelled transaction's CancellationReasons
# A write alone and its ``otherwise``, tried in turn: each failure means another write changed the item meanwhile.
ALTERNATIONS = 3
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
    "providerEntries",
    "addedStopIds",
    "source",
    "eventId",
    "optOutReason",
    "optedOutAt",
    "eventOptedOutAt",
    "recordedBy",
    "firstSeenAt",
    "updatedAt",
    "honouredAt",
    "honourSeconds",
    *OPT_IN_MARK_ATTRIBUTES,
)


class StopListTable:
    """A number's item as the events write it: ``OptOutStore``, ``OptInStore`` and ``ErasureStore``
    (``stoplist.domain.ports``). The snapshot's reads and writes are ``SnapshotTable``'s."""

    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self.name = table_name
        self._client = client
        # Concurrent records' write-throughs leave together (stoplist.adapters.group_write).
        self._write_through: GroupWriter[ItemUpdate] = GroupWriter(
            lambda updates: write_updates(client, table_name, updates),
            key=lambda update: update.request["Key"]["phoneNumber"]["S"],
            limit=TRANSACT_WRITE_LIMIT,
        )

    # --- write-through from the opt-out handlers ----------------------------------------------------------
    def record_opt_out(self, record: OptOutRecord, now: str | None = None) -> None:
        """Upsert the number with its audit fields (``opt_out_update``); concurrent records' leave together."""
        self._write_through.write(opt_out_update(record, now or utc_now()))

    # --- re-opt-in -----------------------------------------------------------------------------------------
    def read(self, number: str) -> StoredOptOut | None:
        """A strongly consistent read of the number's item; None when it is not in the table."""
        with aws_errors("read the table"):
            answer = self._client.get_item(TableName=self.name, Key={"phoneNumber": {"S": number}}, ConsistentRead=True)
        item = answer.get("Item")
        if item is None:
            return None
        return StoredOptOut(
            phone_number=number,
            opted_out_at=item.get("optedOutAt", {}).get("S"),
            updated_at=item.get("updatedAt", {}).get("S"),
            listed=_provider_fields(item).entries,
            added_stop_ids=frozenset(int(value) for value in item.get("addedStopIds", {}).get("NS", [])),
            opt_in_under_way="optInEventId" in item,
        )

    def mark_opt_in(self, seen: StoredOptOut, mark: OptInMark, now: str | None = None) -> bool:
        """Put the opt-in's evidence on the item, if nobody wrote it since ``seen`` was read (False if so)."""
        values: dict[str, Any] = {}
        sets = []
        for attribute, value in opt_in_mark_attributes(mark, now or utc_now()).items():
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

    def note_added(self, number: str, stop_id: int) -> None:
        self._conditional(
            "note the provider's entry",
            lambda: self._client.update_item(
                TableName=self.name,
                Key={"phoneNumber": {"S": number}},
                UpdateExpression="ADD addedStopIds :id",
                ConditionExpression="attribute_exists(phoneNumber)",
                ExpressionAttributeValues={":id": {"NS": [str(stop_id)]}},
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


class SnapshotTable:
    """What the snapshot reads and writes of the stop-list table: ``SnapshotStore`` (``stoplist.domain.ports``)."""

    batch_write_limit: ClassVar[int] = TRANSACT_WRITE_LIMIT

    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self.name = table_name
        self._client = client

    def scan_segment(self, segment: int, total_segments: int) -> Iterator[tuple[str, ProviderFields]]:
        """One segment of a parallel scan, projected to what the snapshot compares."""
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "ProjectionExpression": "phoneNumber, providerStopId, providerCreatedAt, providerEntries",
            "Segment": segment,
            "TotalSegments": total_segments,
        }
        while True:
            with aws_errors("scan the table"):
                page = self._client.scan(**kwargs)
            for item in page.get("Items", []):
                key = item["phoneNumber"]["S"]
                if not is_control_key(key):
                    yield key, _provider_fields(item)
            last = page.get("LastEvaluatedKey")
            if not last:
                return
            kwargs["ExclusiveStartKey"] = last

    def put_new(self, entries: Iterable[tuple[str, ProviderFields]], now: str) -> int:
        """Write numbers the table did not have at the scan (100 a transaction); returns the items written.

        Upserts, never puts: an opt-out written through between the snapshot's scan and this write keeps its
        ``optedOutAt`` and ``addedStopIds``. A BatchWriteItem put would replace the item whole, and a re-opt-in
        could then win against a STOP it never saw (found by the interleaving checker, docs/ordering-checker.md).
        The price: two write units an item instead of one, on additions only (the provider's own STOPs)."""
        updates = [ItemUpdate(_provider_update(number, fields, now)) for number, fields in entries]
        for start in range(0, len(updates), TRANSACT_WRITE_LIMIT):
            errors = write_updates(self._client, self.name, updates[start : start + TRANSACT_WRITE_LIMIT])
            failed = next((error for error in errors if error is not None), None)
            if failed is not None:
                raise failed
        return len(updates)

    def merge_provider_fields(self, number: str, fields: ProviderFields, now: str) -> None:
        """Update the provider's entries on an item, keeping its audit fields."""
        with aws_errors("update an item"):
            self._client.update_item(TableName=self.name, **_provider_update(number, fields, now))

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


@dataclass(frozen=True)
class ItemUpdate:
    """One UpdateItem (key and expressions, without the table) and, for a conditional one, the UpdateItem to send
    instead when its condition fails: one on the opposite condition, so that exactly one of the two holds."""

    request: dict[str, Any]
    otherwise: dict[str, Any] | None = None


def opt_out_update(record: OptOutRecord, now: str) -> ItemUpdate:
    """The write-through of an opt-out: the item upserted with its audit fields, provider fields already there
    kept. ``optedOutAt`` never moves backwards, and nothing is read first: the write sets it to
    ``record.opted_out_at`` on condition that it is not later already; when a later opt-out is recorded, the
    same write without ``optedOutAt`` goes instead, on the opposite condition (DynamoDB's SET has no maximum,
    nor an assignment under a condition of its own: ``if_not_exists`` only tells a missing attribute from a
    present one). One request when the opt-out is the number's latest, the usual case; two when an older one
    arrives late (a replay)."""
    assignments: dict[str, str | int | float | None] = {
        "updatedAt": now,
        "eventId": record.event_id,
        "eventOptedOutAt": record.opted_out_at,
        "source": record.source,
        "optOutReason": record.reason,
        "providerStopId": record.stop_id,
        "honouredAt": record.honoured_at,
        "honourSeconds": record.honour_seconds,
        # An opt-out cancels a re-opt-in under way: its conditional delete will not match any more.
        **dict.fromkeys(OPT_IN_MARK_ATTRIBUTES),
    }

    def request(latest: bool) -> dict[str, Any]:
        update = _update_request(
            record.phone_number,
            {**assignments, "optedOutAt": record.opted_out_at} if latest else assignments,
            set_if_missing={"recordedBy": "optout", "firstSeenAt": now},
            remove_missing=(*OPT_IN_MARK_ATTRIBUTES, "honouredAt", "honourSeconds"),
            add_to_set={"addedStopIds": record.stop_id} if record.stop_id is not None else None,
        )
        update["ExpressionAttributeNames"]["#latest"] = "optedOutAt"
        update["ExpressionAttributeValues"][":latest"] = {"S": record.opted_out_at}
        update["ConditionExpression"] = (
            "attribute_not_exists(#latest) OR #latest <= :latest" if latest else "#latest > :latest"
        )
        return update

    return ItemUpdate(request(latest=True), otherwise=request(latest=False))


def write_updates(client: DynamoDBClient, table_name: str, updates: Sequence[ItemUpdate]) -> list[Exception | None]:
    """UpdateItems written together: the write-through's (``GroupWriter``) and the snapshot's additions. A
    write alone is one UpdateItem; writes that waited together are one TransactWriteItems, two write units
    an item instead of one (with on-demand capacity, 1.25 dollars more per million opt-outs) for one request
    instead of ten. A transaction is cancelled whole when one of its items' condition fails (an older opt-out
    arriving late) or when one is being written by someone else (a snapshot, another instance). When the
    ``CancellationReasons`` name only failed conditions, the same items go again in one transaction, those
    items as their ``otherwise``; otherwise each item is written alone, so that only the one in conflict can
    fail."""
    use_otherwise = [False] * len(updates)
    reasons: list[str] = []
    for _ in range(2 if len(updates) > 1 else 0):
        try:
            cancelled = _transact(client, table_name, updates, use_otherwise)
        except AwsServiceError as exc:
            return [exc] * len(updates)
        if cancelled is None:
            return [None] * len(updates)
        reasons = cancelled if len(cancelled) == len(updates) else ["unknown"] * len(updates)
        failed = [reason == _CONDITION_CANCELLED for reason in reasons]
        use_otherwise = [used != flag for used, flag in zip(use_otherwise, failed, strict=True)]
        # Failed conditions alone, each with a write on the opposite one: the same items again, in one request.
        again = any(failed) and set(reasons) <= {_CONDITION_CANCELLED, "None"}
        if not again or any(update.otherwise is None for flag, update in zip(failed, updates, strict=True) if flag):
            break
    if reasons:
        logger.info("write-through transaction cancelled, writing each item alone", reasons=reasons)
    return [
        _write_alone(client, table_name, update, otherwise_first)
        for update, otherwise_first in zip(updates, use_otherwise, strict=True)
    ]


def _transact(
    client: DynamoDBClient, table_name: str, updates: Sequence[ItemUpdate], use_otherwise: Sequence[bool]
) -> list[str] | None:
    """One TransactWriteItems of ``updates`` (each as its ``otherwise`` where asked): None when written, the
    items' cancellation codes when cancelled (empty if DynamoDB gave none); other failures raise."""
    chosen = [
        update.otherwise if otherwise and update.otherwise is not None else update.request
        for update, otherwise in zip(updates, use_otherwise, strict=True)
    ]
    items: list[TransactWriteItemTypeDef] = [
        {"Update": {"TableName": table_name, **request}}  # type: ignore[typeddict-item]
        for request in chosen
    ]
    try:
        with aws_errors("write to the table", expected=frozenset({_TRANSACTION_CANCELED})):
            client.transact_write_items(TransactItems=items)
    except ClientError as exc:
        return [str(reason.get("Code")) for reason in exc.response.get("CancellationReasons", [])]
    return None


def _write_alone(
    client: DynamoDBClient, table_name: str, update: ItemUpdate, otherwise_first: bool
) -> Exception | None:
    """One UpdateItem, or its ``otherwise`` when its condition fails (first, when it failed in a transaction).
    The two conditions are opposite, so the second fails only if another write changed the item in between:
    the writes alternate ``ALTERNATIONS`` times before the record fails and is retried later."""
    choices = [update.request] if update.otherwise is None else [update.request, update.otherwise]
    if otherwise_first:
        choices.reverse()
    for attempt in range(ALTERNATIONS if update.otherwise is not None else 1):
        try:
            with aws_errors("write to the table", expected=frozenset({CONDITION_FAILED})):
                client.update_item(TableName=table_name, **choices[attempt % len(choices)])
        except ClientError:
            continue  # the condition failed (aws_errors translated every other code)
        except AwsServiceError as exc:
            return exc
        return None
    return AwsServiceError(f"cannot write to the table: {CONDITION_FAILED}", CONDITION_FAILED)


def _update_request(
    number: str,
    assignments: dict[str, str | int | float | None],
    set_if_missing: dict[str, str],
    remove_missing: Collection[str] = (),
    add_to_set: dict[str, int] | None = None,
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
    adds = []
    for index, (attribute, member) in enumerate((add_to_set or {}).items()):
        names[f"#s{index}"] = attribute
        values[f":s{index}"] = {"NS": [str(member)]}
        adds.append(f"#s{index} :s{index}")
    return {
        "Key": {"phoneNumber": {"S": number}},
        "UpdateExpression": "SET "
        + ", ".join(sets)
        + (" REMOVE " + ", ".join(removes) if removes else "")
        + (" ADD " + ", ".join(adds) if adds else ""),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def opt_in_mark_attributes(mark: OptInMark, requested_at: str) -> dict[str, str | None]:
    """The item attributes that carry a re-opt-in's evidence (``OPT_IN_MARK_ATTRIBUTES``), empty ones None."""
    return {
        "optInEventId": mark.event_id,
        "optInSource": mark.source,
        "optInConsentSource": mark.consent_source,
        "optInConsentAt": mark.consent_at,
        "optInConsentText": mark.consent_text,
        "optInOccurredAt": mark.occurred_at,
        "optInRequestedAt": requested_at,
    }


def _entries_value(fields: ProviderFields) -> dict[str, Any]:
    entries: list[dict[str, Any]] = []
    for entry in fields.entries:
        value: dict[str, Any] = {}
        if entry.stop_id is not None:
            value["id"] = {"N": str(entry.stop_id)}
        if entry.created_at is not None:
            value["createdAt"] = {"S": entry.created_at}
        entries.append({"M": value})
    return {"L": entries}


def _provider_fields(item: dict[str, Any]) -> ProviderFields:
    """The provider's entries an item records; an item written before ``providerEntries`` existed has one."""
    listed = item.get("providerEntries", {}).get("L")
    if listed is None:
        stop = item.get("providerStopId", {}).get("N")
        created = item.get("providerCreatedAt", {}).get("S")
        if stop is None and created is None:
            return ProviderFields(())
        return ProviderFields((ListedEntry(int(stop) if stop is not None else None, created),))
    entries = []
    for value in listed:
        fields = value.get("M", {})
        stop = fields.get("id", {}).get("N")
        entries.append(ListedEntry(int(stop) if stop is not None else None, fields.get("createdAt", {}).get("S")))
    return ProviderFields.of(entries)


def _provider_update(number: str, fields: ProviderFields, now: str) -> dict[str, Any]:
    """The snapshot's upsert of a number's provider entries (an UpdateItem without its table)."""
    assignments: dict[str, str | int | float | None] = {
        "updatedAt": now,
        "providerStopId": fields.stop_id,
        "providerCreatedAt": fields.created_at,
    }
    request = _update_request(
        number,
        assignments,
        set_if_missing={"recordedBy": "snapshot", "firstSeenAt": now},
        remove_missing={"providerStopId", "providerCreatedAt"},
    )
    request["ExpressionAttributeNames"]["#entries"] = "providerEntries"
    request["ExpressionAttributeValues"][":entries"] = _entries_value(fields)
    request["UpdateExpression"] = request["UpdateExpression"].replace("SET ", "SET #entries = :entries, ", 1)
    return request

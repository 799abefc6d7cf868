"""Reads the records of a DynamoDB stream event (Lambda's shape) into the domain's StreamRecord."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from stoplist.domain.changes import StreamRecord, stream_time

_deserialize = TypeDeserializer().deserialize


def stream_records(event: dict[str, Any]) -> list[StreamRecord]:
    return [stream_record(raw) for raw in event.get("Records", [])]


def stream_record(raw: dict[str, Any]) -> StreamRecord:
    change = raw.get("dynamodb", {})
    return StreamRecord(
        event_id=str(raw.get("eventID", "")),
        event_name=str(raw.get("eventName", "")),
        sequence_number=str(change.get("SequenceNumber", "")),
        created_at=stream_time(float(change.get("ApproximateCreationDateTime", 0))),
        new_image=_image(change.get("NewImage")),
        old_image=_image(change.get("OldImage")),
    )


def _image(image: dict[str, Any] | None) -> dict[str, Any]:
    """Attribute values to plain values; numbers (Decimal) to int, or float when they have a fraction
    (``honourSeconds``)."""
    plain = {name: _deserialize(value) for name, value in (image or {}).items()}
    return {name: _plain_number(value) if isinstance(value, Decimal) else value for name, value in plain.items()}


def _plain_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)

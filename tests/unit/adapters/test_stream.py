"""The stream adapter (stoplist.adapters.stream): a DynamoDB stream event in Lambda's shape, read into the
domain's StreamRecord with plain values."""

from __future__ import annotations

from datetime import UTC, datetime

from stoplist.adapters.stream import stream_records


def test_a_record_reads_its_images_as_plain_values() -> None:
    event = {
        "Records": [
            {
                "eventID": "ev-1",
                "eventName": "MODIFY",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1772355600,
                    "SequenceNumber": "111",
                    "NewImage": {
                        "phoneNumber": {"S": "+33612345678"},
                        "providerStopId": {"N": "42"},
                        "honourSeconds": {"N": "1.25"},
                        "addedStopIds": {"NS": ["7"]},
                        "providerEntries": {"L": [{"M": {"id": {"N": "42"}}}]},
                    },
                    "OldImage": {"phoneNumber": {"S": "+33612345678"}},
                },
            }
        ]
    }
    [record] = stream_records(event)
    assert (record.event_id, record.event_name, record.sequence_number) == ("ev-1", "MODIFY", "111")
    assert record.created_at == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert record.new_image["providerStopId"] == 42  # an int, not a Decimal
    assert record.new_image["honourSeconds"] == 1.25  # a float when it has a fraction
    assert record.old_image == {"phoneNumber": "+33612345678"}


def test_a_record_without_images_has_empty_ones() -> None:
    [record] = stream_records({"Records": [{"eventID": "ev-2", "eventName": "REMOVE", "dynamodb": {}}]})
    assert (record.new_image, record.old_image) == ({}, {})

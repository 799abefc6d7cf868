"""DeadLetterQueue (stoplist.adapters.dead_letters) with a recording SQS client: the body unchanged, the reason and
the event's first receipt as attributes, what SQS would refuse made safe, a body too large cut and marked."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest
from botocore.exceptions import ClientError
from stoplist.adapters.dead_letters import DeadLetterQueue
from stoplist.domain.ports import DeadLetter, DeadLetterSink
from stoplist.errors import AwsServiceError


class RecordingSqs:
    def __init__(self, error: str | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self.error = error

    def send_message(self, **request: Any) -> dict[str, Any]:
        if self.error:
            raise ClientError({"Error": {"Code": self.error, "Message": "+33612345678 refused"}}, "SendMessage")
        self.sent.append(request)
        return {"MessageId": "m"}


def queue(client: RecordingSqs) -> DeadLetterSink:
    return DeadLetterQueue("https://sqs/dlq", cast(Any, client))


def letter(body: str = '{"phoneNumber": "3639"}', **changes: Any) -> DeadLetter:
    fields: dict[str, Any] = {
        "body": body,
        "reason": "rejected: not a valid phone number",
        "error_type": "invalid_phone_number",
        "event_id": "e-1",
        "original_message_id": "m-1",
        "receive_count": 2,
        "received_at": datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
    }
    return DeadLetter(**(fields | changes))


def attributes(request: dict[str, Any]) -> dict[str, str]:
    return {name: value["StringValue"] for name, value in request["MessageAttributes"].items()}


def test_the_body_goes_unchanged_with_its_reason_and_first_receipt() -> None:
    client = RecordingSqs()
    queue(client).send(letter())
    [sent] = client.sent
    assert sent["MessageBody"] == '{"phoneNumber": "3639"}'
    found = attributes(sent)
    assert {name: found[name] for name in ("errorType", "eventId", "originalMessageId", "receiveCount")} == {
        "errorType": "invalid_phone_number",
        "eventId": "e-1",
        "originalMessageId": "m-1",
        "receiveCount": "2",
    }
    assert found["receivedAt"] == "2026-03-01T09:00:00.000000Z"
    assert found["reason"].startswith("rejected: ")


def test_characters_sqs_refuses_are_replaced_and_an_empty_body_is_named() -> None:
    client = RecordingSqs()
    queue(client).send(letter(body="\x00stop\x1f", event_id="bad\x01id"))
    queue(client).send(letter(body=""))
    first, empty = client.sent
    assert first["MessageBody"] == "\ufffdstop\ufffd"
    assert attributes(first)["eventId"] == "bad\ufffdid"
    assert empty["MessageBody"] == "(empty message body)"


def test_a_body_too_large_for_sqs_is_cut_and_marked_not_replayable() -> None:
    client = RecordingSqs()
    queue(client).send(letter(body="x" * 300_000))
    [sent] = client.sent
    assert len(sent["MessageBody"].encode()) < 256 * 1024
    assert attributes(sent)["bodyTruncated"] == "true"
    assert len(attributes(sent)["bodySha256"]) == 64


def test_a_refusal_keeps_only_the_error_code() -> None:
    with pytest.raises(AwsServiceError) as raised:
        queue(RecordingSqs(error="AccessDenied")).send(letter())
    assert str(raised.value) == "cannot send to the dead-letter queue: AccessDenied"

"""Dead-letter queue adapter: the original message, unchanged (so it can be redriven), with the reason attached.

Reasons travel as message attributes: ``reason`` (a sentence), ``errorType`` (short code), ``eventId``,
``failedAt`` (ISO 8601 UTC), ``receivedAt`` (when the event first reached the stack, which a replay keeps) and,
when it came from SQS, ``originalMessageId`` and ``receiveCount``.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from stoplist.adapters.aws import aws_errors
from stoplist.adapters.opt_out_queue import RECEIVED_AT
from stoplist.domain.ordering import utc_text
from stoplist.domain.ports import DeadLetter

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# SQS counts body and attributes together against its 256 KiB limit; leave room for the attributes.
_MAX_BODY_BYTES = 256 * 1024 - 4096


class DeadLetterQueue:
    """Implements ``DeadLetterSink`` (``stoplist.domain.ports``)."""

    def __init__(self, queue_url: str, client: SQSClient) -> None:
        self._queue_url = queue_url
        self._client = client

    def send(self, letter: DeadLetter) -> None:
        attributes: dict[str, str] = {
            "reason": letter.reason[:1000] or "unknown",
            "errorType": letter.error_type,
            "failedAt": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if letter.event_id:
            attributes["eventId"] = letter.event_id[:256]
        if letter.original_message_id:
            attributes["originalMessageId"] = letter.original_message_id
        if letter.receive_count is not None:
            attributes["receiveCount"] = str(letter.receive_count)
        if letter.received_at is not None:
            attributes[RECEIVED_AT] = utc_text(letter.received_at)
        body = letter.body
        encoded = body.encode("utf-8", errors="replace")
        if len(encoded) > _MAX_BODY_BYTES:
            attributes["bodyTruncated"] = "true"
            attributes["bodySha256"] = hashlib.sha256(encoded).hexdigest()
            body = encoded[:_MAX_BODY_BYTES].decode("utf-8", errors="ignore")
        if not body:
            body = "(empty message body)"  # SQS refuses an empty body
        # Attribute values come from producers (eventId) and the provider (reason): SQS refuses the same
        # characters in them as in a body, and would refuse the whole message, reason and all.
        message_attributes: dict[str, Any] = {
            name: {"DataType": "String", "StringValue": _sqs_safe(value)} for name, value in attributes.items()
        }
        with aws_errors("send to the dead-letter queue"):
            self._client.send_message(
                QueueUrl=self._queue_url, MessageBody=_sqs_safe(body), MessageAttributes=message_attributes
            )


def _sqs_safe(text: str) -> str:
    """SQS accepts only #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF in a body and in
    a String attribute value; anything else becomes U+FFFD."""
    return "".join(
        char
        if char in "\t\n\r" or 0x20 <= ord(char) <= 0xD7FF or 0xE000 <= ord(char) <= 0xFFFD or ord(char) >= 0x10000
        else "\ufffd"
        for char in text
    )

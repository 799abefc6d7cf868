"""Dead-letter queue adapter: the original message, unchanged (so it can be redriven), with the reason attached.

Reasons travel as message attributes: ``reason`` (a sentence), ``errorType`` (short code), ``eventId``,
``failedAt`` (ISO 8601 UTC) and, when it came from SQS, ``originalMessageId`` and ``receiveCount``.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from stoplist.errors import aws_error

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# SQS counts body and attributes together against its 256 KiB limit; leave room for the attributes.
_MAX_BODY_BYTES = 256 * 1024 - 4096


class DeadLetterQueue:
    def __init__(self, queue_url: str, client: SQSClient | None = None) -> None:
        self._queue_url = queue_url
        self._client = client or boto3.client("sqs")

    def send(
        self,
        body: str,
        reason: str,
        error_type: str,
        event_id: str | None = None,
        original_message_id: str | None = None,
        receive_count: int | None = None,
    ) -> None:
        attributes: dict[str, str] = {
            "reason": reason[:1000] or "unknown",
            "errorType": error_type,
            "failedAt": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if event_id:
            attributes["eventId"] = event_id[:256]
        if original_message_id:
            attributes["originalMessageId"] = original_message_id
        if receive_count is not None:
            attributes["receiveCount"] = str(receive_count)
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
        try:
            self._client.send_message(
                QueueUrl=self._queue_url, MessageBody=_sqs_safe(body), MessageAttributes=message_attributes
            )
        except (ClientError, BotoCoreError) as exc:
            raise aws_error("send to the dead-letter queue", exc) from None


def _sqs_safe(text: str) -> str:
    """SQS accepts only #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF in a body and in
    a String attribute value; anything else becomes U+FFFD."""
    return "".join(
        char
        if char in "\t\n\r" or 0x20 <= ord(char) <= 0xD7FF or 0xE000 <= ord(char) <= 0xFFFD or ord(char) >= 0x10000
        else "\ufffd"
        for char in text
    )

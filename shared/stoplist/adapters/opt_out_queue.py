"""OptOutQueue, the one adapter to the queue every opt-out goes through.

It implements two ports (``stoplist.domain.ports``):

- ``OptOutPublisher`` (``publish``): the HTTP doors send an opt-out event there, the event contract as the JSON
  body, as any producer does; the queue's function does the provider call, its retries and its dead letters, so
  a person's request never waits on SMS Partner.
- ``RetryQueue`` (``postpone``, ``requeue``), for the opt-out handlers: ``postpone`` sets a received message's
  visibility (the record's backoff); ``requeue`` sends a body as a new message: the bus function's hand-over
  after a transient failure, and a throttled record, which must not spend a receive (see ``OptOutService``).
  The original message id rides along as an attribute, so that an event without ``eventId`` keeps its id.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from stoplist.adapters.aws import aws_errors
from stoplist.domain.ordering import parse_time, to_utc, utc_text

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

ORIGINAL_MESSAGE_ID = "originalMessageId"
# When the event first reached the queue or the bus (UTC text): a requeued message is sent again later, and the
# ordering rule never counts an event later than its first receipt.
RECEIVED_AT = "receivedAt"
# On an erasure sent again for its second run (stoplist.domain.dispatch).
ERASURE_RECHECK = "erasureRecheck"


def received_at(carried: str | None, sent_timestamp: str | None) -> datetime:
    """A record's first receipt: the carried attribute, else SQS's ``SentTimestamp`` (epoch milliseconds)."""
    if carried:
        try:
            return to_utc(parse_time(carried))
        except ValueError:
            pass  # not ours: fall back to the queue's own time
    if sent_timestamp and sent_timestamp.isdigit():
        return datetime.fromtimestamp(int(sent_timestamp) / 1000, UTC)
    return datetime.now(UTC)


class OptOutQueue:
    def __init__(self, *, queue_url: str, client: SQSClient) -> None:
        self._queue_url = queue_url
        self._client = client

    def publish(self, event: Mapping[str, str]) -> None:
        self.requeue(json.dumps(event), delay_seconds=0, original_message_id=None, received=None)

    def postpone(self, receipt_handle: str, seconds: int) -> None:
        with aws_errors("change the visibility of the message"):
            self._client.change_message_visibility(
                QueueUrl=self._queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
            )

    def requeue(
        self,
        body: str,
        delay_seconds: int,
        original_message_id: str | None,
        received: datetime | None,
        erasure_recheck: bool = False,
    ) -> None:
        attributes: dict[str, Any] = {}
        if erasure_recheck:
            attributes[ERASURE_RECHECK] = {"DataType": "String", "StringValue": "true"}
        if original_message_id:
            attributes[ORIGINAL_MESSAGE_ID] = {"DataType": "String", "StringValue": original_message_id}
        if received is not None:
            attributes[RECEIVED_AT] = {"DataType": "String", "StringValue": utc_text(received)}
        with aws_errors("send to the opt-out queue"):
            self._client.send_message(
                QueueUrl=self._queue_url, MessageBody=body, DelaySeconds=delay_seconds, MessageAttributes=attributes
            )

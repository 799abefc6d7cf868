"""Behaves like Lambda's SQS event source mapping, against a real (moto) queue.

Receives up to BatchSize messages, invokes the handler with a real SQS event, deletes the records the
handler did not report in ``batchItemFailures`` (all of them stay when the invocation raised), and leaves
the failures to come back after their visibility timeout; the queue's own redrive policy moves a message to
its dead-letter queue after maxReceiveCount receives. Like the event source mapping, the poller never changes
a message's visibility itself: the handler's ``ChangeMessageVisibility`` (the record's backoff) stands.
Locally the queue's own visibility timeout, which applies to records the handler did not postpone, is
shortened (``retry_delay_seconds``, set on the queue) so that such retries happen in seconds, not minutes.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3


@dataclass
class PollStats:
    batches: int = 0
    received: int = 0
    deleted: int = 0
    failed: int = 0
    invocation_errors: int = 0
    last_invocation_error: str = ""


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str = "eu-west-3") -> dict[str, Any]:
    """The event Lambda passes for these received messages (same keys and casing as AWS)."""
    records = []
    now = str(int(time.time() * 1000))  # a message given without its attributes was sent now
    for message in messages:
        attributes = message.get("Attributes", {})
        records.append(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {
                    "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
                    "SentTimestamp": attributes.get("SentTimestamp", now),
                    "SenderId": attributes.get("SenderId", "AIDAEXAMPLE"),
                    "ApproximateFirstReceiveTimestamp": attributes.get("ApproximateFirstReceiveTimestamp", now),
                },
                "messageAttributes": {
                    name: {
                        "stringValue": value.get("StringValue"),
                        "binaryValue": value.get("BinaryValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": value["DataType"],
                    }
                    for name, value in message.get("MessageAttributes", {}).items()
                },
                "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}


DEPTH_ATTRIBUTES = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",  # requeued (throttled) records and bus hand-overs wait here
)


def queue_depth(sqs: Any, queue_url: str) -> int:
    """Messages in the queue: visible, in flight, or delayed."""
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=list(DEPTH_ATTRIBUTES))["Attributes"]
    return sum(int(attributes.get(name, 0)) for name in DEPTH_ATTRIBUTES)


class SqsEventSourcePoller:
    def __init__(
        self,
        queue_url: str,
        queue_arn: str,
        invoke: Callable[[dict[str, Any]], Any],
        batch_size: int = 10,
        retry_delay_seconds: int = 1,
        sqs: Any = None,
        batching_window_seconds: float = 0.0,
    ) -> None:
        """``batching_window_seconds``: as the event source's MaximumBatchingWindowInSeconds, a batch is
        invoked once it is full or that long after its first message arrived (0: at once)."""
        self._url = queue_url
        self._arn = queue_arn
        self._invoke = invoke
        self._batch_size = min(batch_size, 10)  # ReceiveMessage's own limit
        self._sqs: Any = sqs or boto3.client("sqs")
        self._sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"VisibilityTimeout": str(retry_delay_seconds)})
        self._window = batching_window_seconds
        self.stats = PollStats()

    def poll_once(self, wait_seconds: int = 0) -> int:
        """One receive and one invocation; returns how many messages were received."""
        messages: list[dict[str, Any]] = self._sqs.receive_message(
            QueueUrl=self._url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        messages += self._fill(len(messages))
        self.stats.batches += 1
        self.stats.received += len(messages)
        by_id = {message["MessageId"]: message for message in messages}
        try:
            response = self._invoke(sqs_event(messages, self._arn))
            failed_ids = {item["itemIdentifier"] for item in (response or {}).get("batchItemFailures", [])}
        except Exception as exc:  # noqa: BLE001 - a raising invocation fails the whole batch, exactly as in Lambda
            self.stats.invocation_errors += 1
            self.stats.last_invocation_error = f"{type(exc).__name__}: {exc}"[:300]
            failed_ids = set(by_id)
        done = [message for message_id, message in by_id.items() if message_id not in failed_ids]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            self._sqs.delete_message_batch(
                QueueUrl=self._url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        self.stats.deleted += len(done)
        self.stats.failed += len(failed_ids)
        return len(messages)

    def _fill(self, have: int) -> list[dict[str, Any]]:
        """More messages for the batch until it is full or the batching window ends."""
        more: list[dict[str, Any]] = []
        closes = time.monotonic() + self._window
        while have + len(more) < self._batch_size and time.monotonic() < closes:
            received = self._sqs.receive_message(
                QueueUrl=self._url,
                MaxNumberOfMessages=self._batch_size - have - len(more),
                WaitTimeSeconds=0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            more += received
            if not received:
                time.sleep(min(0.02, max(0.0, closes - time.monotonic())))
        return more

    def run(self, until: Callable[[], bool], idle_sleep: float = 0.02) -> PollStats:
        """Poll a steady stream until ``until()`` says so (``drain`` stops at the first empty queue)."""
        while not until():
            if self.poll_once(wait_seconds=0) == 0:
                time.sleep(idle_sleep)
        return self.stats

    def in_queue(self) -> int:
        return queue_depth(self._sqs, self._url)

    def drain(self, on_batch: Callable[[int], None] | None = None, max_batches: int = 1_000_000) -> PollStats:
        """Poll until the queue holds nothing, visible or in flight."""
        for _ in range(max_batches):
            received = self.poll_once(wait_seconds=0)
            if on_batch is not None and received:
                on_batch(received)
            if received == 0:
                if self.in_queue() == 0:
                    return self.stats
                time.sleep(0.2)  # failures are invisible until their (shortened) visibility timeout ends
        return self.stats

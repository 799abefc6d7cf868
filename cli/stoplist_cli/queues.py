"""SQS and CloudWatch reads about a queue: depth, age of the oldest message, and reading without consuming.

Reading a queue to look at it is a receive: it makes the messages invisible for the visibility timeout and
counts against the queue's ``maxReceiveCount``. So the command peeks only into dead-letter queues (which
have no redrive), hides what it read for as long as it reads (so one pass sees each message once), and
makes every message visible again at the end.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

# Long enough for one pass over a dead-letter queue of a few thousand messages.
PEEK_VISIBILITY_SECONDS = 120


def queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Depth:
    visible: int
    in_flight: int
    delayed: int

    @property
    def total(self) -> int:
        return self.visible + self.in_flight + self.delayed


def depth(sqs: Any, url: str) -> Depth:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return Depth(
        int(attributes.get("ApproximateNumberOfMessages", 0)),
        int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
    )


def oldest_age_from_cloudwatch(cloudwatch: Any, url: str, now: datetime | None = None) -> float | None:
    """The latest ``ApproximateAgeOfOldestMessage`` (AWS/SQS, 1-minute data) of the last 15 minutes, or None."""
    now = now or datetime.now(UTC)
    answer = cloudwatch.get_metric_statistics(
        Namespace="AWS/SQS",
        MetricName="ApproximateAgeOfOldestMessage",
        Dimensions=[{"Name": "QueueName", "Value": queue_name(url)}],
        StartTime=now - timedelta(minutes=15),
        EndTime=now + timedelta(minutes=1),  # a point stamped this very second is in (moto compares exactly)
        Period=60,
        Statistics=["Maximum"],
    )
    points = sorted(answer.get("Datapoints", []), key=lambda point: point["Timestamp"])
    return float(points[-1]["Maximum"]) if points else None


def oldest_age_from_messages(messages: list[dict[str, Any]], now: float | None = None) -> float | None:
    """Seconds since the earliest ``SentTimestamp`` (milliseconds) among messages read from the queue."""
    sent = [
        int(message["Attributes"]["SentTimestamp"])
        for message in messages
        if "SentTimestamp" in message.get("Attributes", {})
    ]
    if not sent:
        return None
    return max(0.0, (now if now is not None else time.time()) - min(sent) / 1000)


def receive_all(
    sqs: Any, url: str, visibility_seconds: int = PEEK_VISIBILITY_SECONDS, limit: int | None = None
) -> Iterator[dict[str, Any]]:
    """Every message of the queue once (or the first ``limit``), hidden for ``visibility_seconds`` as it is read."""
    seen: set[str] = set()
    while limit is None or len(seen) < limit:
        messages = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            VisibilityTimeout=visibility_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        fresh = [message for message in messages if message["MessageId"] not in seen]
        if not fresh:
            return
        for message in fresh:
            seen.add(message["MessageId"])
            yield message


def release(sqs: Any, url: str, messages: list[dict[str, Any]]) -> None:
    """Make messages read by ``receive_all`` visible again at once."""
    for start in range(0, len(messages), 10):
        chunk = messages[start : start + 10]
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"], "VisibilityTimeout": 0}
                for index, message in enumerate(chunk)
            ],
        )


def peek(sqs: Any, url: str, limit: int | None = None) -> list[dict[str, Any]]:
    """Read a (dead-letter) queue without consuming it."""
    messages = list(receive_all(sqs, url, limit=limit))
    release(sqs, url, messages)
    return messages

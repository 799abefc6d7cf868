"""Behaves like Lambda's DynamoDB stream event source mapping, against DynamoDB Local's stream (the twin of
devkit/poller.py for SQS).

Reads each shard in order from TRIM_HORIZON, invokes the handler with a real DynamoDB stream event of up to
BatchSize records, and moves past the records the handler did not report: with ``batchItemFailures`` it
resumes at the first reported sequence number (ReportBatchItemFailures), and when the invocation raises it
retries the same batch. After ``max_retries`` failed attempts at one position the batch is described to the
on-failure destination (the message Lambda sends: shard, first and last sequence numbers) and skipped.
Lambda's bisection of a failing batch is not emulated: the whole batch is retried.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3

from devkit.services import REGION


@dataclass
class StreamPollStats:
    batches: int = 0
    records: int = 0
    partial_failures: int = 0
    invocation_errors: int = 0
    sent_to_on_failure: int = 0
    last_invocation_error: str = ""


@dataclass
class _Position:
    kind: str = "TRIM_HORIZON"  # TRIM_HORIZON | AT_SEQUENCE_NUMBER | AFTER_SEQUENCE_NUMBER
    sequence_number: str | None = None
    failed_attempts: int = 0


def stream_event(records: list[dict[str, Any]], stream_arn: str, region: str = REGION) -> dict[str, Any]:
    """The event Lambda passes for these stream records (same keys and casing as AWS)."""
    converted = []
    for record in records:
        change = dict(record["dynamodb"])
        created = change.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            change["ApproximateCreationDateTime"] = created.replace(tzinfo=created.tzinfo or UTC).timestamp()
        converted.append(
            {
                "eventID": record["eventID"],
                "eventName": record["eventName"],
                "eventVersion": record.get("eventVersion", "1.1"),
                "eventSource": "aws:dynamodb",
                "awsRegion": region,
                "dynamodb": change,
                "eventSourceARN": stream_arn,
            }
        )
    return {"Records": converted}


@dataclass
class DynamoDbStreamPoller:
    stream_arn: str
    invoke: Callable[[dict[str, Any]], Any]
    batch_size: int = 100
    max_retries: int = 3
    on_failure: Callable[[dict[str, Any]], None] | None = None
    streams: Any = None
    stats: StreamPollStats = field(default_factory=StreamPollStats)
    _positions: dict[str, _Position] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.streams = self.streams or boto3.client("dynamodbstreams")

    def poll_once(self) -> int:
        """One batch from each shard that has records; returns how many records were handed to the handler."""
        handed = 0
        description = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            handed += self._poll_shard(shard["ShardId"])
        return handed

    def drain(self, max_rounds: int = 10_000) -> StreamPollStats:
        """Poll until a round finds no record in any shard."""
        for _ in range(max_rounds):
            if self.poll_once() == 0:
                return self.stats
        return self.stats

    def _poll_shard(self, shard_id: str) -> int:
        position = self._positions.setdefault(shard_id, _Position())
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard_id, "ShardIteratorType": position.kind}
        if position.sequence_number is not None:
            kwargs["SequenceNumber"] = position.sequence_number
        iterator = self.streams.get_shard_iterator(**kwargs).get("ShardIterator")
        if not iterator:
            return 0
        records: list[dict[str, Any]] = self.streams.get_records(ShardIterator=iterator, Limit=self.batch_size)[
            "Records"
        ]
        if not records:
            return 0
        self.stats.batches += 1
        self.stats.records += len(records)
        try:
            response = self.invoke(stream_event(records, self.stream_arn))
            failures = [item["itemIdentifier"] for item in (response or {}).get("batchItemFailures", [])]
        except Exception as exc:  # noqa: BLE001 - a raising invocation fails the whole batch, as in Lambda
            self.stats.invocation_errors += 1
            self.stats.last_invocation_error = f"{type(exc).__name__}: {exc}"[:300]
            failures = [records[0]["dynamodb"]["SequenceNumber"]]
        if not failures:
            self._move(position, "AFTER_SEQUENCE_NUMBER", records[-1]["dynamodb"]["SequenceNumber"])
            return len(records)
        self.stats.partial_failures += 1
        first_failed = min(failures, key=int)
        if first_failed != position.sequence_number or position.kind != "AT_SEQUENCE_NUMBER":
            position.failed_attempts = 0
        position.kind, position.sequence_number = "AT_SEQUENCE_NUMBER", first_failed
        position.failed_attempts += 1
        if position.failed_attempts > self.max_retries:
            self._give_up(shard_id, records, first_failed)
            self._move(position, "AFTER_SEQUENCE_NUMBER", records[-1]["dynamodb"]["SequenceNumber"])
        return len(records)

    def _give_up(self, shard_id: str, records: list[dict[str, Any]], first_failed: str) -> None:
        """What Lambda sends to the on-failure destination: a description of the batch, not the records."""
        self.stats.sent_to_on_failure += 1
        if self.on_failure is None:
            return
        self.on_failure(
            {
                "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": self.max_retries},
                "DDBStreamBatchInfo": {
                    "shardId": shard_id,
                    "startSequenceNumber": first_failed,
                    "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                    "batchSize": len(records),
                    "streamArn": self.stream_arn,
                },
            }
        )

    @staticmethod
    def _move(position: _Position, kind: str, sequence_number: str) -> None:
        position.kind, position.sequence_number, position.failed_attempts = kind, sequence_number, 0


def to_queue(sqs: Any, queue_url: str) -> Callable[[dict[str, Any]], None]:
    """An on-failure destination that is an SQS queue."""
    return lambda message: sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(message))

"""Plain helpers the tests share: sample events, the test API key and tuning, and readers of what the handlers
left behind (dead letters, table items). Fixtures live in the conftest files; this module starts nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from stoplist.observability import metrics

from devkit.lambda_runtime import LocalFunction
from devkit.template import LocalResources

EVENTS = Path(__file__).resolve().parent.parent / "events"
API_KEY = "test-key-0123456789abcdef"

# Faster retries than production, a read timeout the stand-in's "timeout" fault exceeds, no backoff between
# receives, a short circuit cooldown and no rate limit.
TEST_TUNING = {
    "PROVIDER_REQUESTS_PER_MINUTE": "6000000",  # the provider's limit out of the way (the pacing tests set theirs)
    "RETRY_BACKOFF_BASE_SECONDS": "0",  # failed records come back at once (the backoff tests set theirs)
    "CIRCUIT_COOLDOWN_SECONDS": "0.5",  # records skipped by an open circuit come back after 1 s
    "ERASURE_RECHECK_SECONDS": "0",  # an erasure's second run at once, not 15 minutes later (its test sets it)
    "PROVIDER_RETRY_BASE_DELAY_SECONDS": "0.01",
    "PUBLISH_RETRY_BASE_SECONDS": "0.01",
    "PROVIDER_RETRY_MAX_DELAY_SECONDS": "0.05",
    "PROVIDER_READ_TIMEOUT_SECONDS": "0.5",
    "PROVIDER_CONNECT_TIMEOUT_SECONDS": "0.5",
}
# The production timeouts, for the tests of a slow provider against the function's 30 s.
PRODUCTION_TIMEOUTS = {"PROVIDER_READ_TIMEOUT_SECONDS": "10", "PROVIDER_CONNECT_TIMEOUT_SECONDS": "3.05"}


def load_event(name: str) -> dict[str, Any]:
    """A sample event of events/, as the handlers would receive it now: its receipt times (each SQS record's
    ``SentTimestamp``, a bus event's ``time``) are the current time, since no opt-out or consent counts later than
    its receipt (``stoplist.domain.ordering``) and the samples' own dates lie in the past."""
    document: dict[str, Any] = json.loads((EVENTS / name).read_text())
    now = datetime.now(UTC)
    for record in document.get("Records", []):
        if "SentTimestamp" in record.get("attributes", {}):
            record["attributes"]["SentTimestamp"] = str(int(now.timestamp() * 1000))
    if "detail-type" in document:
        document["time"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return document


def local_function(resources: LocalResources, logical_id: str, module: str, **extra: str) -> LocalFunction:
    """A function of template.yaml in a fresh container, with the template's environment plus TEST_TUNING."""
    function = LocalFunction(logical_id, module, {**resources.function_env[logical_id], **TEST_TUNING, **extra})
    function.new_container()
    return function


def dead_letters(queue_url: str) -> list[dict[str, Any]]:
    """Everything in a dead-letter queue, with its attributes flattened (deleted as read)."""
    sqs: Any = boto3.client("sqs")
    found: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
        if not messages:
            return found
        for message in messages:
            attributes = {k: v.get("StringValue") for k, v in message.get("MessageAttributes", {}).items()}
            found.append({"body": message["Body"], **attributes})
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def table_items(table_name: str) -> dict[str, dict[str, Any]]:
    """The table's items by phone number, each attribute's value without its DynamoDB type."""
    client: Any = boto3.client("dynamodb")
    items: dict[str, dict[str, Any]] = {}
    for page in client.get_paginator("scan").paginate(TableName=table_name):
        for item in page["Items"]:
            items[item["phoneNumber"]["S"]] = {k: next(iter(v.values())) for k, v in item.items()}
    return items


@contextmanager
def metrics_counted() -> Iterator[dict[str, float]]:
    """Filled, when the block ends, with the metrics counted inside it, summed by name as Powertools flushes them."""
    metrics.clear_metrics()
    counted: dict[str, float] = {}
    try:
        yield counted
    finally:
        counted.update({name: float(sum(entry["Value"])) for name, entry in metrics.metric_set.items()})
        metrics.clear_metrics()

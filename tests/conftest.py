"""Shared fixtures. Integration fixtures start real local services once per session: moto server (SQS,
EventBridge, Secrets Manager), DynamoDB Local and the SMS Partner stand-in, all over HTTP on loopback."""

from __future__ import annotations

import io
import itertools
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from stoplist.observability import logger

from devkit.lambda_runtime import LocalFunction
from devkit.run import tally_metrics
from devkit.services import LocalAws, start_local_aws
from devkit.standin import SmsPartnerStandIn
from devkit.template import LocalResources, create_resources, load_template

EVENTS = Path(__file__).resolve().parent.parent / "events"
API_KEY = "test-key-0123456789abcdef"
_prefixes = itertools.count(1)


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The application's log lines, formatted by Powertools exactly as CloudWatch would receive them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    yield stream
    logger.removeHandler(handler)


def load_event(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return document


@pytest.fixture(scope="session")
def local_aws() -> Iterator[LocalAws]:
    aws = start_local_aws()
    aws.apply_environment()
    yield aws
    aws.stop()


@pytest.fixture(scope="session")
def standin_server() -> Iterator[SmsPartnerStandIn]:
    with SmsPartnerStandIn(api_keys=(API_KEY,)) as server:
        yield server


@pytest.fixture
def standin(standin_server: SmsPartnerStandIn) -> SmsPartnerStandIn:
    standin_server.reset()
    standin_server.api_keys = {API_KEY}
    standin_server.error_status = 200
    return standin_server


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture
def resources(local_aws: LocalAws, template: dict[str, Any], standin: SmsPartnerStandIn) -> LocalResources:
    """Fresh queues, secret, table and rule from template.yaml, under a prefix of their own."""
    return create_resources(
        template,
        parameter_overrides={"SmsPartnerApiUrl": standin.base_url},
        api_key=API_KEY,
        prefix=f"t{next(_prefixes)}",
    )


# Faster retries than production, a read timeout the stand-in's "timeout" fault exceeds, no backoff between
# receives, and the provider's limit out of the way (the pacing tests set their own).
TEST_TUNING = {
    "PROVIDER_REQUESTS_PER_MINUTE": "6000000",
    "PROVIDER_RETRY_BASE_DELAY_SECONDS": "0.01",
    "PROVIDER_RETRY_MAX_DELAY_SECONDS": "0.05",
    "PROVIDER_READ_TIMEOUT_SECONDS": "0.5",
    "PROVIDER_CONNECT_TIMEOUT_SECONDS": "0.5",
    "RETRY_BACKOFF_BASE_SECONDS": "0",
}


def local_function(resources: LocalResources, logical_id: str, module: str, **extra: str) -> LocalFunction:
    function = LocalFunction(logical_id, module, {**resources.function_env[logical_id], **TEST_TUNING, **extra})
    function.new_container()
    return function


@pytest.fixture
def sqs_function(resources: LocalResources, standin: SmsPartnerStandIn) -> LocalFunction:
    standin.faults.timeout_seconds = 1.0
    return local_function(resources, "OptOutSqsFunction", "handlers.optout_sqs")


@pytest.fixture
def eventbridge_function(resources: LocalResources, standin: SmsPartnerStandIn) -> LocalFunction:
    standin.faults.timeout_seconds = 1.0
    return local_function(resources, "OptOutEventBridgeFunction", "handlers.optout_eventbridge")


@pytest.fixture
def snapshot_function(resources: LocalResources) -> LocalFunction:
    return local_function(resources, "SnapshotFunction", "handlers.snapshot_scheduled")


def dead_letters(queue_url: str) -> list[dict[str, Any]]:
    """Everything in a dead-letter queue, with its attributes flattened (deleted as read)."""
    sqs: Any = boto3.client("sqs")
    found = []
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
    client: Any = boto3.client("dynamodb")
    items: dict[str, dict[str, Any]] = {}
    for page in client.get_paginator("scan").paginate(TableName=table_name):
        for item in page["Items"]:
            items[item["phoneNumber"]["S"]] = {k: next(iter(v.values())) for k, v in item.items()}
    return items


def emitted_metrics(captured_stdout: str) -> dict[str, float]:
    """Sum of each metric in the EMF documents Powertools printed."""
    return dict(tally_metrics(captured_stdout))

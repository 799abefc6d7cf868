"""Integration fixtures: real local services started once per session (moto server for SQS, EventBridge and
Secrets Manager; DynamoDB Local; the SMS Partner stand-in), all over HTTP on loopback, and fresh resources from
template.yaml for each test. They live here so that a unit run starts none of them."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from devkit.lambda_runtime import LocalFunction
from devkit.services import LocalAws, start_local_aws
from devkit.standin import SmsPartnerStandIn
from devkit.template import LocalResources, create_resources, load_template
from tests.helpers import API_KEY, local_function

_prefixes = itertools.count(1)


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
    """Fresh queues, secret, tables, bus and rules from template.yaml, under a prefix of their own.

    Each test gets an event bus of its own: on one shared bus, every test's announcement rule stayed, so that
    each PutEvents of a later test was matched against all of them and copied into every earlier test's
    queue (moto walking each queue on every send). The fault suite took 12 minutes in the full run for that,
    75 s alone.
    """
    prefix = f"t{next(_prefixes)}"
    return create_resources(
        template,
        parameter_overrides={"SmsPartnerApiUrl": standin.base_url, "EventBusName": f"{prefix}-bus"},
        api_key=API_KEY,
        prefix=prefix,
    )


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

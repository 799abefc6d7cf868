"""The API key is rotated in Secrets Manager in the middle of a run: after at most one round of refused calls
the new key is used, and no event is lost."""

from __future__ import annotations

import json

import boto3
import pytest

from devkit.lambda_runtime import LocalFunction
from devkit.standin import SmsPartnerStandIn
from devkit.template import LocalResources
from tests.helpers import dead_letters
from tests.integration.test_optout_sqs import optout, sqs_event

pytestmark = pytest.mark.integration


def test_rotation_mid_run_costs_at_most_one_round_and_loses_nothing(
    sqs_function: LocalFunction, resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    numbers = [f"+3367{index:07d}" for index in range(60)]
    batches = [numbers[start : start + 10] for start in range(0, 60, 10)]
    record_concurrency = int(resources.parameters["RecordConcurrency"])

    for batch in batches[:3]:
        assert sqs_function.invoke(sqs_event(*(optout(n) for n in batch))) == {"batchItemFailures": []}
    # Rotation: the provider now accepts only the new key, and the secret holds it. The function's cached
    # key (max age 300 s) is the old one.
    standin.api_keys = {"rotated-key-after-incident"}
    boto3.client("secretsmanager").put_secret_value(
        SecretId=resources.secret_arn, SecretString=json.dumps({"apiKey": "rotated-key-after-incident"})
    )
    for batch in batches[3:]:
        assert sqs_function.invoke(sqs_event(*(optout(n) for n in batch))) == {"batchItemFailures": []}

    assert set(standin.stop_list()) == set(numbers)
    refused = standin.counters["code_10"]
    assert 1 <= refused <= record_concurrency  # the records in flight when the old key was first refused
    assert standin.counters["calls_add"] == len(numbers) + refused
    assert dead_letters(resources.queue_urls["OptOutDeadLetterQueue"]) == []

"""Erasure without un-blocking, over HTTP: an ``erase`` event through the queue function on DynamoDB Local and
the stand-in. The number's details go from the table and the history; the number stays opted out for lookups
and on the provider's list; the erasure is in the history."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from stoplist.domain.erasure import CHANGE_ERASURE, FORGET_SOURCE
from stoplist.lookup import StopListLookup

from devkit.lambda_runtime import LocalFunction
from devkit.standin import SmsPartnerStandIn
from devkit.template import LocalResources
from tests.helpers import table_items
from tests.integration.change_feed import ChangeFeed
from tests.integration.test_optout_sqs import sqs_event

pytestmark = pytest.mark.integration

NUMBER = "+33612345678"


def history_items(resources: LocalResources) -> list[dict[str, Any]]:
    client: Any = boto3.client("dynamodb")
    return list(
        client.query(
            TableName=resources.table_names["StopListHistoryTable"],
            KeyConditionExpression="phoneNumber = :n",
            ExpressionAttributeValues={":n": {"S": NUMBER}},
        )["Items"]
    )


def test_a_forgotten_number_is_still_refused_and_still_on_the_provider_s_list(
    sqs_function: LocalFunction, resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    feed = ChangeFeed(resources)
    opt_out = {"phoneNumber": "06 12 34 56 78", "eventId": "crm-1", "source": "agent Marie D.", "reason": "furieux"}
    sqs_function.invoke(sqs_event(json.dumps(opt_out)))
    feed.deliver()
    [before] = history_items(resources)
    assert before["optOutReason"]["S"] == "furieux"

    erase = {"action": "erase", "phoneNumber": "0612345678", "eventId": "forget-1", "source": FORGET_SOURCE}
    answer = sqs_function.invoke(sqs_event(json.dumps(erase)))
    feed.deliver()

    assert answer == {"batchItemFailures": []}
    lookup = StopListLookup(resources.table_name, history_table_name=resources.table_names["StopListHistoryTable"])
    assert lookup.is_opted_out("06 12 34 56 78")
    assert lookup.filter_recipients(["0612345678"]).opted_out == ["0612345678"]
    assert NUMBER in standin.stop_list()
    item = table_items(resources.table_name)[NUMBER]
    assert "optOutReason" not in item
    assert "source" not in item
    assert item["eventId"] == "crm-1"
    opted_out, erasure = history_items(resources)
    assert "optOutReason" not in opted_out
    assert "source" not in opted_out
    assert opted_out["eventId"] == before["eventId"]
    assert opted_out["expiresAt"] == before["expiresAt"]  # the retention is the entry's, erased or not
    assert erasure["change"]["S"] == CHANGE_ERASURE
    assert erasure["eventId"]["S"] == "forget-1"
    assert erasure["source"]["S"] == FORGET_SOURCE
    assert "expiresAt" in erasure

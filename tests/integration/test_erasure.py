"""Erasure without un-blocking, over HTTP: an ``erase`` event through the queue function and through the bus
function, on DynamoDB Local, moto and the stand-in. The number's details go from the table and the history; the
number stays opted out for lookups and on the provider's list; the erasure is in the history; a number held by
another event's lease is erased later, from the queue."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3
import pytest
from stoplist.adapters.locks import NumberLeases
from stoplist.domain.erasure import CHANGE_ERASURE, FORGET_SOURCE
from stoplist.domain.ordering import utc_text
from stoplist.domain.ports import utc_clock
from stoplist.lookup import StopListLookup

from devkit.lambda_runtime import LocalFunction
from devkit.poller import sqs_event as poller_sqs_event
from devkit.standin import SmsPartnerStandIn
from devkit.template import LocalResources
from tests.helpers import load_event, table_items
from tests.integration.change_feed import ChangeFeed
from tests.integration.test_optout_sqs import sqs_event

pytestmark = pytest.mark.integration

NUMBER = "+33612345678"


def history_items(resources: LocalResources, number: str = NUMBER) -> list[dict[str, Any]]:
    client: Any = boto3.client("dynamodb")
    return list(
        client.query(
            TableName=resources.table_names["StopListHistoryTable"],
            KeyConditionExpression="phoneNumber = :n",
            ExpressionAttributeValues={":n": {"S": number}},
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


# The number of events/eventbridge_optout.json and events/eventbridge_erase.json.
BUS_NUMBER = "+33611223344"


def test_an_erasure_from_the_bus_erases_as_one_from_the_queue(
    eventbridge_function: LocalFunction, resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    feed = ChangeFeed(resources)
    eventbridge_function.invoke(load_event("eventbridge_optout.json"))
    feed.deliver()
    [before] = history_items(resources, BUS_NUMBER)
    assert before["optOutReason"]["S"] == "unsubscribe form"

    answer = eventbridge_function.invoke(load_event("eventbridge_erase.json"))
    feed.deliver()

    assert answer == {"eventId": "5c0e8f4a-2d31-4b6e-9a7c-3f1d2e4b5a69", "disposition": "ERASED"}
    assert BUS_NUMBER in standin.stop_list()
    item = table_items(resources.table_name)[BUS_NUMBER]
    assert "optOutReason" not in item
    assert item["eventId"] == "web-unsub-5521"
    opted_out, erasure = history_items(resources, BUS_NUMBER)
    assert "optOutReason" not in opted_out
    assert "source" not in opted_out  # "web-unsubscribe" is another system's text, not one of the stack's doors
    assert (erasure["change"]["S"], erasure["eventId"]["S"]) == (CHANGE_ERASURE, "crm-erasure-0412")
    assert erasure["at"]["S"] == "2026-11-23T10:04:30.000000Z"  # its occurredAt, before the bus's time
    assert "source" not in erasure  # "crm-privacy-desk" names no door of the stack


def test_an_erasure_of_a_held_number_goes_to_the_queue_and_is_done_from_there(
    eventbridge_function: LocalFunction, sqs_function: LocalFunction, resources: LocalResources
) -> None:
    """An opt-out or opt-in of the number under way holds its lease: the erasure waits for it, on the queue."""
    locks = NumberLeases(resources.table_names["NumberLeaseTable"], boto3.client("dynamodb"))
    now = utc_clock()
    assert locks.acquire(BUS_NUMBER, "an-opt-out", utc_text(now + timedelta(minutes=1)), utc_text(now)) is None
    event = load_event("eventbridge_erase.json")

    answer = eventbridge_function.invoke(event)

    assert answer["disposition"] == "THROTTLED"  # requeued, delayed by the holder's wait
    assert history_items(resources, BUS_NUMBER) == []  # nothing rewritten while the number is held
    sqs: Any = boto3.client("sqs")
    [requeued] = sqs.receive_message(QueueUrl=resources.queue_urls["OptOutQueue"], WaitTimeSeconds=15)["Messages"]
    assert json.loads(requeued["Body"]) == event  # the whole bus event: the queue function unwraps it
    locks.release(BUS_NUMBER, "an-opt-out")
    assert sqs_function.invoke(sqs_event(requeued["Body"])) == {"batchItemFailures": []}
    [erasure] = history_items(resources, BUS_NUMBER)
    assert (erasure["change"]["S"], erasure["eventId"]["S"]) == (CHANGE_ERASURE, "crm-erasure-0412")


def test_a_change_still_in_the_stream_during_the_erasure_is_stripped_by_its_second_run(
    sqs_function: LocalFunction, resources: LocalResources
) -> None:
    """The opt-out's stream record reaches the history only after the erasure ran (the change publisher's lag):
    the second run, sent back to the real queue with its ``erasureRecheck`` attribute (at once here: 15 minutes
    on AWS), strips it."""
    feed = ChangeFeed(resources)
    opt_out = {"phoneNumber": "06 12 34 56 78", "eventId": "crm-1", "source": "agent Marie D.", "reason": "furieux"}
    sqs_function.invoke(sqs_event(json.dumps(opt_out)))
    erase = {"action": "erase", "phoneNumber": "0612345678", "eventId": "forget-1", "source": FORGET_SOURCE}
    sqs_function.invoke(sqs_event(json.dumps(erase)))
    feed.deliver()  # late: the opt-out's entry arrives with its details
    late = next(item for item in history_items(resources) if item["eventId"]["S"] == "crm-1")
    assert late["optOutReason"]["S"] == "furieux"

    sqs: Any = boto3.client("sqs")
    [again] = sqs.receive_message(
        QueueUrl=resources.queue_urls["OptOutQueue"], MessageAttributeNames=["All"], AttributeNames=["All"]
    )["Messages"]
    assert again["MessageAttributes"]["erasureRecheck"]["StringValue"] == "true"
    answer = sqs_function.invoke(poller_sqs_event([again], resources.queue_arns["OptOutQueue"]))

    assert answer == {"batchItemFailures": []}
    entries = history_items(resources)
    assert [item["eventId"]["S"] for item in entries].count("forget-1") == 1  # the same erasure entry
    stripped = next(item for item in entries if item["eventId"]["S"] == "crm-1")
    assert "optOutReason" not in stripped
    assert "source" not in stripped
    assert sqs.receive_message(QueueUrl=resources.queue_urls["OptOutQueue"]).get("Messages", []) == []  # no third

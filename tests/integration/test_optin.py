"""Re-opt-ins through the handlers, over HTTP to moto server, DynamoDB Local and the stand-in: consent checks,
the provider's delete, the later one wins, and what the stream announces and keeps."""

from __future__ import annotations

import copy
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from stoplist.domain.ordering import utc_text

from devkit.emf import tally_metrics
from devkit.lambda_runtime import LocalFunction
from devkit.standin import SmsPartnerStandIn
from devkit.template import LocalResources
from tests.helpers import PRODUCTION_TIMEOUTS, dead_letters, load_event, local_function, table_items
from tests.integration.change_feed import ChangeFeed
from tests.integration.test_optout_sqs import sqs_event

pytestmark = pytest.mark.integration


def queued(*bodies: dict[str, Any]) -> dict[str, Any]:
    """An SQS event whose records carry these contract objects."""
    return sqs_event(*(json.dumps(body) for body in bodies))


NUMBER = "+33611223344"


def iso(delta: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + delta).isoformat(timespec="seconds")


def utc(text: str) -> str:
    return utc_text(datetime.fromisoformat(text))


def opt_in(**extra: Any) -> dict[str, Any]:
    return {
        "phoneNumber": "06 11 22 33 44",
        "action": "opt-in",
        "source": "crm",
        "eventId": "crm-optin-1",
        "consentSource": "web-form:/preferences",
        "consentAt": iso(-timedelta(minutes=1)),
        "consentText": "Oui, je souhaite recevoir les offres par SMS",
        **extra,
    }


def bus_opt_in(detail: dict[str, Any]) -> dict[str, Any]:
    event = copy.deepcopy(load_event("eventbridge_optout.json"))
    event["detail-type"] = "SmsOptInRequested"
    event["id"] = "bus-optin-1"
    event["detail"] = detail
    return event


def opted_out_through(sqs_function: LocalFunction, occurred_at: str | None = None) -> None:
    """An opt-out written through by the handler, three hours ago unless said otherwise."""
    body: dict[str, Any] = {"phoneNumber": "0611223344", "source": "web-unsubscribe", "eventId": "stop-1"}
    body["occurredAt"] = occurred_at or iso(-timedelta(hours=3))
    assert sqs_function.invoke(queued(body)) == {"batchItemFailures": []}


def test_opt_in_with_consent_deletes_the_provider_entry_and_announces_it(
    sqs_function: LocalFunction,
    resources: LocalResources,
    standin: SmsPartnerStandIn,
    capsys: pytest.CaptureFixture[str],
) -> None:
    feed = ChangeFeed(resources)
    opted_out_through(sqs_function, iso(-timedelta(hours=2)))
    stop_id = standin.stop_list()[NUMBER][0]
    consent_at = iso(-timedelta(minutes=1))

    assert sqs_function.invoke(queued(opt_in(consentAt=consent_at))) == {"batchItemFailures": []}

    assert NUMBER not in standin.stop_list()
    assert standin.counters["calls_delete"] == 1
    assert standin.counters["calls_list"] == 1  # every entry of the number, read from the list as a stream
    assert NUMBER not in table_items(resources.table_name)
    assert tally_metrics(capsys.readouterr().out)["OptInRemoved"] == 1
    feed.deliver()
    out, back = feed.announcements()
    assert (out["detail-type"], back["detail-type"]) == ("SmsOptOutRecorded", "SmsOptInRecorded")
    assert back["source"] == "smspartner-stoplist"
    assert back["detail"] == {
        "phoneNumber": NUMBER,
        "source": "crm",
        "eventId": "crm-optin-1",
        "providerStopId": stop_id,
        "occurredAt": utc(consent_at),
        "recordedBy": "optin",
        "changeId": back["detail"]["changeId"],
        "consentSource": "web-form:/preferences",
        "consentAt": utc(consent_at),  # when the consent counts (docs/ordering.md), in UTC
    }
    opt_out_entry, opt_in_entry = feed.history(NUMBER)
    assert (opt_out_entry.change, opt_out_entry.event_id) == ("opt-out", "stop-1")
    assert (opt_in_entry.change, opt_in_entry.event_id) == ("opt-in", "crm-optin-1")
    assert opt_in_entry.consent_text == "Oui, je souhaite recevoir les offres par SMS"


def test_bus_opt_in_matches_the_template_rule_and_is_done(
    eventbridge_function: LocalFunction,
    sqs_function: LocalFunction,
    resources: LocalResources,
    standin: SmsPartnerStandIn,
) -> None:
    opted_out_through(sqs_function)
    detail = {key: value for key, value in opt_in().items() if key not in ("action", "eventId")}
    events: Any = boto3.client("events")
    sqs: Any = boto3.client("sqs")
    event = bus_opt_in(detail)
    events.put_events(
        Entries=[
            {
                "Source": "com.example.crm",
                "DetailType": "SmsOptInRequested",
                "Detail": json.dumps(detail),
                "EventBusName": resources.event_bus,
            }
        ]
    )
    [delivered] = sqs.receive_message(QueueUrl=resources.rule_delivery_queue_url, WaitTimeSeconds=1)["Messages"]
    assert json.loads(delivered["Body"])["detail-type"] == "SmsOptInRequested"  # moto matched the rule

    assert eventbridge_function.invoke(event) == {"eventId": "bus-optin-1", "disposition": "OPTED_IN"}
    assert NUMBER not in standin.stop_list()
    assert NUMBER not in table_items(resources.table_name)


@pytest.mark.parametrize(
    ("fields", "error_type", "reason"),
    [
        ({"action": "subscribe"}, "invalid_event", "action is neither opt-out nor opt-in"),
        ({"consentSource": None}, "invalid_consent", "needs consentSource"),
        ({"consentAt": None}, "invalid_consent", "needs consentAt"),
        ({"consentSource": "  "}, "invalid_consent", "needs consentSource"),
        ({"consentAt": ""}, "invalid_consent", "needs consentAt"),
        ({"consentAt": "22/11/2026"}, "invalid_consent", "not an ISO 8601"),
        ({"consentAt": "2026-11-22T09:00:00"}, "invalid_consent", "no UTC offset"),
        ({"consentAt": "FUTURE"}, "invalid_consent", "in the future"),
    ],
)
def test_opt_in_without_valid_consent_is_dead_lettered_and_the_number_stays_out(
    sqs_function: LocalFunction,
    resources: LocalResources,
    standin: SmsPartnerStandIn,
    fields: dict[str, Any],
    error_type: str,
    reason: str,
) -> None:
    opted_out_through(sqs_function)
    body = opt_in(**{key: iso(timedelta(hours=1)) if value == "FUTURE" else value for key, value in fields.items()})
    body = {key: value for key, value in body.items() if value is not None}

    assert sqs_function.invoke(queued(body)) == {"batchItemFailures": []}

    [dead] = dead_letters(resources.queue_urls["OptOutDeadLetterQueue"])
    assert dead["errorType"] == error_type
    assert reason in dead["reason"]
    assert json.loads(dead["body"]) == body
    assert NUMBER in standin.stop_list()
    assert NUMBER in table_items(resources.table_name)
    assert standin.counters["calls_delete"] == 0


def test_consent_older_than_the_opt_out_loses(
    sqs_function: LocalFunction, resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    opted_out_through(sqs_function, iso(-timedelta(minutes=5)))

    sqs_function.invoke(queued(opt_in(consentAt=iso(-timedelta(minutes=10)))))

    [dead] = dead_letters(resources.queue_urls["OptOutDeadLetterQueue"])
    assert dead["errorType"] == "consent_superseded"
    assert NUMBER in standin.stop_list()
    assert NUMBER in table_items(resources.table_name)


def test_without_an_id_in_the_table_the_list_is_read(
    sqs_function: LocalFunction, resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    standin.seed_stop_list([NUMBER])  # opted out at the provider; the snapshot has not run: no item

    sqs_function.invoke(queued(opt_in()))

    assert standin.counters["calls_list"] == 1
    assert NUMBER not in standin.stop_list()
    history = ChangeFeed(resources).history(NUMBER)  # no item, no stream record: the service kept it itself
    assert [(entry.change, entry.consent_source) for entry in history] == [("opt-in", "web-form:/preferences")]


def test_a_number_not_on_the_list_is_done_and_leaves_the_table(
    sqs_function: LocalFunction,
    resources: LocalResources,
    standin: SmsPartnerStandIn,
    capsys: pytest.CaptureFixture[str],
) -> None:
    opted_out_through(sqs_function)
    standin.remove_numbers([NUMBER])  # removed at the provider by hand: the table's id is stale (code 4)

    assert sqs_function.invoke(queued(opt_in())) == {"batchItemFailures": []}

    assert standin.counters["code_4"] == 1
    assert standin.counters["calls_list"] == 1
    assert NUMBER not in table_items(resources.table_name)
    assert tally_metrics(capsys.readouterr().out)["OptInNotListed"] == 1
    assert dead_letters(resources.queue_urls["OptOutDeadLetterQueue"]) == []


@pytest.mark.parametrize(
    ("sample", "function_name"),
    [("sqs_optin.json", "sqs_function"), ("eventbridge_optin.json", "eventbridge_function")],
)
def test_sample_opt_ins_take_a_number_the_snapshot_found_off_the_list(
    sample: str,
    function_name: str,
    snapshot_function: LocalFunction,
    resources: LocalResources,
    standin: SmsPartnerStandIn,
    request: pytest.FixtureRequest,
) -> None:
    standin.seed_stop_list(["+33600000042"])  # a STOP the provider received itself, in 2024
    snapshot_function.invoke(load_event("schedule.json"))
    function: LocalFunction = request.getfixturevalue(function_name)

    function.invoke(load_event(sample))

    assert "+33600000042" not in standin.stop_list()
    assert "+33600000042" not in table_items(resources.table_name)
    assert dead_letters(resources.queue_urls["OptOutDeadLetterQueue"]) == []
    assert dead_letters(resources.queue_urls["OptOutEventsDeadLetterQueue"]) == []


@pytest.mark.slow
def test_a_provider_that_never_answers_the_delete_cannot_outlive_the_invocation(
    sqs_function: LocalFunction,
    resources: LocalResources,
    standin: SmsPartnerStandIn,
    capsys: pytest.CaptureFixture[str],
) -> None:
    opted_out_through(sqs_function)
    function = local_function(resources, "OptOutSqsFunction", "handlers.optout_sqs", **PRODUCTION_TIMEOUTS)
    last = int(resources.parameters["MaxReceiveCount"])
    standin.queue_faults(*(["hang"] * 20))  # the delete, and every call after it
    started = time.monotonic()

    response = function.invoke(sqs_event(json.dumps(opt_in()), receive_count=last))

    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(f"\nopt-in, provider never answering: invocation returned after {elapsed:.1f} s (timeout 30 s)")
    assert elapsed < 29
    assert response == {"batchItemFailures": []}
    assert NUMBER in standin.stop_list()  # nothing was deleted
    (dead,) = dead_letters(resources.queue_urls["OptOutDeadLetterQueue"])
    assert dead["reason"].startswith(f"gave up after {last} receives, last error: ")
    assert dead["errorType"] == "provider_unavailable"

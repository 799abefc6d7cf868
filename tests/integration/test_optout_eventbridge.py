"""The EventBridge handler in-process with real EventBridge events; and the template's rule, matched by moto."""

from __future__ import annotations

import copy
import json
from typing import Any

import boto3
import pytest
from stoplist.errors import AwsServiceError

from devkit.bus import on_failure_record
from devkit.emf import tally_metrics
from devkit.lambda_runtime import LocalFunction
from devkit.services import LocalAws
from devkit.standin import SmsPartnerStandIn
from devkit.template import LocalResources, create_resources, load_template
from tests.helpers import dead_letters, load_event, table_items
from tests.integration.test_optout_sqs import sqs_event

pytestmark = pytest.mark.integration


def bus_event(detail: Any) -> dict[str, Any]:
    event = copy.deepcopy(load_event("eventbridge_optout.json"))
    event["detail"] = detail
    return event


def test_sample_event_is_added_and_written_through(
    eventbridge_function: LocalFunction,
    resources: LocalResources,
    standin: SmsPartnerStandIn,
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = eventbridge_function.invoke(load_event("eventbridge_optout.json"))

    assert result == {"eventId": "7bf73129-1428-4cd3-a780-95db273d1602", "disposition": "ADDED"}
    assert "+33611223344" in standin.stop_list()
    item = table_items(resources.table_name)["+33611223344"]
    assert item["eventId"] == "web-unsub-5521"
    assert item["source"] == "web-unsubscribe"
    assert item["optOutReason"] == "unsubscribe form"
    assert tally_metrics(capsys.readouterr().out)["OptOutAdded"] == 1


def test_already_listed_is_done(eventbridge_function: LocalFunction, standin: SmsPartnerStandIn) -> None:
    standin.seed_stop_list(["+33611223344"])

    assert eventbridge_function.invoke(load_event("eventbridge_optout.json"))["disposition"] == "ALREADY_LISTED"


@pytest.mark.parametrize(
    ("detail", "error_type"),
    [
        ({"phoneNumber": "12"}, "invalid_phone_number"),
        ({"phoneNumber": ["0612345678"]}, "invalid_event"),
        ("0612345678", "invalid_event"),
        ({"source": "crm"}, "invalid_event"),
    ],
)
def test_permanent_failures_go_to_the_events_dead_letter_queue(
    eventbridge_function: LocalFunction, resources: LocalResources, detail: Any, error_type: str
) -> None:
    event = bus_event(detail)

    result = eventbridge_function.invoke(event)

    assert result["disposition"] == "REJECTED"
    [dead] = dead_letters(resources.queue_urls["OptOutEventsDeadLetterQueue"])
    assert dead["errorType"] == error_type
    assert json.loads(dead["body"]) == event  # the whole event, as EventBridge's own DLQ would keep it
    assert dead_letters(resources.queue_urls["OptOutDeadLetterQueue"]) == []  # only its own DLQ


def test_transient_failure_hands_the_event_over_to_the_queue(
    eventbridge_function: LocalFunction,
    resources: LocalResources,
    standin: SmsPartnerStandIn,
    capsys: pytest.CaptureFixture[str],
) -> None:
    standin.queue_faults("http_500", "http_500", "http_500")
    event = load_event("eventbridge_optout.json")

    result = eventbridge_function.invoke(event)

    # The invocation succeeds: no Lambda retry, no OnFailure record; the queue's backoff takes it from here.
    assert result["disposition"] == "HANDED_OVER"
    [handed_over] = dead_letters(resources.queue_urls["OptOutQueue"])
    assert json.loads(handed_over["body"]) == event  # the whole event: the queue handler unwraps it
    assert dead_letters(resources.queue_urls["OptOutEventsDeadLetterQueue"]) == []
    assert tally_metrics(capsys.readouterr().out)["OptOutHandedOver"] == 1


def test_handed_over_event_is_added_by_the_queue_function(
    eventbridge_function: LocalFunction,
    sqs_function: LocalFunction,
    resources: LocalResources,
    standin: SmsPartnerStandIn,
) -> None:
    standin.outage = True
    eventbridge_function.invoke(load_event("eventbridge_optout.json"))
    standin.outage = False
    [handed_over] = dead_letters(resources.queue_urls["OptOutQueue"])

    response = sqs_function.invoke(sqs_event(handed_over["body"]))

    assert response == {"batchItemFailures": []}
    assert table_items(resources.table_name)["+33611223344"]["eventId"] == "web-unsub-5521"


def test_onfailure_record_is_replayed_through_the_queue(
    sqs_function: LocalFunction, resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    """What the OnFailure destination writes (a Lambda invocation record) goes back into the queue as it is."""
    event = load_event("eventbridge_optout.json")
    record = on_failure_record(event, AwsServiceError("cannot send to the opt-out queue: AccessDenied"), attempts=3)

    response = sqs_function.invoke(sqs_event(json.dumps(record)))

    assert response == {"batchItemFailures": []}
    assert "+33611223344" in standin.stop_list()
    assert table_items(resources.table_name)["+33611223344"]["eventId"] == "web-unsub-5521"


def test_auth_failure_is_handed_over_too(
    eventbridge_function: LocalFunction, resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    standin.api_keys = {"another-key"}

    assert eventbridge_function.invoke(load_event("eventbridge_optout.json"))["disposition"] == "HANDED_OVER"
    assert len(dead_letters(resources.queue_urls["OptOutQueue"])) == 1


def test_hand_over_failure_raises_for_lambda_async_retries(
    eventbridge_function: LocalFunction, resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    standin.outage = True
    eventbridge_function.env["OPT_OUT_QUEUE_URL"] = resources.queue_urls["OptOutQueue"] + "-missing"
    eventbridge_function.new_container()

    with pytest.raises(AwsServiceError, match="cannot send to the opt-out queue"):
        eventbridge_function.invoke(load_event("eventbridge_optout.json"))


def put_on_the_bus(resources: LocalResources, kinds: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Put the sample's detail under each (detail-type, source); return what the template's rule delivered."""
    events: Any = boto3.client("events")
    sample = load_event("eventbridge_optout.json")
    entries = [
        {
            "Source": source,
            "DetailType": detail_type,
            "Detail": json.dumps(sample["detail"]),
            "EventBusName": resources.event_bus,
        }
        for detail_type, source in kinds
    ]
    assert events.put_events(Entries=entries)["FailedEntryCount"] == 0
    delivered = [json.loads(message["body"]) for message in dead_letters(resources.rule_delivery_queue_url)]
    return sorted((event["detail-type"], event["source"]) for event in delivered)


def test_template_rule_matches_opt_outs_erasures_and_named_sources_opt_ins_only(resources: LocalResources) -> None:
    """Events put on the bus reach the handler's delivery queue only when the template's pattern matches."""
    crm = load_event("eventbridge_optin.json")["source"]  # named in OptInEventSources for the local stacks
    assert resources.parameters["OptInEventSources"] == crm

    delivered = put_on_the_bus(
        resources,
        [
            ("SmsOptOutRequested", "com.example.web"),
            ("SmsErasureRequested", "com.example.web"),  # an erasure never un-blocks: from any source
            ("SmsOptInRequested", crm),
            ("SmsOptInRequested", "com.example.web"),  # a source nobody named
            ("smsoptoutrequested", "com.example.web"),
            ("SmsOptOutRecorded", "com.example.web"),
        ],
    )

    assert delivered == [
        ("SmsErasureRequested", "com.example.web"),
        ("SmsOptInRequested", crm),
        ("SmsOptOutRequested", "com.example.web"),
    ]


def test_with_no_named_source_the_bus_re_opts_in_no_one(local_aws: LocalAws, standin: SmsPartnerStandIn) -> None:
    """The template's default: OptInEventSources empty, the rule leaves re-opt-ins out whatever their source."""
    resources = create_resources(
        load_template(),
        parameter_overrides={"SmsPartnerApiUrl": standin.base_url, "EventBusName": "noin-bus", "OptInEventSources": ""},
        prefix="noin",
    )
    crm = load_event("eventbridge_optin.json")["source"]

    delivered = put_on_the_bus(
        resources, [("SmsOptOutRequested", crm), ("SmsOptInRequested", crm), ("SmsErasureRequested", crm)]
    )

    assert delivered == [("SmsErasureRequested", crm), ("SmsOptOutRequested", crm)]
    assert resources.rule_pattern == {"detail-type": ["SmsOptOutRequested", "SmsErasureRequested"]}

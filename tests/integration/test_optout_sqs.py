"""The SQS handler in-process, with real SQS events, against moto server, DynamoDB Local and the stand-in.

One test per row of the outcome table (docs/integrating.md, "What happens to an event").
"""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from devkit.emf import tally_metrics
from devkit.lambda_runtime import LocalFunction
from devkit.standin import SmsPartnerStandIn
from devkit.template import LocalResources
from tests.helpers import API_KEY, dead_letters, load_event, local_function, table_items

pytestmark = pytest.mark.integration


def sqs_event(*bodies: str, receive_count: int = 1) -> dict[str, Any]:
    template = load_event("sqs_optout.json")["Records"][0]
    records = []
    for index, body in enumerate(bodies):
        record = copy.deepcopy(template)
        record["messageId"] = f"msg-{index:04d}"
        record["body"] = body
        record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
        records.append(record)
    return {"Records": records}


def optout(phone: Any, **extra: Any) -> str:
    return json.dumps({"phoneNumber": phone, **extra})


def failed_ids(response: dict[str, Any]) -> set[str]:
    return {item["itemIdentifier"] for item in response["batchItemFailures"]}


def test_overseas_numbers_typed_at_home_are_added_under_their_own_code(
    sqs_function: LocalFunction, resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    bodies = [
        optout("0692 12 34 56"),  # Réunion mobile: invalid when read as a mainland number
        optout("0596 30 12 34"),  # Martinique landline: +33596301234 when read as a mainland number
        optout("+33 6 90 00 12 34"),  # Guadeloupe mobile written with France's code
        optout("05 08 41 23 45"),  # Saint-Pierre-et-Miquelon
        optout("0694201234", country="GF"),
        optout("+377 6 12 34 56 78"),  # Monaco stays itself
    ]

    response = sqs_function.invoke(sqs_event(*bodies))

    expected = {"+262692123456", "+596596301234", "+590690001234", "+508412345", "+594694201234", "+377612345678"}
    assert response == {"batchItemFailures": []}
    assert set(standin.stop_list()) == expected
    assert set(table_items(resources.table_name)) == expected
    assert dead_letters(resources.queue_urls["OptOutDeadLetterQueue"]) == []


def test_sample_event_adds_valid_numbers_and_dead_letters_the_invalid_one(
    sqs_function: LocalFunction,
    resources: LocalResources,
    standin: SmsPartnerStandIn,
    capsys: pytest.CaptureFixture[str],
) -> None:
    response = sqs_function.invoke(load_event("sqs_optout.json"))

    assert response == {"batchItemFailures": []}
    assert set(standin.stop_list()) == {"+33612345678", "+4915123456789", "+33755443322", "+33698765432"}
    items = table_items(resources.table_name)
    assert set(items) == set(standin.stop_list())
    assert items["+33612345678"]["source"] == "web-unsubscribe"
    assert items["+33612345678"]["eventId"] == "unsub-2026-11-22-0001"
    assert items["+33612345678"]["optedOutAt"] == "2026-11-22T09:15:00Z"
    assert items["+33698765432"]["eventId"] == "0d4f3e1c-5a7b-4c2d-9e8f-1a2b3c4d5e6f"  # from the EventBridge envelope
    [rejected] = dead_letters(resources.queue_urls["OptOutDeadLetterQueue"])
    assert json.loads(rejected["body"])["phoneNumber"] == "3639"  # the original body, unchanged
    assert rejected["errorType"] == "invalid_phone_number"
    assert rejected["reason"].startswith("rejected: ")
    assert rejected["eventId"] == "unsub-2026-11-22-0002"
    metrics = tally_metrics(capsys.readouterr().out)
    assert metrics["OptOutAdded"] == 4
    assert metrics["OptOutRejected"] == 1


def test_number_already_listed_is_done_not_an_error(
    sqs_function: LocalFunction,
    resources: LocalResources,
    standin: SmsPartnerStandIn,
    capsys: pytest.CaptureFixture[str],
) -> None:
    standin.seed_stop_list(["+33612345678"])

    response = sqs_function.invoke(sqs_event(optout("06 12 34 56 78", source="crm")))

    assert response == {"batchItemFailures": []}
    assert standin.counters["add_already_listed"] == 1
    assert table_items(resources.table_name)["+33612345678"]["source"] == "crm"
    assert dead_letters(resources.queue_urls["OptOutDeadLetterQueue"]) == []
    assert tally_metrics(capsys.readouterr().out)["OptOutAlreadyListed"] == 1


@pytest.mark.parametrize("error_status", [200, 400])
@pytest.mark.parametrize(("code", "error_type"), [(9, "invalid_phone_number"), (2, "provider_rejected")])
def test_provider_permanent_codes_dead_letter_with_reason(
    sqs_function: LocalFunction,
    resources: LocalResources,
    standin: SmsPartnerStandIn,
    capsys: pytest.CaptureFixture[str],
    code: int,
    error_type: str,
    error_status: int,
) -> None:
    standin.error_status = error_status
    standin.queue_codes(code)

    response = sqs_function.invoke(sqs_event(optout("+33612345678"), optout("+33611111111")))

    assert response == {"batchItemFailures": []}
    [rejected] = dead_letters(resources.queue_urls["OptOutDeadLetterQueue"])
    assert rejected["errorType"] == error_type
    assert f"code {code}" in rejected["reason"]
    assert len(standin.stop_list()) == 1  # the sibling went through
    assert tally_metrics(capsys.readouterr().out)["OptOutRejected"] == 1


@pytest.mark.parametrize(
    ("body", "reason_fragment"),
    [
        ("not json at all", "not valid JSON"),
        ("[1, 2]", "JSON array, not an object"),
        (json.dumps({"phoneNumber": 612345678}), "phoneNumber is a JSON number"),
        (json.dumps({"source": "crm"}), "phoneNumber is missing"),
        (json.dumps({"phoneNumber": "   "}), "phoneNumber is empty"),
        (json.dumps({"phoneNumber": "0612345678", "country": "France"}), "ISO 3166"),
        (json.dumps({"phoneNumber": "0612345678", "occurredAt": "yesterday"}), "ISO 8601"),
        (json.dumps({"phoneNumber": "0612345678", "pad": "x" * (256 * 1024)}), "larger than"),
    ],
)
def test_malformed_events_are_dead_lettered_and_siblings_unaffected(
    sqs_function: LocalFunction, resources: LocalResources, standin: SmsPartnerStandIn, body: str, reason_fragment: str
) -> None:
    response = sqs_function.invoke(sqs_event(optout("0612345678"), body, optout("0698765432")))

    assert response == {"batchItemFailures": []}
    assert set(standin.stop_list()) == {"+33612345678", "+33698765432"}
    [rejected] = dead_letters(resources.queue_urls["OptOutDeadLetterQueue"])
    assert rejected["errorType"] == "invalid_event"
    assert reason_fragment in rejected["reason"]
    assert rejected["originalMessageId"] == "msg-0001"


@pytest.mark.parametrize("fault", ["http_500", "http_503", "http_429", "timeout", "reset", "malformed"])
def test_transient_fault_is_retried_within_the_invocation(
    sqs_function: LocalFunction, standin: SmsPartnerStandIn, fault: str
) -> None:
    standin.queue_faults(fault, fault)  # two failures, the third attempt succeeds

    response = sqs_function.invoke(sqs_event(optout("0612345678")))

    assert response == {"batchItemFailures": []}
    assert "+33612345678" in standin.stop_list()
    assert standin.counters["calls_add"] == 3


def test_transient_fault_past_the_retries_fails_the_record_for_redelivery(
    resources: LocalResources, standin: SmsPartnerStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    # One record at a time, so that the three queued faults all reach the first record.
    function = local_function(resources, "OptOutSqsFunction", "handlers.optout_sqs", RECORD_CONCURRENCY="1")
    standin.queue_faults("http_503", "http_503", "http_503")

    response = function.invoke(sqs_event(optout("0612345678"), optout("0698765432")))

    assert failed_ids(response) == {"msg-0000"}  # the sibling was not affected
    assert dead_letters(resources.queue_urls["OptOutDeadLetterQueue"]) == []
    assert tally_metrics(capsys.readouterr().out)["ProviderTransientError"] == 1


def test_retry_after_is_honoured(sqs_function: LocalFunction, standin: SmsPartnerStandIn) -> None:
    standin.faults.retry_after_seconds = 0.3
    standin.queue_faults("http_429")

    started = time.monotonic()
    response = sqs_function.invoke(sqs_event(optout("0612345678")))

    assert response == {"batchItemFailures": []}
    assert time.monotonic() - started >= 0.3  # the backoff alone would have been at most 0.05 s


def test_last_receive_dead_letters_with_the_last_error(
    sqs_function: LocalFunction, resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    max_receives = int(resources.parameters["MaxReceiveCount"])
    standin.queue_faults("http_500", "http_500", "http_500")

    response = sqs_function.invoke(sqs_event(optout("0612345678"), receive_count=max_receives))

    assert response == {"batchItemFailures": []}
    [dead] = dead_letters(resources.queue_urls["OptOutDeadLetterQueue"])
    assert dead["reason"].startswith(f"gave up after {max_receives} receives")
    assert "HTTP 500" in dead["reason"]
    assert dead["errorType"] == "provider_unavailable"


def test_invalid_key_fails_every_record_until_the_secret_holds_a_valid_one(
    sqs_function: LocalFunction,
    resources: LocalResources,
    standin: SmsPartnerStandIn,
    capsys: pytest.CaptureFixture[str],
) -> None:
    standin.api_keys = {"rotated-key"}

    # Every record failed: the invocation itself fails, so Lambda returns the whole batch and backs off.
    with pytest.raises(BatchProcessingError, match="All records failed"):
        sqs_function.invoke(sqs_event(optout("0612345678"), optout("0698765432")))

    assert standin.counters["code_10"] == 4  # each record: refused, secret read again, refused again
    assert standin.stop_list() == {}
    assert dead_letters(resources.queue_urls["OptOutDeadLetterQueue"]) == []
    assert tally_metrics(capsys.readouterr().out)["ProviderAuthError"] == 2

    boto3.client("secretsmanager").put_secret_value(
        SecretId=resources.secret_arn, SecretString=json.dumps({"apiKey": "rotated-key"})
    )
    response = sqs_function.invoke(sqs_event(optout("0612345678"), optout("0698765432")))

    assert response == {"batchItemFailures": []}
    assert set(standin.stop_list()) == {"+33612345678", "+33698765432"}


def test_records_of_a_batch_run_concurrently_within_the_configured_bound(
    resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    function = local_function(resources, "OptOutSqsFunction", "handlers.optout_sqs", RECORD_CONCURRENCY="3")
    standin.faults.latency_seconds = 0.1

    response = function.invoke(sqs_event(*(optout(f"06123456{i:02d}") for i in range(10))))

    assert response == {"batchItemFailures": []}
    assert len(standin.stop_list()) == 10
    assert standin.max_in_flight == 3
    assert standin.counters["connections"] <= 3  # keep-alive: connections reused across records


def test_bare_key_secret_is_accepted(
    sqs_function: LocalFunction, resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    boto3.client("secretsmanager").put_secret_value(SecretId=resources.secret_arn, SecretString=f"  {API_KEY}\n")
    sqs_function.new_container()

    assert sqs_function.invoke(sqs_event(optout("0612345678"))) == {"batchItemFailures": []}


def test_empty_secret_fails_records_then_dead_letters_them_with_the_reason(
    sqs_function: LocalFunction, resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    # As deployed: the template's generated secret has an empty apiKey until an operator puts the key.
    boto3.client("secretsmanager").put_secret_value(
        SecretId=resources.secret_arn, SecretString=json.dumps({"apiKey": "", "placeholder": "x"})
    )

    with pytest.raises(BatchProcessingError):
        sqs_function.invoke(sqs_event(optout("0612345678")))
    response = sqs_function.invoke(
        sqs_event(optout("0612345678"), receive_count=int(resources.parameters["MaxReceiveCount"]))
    )

    assert response == {"batchItemFailures": []}
    [dead] = dead_letters(resources.queue_urls["OptOutDeadLetterQueue"])
    assert dead["errorType"] == "configuration"
    assert "the API key secret is empty" in dead["reason"]
    assert standin.counters["calls_add"] == 0

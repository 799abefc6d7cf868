"""The provider's real limits, through the handlers over HTTP: its rate limit, its outages, its slow answers;
one wave per batch; dead-letter attributes SQS accepts (issue 10, one section each)."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
import requests
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from devkit.emf import tally_metrics
from devkit.lambda_runtime import LocalFunction
from devkit.poller import SqsEventSourcePoller, sqs_event
from devkit.standin import SmsPartnerStandIn
from devkit.template import LocalResources
from tests.helpers import PRODUCTION_TIMEOUTS, dead_letters, local_function
from tests.integration.test_optout_sqs import optout
from tests.integration.test_optout_sqs import sqs_event as fake_sqs_event

pytestmark = pytest.mark.integration


def numbers(count: int, start: int = 0) -> list[str]:
    return [f"+3361{index:07d}" for index in range(start, start + count)]


def send(resources: LocalResources, bodies: list[str]) -> None:
    sqs: Any = boto3.client("sqs")
    for start in range(0, len(bodies), 10):
        entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies[start : start + 10])]
        sqs.send_message_batch(QueueUrl=resources.queue_urls["OptOutQueue"], Entries=entries)


def receive(resources: LocalResources, visibility: int = 30) -> list[dict[str, Any]]:
    """Messages received for real (their receipt handles can be postponed), as the event source would."""
    sqs: Any = boto3.client("sqs")
    messages: list[dict[str, Any]] = sqs.receive_message(
        QueueUrl=resources.queue_urls["OptOutQueue"],
        MaxNumberOfMessages=10,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
        VisibilityTimeout=visibility,
    ).get("Messages", [])
    return messages


def visible(resources: LocalResources) -> int:
    sqs: Any = boto3.client("sqs")
    attributes = sqs.get_queue_attributes(
        QueueUrl=resources.queue_urls["OptOutQueue"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


# --- 1. the rate limit -----------------------------------------------------------------------------------------
def test_a_burst_drains_at_the_pace_of_the_budget_without_429s_or_dead_letters(
    resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    # The stand-in allows 40 calls in any 5 s (480 a minute); the budget is 300 a minute, 5 places a second:
    # any 5 s meets at most 6 seconds' places (30).
    standin.rate_limit = (40, 5.0)
    function = local_function(
        resources,
        "OptOutSqsFunction",
        "handlers.optout_sqs",
        PROVIDER_REQUESTS_PER_MINUTE="300",
    )
    wanted = numbers(60)
    send(resources, [optout(number) for number in wanted])
    poller = SqsEventSourcePoller(
        resources.queue_urls["OptOutQueue"], resources.queue_arns["OptOutQueue"], function.invoke, retry_delay_seconds=1
    )

    started = time.monotonic()
    poller.drain()
    elapsed = time.monotonic() - started

    assert set(wanted) <= set(standin.stop_list())
    calls = standin.counters["calls_add"]
    assert standin.counters["rate_limited"] <= 0.02 * calls  # under 2 % answered 429
    assert calls <= 1.05 * len(wanted)
    assert dead_letters(resources.queue_urls["OptOutDeadLetterQueue"]) == []
    assert elapsed >= (len(wanted) - 5) / 5 * 0.9  # paced: not faster than the budget's places


def test_429s_pause_every_caller_and_a_throttled_record_is_requeued_even_on_its_last_receive(
    resources: LocalResources, standin: SmsPartnerStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    function = local_function(resources, "OptOutSqsFunction", "handlers.optout_sqs")
    last = int(resources.parameters["MaxReceiveCount"])
    standin.rate_limit = (0, 60.0)  # every call answered 429, without Retry-After

    response = function.invoke(fake_sqs_event(optout("0612345678"), receive_count=last))

    assert response == {"batchItemFailures": []}  # acknowledged: it lives on as a new message
    assert dead_letters(resources.queue_urls["OptOutDeadLetterQueue"]) == []
    assert standin.counters["calls_add"] <= 3
    [requeued] = receive_and_delete_all(resources, wait_seconds=5)
    assert json.loads(requeued["Body"]) == {"phoneNumber": "0612345678"}
    assert requeued["MessageAttributes"]["originalMessageId"]["StringValue"] == "msg-0000"
    assert requeued["Attributes"]["ApproximateReceiveCount"] == "1"  # a fresh count of receives
    assert tally_metrics(capsys.readouterr().out)["ProviderThrottled"] == 1


def receive_and_delete_all(resources: LocalResources, wait_seconds: int) -> list[dict[str, Any]]:
    """Everything that becomes visible within ``wait_seconds`` (requeued messages carry a delay)."""
    sqs: Any = boto3.client("sqs")
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        messages = receive(resources)
        for message in messages:
            found.append(message)
            sqs.delete_message(QueueUrl=resources.queue_urls["OptOutQueue"], ReceiptHandle=message["ReceiptHandle"])
        if not messages:
            if found:
                break
            time.sleep(0.25)
    return found


# --- 2. outages ------------------------------------------------------------------------------------------------
def test_an_outage_postpones_every_record_by_its_backoff_with_few_calls(
    resources: LocalResources, standin: SmsPartnerStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    function = local_function(
        resources,
        "OptOutSqsFunction",
        "handlers.optout_sqs",
        RETRY_BACKOFF_BASE_SECONDS="120",
        CIRCUIT_COOLDOWN_SECONDS="60",
    )
    standin.outage = True
    send(resources, [optout(number) for number in numbers(20)])

    for _ in range(2):  # two receives of ten: the second finds the circuit open
        messages = receive(resources, visibility=1)
        with pytest.raises(BatchProcessingError):  # every record failed: the invocation fails, as in Lambda
            function.invoke(sqs_event(messages, resources.queue_arns["OptOutQueue"]))

    first_wave = 10 * 3  # ten records in flight at once, each up to three attempts, before the circuit opens
    assert standin.counters["outage"] <= first_wave
    assert standin.counters["outage"] >= 5
    calls_after_first = standin.counters["outage"]
    time.sleep(1.5)  # past the receive's own visibility (1 s): only the handler's backoff keeps them away
    assert visible(resources) == 0
    assert tally_metrics(capsys.readouterr().out)["ProviderTransientError"] == 20
    # The second batch made no call at all: the circuit was open.
    assert calls_after_first <= first_wave


def test_an_open_circuit_on_the_last_receive_dead_letters_with_the_reason(
    resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    function = local_function(resources, "OptOutSqsFunction", "handlers.optout_sqs", CIRCUIT_COOLDOWN_SECONDS="60")
    last = int(resources.parameters["MaxReceiveCount"])
    standin.outage = True
    with pytest.raises(BatchProcessingError):
        function.invoke(fake_sqs_event(*(optout(number) for number in numbers(5)), receive_count=1))
    calls = standin.counters["outage"]

    response = function.invoke(fake_sqs_event(optout("0698765432"), receive_count=last))

    assert response == {"batchItemFailures": []}
    assert standin.counters["outage"] == calls  # the circuit was open: no call
    [dead] = dead_letters(resources.queue_urls["OptOutDeadLetterQueue"])
    assert dead["reason"].startswith(f"gave up after {last} receives, last error: stop-sms/add: provider known")
    assert "HTTP 503" in dead["reason"]


def after_an_outage(
    resources: LocalResources, standin: SmsPartnerStandIn, cooldown: str, **extra: str
) -> LocalFunction:
    """The queue function once an outage opened its circuit (cooldown ``cooldown`` s) and the provider came back."""
    function = local_function(
        resources,
        "OptOutSqsFunction",
        "handlers.optout_sqs",
        CIRCUIT_COOLDOWN_SECONDS=cooldown,
        CIRCUIT_MAX_COOLDOWN_SECONDS=cooldown,
        **extra,
    )
    standin.outage = True
    with pytest.raises(BatchProcessingError):  # the circuit opens
        function.invoke(fake_sqs_event(*(optout(number) for number in numbers(10)), receive_count=1))
    standin.outage = False  # the provider is back: the circuit does not know it yet
    return function


def batch_through(function: LocalFunction, standin: SmsPartnerStandIn, wanted: list[str]) -> float:
    """Invoke one batch of ``wanted``: every record done, each with exactly one call; the seconds it took."""
    standin.counters.clear()
    started = time.monotonic()
    response = function.invoke(fake_sqs_event(*(optout(number) for number in wanted), receive_count=1))
    elapsed = time.monotonic() - started
    assert response == {"batchItemFailures": []}  # every record: none failed on the circuit
    assert set(wanted) <= set(standin.stop_list())
    assert standin.counters["calls_add"] == len(wanted)  # none skipped, none retried
    return elapsed


def test_the_first_batch_after_the_outage_goes_through_whole(
    resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    function = after_an_outage(resources, standin, cooldown="1")
    standin.faults.latency_seconds = 0.3  # answers long enough for the batch to meet the probe under way
    time.sleep(1.1)  # past the cooldown: the next call is the half-open circuit's probe
    # The probe's round trip, then the others' wave (0.6 s; one after the other would take 3 s): the nine others
    # waited for the probe's answer. Loose, for a loaded machine.
    assert batch_through(function, standin, numbers(10, start=100)) < 8 * 0.3


def test_a_batch_that_finds_the_circuit_open_waits_for_its_probe_rather_than_fail(
    resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    """The provider came back while this instance's circuit is still open: the batch waits the 2 s to the probe
    (within its patience, the call's timeouts, as in production) and goes through, instead of failing into a
    further backoff step."""
    function = after_an_outage(resources, standin, cooldown="2", **PRODUCTION_TIMEOUTS)
    assert 1.0 <= batch_through(function, standin, numbers(10, start=200)) < 10.0


def test_the_stand_in_refuses_beyond_either_window(standin: SmsPartnerStandIn) -> None:
    standin.rate_limit = (5, 60.0)
    standin.burst_limit = (3, 1.0)
    answers = [requests.get(f"{standin.base_url}/stop-sms/list", params={"apiKey": "x"}, timeout=5) for _ in range(4)]
    time.sleep(1.05)
    answers += [requests.get(f"{standin.base_url}/stop-sms/list", params={"apiKey": "x"}, timeout=5) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429, 200, 200, 429]
    assert standin.counters["rate_limited_1s"] == 1
    assert standin.counters["rate_limited_60s"] == 1
    assert standin.busiest(1.0) == 3
    assert standin.busiest(60.0) == 5


def test_the_poller_leaves_the_handlers_backoff_alone(resources: LocalResources, standin: SmsPartnerStandIn) -> None:
    function = local_function(resources, "OptOutSqsFunction", "handlers.optout_sqs", RETRY_BACKOFF_BASE_SECONDS="60")
    standin.outage = True
    send(resources, [optout("0612345678")])
    poller = SqsEventSourcePoller(
        resources.queue_urls["OptOutQueue"], resources.queue_arns["OptOutQueue"], function.invoke, retry_delay_seconds=0
    )

    assert poller.poll_once() == 1
    time.sleep(1)

    assert poller.poll_once() == 0  # the queue's own timeout is 0 here: only the handler's 45-60 s holds it
    assert poller.in_queue() == 1


# --- 4. slow answers -------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_provider_answering_after_25_s_cannot_outlive_the_invocation(
    resources: LocalResources, standin: SmsPartnerStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    function = local_function(resources, "OptOutSqsFunction", "handlers.optout_sqs", **PRODUCTION_TIMEOUTS)
    standin.faults.latency_seconds = 25
    started = time.monotonic()

    response = function.invoke(fake_sqs_event(optout("0612345678"), "not json"))

    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(f"\nprovider answering after 25 s: invocation returned after {elapsed:.1f} s (timeout 30 s)")
    assert elapsed < 29
    assert {item["itemIdentifier"] for item in response["batchItemFailures"]} == {"msg-0000"}  # comes back
    [rejected] = dead_letters(resources.queue_urls["OptOutDeadLetterQueue"])  # the sibling's end is kept
    assert rejected["errorType"] == "invalid_event"


@pytest.mark.slow
def test_a_provider_that_never_answers_gets_last_receive_records_dead_lettered_before_the_deadline(
    resources: LocalResources, standin: SmsPartnerStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    function = local_function(resources, "OptOutSqsFunction", "handlers.optout_sqs", **PRODUCTION_TIMEOUTS)
    last = int(resources.parameters["MaxReceiveCount"])
    standin.queue_faults(*(["hang"] * 20))
    started = time.monotonic()

    response = function.invoke(fake_sqs_event(optout("0612345678"), optout("0698765432"), receive_count=last))

    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(f"\nprovider never answering: invocation returned after {elapsed:.1f} s (timeout 30 s)")
    assert elapsed < 29
    assert response == {"batchItemFailures": []}
    dead = dead_letters(resources.queue_urls["OptOutDeadLetterQueue"])
    assert len(dead) == 2
    assert all(message["reason"].startswith(f"gave up after {last} receives, last error: ") for message in dead)
    assert all(message["errorType"] == "provider_unavailable" for message in dead)


# --- 5. one wave per batch -------------------------------------------------------------------------------------
def test_a_batch_goes_out_in_one_wave(resources: LocalResources, standin: SmsPartnerStandIn) -> None:
    """The provider's round trip (1 s here) dominates: each record's own DynamoDB calls (its number's lease, the
    latest consent, the item, the write-through: a few ms each on AWS, tens on a loaded DynamoDB Local) add far
    less than a second wave would."""
    function = local_function(resources, "OptOutSqsFunction", "handlers.optout_sqs", **PRODUCTION_TIMEOUTS)
    standin.faults.latency_seconds = 1.0
    batch = int(resources.parameters["BatchSize"])
    # A whole batch first: the container's clients, its connection pools and DynamoDB Local's paths warm (with a
    # single record, one record of the timed batch once waited a second on DynamoDB Local before its call).
    function.invoke(fake_sqs_event(*(optout(number) for number in numbers(batch, start=batch))))
    standin.reset()
    standin.faults.latency_seconds = 1.0

    started = time.monotonic()
    response = function.invoke(fake_sqs_event(*(optout(number) for number in numbers(batch))))
    elapsed = time.monotonic() - started

    assert response == {"batchItemFailures": []}
    assert standin.max_in_flight == batch
    assert elapsed < 2 * 1.0  # one round trip, not two


# --- 6. dead-letter attributes ---------------------------------------------------------------------------------
def test_dead_letter_attributes_drop_what_sqs_refuses(resources: LocalResources, standin: SmsPartnerStandIn) -> None:
    function = local_function(resources, "OptOutSqsFunction", "handlers.optout_sqs")
    body = json.dumps({"phoneNumber": "3639", "eventId": "evt-\u0000-\u0008-\ufffe-\ud800-end"})

    assert function.invoke(fake_sqs_event(body)) == {"batchItemFailures": []}

    [rejected] = dead_letters(resources.queue_urls["OptOutDeadLetterQueue"])
    assert rejected["eventId"] == "evt-\ufffd-\ufffd-\ufffd-\ufffd-end"
    assert rejected["errorType"] == "invalid_phone_number"
    assert rejected["reason"].startswith("rejected: ")

from __future__ import annotations

import json

import pytest
from stoplist.domain.events import (
    MAX_EVENT_BYTES,
    ErasureRequest,
    OptInRequest,
    OptOutRequest,
    RawEvent,
    eventbridge_reader,
    parse_eventbridge_event,
    parse_sqs_body,
)
from stoplist.errors import InvalidConsentError, InvalidEventError


def test_contract_fields_are_read_and_unknown_fields_ignored() -> None:
    body = json.dumps(
        {
            "phoneNumber": "0612345678",
            "country": "fr",
            "source": "crm",
            "reason": "asked",
            "eventId": "evt-1",
            "occurredAt": "2026-11-22T09:15:00Z",
            "somethingElse": {"nested": True},
        }
    )
    request = parse_sqs_body(body, "msg-1")
    assert isinstance(request, OptOutRequest)
    assert request.phone_number == "0612345678"
    assert request.country == "FR"
    assert (request.source, request.reason, request.event_id) == ("crm", "asked", "evt-1")
    assert request.occurred_at == "2026-11-22T09:15:00Z"


def test_event_id_defaults_to_the_message_id() -> None:
    assert parse_sqs_body('{"phoneNumber": "0612345678"}', "msg-9").event_id == "msg-9"


def test_sns_envelope_is_unwrapped() -> None:
    envelope = {
        "Type": "Notification",
        "MessageId": "sns-1",
        "TopicArn": "arn:aws:sns:eu-west-3:123456789012:t",
        "Message": json.dumps({"phoneNumber": "0612345678"}),
    }
    request = parse_sqs_body(json.dumps(envelope), "msg-1")
    assert (request.phone_number, request.event_id) == ("0612345678", "sns-1")


def test_eventbridge_event_in_sqs_is_unwrapped() -> None:
    event = {"id": "eb-1", "detail-type": "SmsOptOutRequested", "source": "x", "detail": {"phoneNumber": "06"}}
    request = parse_sqs_body(json.dumps(event), "msg-1")
    assert (request.phone_number, request.event_id) == ("06", "eb-1")


def test_sns_wrapping_eventbridge_is_unwrapped() -> None:
    event = {"id": "eb-2", "detail-type": "SmsOptOutRequested", "detail": {"phoneNumber": "07"}}
    envelope = {"Type": "Notification", "TopicArn": "arn", "MessageId": "sns", "Message": json.dumps(event)}
    assert parse_sqs_body(json.dumps(envelope), "m").event_id == "eb-2"


def test_a_bus_delivery_is_read_as_lambda_handed_it_over_not_from_its_json() -> None:
    event = {"id": "eb-9", "detail-type": "SmsOptOutRequested", "detail": {"phoneNumber": "0612345678"}}
    # The body is what a dead letter carries; the reader never parses it.
    request = eventbridge_reader(event)(RawEvent("not json", "eb-9"))
    assert request == OptOutRequest(phone_number="0612345678", event_id="eb-9")


def test_eventbridge_detail_is_the_contract_object() -> None:
    request = parse_eventbridge_event({"id": "eb-3", "detail": {"phoneNumber": "0612345678", "source": "web"}})
    assert (request.event_id, request.source) == ("eb-3", "web")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "not valid JSON"),
        ("{", "not valid JSON"),
        ("[" * 100_000, "not valid JSON"),  # deep nesting: RecursionError inside json
        ("null", "JSON null"),
        ('"0612345678"', "JSON string"),
        ("42", "JSON number"),
        ("true", "JSON boolean"),
        ('{"phoneNumber": null}', "missing"),
        ('{"phoneNumber": {"n": 1}}', "JSON object"),
        ('{"phoneNumber": "06", "source": 3}', "source is a JSON number"),
        ('{"phoneNumber": "06", "eventId": []}', "eventId is a JSON array"),
        ('{"Type": "Notification", "TopicArn": "a", "Message": 3}', "no string Message"),
        ('{"Type": "Notification", "TopicArn": "a", "Message": "{"}', "SNS Message is not valid JSON"),
        ('{"detail-type": "x", "detail": "0612345678"}', "no object detail"),
    ],
)
def test_malformed_bodies_are_invalid_events(body: str, message: str) -> None:
    with pytest.raises(InvalidEventError, match=message):
        parse_sqs_body(body, "msg-1")


def test_oversized_body_is_rejected_before_parsing() -> None:
    body = json.dumps({"phoneNumber": "0612345678", "pad": "x" * MAX_EVENT_BYTES})
    with pytest.raises(InvalidEventError, match="larger than"):
        parse_sqs_body(body, "msg-1")


def test_long_text_field_is_rejected() -> None:
    with pytest.raises(InvalidEventError, match="longer than"):
        parse_sqs_body(json.dumps({"phoneNumber": "06", "reason": "x" * 2000}), "m")


OPT_IN = {"phoneNumber": "0612345678", "consentSource": "web-form", "consentAt": "2026-11-22T09:00:00+01:00"}


def test_action_defaults_to_opt_out_and_opt_in_reads_the_consent() -> None:
    assert parse_sqs_body('{"phoneNumber": "0612345678"}', "m").action == "opt-out"
    request = parse_sqs_body(json.dumps({**OPT_IN, "action": "opt-in", "consentText": "Oui"}), "m")
    assert isinstance(request, OptInRequest)
    assert (request.consent.source, request.consent.at, request.consent.text) == (
        "web-form",
        "2026-11-22T09:00:00+01:00",
        "Oui",
    )


def test_an_opt_out_ignores_consent_fields() -> None:
    request = parse_sqs_body(json.dumps({"phoneNumber": "0612345678", "consentAt": "not a date"}), "m")
    assert isinstance(request, OptOutRequest)


def test_detail_type_sms_opt_in_requested_means_opt_in() -> None:
    event = {"id": "e-1", "detail-type": "SmsOptInRequested", "detail": OPT_IN}
    assert parse_eventbridge_event(event).action == "opt-in"
    wrapped = json.dumps({"id": "e-2", "detail-type": "SmsOptInRequested", "source": "crm", "detail": OPT_IN})
    assert parse_sqs_body(wrapped, "m").action == "opt-in"  # an EventBridge -> SQS fan-out keeps its meaning


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"action": "subscribe"}, InvalidEventError, "action is neither opt-out nor opt-in"),
        ({"action": 1}, InvalidEventError, "action is a JSON number"),
        ({"action": "opt-in", "consentSource": None}, InvalidConsentError, "needs consentSource"),
        ({"action": "opt-in", "consentSource": "   "}, InvalidConsentError, "needs consentSource"),
        ({"action": "opt-in", "consentAt": ""}, InvalidConsentError, "needs consentAt"),
        ({"action": "opt-in", "consentAt": "yesterday"}, InvalidConsentError, "not an ISO 8601"),
        ({"action": "opt-in", "consentAt": "22/11/2026 09:00"}, InvalidConsentError, "not an ISO 8601"),
        ({"action": "opt-in", "consentAt": "2026-11-22T09:00:00"}, InvalidConsentError, "no UTC offset"),
        ({"action": "opt-in", "consentText": ["oui"]}, InvalidEventError, "consentText is a JSON array"),
    ],
)
def test_bad_action_and_consent_are_refused_with_a_reason(
    fields: dict[str, object], error: type[Exception], message: str
) -> None:
    body = {**OPT_IN, **fields}
    body = {name: value for name, value in body.items() if value is not None}
    with pytest.raises(error, match=message):
        parse_sqs_body(json.dumps(body), "m")


def test_detail_type_sms_erasure_requested_means_erase_with_or_without_the_action() -> None:
    erase = {"phoneNumber": "0612345678", "eventId": "forget-1"}
    for detail in (erase, {**erase, "action": "erase"}):  # the queue's object as it is, or without its action
        request = parse_eventbridge_event({"id": "e-1", "detail-type": "SmsErasureRequested", "detail": detail})
        assert isinstance(request, ErasureRequest)
        assert (request.phone_number, request.event_id) == ("0612345678", "forget-1")
    wrapped = json.dumps({"id": "e-2", "detail-type": "SmsErasureRequested", "source": "crm", "detail": erase})
    assert isinstance(parse_sqs_body(wrapped, "m"), ErasureRequest)  # handed over to the queue, still an erasure


@pytest.mark.parametrize(
    ("detail_type", "action"),
    [("SmsOptOutRequested", "erase"), ("SmsErasureRequested", "opt-out"), ("SmsErasureRequested", "opt-in")],
)
def test_an_erasure_and_another_action_never_stand_for_each_other(detail_type: str, action: str) -> None:
    """An erasure keeps the number as it is: it is neither an opt-out nor an opt-in, whatever the event says."""
    event = {"id": "e-1", "detail-type": detail_type, "detail": {**OPT_IN, "action": action}}
    with pytest.raises(InvalidEventError, match="contradicts the detail-type"):
        parse_eventbridge_event(event)


def test_an_action_contradicting_the_detail_type_is_refused() -> None:
    event = {"id": "e-1", "detail-type": "SmsOptOutRequested", "detail": {**OPT_IN, "action": "opt-in"}}
    with pytest.raises(InvalidEventError, match="contradicts the detail-type"):
        parse_eventbridge_event(event)

from __future__ import annotations

import json

import pytest
from stoplist.domain.events import MAX_EVENT_BYTES, parse_eventbridge_event, parse_sqs_body
from stoplist.errors import InvalidEventError


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

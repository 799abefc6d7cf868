"""Bad-input corpus: named cases through the real SQS handler, each between two good siblings.

Every case has one deterministic outcome (added to the stop list, or rejected into the dead-letter queue
with a reason), and never changes what happens to its siblings.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from devkit.lambda_runtime import LocalFunction
from devkit.standin import SmsPartnerStandIn
from devkit.template import LocalResources
from tests.helpers import dead_letters
from tests.integration.test_optout_sqs import sqs_event

pytestmark = pytest.mark.integration

ADDED, REJECTED = "added", "rejected"
SIBLINGS = ("+33698765401", "+33698765402")


def body(**fields: Any) -> str:
    return json.dumps(fields)


def phone(value: Any, **extra: Any) -> str:
    return json.dumps({"phoneNumber": value, **extra})


def sns(message: Any, **envelope: Any) -> str:
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": "sns-1",
            "TopicArn": "arn:aws:sns:eu-west-3:1:t",
            "Message": message,
            **envelope,
        }
    )


def bridge(detail: Any) -> str:
    return json.dumps(
        {"version": "0", "id": "eb-1", "detail-type": "SmsOptOutRequested", "source": "x", "detail": detail}
    )


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"n": value}
    return value


# (name, message body, expected outcome, E.164 expected in the stop list when added)
CASES: list[tuple[str, str, str, str | None]] = [
    # not JSON, or JSON that is not an object
    ("empty-body", "", REJECTED, None),
    ("whitespace-body", "  \n\t ", REJECTED, None),
    ("plain-text", "please unsubscribe 0612345678", REJECTED, None),
    ("truncated-json", '{"phoneNumber": "06123', REJECTED, None),
    ("single-quotes", "{'phoneNumber': '0612345678'}", REJECTED, None),
    ("json-array", '["0612345678"]', REJECTED, None),
    ("json-string", '"0612345678"', REJECTED, None),
    ("json-number", "612345678", REJECTED, None),
    ("json-null", "null", REJECTED, None),
    ("json-true", "true", REJECTED, None),
    ("deep-nesting-array", "[" * 50_000 + "]" * 50_000, REJECTED, None),
    ("deep-nesting-object", '{"a":' * 20_000 + "1" + "}" * 20_000, REJECTED, None),
    ("nesting-in-unknown-field", phone("0612345678", extra=nested(200)), ADDED, "+33612345678"),
    ("duplicate-keys-last-wins", '{"phoneNumber": "junk", "phoneNumber": "0612345678"}', ADDED, "+33612345678"),
    ("nan-phone", '{"phoneNumber": NaN}', REJECTED, None),
    ("body-over-256kb", phone("0612345678", pad="x" * 262_144), REJECTED, None),
    ("body-200kb-unknown-field", phone("0612345678", pad="x" * 200_000), ADDED, "+33612345678"),
    ("lone-surrogate", '{"phoneNumber": "\\ud800"}', REJECTED, None),
    # wrong types and missing fields
    ("phone-integer", phone(612345678), REJECTED, None),
    ("phone-float", phone(6.12e8), REJECTED, None),
    ("phone-list", phone(["0612345678"]), REJECTED, None),
    ("phone-object", phone({"number": "0612345678"}), REJECTED, None),
    ("phone-boolean", phone(True), REJECTED, None),
    ("phone-null", phone(None), REJECTED, None),
    ("phone-missing", body(phone="0612345678"), REJECTED, None),
    ("phone-key-wrong-case", body(PhoneNumber="0612345678"), REJECTED, None),
    ("country-number", phone("0612345678", country=33), REJECTED, None),
    ("country-alpha3", phone("0612345678", country="FRA"), REJECTED, None),
    ("country-lowercase", phone("0612345678", country="fr"), ADDED, "+33612345678"),
    ("country-empty-means-default", phone("0612345678", country=""), ADDED, "+33612345678"),
    ("country-unknown-code", phone("0612345678", country="ZZ"), REJECTED, None),
    ("source-number", phone("0612345678", source=5), REJECTED, None),
    ("event-id-object", phone("0612345678", eventId={"id": 1}), REJECTED, None),
    ("occurred-at-not-iso", phone("0612345678", occurredAt="yesterday"), REJECTED, None),
    ("occurred-at-number", phone("0612345678", occurredAt=1732291200), REJECTED, None),
    ("reason-too-long", phone("0612345678", reason="x" * 2000), REJECTED, None),
    ("unknown-fields-ignored", phone("0612345678", campaign="spring", optIn=False), ADDED, "+33612345678"),
    # phone values: empty, unicode, control characters, injections
    ("phone-empty", phone(""), REJECTED, None),
    ("phone-whitespace", phone("   "), REJECTED, None),
    ("phone-tabs-newlines", phone("\t\n"), REJECTED, None),
    ("full-width-digits", phone("\uff10\uff16\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18"), ADDED, "+33612345678"),
    (
        "arabic-indic-digits",
        phone("\u0660\u0666\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668"),
        ADDED,
        "+33612345678",
    ),
    ("emoji-prefix", phone("\U0001f4f10612345678"), ADDED, "+33612345678"),
    ("emoji-only", phone("\U0001f4f1\U0001f4de"), REJECTED, None),
    ("nul-byte", phone("06 12\x00 34 56 78"), REJECTED, None),
    ("zero-width-space", phone("06\u200b12345678"), REJECTED, None),
    ("bidi-override", phone("\u202e0612345678"), REJECTED, None),
    ("sql-injection", phone("0612345678'; DROP TABLE stops;--"), REJECTED, None),
    ("json-injection", phone('0612345678", "apiKey": "x'), REJECTED, None),
    ("script-injection", phone("<script>alert(1)</script>"), REJECTED, None),
    ("log4j-style-injection", phone("${jndi:ldap://x}"), REJECTED, None),
    ("two-numbers-in-one", phone("06 12 34 56 78 / 06 98 76 54 32"), REJECTED, None),
    ("digits-over-64-chars", phone("0" * 80), REJECTED, None),
    ("vanity-letters", phone("06 CALL ME NOW"), REJECTED, None),
    ("tel-uri", phone("tel:+33612345678"), ADDED, "+33612345678"),
    ("extension-dropped", phone("0612345678 ext. 12"), ADDED, "+33612345678"),
    # every common French format
    ("fr-compact", phone("0612345678"), ADDED, "+33612345678"),
    ("fr-spaces", phone("06 12 34 56 78"), ADDED, "+33612345678"),
    ("fr-dots", phone("06.12.34.56.78"), ADDED, "+33612345678"),
    ("fr-dashes", phone("06-12-34-56-78"), ADDED, "+33612345678"),
    ("fr-e164", phone("+33612345678"), ADDED, "+33612345678"),
    ("fr-plus-spaces", phone("+33 6 12 34 56 78"), ADDED, "+33612345678"),
    ("fr-plus-trunk-zero", phone("+33 (0)6 12 34 56 78"), ADDED, "+33612345678"),
    ("fr-parenthesised-code", phone("(+33) 6 12 34 56 78"), ADDED, "+33612345678"),
    ("fr-00-prefix", phone("0033612345678"), ADDED, "+33612345678"),
    ("fr-00-prefix-spaces", phone("0033 6 12 34 56 78"), ADDED, "+33612345678"),
    ("fr-code-without-plus", phone("33612345678"), ADDED, "+33612345678"),
    ("fr-without-trunk-zero", phone("6 12 34 56 78"), ADDED, "+33612345678"),
    ("fr-padded", phone("  +33612345678  "), ADDED, "+33612345678"),
    ("fr-07-mobile", phone("07 55 44 33 22"), ADDED, "+33755443322"),
    ("fr-landline", phone("01 23 45 67 89"), ADDED, "+33123456789"),
    # foreign numbers, with and without + and country
    ("de-plus", phone("+49 1512 3456789"), ADDED, "+4915123456789"),
    ("de-national-with-country", phone("01512 3456789", country="DE"), ADDED, "+4915123456789"),
    ("de-national-without-country", phone("01512 3456789"), REJECTED, None),
    ("us-plus", phone("+1 650 253 0000"), ADDED, "+16502530000"),
    ("us-national-with-country", phone("650 253 0000", country="US"), ADDED, "+16502530000"),
    ("us-national-without-country", phone("650 253 0000"), REJECTED, None),
    ("uk-plus", phone("+44 20 7946 0958"), ADDED, "+442079460958"),
    ("be-plus", phone("+32 470 12 34 56"), ADDED, "+32470123456"),
    ("plus-with-country-mismatch", phone("+49 1512 3456789", country="FR"), ADDED, "+4915123456789"),
    # short and special numbers
    ("short-number", phone("3639"), REJECTED, None),
    ("emergency-number", phone("112"), REJECTED, None),
    ("minitel-style", phone("36 15"), REJECTED, None),
    ("too-short-international", phone("+33 1"), REJECTED, None),
    # envelopes
    ("sns-valid", sns(phone("0612345678")), ADDED, "+33612345678"),
    ("sns-message-not-string", sns({"phoneNumber": "0612345678"}), REJECTED, None),
    ("sns-message-not-json", sns("{not json"), REJECTED, None),
    ("sns-message-array", sns("[1]"), REJECTED, None),
    (
        "sns-without-topic-is-plain-object",
        json.dumps({"Type": "Notification", "Message": phone("0612345678")}),
        REJECTED,
        None,
    ),
    ("eventbridge-valid", bridge({"phoneNumber": "0612345678"}), ADDED, "+33612345678"),
    ("eventbridge-detail-string", bridge("0612345678"), REJECTED, None),
    ("eventbridge-detail-null", bridge(None), REJECTED, None),
    ("eventbridge-detail-without-phone", bridge({"source": "crm"}), REJECTED, None),
    ("sns-wrapping-eventbridge", sns(bridge({"phoneNumber": "0612345678"})), ADDED, "+33612345678"),
]


def test_corpus_is_large_and_named_uniquely() -> None:
    names = [name for name, *_ in CASES]
    assert len(names) >= 60
    assert len(names) == len(set(names))


@pytest.mark.parametrize(("name", "message", "expected", "number"), CASES, ids=[case[0] for case in CASES])
def test_case_has_one_outcome_and_leaves_siblings_alone(
    sqs_function: LocalFunction,
    resources: LocalResources,
    standin: SmsPartnerStandIn,
    name: str,
    message: str,
    expected: str,
    number: str | None,
) -> None:
    response = sqs_function.invoke(sqs_event(phone(SIBLINGS[0]), message, phone(SIBLINGS[1])))

    assert response == {"batchItemFailures": []}
    stop_list = set(standin.stop_list())
    assert set(SIBLINGS) <= stop_list
    rejected = dead_letters(resources.queue_urls["OptOutDeadLetterQueue"])
    if expected == ADDED:
        assert stop_list - set(SIBLINGS) == {number}
        assert rejected == []
    else:
        assert stop_list == set(SIBLINGS)
        [dead] = rejected
        assert dead["originalMessageId"] == "msg-0001"
        assert dead["errorType"] in {"invalid_event", "invalid_phone_number"}
        assert dead["reason"].startswith("rejected: ")

"""Property-based tests (hypothesis): any input gets one deterministic outcome of the expected kinds."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from stoplist.domain.events import OptInRequest, parse_sqs_body
from stoplist.domain.ordering import parse_time
from stoplist.domain.phone import to_e164
from stoplist.errors import InvalidEventError, InvalidPhoneNumberError

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
phone_like = st.text(alphabet="0123456789 +().-", max_size=24) | st.text(max_size=24)
contract_objects = st.fixed_dictionaries(
    {"phoneNumber": phone_like | json_values},
    optional={
        "country": st.sampled_from(["FR", "fr", "DE", "US", "", "FRA", "ZZ"]) | json_values,
        "source": st.text(max_size=20) | json_values,
        "eventId": st.text(max_size=20) | json_values,
        "occurredAt": st.sampled_from(["2026-11-22T09:15:00Z", "2026-11-22", "soon"]) | json_values,
    },
)


def outcome(body: str) -> tuple[str, Any]:
    """Parse and normalise as the opt-out path does; the result must be one of three kinds."""
    try:
        request = parse_sqs_body(body, "msg-1")
        number = to_e164(request.phone_number, request.country, "FR")
    except InvalidEventError as exc:
        return ("invalid_event", str(exc))
    except InvalidPhoneNumberError as exc:
        return ("invalid_phone_number", str(exc))
    assert E164.match(number), number
    return ("valid", (number, request))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_body_has_a_deterministic_outcome(body: str) -> None:
    assert outcome(body) == outcome(body)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_body_has_a_deterministic_outcome(value: Any) -> None:
    body = json.dumps(value)
    first = outcome(body)
    assert first == outcome(body)
    if not isinstance(value, dict):
        assert first[0] == "invalid_event"


@settings(max_examples=400, deadline=None)
@given(contract_objects)
def test_contract_shaped_objects_have_a_deterministic_outcome(document: dict[str, Any]) -> None:
    body = json.dumps(document)
    kind, _ = outcome(body)
    assert (kind, _) == outcome(body)
    if not isinstance(document["phoneNumber"], str):
        assert kind == "invalid_event"


@settings(max_examples=400, deadline=None)
@given(phone_like, st.sampled_from([None, "FR", "DE", "US", "BE"]))
def test_normalisation_is_idempotent(raw: str, country: str | None) -> None:
    try:
        number = to_e164(raw, country, "FR")
    except InvalidPhoneNumberError:
        return
    assert E164.match(number)
    assert to_e164(number, None, "FR") == number
    assert to_e164(number, "US", "FR") == number  # a number with + ignores the country


opt_in_objects = st.fixed_dictionaries(
    {"phoneNumber": st.just("06 12 34 56 78"), "action": st.sampled_from(["opt-in", "OPT-IN", " opt-in "])},
    optional={
        "consentSource": st.text(max_size=20) | json_values,
        "consentAt": st.sampled_from(["2026-11-22T09:15:00Z", "2026-11-22T09:15:00", "2026-11-22", "hier"])
        | st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat())
        | json_values,
        "consentText": st.text(max_size=20) | json_values,
    },
)


@settings(max_examples=300, deadline=None)
@given(opt_in_objects)
def test_an_opt_in_is_either_refused_or_carries_usable_consent(value: dict[str, Any]) -> None:
    """Whatever the consent fields hold, an opt-in is refused (an InvalidEventError, never another exception)
    or it carries a non-blank source and a consentAt with an offset."""
    kind, result = outcome(json.dumps(value))
    if kind == "valid":
        request = result[1]
        assert isinstance(request, OptInRequest)
        assert request.consent.source.strip()
        assert parse_time(request.consent.at).tzinfo is not None
    else:
        assert kind == "invalid_event"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=12))
def test_only_the_two_actions_are_accepted(action: str) -> None:
    kind, result = outcome(json.dumps({"phoneNumber": "0612345678", "action": action}))
    if action.strip().lower() == "opt-out" or not action.strip():  # blank: absent, the default
        assert (kind, result[1].action) == ("valid", "opt-out")
    else:  # anything else, and an opt-in without consent
        assert kind == "invalid_event"

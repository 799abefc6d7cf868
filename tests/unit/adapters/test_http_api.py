"""Reading HTTP API v2 requests: bodies (base64, size), content types, charsets, repeated fields."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stoplist.adapters.http_api import MAX_BODY_BYTES, HttpRequest, json_response
from stoplist.errors import RequestRefusedError


def request(body: str | bytes | None, content_type: str | None = None, b64: bool = False) -> HttpRequest:
    event: dict[str, Any] = {"requestContext": {"http": {"method": "POST"}}, "headers": {}}
    if content_type is not None:
        event["headers"]["Content-Type"] = content_type
    if isinstance(body, bytes):
        body, b64 = base64.b64encode(body).decode(), True
    event["body"], event["isBase64Encoded"] = body, b64
    return HttpRequest.from_event(event)


def refused(req: HttpRequest) -> int:
    with pytest.raises(RequestRefusedError) as error:
        req.fields()
    return error.value.status


def test_form_json_multipart_and_base64() -> None:
    expected = {"msisdn": "33612345678", "text": "Arrêt"}
    form = "msisdn=33612345678&text=Arr%C3%AAt"
    assert request(form, "application/x-www-form-urlencoded").fields() == expected
    assert request(form.encode(), "application/x-www-form-urlencoded; charset=UTF-8").fields() == expected
    assert request(json.dumps(expected), "application/json").fields() == expected
    assert request(json.dumps(expected).encode(), "application/json").fields() == expected
    boundary = "XyZ"
    multipart = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="msisdn"\r\n\r\n33612345678\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\nArrêt\r\n--{boundary}--\r\n'
    ).encode()
    assert request(multipart, f"multipart/form-data; boundary={boundary}").fields() == expected


def test_latin1_forms() -> None:
    declared = request(b"text=Arr%EAt&msisdn=1", "application/x-www-form-urlencoded; charset=ISO-8859-1")
    assert declared.fields()["text"] == "Arrêt"
    undeclared = request(b"text=Arr%EAt&msisdn=1", "application/x-www-form-urlencoded")
    assert undeclared.fields()["text"] == "Arrêt"


def test_no_content_type_is_sniffed() -> None:
    assert request('{"text": "STOP"}').fields() == {"text": "STOP"}
    assert request("text=STOP").fields() == {"text": "STOP"}


def test_json_numbers_become_text_and_nulls_are_absent() -> None:
    assert request('{"msisdn": 33612345678, "to": null}', "application/json").fields() == {"msisdn": "33612345678"}


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("", "application/json", 400),
        ("   ", "application/x-www-form-urlencoded", 400),
        ("text=STOP", "text/plain", 415),
        ("<a/>", "application/xml", 415),
        ("text=STOP", "application/x-www-form-urlencoded; charset=koi8-r", 415),
        ('{"text": "STOP"}', "application/json; charset=latin-1", 415),
        ("text=a&text=b", "application/x-www-form-urlencoded", 400),
        ('{"text": "a", "text": "b"}', "application/json", 400),
        ('{"text": ["STOP"]}', "application/json", 400),
        ('{"text": true}', "application/json", 400),
        ('{"text": 1.5}', "application/json", 400),
        ('["STOP"]', "application/json", 400),
        ('{"text": ', "application/json", 400),
        ("[" * 5000 + "]" * 5000, "application/json", 400),
        ("&".join(f"f{i}=1" for i in range(100)), "application/x-www-form-urlencoded", 400),
        ("text=%00", "application/x-www-form-urlencoded", 400),
        ('{"text": "\\ud800"}', "application/json", 400),
        ("not a multipart", "multipart/form-data; boundary=zz", 400),
        ("x" * (MAX_BODY_BYTES + 1), "application/json", 413),
    ],
)
def test_refusals(body: str, content_type: str, status: int) -> None:
    assert refused(request(body, content_type)) == status


def test_bad_base64_and_huge_base64() -> None:
    assert refused(request("not base64!!", "application/json", b64=True)) == 400
    assert refused(request(b"x" * (MAX_BODY_BYTES + 1), "application/json")) == 413
    assert refused(request("A" * (MAX_BODY_BYTES * 2), "application/json", b64=True)) == 413


def test_invalid_utf8_json_is_400() -> None:
    assert refused(request(b'{"text": "\xff"}', "application/json")) == 400


def test_headers_and_query_as_api_gateway_gives_them() -> None:
    req = HttpRequest.from_event(
        {
            "headers": {"Accept-Language": "en"},
            "queryStringParameters": {"token": "a,b"},
            "pathParameters": {"token": "t"},
            "requestContext": {"http": {"method": "get"}},
        }
    )
    assert (req.method, req.headers["accept-language"], req.query["token"], req.body()) == ("GET", "en", "a,b", b"")


def test_json_response() -> None:
    answer = json_response(200, {"status": "ignored"})
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == {"status": "ignored"}
    assert answer["headers"]["cache-control"] == "no-store"


@settings(max_examples=400, deadline=None)
@given(
    body=st.binary(max_size=300) | st.text(max_size=200).map(str.encode),
    content_type=st.sampled_from(
        [
            None,
            "application/json",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=b",
            "text/plain",
            "application/json; charset=utf-16",
            "application/x-www-form-urlencoded; charset=latin1",
            "",
        ]
    ),
)
def test_any_body_gives_fields_or_a_refusal(body: bytes, content_type: str | None) -> None:
    """Never another exception (which would be a 500): text fields, or a refusal with a 4xx status."""
    status = 200
    fields: dict[str, str] = {}
    try:
        fields = request(body, content_type).fields()
    except RequestRefusedError as refusal:
        status = refusal.status
    assert 200 <= status < 500
    assert all(isinstance(key, str) and isinstance(value, str) for key, value in fields.items())


@settings(max_examples=300, deadline=None)
@given(
    fields=st.dictionaries(
        st.sampled_from(
            [
                "msisdn",
                "phone_number",
                "text",
                "messageId",
                "message_id",
                "concat",
                "concat-part",
                "concat-total",
                "type",
            ]
        ),
        st.text(max_size=30),
        max_size=9,
    )
)
def test_any_fields_give_a_reply_or_invalid_reply(fields: dict[str, str]) -> None:
    from stoplist.domain.replies import parse_reply
    from stoplist.errors import InvalidReplyError

    try:
        reply = parse_reply(fields, "FR")
    except InvalidReplyError:
        return
    assert reply.phone_number.startswith("+")

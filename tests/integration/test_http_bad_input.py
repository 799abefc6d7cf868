"""Bad-input corpus for the HTTP doors: each named request gets its status code and a JSON error (webhook) or
an HTML page (unsubscribe link), and nothing reaches OptOutQueue. Sent over real HTTP to the local HTTP API."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devkit.template import LocalResources
from tests.integration.http_doors import Doors, start_doors

pytestmark = pytest.mark.integration

FORM = "application/x-www-form-urlencoded"
GOOD = "msisdn=33612345678&messageId=m1&text=STOP"
TOKEN = "<token>"  # replaced by the webhook's real token


def form(**fields: str) -> bytes:
    return "&".join(f"{k}={v}" for k, v in fields.items()).encode()


# (name, body, content type, query string, expected status) for POST /webhooks/smspartner/replies
WEBHOOK_CASES: list[tuple[str, bytes, str | None, str, int]] = [
    ("no-token", GOOD.encode(), FORM, "", 401),
    ("empty-token", GOOD.encode(), FORM, "token=", 401),
    ("wrong-token", GOOD.encode(), FORM, "token=wrong", 403),
    ("token-prefix", GOOD.encode(), FORM, "token=<token-prefix>", 403),
    ("token-case-changed", GOOD.encode(), FORM, "token=<token-upper>", 403),
    ("token-repeated", GOOD.encode(), FORM, f"token={TOKEN}&token={TOKEN}", 403),
    ("token-in-body-only", (GOOD + "&token=x").encode(), FORM, "", 401),
    ("token-unicode", GOOD.encode(), FORM, "token=%C3%A9%C3%A9", 403),
    ("token-huge", GOOD.encode(), FORM, "token=" + "a" * 5000, 403),
    ("empty-body", b"", FORM, f"token={TOKEN}", 400),
    ("blank-body", b"  \n ", FORM, f"token={TOKEN}", 400),
    ("not-a-reply-form", form(hello="world"), FORM, f"token={TOKEN}", 400),
    ("not-a-reply-json", b'{"hello": "world"}', "application/json", f"token={TOKEN}", 400),
    ("json-array", b'[{"msisdn": "33612345678", "text": "STOP"}]', "application/json", f"token={TOKEN}", 400),
    ("json-string", b'"STOP"', "application/json", f"token={TOKEN}", 400),
    ("json-truncated", b'{"msisdn": "336123', "application/json", f"token={TOKEN}", 400),
    ("json-deep", b"[" * 50_00 + b"]" * 50_00, "application/json", f"token={TOKEN}", 400),
    ("json-text-array", b'{"msisdn": "33612345678", "text": ["STOP"]}', "application/json", f"token={TOKEN}", 400),
    ("json-text-bool", b'{"msisdn": "33612345678", "text": true}', "application/json", f"token={TOKEN}", 400),
    ("json-msisdn-float", b'{"msisdn": 3.3e10, "text": "STOP"}', "application/json", f"token={TOKEN}", 400),
    (
        "json-duplicate-text",
        b'{"msisdn": "33612345678", "text": "Hi", "text": "STOP"}',
        "application/json",
        f"token={TOKEN}",
        400,
    ),
    ("json-latin1-declared", b'{"text": "STOP"}', "application/json; charset=iso-8859-1", f"token={TOKEN}", 415),
    (
        "json-invalid-utf8-number",
        b'{"msisdn": "336123\xff45678", "text": "STOP"}',
        "application/json",
        f"token={TOKEN}",
        400,
    ),
    ("json-lone-surrogate", b'{"msisdn": "33612345678", "text": "\\ud800"}', "application/json", f"token={TOKEN}", 400),
    ("form-repeated-text", form(msisdn="33612345678", text="Hi") + b"&text=STOP", FORM, f"token={TOKEN}", 400),
    ("form-repeated-msisdn", GOOD.encode() + b"&msisdn=33698765432", FORM, f"token={TOKEN}", 400),
    ("form-missing-text", form(msisdn="33612345678", messageId="m"), FORM, f"token={TOKEN}", 400),
    ("form-missing-number", form(messageId="m", text="STOP"), FORM, f"token={TOKEN}", 400),
    ("form-both-shapes", GOOD.encode() + b"&phone_number=%2B33612345678", FORM, f"token={TOKEN}", 400),
    ("form-invalid-number", form(msisdn="3639", text="STOP"), FORM, f"token={TOKEN}", 400),
    ("form-letters-number", form(msisdn="abc", text="STOP"), FORM, f"token={TOKEN}", 400),
    ("form-nul-in-text", form(msisdn="33612345678", text="ST%00OP"), FORM, f"token={TOKEN}", 400),
    ("form-bad-concat", GOOD.encode() + b"&concat=true&concat-part=3&concat-total=2", FORM, f"token={TOKEN}", 400),
    ("form-not-form", b"=&&==", FORM, f"token={TOKEN}", 400),
    ("form-too-many-fields", "&".join(f"f{i}=1" for i in range(100)).encode(), FORM, f"token={TOKEN}", 400),
    ("form-unknown-charset", GOOD.encode(), FORM + "; charset=koi8-r", f"token={TOKEN}", 415),
    ("form-text-too-long", form(msisdn="33612345678", text="S" * 1700), FORM, f"token={TOKEN}", 400),
    ("body-over-limit", GOOD.encode() + b"&pad=" + b"x" * 20_000, FORM, f"token={TOKEN}", 413),
    ("body-1mb", b"x" * 1_000_000, FORM, f"token={TOKEN}", 413),
    ("text-plain", b"STOP", "text/plain", f"token={TOKEN}", 415),
    ("xml", b"<reply><text>STOP</text></reply>", "application/xml", f"token={TOKEN}", 415),
    ("octet-stream", GOOD.encode(), "application/octet-stream", f"token={TOKEN}", 415),
    ("multipart-broken", b"--zz\r\nnot a part", "multipart/form-data; boundary=zz", f"token={TOKEN}", 400),
    (
        "multipart-file",
        b'--zz\r\nContent-Disposition: form-data; name="text"; filename="a.txt"\r\n\r\nSTOP\r\n--zz--\r\n',
        "multipart/form-data; boundary=zz",
        f"token={TOKEN}",
        400,
    ),
]

# (name, method, path after /u/, extra headers, body, expected status) for /u/{token}
LONG_TOKEN = "A" * 33
PAGE_CASES: list[tuple[str, str, str, dict[str, str], bytes, int]] = [
    ("token-one-char", "GET", "A", {}, b"", 404),
    ("token-31-chars", "GET", "A" * 31, {}, b"", 404),
    ("token-33-chars", "GET", LONG_TOKEN, {}, b"", 404),
    ("token-32-random", "GET", "A" * 32, {}, b"", 404),
    ("token-huge", "GET", "A" * 4000, {}, b"", 404),
    ("token-padding", "GET", "A" * 31 + "=", {}, b"", 404),
    ("token-std-base64-chars", "GET", "+" * 16 + "/" * 0 + "B" * 16, {}, b"", 404),
    ("token-percent-unicode", "GET", "%C3%A9" * 32, {}, b"", 404),
    ("token-percent-nul", "GET", "%00" * 32, {}, b"", 404),
    ("token-dots", "GET", "..", {}, b"", 404),
    ("token-flipped-char", "GET", "<flipped>", {}, b"", 404),
    ("token-truncated", "GET", "<truncated>", {}, b"", 404),
    ("token-extended", "GET", "<extended>", {}, b"", 404),
    ("token-other-key", "GET", "<other-key>", {}, b"", 404),
    ("token-swapped-case", "GET", "<swapped-case>", {}, b"", 404),
    ("post-flipped-char", "POST", "<flipped>", {}, b"", 404),
    ("post-other-key", "POST", "<other-key>", {}, b"", 404),
    ("post-random", "POST", "A" * 32, {"content-type": FORM}, b"", 404),
    ("post-body-over-limit", "POST", "<valid>", {"content-type": FORM}, b"x" * 5000, 413),
    ("post-bad-base64-body", "POST", "<valid>", {"content-type": "application/octet-stream"}, b"\xff" * 5000, 413),
    ("get-valid-link", "GET", "<valid>", {}, b"", 200),
    ("get-valid-link-english", "GET", "<valid>", {"accept-language": "en"}, b"", 200),
    ("get-valid-link-junk-language", "GET", "<valid>", {"accept-language": ";;q=x,,"}, b"", 200),
]


@pytest.fixture(scope="module")
def doors(resources_module: LocalResources) -> Iterator[Doors]:
    yield from start_doors(resources_module)


@pytest.fixture(scope="module")
def resources_module(local_aws: Any, template: dict[str, Any], standin_server: Any) -> LocalResources:
    from devkit.template import create_resources

    return create_resources(
        template,
        parameter_overrides={"SmsPartnerApiUrl": standin_server.base_url, "EventBusName": "badhttp-bus"},
        prefix="badhttp",
    )


def _query(template: str, token: str) -> str:
    return (
        template.replace("<token-prefix>", token[:-1]).replace("<token-upper>", token.swapcase()).replace(TOKEN, token)
    )


@pytest.mark.parametrize(
    ("name", "body", "content_type", "query", "status"), WEBHOOK_CASES, ids=[c[0] for c in WEBHOOK_CASES]
)
def test_webhook_refuses(
    doors: Doors, name: str, body: bytes, content_type: str | None, query: str, status: int
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    url = f"{doors.url}/webhooks/smspartner/replies?{_query(query, doors.webhook_token)}"
    answer = requests.post(url, data=body, headers=headers, timeout=10)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert "error" in answer.json()
    assert doors.queued() == 0


def _token(doors: Doors, kind: str) -> str:
    valid = doors.link("06 12 34 56 77").rsplit("/", 1)[1]
    replaced = {
        "<valid>": valid,
        "<flipped>": valid[:10] + ("B" if valid[10] != "B" else "C") + valid[11:],
        "<truncated>": valid[:-1],
        "<extended>": valid + "A",
        "<other-key>": _other_key_token(),
        "<swapped-case>": valid.swapcase(),
    }
    return replaced.get(kind, kind)


def _other_key_token() -> str:
    from stoplist.domain.links import make_unsubscribe_url

    return make_unsubscribe_url("x", "06 12 34 56 77", "some-other-key-0123456789abcdef").rsplit("/", 1)[1]


@pytest.mark.parametrize(
    ("name", "method", "path", "headers", "body", "status"), PAGE_CASES, ids=[c[0] for c in PAGE_CASES]
)
def test_page_answers(
    doors: Doors, name: str, method: str, path: str, headers: dict[str, str], body: bytes, status: int
) -> None:
    answer = requests.request(method, f"{doors.url}/u/{_token(doors, path)}", data=body, headers=headers, timeout=10)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith(("text/html", "application/json"))
    if answer.headers["content-type"].startswith("text/html"):
        assert "<html lang=" in answer.text
        assert answer.headers["content-security-policy"]
        assert answer.headers["cache-control"] == "no-store"
        if status != 200:
            assert "**" not in answer.text  # a refused link reveals nothing
    assert doors.queued() == 0


def test_a_good_reply_still_works_after_the_corpus(doors: Doors) -> None:
    answer = requests.post(
        f"{doors.url}/webhooks/smspartner/replies?token={doors.webhook_token}",
        data=base64.b64decode(base64.b64encode(b"msisdn=33612345678&messageId=m1&text=STOP")),
        headers={"content-type": FORM},
        timeout=10,
    )
    assert json.loads(answer.text) == {"status": "opt_out"}
    assert doors.queued() == 1

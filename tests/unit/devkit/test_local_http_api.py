"""The local HTTP API's events look like API Gateway's (payload format 2.0), and its routes are the template's."""

from __future__ import annotations

import base64

from devkit.http_api import http_api_event, route_pattern
from devkit.template import HttpRoute, http_routes, load_template

ROUTE = HttpRoute("POST", "/u/{token}", "UnsubscribePageFunction", "handlers.unsubscribe_page")


def test_event_shape() -> None:
    event = http_api_event(
        ROUTE,
        "POST",
        "/u/abc?x=1&x=2&empty=",
        [("Content-Type", "application/x-www-form-urlencoded"), ("X-A", "1"), ("x-a", "2"), ("Cookie", "a=1; b=2")],
        b"text=STOP",
        {"token": "abc"},
    )
    assert event["version"] == "2.0"
    assert event["routeKey"] == event["requestContext"]["routeKey"] == "POST /u/{token}"
    assert event["rawPath"] == "/u/abc"
    assert event["rawQueryString"] == "x=1&x=2&empty="
    assert event["queryStringParameters"] == {"x": "1,2", "empty": ""}
    assert event["headers"]["x-a"] == "1,2"
    assert event["cookies"] == ["a=1", "b=2"]
    assert "cookie" not in event["headers"]
    assert event["pathParameters"] == {"token": "abc"}
    assert event["isBase64Encoded"] is True  # a form post, as API Gateway sends it
    assert base64.b64decode(event["body"]) == b"text=STOP"
    assert event["requestContext"]["http"]["method"] == "POST"


def test_json_is_text_and_no_body_means_no_key() -> None:
    json_event = http_api_event(ROUTE, "POST", "/u/a", [("content-type", "application/json")], b"{}", {})
    assert (json_event["body"], json_event["isBase64Encoded"]) == ("{}", False)
    get = http_api_event(ROUTE, "GET", "/u/a", [], b"", {"token": "a"})
    assert "body" not in get
    assert "queryStringParameters" not in get


def test_route_patterns_take_one_segment() -> None:
    pattern = route_pattern("/u/{token}")
    match = pattern.match("/u/abc")
    assert match is not None
    assert match.group("token") == "abc"
    assert pattern.match("/u/abc/def") is None
    assert pattern.match("/u/") is None


def test_routes_come_from_the_template() -> None:
    assert {route.module for route in http_routes(load_template())} == {
        "handlers.replies_webhook",
        "handlers.unsubscribe_page",
    }

"""The template's HTTP API on loopback: each request becomes an API Gateway HTTP API event (payload format
2.0) for the function its route names, and the function's answer becomes the HTTP response.

What API Gateway does and the handlers rely on is done the same way here: header names lower-cased and
repeated headers joined with commas, repeated query parameters joined with commas, cookies apart, bodies
that are not text (form posts included) base64-encoded with ``isBase64Encoded``, ``pathParameters`` from
the route's ``{name}`` segments, 404 ``{"message":"Not Found"}`` for a request no route matches, 413 past
the 10 MB payload limit. Functions run one at a time (their environment is the process's).

The server never logs a request line: paths and query strings carry link tokens and the webhook token.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from devkit.lambda_runtime import LocalFunction
from devkit.loopback_http import LoopbackRequestHandler
from devkit.template import HttpRoute

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")


def route_pattern(path: str) -> re.Pattern[str]:
    """``/u/{token}`` -> a regex with a named group per path parameter (one segment each)."""
    parts = re.split(r"\{([A-Za-z0-9_]+)\}", path)
    regex = "".join(re.escape(part) if index % 2 == 0 else f"(?P<{part}>[^/]+)" for index, part in enumerate(parts))
    return re.compile(f"^{regex}$")


def http_api_event(
    route: HttpRoute,
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes,
    path_parameters: Mapping[str, str],
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """The event API Gateway passes to a Lambda proxy integration, payload format 2.0."""
    split = urlsplit(target)
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    query: dict[str, str] = {}
    for name, value in parse_qsl(split.query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": split.path,
        "rawQueryString": split.query,
        "headers": joined,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": joined.get("host", "127.0.0.1"),
            "domainPrefix": joined.get("host", "127.0.0.1").split(".")[0],
            "http": {
                "method": method,
                "path": split.path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": joined.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex[:16] + "=",
            "routeKey": route.route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if body:
        content_type = joined.get("content-type", "").lower()
        if content_type.startswith(_TEXT_TYPES):
            event["body"] = body.decode("utf-8", errors="replace")
        else:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


class LocalHttpApi:
    """``LocalHttpApi(routes, functions).start()``; ``base_url``; ``responses`` counts (route key, status).

    ``lock`` is held during each invocation: pass the one the other local triggers hold, so that functions run
    one at a time (the environment is the process's).
    """

    def __init__(
        self,
        routes: list[HttpRoute],
        functions: Mapping[str, LocalFunction],
        port: int = 0,
        lock: threading.Lock | None = None,
    ) -> None:
        self.routes = [(route, route_pattern(route.path)) for route in routes]
        self.functions = functions
        self.responses: Counter[tuple[str, int]] = Counter()
        self.lock = lock or threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _make_handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> LocalHttpApi:
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-http-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LocalHttpApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def match(self, method: str, path: str) -> tuple[HttpRoute, dict[str, str]] | None:
        for route, pattern in self.routes:
            found = pattern.match(path)
            if found and route.method == method:
                return route, {name: unquote(value) for name, value in found.groupdict().items()}
        return None

    def invoke(self, route: HttpRoute, event: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            result = self.functions[route.function_id].invoke(event)
        if not isinstance(result, dict) or "statusCode" not in result:
            # Payload 2.0's inferred format: anything else is a 200 JSON body.
            return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(result)}
        return result


def _make_handler(api: LocalHttpApi) -> type[BaseHTTPRequestHandler]:
    class Handler(LoopbackRequestHandler):
        server_version = "local-http-api"

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def do_PUT(self) -> None:
            self._serve()

        def do_DELETE(self) -> None:
            self._serve()

        def do_HEAD(self) -> None:
            self._serve()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_PAYLOAD_BYTES:
                self._send(413, {"content-type": "application/json"}, b'{"message":"Request Entity Too Large"}')
                self.close_connection = True
                return
            body = self.rfile.read(length) if length else b""
            path = urlsplit(self.path).path
            matched = api.match(self.command, path)
            if matched is None:
                api.responses[("no route", 404)] += 1
                self._send(404, {"content-type": "application/json"}, b'{"message":"Not Found"}')
                return
            route, parameters = matched
            event = http_api_event(route, self.command, self.path, list(self.headers.items()), body, parameters)
            started = time.monotonic()
            result = api.invoke(route, event)
            status = int(result.get("statusCode", 200))
            api.responses[(route.route_key, status)] += 1
            raw = result.get("body") or ""
            payload = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode("utf-8")
            headers = {str(k).lower(): str(v) for k, v in (result.get("headers") or {}).items()}
            headers.setdefault("content-type", "application/json")
            headers["x-local-latency-ms"] = f"{(time.monotonic() - started) * 1000:.0f}"
            self._send(status, headers, payload, result.get("cookies") or [])

        def _send(self, status: int, headers: Mapping[str, str], payload: bytes, cookies: Sequence[str] = ()) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            for cookie in cookies:
                self.send_header("set-cookie", cookie)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

    return Handler

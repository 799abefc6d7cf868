"""A faithful stand-in of the SMS Partner stop-list endpoints (add, list, delete), as a real HTTP server on loopback.

It follows the provider's contract as docs/smspartner-api.md writes it down: ``POST /v1/stop-sms/add``
(JSON body or form fields ``apiKey``, ``phoneNumber``, ``_format``) answers
``{"success": true, "code": 200, "stopId": N}`` or an error object
``{"success": false, "code": C, "message": M}`` with the documented codes 1, 2, 3, 9 and 10;
``GET /v1/stop-sms/list?apiKey=...`` answers ``{"success": true, "code": 200, "nbData": N, "data": [...]}``;
``GET /v1/stop-sms/delete?apiKey=...&id=N`` answers ``{"success": true, "code": 200}`` or the documented
codes 1, 3 (id required), 4 (id not found) and 10.
The docs do not say which HTTP status an error comes with: ``error_status`` chooses (200 by default).

Faults are injectable, by rate (seeded, reproducible) or queued for the next requests: latency, HTTP 500,
HTTP 503, HTTP 429 with Retry-After, read timeout (the server does the work, then answers too late),
connection reset, malformed JSON (the work is done, the body is cut), and a hang (no answer at all, until
the client gives up). Two provider states too: sliding-window rate limits (``rate_limit`` and, optionally, a
second shorter one, ``burst_limit``: at most N requests served in any S seconds each; beyond either, HTTP 429
with a JSON error and no Retry-After, since the docs leave both the counting and the header open) and an
outage (``outage``: every request answers HTTP 503 with an HTML page). It counts calls, TCP connections and
the most requests it had in flight at once, so tests can check the client's keep-alive and its bound.

Run it alone with ``python -m devkit.standin --port 8080 --api-key local-key``.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import random
import re
import socket
import struct
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from devkit.loopback_http import LoopbackRequestHandler

FAULTS = ("http_500", "http_503", "http_429", "timeout", "reset", "malformed", "hang")
MESSAGES = {
    1: "API key is required",
    2: "Phone number is required",
    3: "Number is already in stop list",
    9: "Invalid phone number",
    10: "Invalid API key",
}
# stop-sms/delete's own meanings of codes 3 and 4 (gestion_reponsep3 in SMS Partner's docs).
DELETE_MESSAGES = {3: "L'ID number is required", 4: "L'ID number not found."}
ENDPOINTS = {"/v1/stop-sms/list": "list", "/v1/stop-sms/delete": "delete"}
_NATIONAL_FR = re.compile(r"0[1-9][0-9]{8}")
_INTERNATIONAL = re.compile(r"\+[1-9][0-9]{7,14}")


@dataclass
class FaultPlan:
    """Rates are probabilities per request (0..1), drawn in the order of FAULTS."""

    latency_seconds: float = 0.0
    rates: dict[str, float] = field(default_factory=dict)
    retry_after_seconds: float = 0.05
    timeout_seconds: float = 2.0  # how long a "timeout" answer is held back; set above the client's read timeout
    endpoints: tuple[str, ...] = ("add", "list", "delete")


@dataclass
class ListOverride:
    """Makes the next list answers wrong in a documented-looking way (snapshot safety tests)."""

    kind: str  # "truncated" | "nbdata_mismatch" | "error_code" | "empty" | "http_500"
    code: int = 10
    remaining: int = 1


class SmsPartnerStandIn:
    def __init__(
        self,
        api_keys: tuple[str, ...] = ("local-key",),
        host: str = "127.0.0.1",
        port: int = 0,
        error_status: int = 200,
        seed: int = 7,
    ) -> None:
        self.api_keys = set(api_keys)
        self.error_status = error_status
        # A provider that quotes the request in its error messages: ``{message}``, ``{phone}`` and ``{key}``
        # are filled in (the real one's messages are not documented to do so; the client must not care).
        self.message_template = "{message}"
        self.faults = FaultPlan()
        self._queued_faults: list[str] = []
        self._queued_codes: dict[str, list[int]] = {"add": [], "delete": []}
        self._list_override: ListOverride | None = None
        # Test control: runs before each delete is answered (to cross an opt-out with a re-opt-in).
        self.before_delete: Callable[[], None] | None = None
        self._random = random.Random(seed)
        self._lock = threading.RLock()
        self._stops: dict[str, tuple[int, str]] = {}
        self._raw_entries: list[object] = []
        self._next_id = 1
        self._list_cache: bytes | None = None
        self.counters: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.rate_limit: tuple[int, float] | None = None  # (requests, window seconds), served ones counted
        self.burst_limit: tuple[int, float] | None = None  # a second window, e.g. (100, 5.0) besides (1200, 60.0)
        self.served_at: list[float] = []  # when each request under a limit was served (monotonic), for reports
        self.outage = False
        self._served: deque[float] = deque()
        self._hung = threading.Event()  # set on reset/stop: hung requests end (the client gave up long before)
        self._server = ThreadingHTTPServer((host, port), _make_handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> SmsPartnerStandIn:
        self._thread = threading.Thread(target=self._server.serve_forever, name="smspartner-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._hung.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SmsPartnerStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- test controls ---------------------------------------------------------------------------------------
    def reset(self) -> None:
        with self._lock:
            self._stops.clear()
            self._raw_entries.clear()
            self._next_id = 1
            self._list_cache = None
            self._queued_faults.clear()
            for queued in self._queued_codes.values():
                queued.clear()
            self._list_override = None
            self.before_delete = None
            self.faults = FaultPlan()
            self.message_template = "{message}"
            self.counters.clear()
            self.max_in_flight = 0
            self.rate_limit = None
            self.burst_limit = None
            self.served_at = []
            self.outage = False
            self._served.clear()
            self._hung.set()
            self._hung = threading.Event()

    def queue_faults(self, *faults: str) -> None:
        """The next requests get these faults, one each, in order."""
        unknown = set(faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults: {sorted(unknown)}")
        with self._lock:
            self._queued_faults.extend(faults)

    def queue_codes(self, *codes: int, endpoint: str = "add") -> None:
        """The next calls of ``endpoint`` (add or delete) answer these error codes, one each (e.g. 2, 9, 4)."""
        with self._lock:
            self._queued_codes[endpoint].extend(codes)

    def override_list(self, override: ListOverride) -> None:
        with self._lock:
            self._list_override = override

    def seed_stop_list(self, numbers: list[str], created_at: str = "2024-01-01 00:00:00") -> None:
        """Load numbers as if they had been added long ago (fast: no HTTP)."""
        with self._lock:
            for number in numbers:
                if number not in self._stops:
                    self._stops[number] = (self._next_id, created_at)
                    self._next_id += 1
            self._list_cache = None

    def seed_raw_entries(self, entries: list[object]) -> None:
        """Append list entries exactly as given, however odd (a ``phoneNumber`` that is a JSON number, null,
        text, has spaces or a trailing newline; an entry that is not an object): the list answers them after
        the regular entries, counted in ``nbData``."""
        with self._lock:
            self._raw_entries.extend(entries)
            self._list_cache = None

    def remove_numbers(self, numbers: list[str]) -> None:
        with self._lock:
            for number in numbers:
                self._stops.pop(number, None)
            self._list_cache = None

    def stop_list(self) -> dict[str, tuple[int, str]]:
        with self._lock:
            return dict(self._stops)

    # --- behaviour -------------------------------------------------------------------------------------------
    def over_rate_limit(self) -> bool:
        """Sliding windows: refuse when ``N`` requests were served in the last ``S`` s, for either limit (each
        refusal counted as ``rate_limited`` and as ``rate_limited_<S>s``, the window that refused it)."""
        with self._lock:
            limits = [limit for limit in (self.rate_limit, self.burst_limit) if limit is not None]
            if not limits:
                return False
            now = time.monotonic()
            longest = max(window for _, window in limits)
            while self._served and self._served[0] <= now - longest:
                self._served.popleft()
            for limit, window in limits:
                since = now - window
                if sum(1 for _ in itertools.takewhile(since.__lt__, reversed(self._served))) >= limit:
                    self.counters["rate_limited"] += 1
                    self.counters[f"rate_limited_{window:g}s"] += 1
                    return True
            self._served.append(now)
            self.served_at.append(now)
            return False

    def busiest(self, window: float) -> int:
        """The most requests served in any ``window`` seconds (under a limit): what the provider would count."""
        with self._lock:
            times = list(self.served_at)
        busiest = 0
        first = 0
        for last, served in enumerate(times):
            while times[first] <= served - window:
                first += 1
            busiest = max(busiest, last - first + 1)
        return busiest

    def hang(self) -> None:
        """Never answer (until reset or stop): the provider accepted the connection and went silent."""
        self._hung.wait()

    def draw_fault(self, endpoint: str) -> str | None:
        with self._lock:
            if self._queued_faults:
                return self._queued_faults.pop(0)
            if endpoint not in self.faults.endpoints:
                return None
            roll = self._random.random()
            for fault in FAULTS:
                rate = self.faults.rates.get(fault, 0.0)
                if roll < rate:
                    return fault
                roll -= rate
            return None

    def add(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        refused = self._refusal(params, "add")
        if refused is not None:
            return refused
        raw = params.get("phoneNumber", "").strip()
        if not raw:
            return self._error(2, params)
        number = _provider_format(raw)
        if number is None:
            return self._error(9, params)
        with self._lock:
            if number in self._stops:
                self.counters["add_already_listed"] += 1
                return self._error(3, params)
            stop_id = self._next_id
            self._next_id += 1
            self._stops[number] = (stop_id, datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"))
            self._list_cache = None
            self.counters["add_added"] += 1
        return 200, {"success": True, "code": 200, "stopId": stop_id}

    def list_body(self, params: dict[str, str]) -> tuple[int, bytes]:
        key = params.get("apiKey", "")
        if not key or key not in self.api_keys:
            status, document = self._error(10 if key else 1, params)
            return status, json.dumps(document).encode()
        with self._lock:
            override = self._list_override
            if override is not None:
                override.remaining -= 1
                if override.remaining <= 0:
                    self._list_override = None
            if self._list_cache is None or override is not None:
                entries: list[object] = [
                    {"id": stop_id, "phoneNumber": number, "createdAt": created}
                    for number, (stop_id, created) in self._stops.items()
                ]
                entries.extend(self._raw_entries)
                body = {"success": True, "code": 200, "nbData": len(entries), "data": entries}
                if override is not None:
                    return _apply_list_override(override, body, self.error_status)
                self._list_cache = json.dumps(body, separators=(",", ":")).encode()
            return 200, self._list_cache

    def delete(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if self.before_delete is not None:
            self.before_delete()
        refused = self._refusal(params, "delete")
        if refused is not None:
            return refused
        raw_id = params.get("id", "").strip()
        if not raw_id:
            return self._error(3, params, DELETE_MESSAGES[3])
        with self._lock:
            number = next(
                (number for number, (stop_id, _) in self._stops.items() if str(stop_id) == raw_id),
                None,
            )
            if number is None:
                return self._error(4, params, DELETE_MESSAGES[4])
            del self._stops[number]
            self._list_cache = None
            self.counters["delete_deleted"] += 1
        return 200, {"success": True, "code": 200}

    def _refusal(self, params: dict[str, str], endpoint: str) -> tuple[int, dict[str, Any]] | None:
        """What the provider answers before it looks at the request: the key's codes, or a code a test queued."""
        key = params.get("apiKey", "")
        if not key:
            return self._error(1, params)
        if key not in self.api_keys:
            return self._error(10, params)
        with self._lock:
            queued = self._queued_codes[endpoint]
            forced = queued.pop(0) if queued else None
        if forced is None:
            return None
        return self._error(forced, params, DELETE_MESSAGES.get(forced) if endpoint == "delete" else None)

    def _error(self, code: int, params: dict[str, str], message: str | None = None) -> tuple[int, dict[str, Any]]:
        """``message``: the endpoint's own wording of the code (delete's 3 and 4), else the add's."""
        with self._lock:
            self.counters[f"code_{code}"] += 1
        message = self.message_template.format(
            message=message or MESSAGES.get(code, "Error"),
            phone=params.get("phoneNumber", ""),
            key=params.get("apiKey", ""),
        )
        return self.error_status, {"success": False, "code": code, "message": message}


def _apply_list_override(override: ListOverride, body: dict[str, Any], error_status: int) -> tuple[int, bytes]:
    if override.kind == "truncated":
        text = json.dumps(body).encode()
        return 200, text[: max(1, len(text) * 2 // 3)]
    if override.kind == "nbdata_mismatch":
        body["data"] = body["data"][: len(body["data"]) // 2]
        return 200, json.dumps(body).encode()
    if override.kind == "error_code":
        return error_status, json.dumps({"success": False, "code": override.code, "message": "error"}).encode()
    if override.kind == "empty":
        return 200, json.dumps({"success": True, "code": 200, "nbData": 0, "data": []}).encode()
    if override.kind == "http_500":
        return 500, b"<html>Internal Server Error</html>"
    raise ValueError(f"unknown list override {override.kind!r}")


def _provider_format(raw: str) -> str | None:
    """The provider's own check, as documented: national French (06...) or international (+...)."""
    compact = re.sub(r"[\s.\-()]", "", raw)
    if _NATIONAL_FR.fullmatch(compact):
        return "+33" + compact[1:]
    if _INTERNATIONAL.fullmatch(compact):
        return compact
    return None


def _make_handler(standin: SmsPartnerStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(LoopbackRequestHandler):
        def setup(self) -> None:
            super().setup()
            with standin._lock:
                standin.counters["connections"] += 1

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            endpoint = ENDPOINTS.get(url.path.rstrip("/"))
            if endpoint is None:
                self._send(404, b'{"success": false, "code": 404, "message": "Not found"}')
                return
            self._serve(endpoint, _flat(parse_qs(url.query)))

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if url.path.rstrip("/") != "/v1/stop-sms/add":
                self._send(404, b'{"success": false, "code": 404, "message": "Not found"}')
                return
            params = _flat(parse_qs(url.query))
            params.update(_body_params(raw, self.headers.get("Content-Type", "")))
            self._serve("add", params)

        def _serve(self, endpoint: str, params: dict[str, str]) -> None:
            with standin._lock:
                standin.counters[f"calls_{endpoint}"] += 1
                standin.in_flight += 1
                standin.max_in_flight = max(standin.max_in_flight, standin.in_flight)
            try:
                self._answer(endpoint, params)
            finally:
                with standin._lock:
                    standin.in_flight -= 1

        def _answer(self, endpoint: str, params: dict[str, str]) -> None:
            if standin.faults.latency_seconds:
                time.sleep(standin.faults.latency_seconds)
            if standin.outage:
                with standin._lock:
                    standin.counters["outage"] += 1
                self._send(503, b"<html><body><h1>503 Service Unavailable</h1>Maintenance</body></html>", "text/html")
                return
            if standin.over_rate_limit():
                self._send(429, b'{"success": false, "code": 429, "message": "Too many requests"}')
                return
            fault = standin.draw_fault(endpoint)
            if fault:
                with standin._lock:
                    standin.counters[f"fault_{fault}"] += 1
            if fault == "hang":
                standin.hang()
                self.close_connection = True
                return
            if fault == "reset":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()
                return
            if fault in ("http_500", "http_503"):
                self._send(int(fault[-3:]), b"<html><body>Service unavailable</body></html>", "text/html")
                return
            if fault == "http_429":
                body = b'{"success": false, "code": 429, "message": "Too many requests"}'
                self._send(429, body, headers={"Retry-After": str(standin.faults.retry_after_seconds)})
                return
            # The remaining faults happen after the provider did the work, the hardest case for a client.
            if endpoint in ("add", "delete"):
                status, document = standin.add(params) if endpoint == "add" else standin.delete(params)
                body = json.dumps(document).encode()
            else:
                status, body = standin.list_body(params)
            if fault == "timeout":
                time.sleep(standin.faults.timeout_seconds)
            if fault == "malformed":
                body = body[: max(1, len(body) // 2)]
            self._send(status, body)

        def _send(
            self,
            status: int,
            body: bytes,
            content_type: str = "application/json",
            headers: dict[str, str] | None = None,
        ) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (its read timeout): nothing to answer

    return Handler


def _flat(query: dict[str, list[str]]) -> dict[str, str]:
    return {name: values[0] for name, values in query.items() if values}


def _body_params(raw: bytes, content_type: str) -> dict[str, str]:
    if not raw:
        return {}
    if "json" in content_type or raw.lstrip().startswith(b"{"):
        try:
            document = json.loads(raw)
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in document.items() if v is not None} if isinstance(document, dict) else {}
    return _flat(parse_qs(raw.decode("utf-8", errors="replace")))


def _limit(text: str) -> tuple[int, float]:
    """``N/S`` (e.g. ``100/5``): N requests in any S seconds."""
    requests, _, seconds = text.partition("/")
    try:
        return int(requests), float(seconds)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N/S, e.g. 100/5, not {text!r}") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--api-key", action="append", default=None, help="a valid key (repeatable)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    parser.add_argument("--rate-limit", type=_limit, help="N/S: at most N requests in any S seconds (429 beyond)")
    parser.add_argument("--burst-limit", type=_limit, help="N/S: a second, shorter window, e.g. 100/5")
    args = parser.parse_args()
    standin = SmsPartnerStandIn(tuple(args.api_key or ["local-key"]), host=args.host, port=args.port)
    standin.faults.latency_seconds = args.latency
    standin.rate_limit = args.rate_limit
    standin.burst_limit = args.burst_limit
    print(f"SMS Partner stand-in on {standin.base_url} (Ctrl-C to stop)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        standin._server.serve_forever()


if __name__ == "__main__":
    main()

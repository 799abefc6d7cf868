"""SMS Partner client for the stop-list endpoints: add, list and delete (the contract: docs/smspartner-api.md).

One ``requests.Session`` per container (keep-alive, pooled to the record concurrency), connect and read
timeouts, JSON asked with ``_format=json``. The body is read whatever the HTTP status, since the docs do
not say which status an error comes with. Provider codes become the typed errors of ``stoplist.errors``.

Every attempt first asks the instance's circuit breaker (is the provider known down? while its half-open
probe is under way, the attempt waits for the probe's answer) and the pacer (a place in a second of the
stack's budget of calls, shared by every instance), and is bounded by the caller's deadline: its read
timeout, the wait for a probe and the waits between attempts end before the invocation's time is up.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import requests
from requests.adapters import HTTPAdapter

from stoplist.adapters.circuit import CircuitBreaker
from stoplist.adapters.list_body import BodyError, ListBody
from stoplist.adapters.pacing import Pacer
from stoplist.adapters.secrets import ApiKeySource
from stoplist.domain.backoff import Backoff, Uniform
from stoplist.domain.deadline import Deadline
from stoplist.domain.ports import AddResult, DeleteResult, StopEntry
from stoplist.errors import (
    InvalidPhoneNumberError,
    ProviderAuthError,
    ProviderError,
    ProviderRejectedError,
    ProviderThrottledError,
    ProviderUnavailableError,
    StopListError,
)
from stoplist.observability import logger, mask_phones_in

CODE_SUCCESS = 200
CODE_API_KEY_REQUIRED = 1
CODE_PHONE_REQUIRED = 2
CODE_ALREADY_LISTED = 3
# stop-sms/delete gives codes 3 and 4 meanings of their own: "id required" and "id not found".
CODE_ID_REQUIRED = 3
CODE_ID_NOT_FOUND = 4
CODE_INVALID_PHONE = 9
CODE_INVALID_API_KEY = 10
AUTH_CODES = frozenset({CODE_API_KEY_REQUIRED, CODE_INVALID_API_KEY})
# Longest provider message echoed into a log line, a DLQ attribute or an exception text.
MESSAGE_LIMIT = 120
# A Retry-After longer than this is not waited for inside an invocation: SQS redelivery covers it.
MAX_RETRY_AFTER_SECONDS = 5.0
# A call is not started with less time than this left before the deadline: it could not finish.
MIN_CALL_SECONDS = 1.0
# The list's body is read in chunks of this size, and the deadline looked at every this many entries.
LIST_CHUNK_BYTES = 65536
LIST_DEADLINE_EVERY = 4096

T = TypeVar("T")
# What a reader of an answer is given to judge a document: ``_check_code`` bound to the call.
Check = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts of one provider call inside an invocation (values from ``Settings``, through ``wiring``)."""

    max_attempts: int
    base_delay: float
    max_delay: float
    uniform: Uniform = field(default=random.uniform, compare=False, repr=False)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Full jitter on an exponential backoff; a (capped) Retry-After is a floor."""
        backoff = Backoff(self.base_delay, self.max_delay, uniform=self.uniform).delay(attempt)
        if retry_after is not None:
            return max(backoff, min(retry_after, MAX_RETRY_AFTER_SECONDS))
        return backoff


class HttpSession(Protocol):
    """What the client uses of ``requests.Session`` (unit tests script the answers through it)."""

    def post(self, url: str, *, json: Any, timeout: tuple[float, float]) -> requests.Response: ...

    def get(
        self, url: str, *, params: Any, timeout: tuple[float, float], stream: bool = False
    ) -> requests.Response: ...


def new_session(pool_size: int, base_url: str) -> requests.Session:
    """A keep-alive session whose pool holds a connection for each record in flight.

    requests reads the proxy and CA-bundle variables of the environment again on every call (walking all of
    ``os.environ``: 12 % of a call's CPU, profiled); a container's environment does not change, so they are
    read once here, by requests' own rules for ``base_url``, and the session stops looking.
    """
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(1, pool_size), max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = "smspartner-stoplist/0.1"
    settings = session.merge_environment_settings(base_url, {}, None, None, None)
    session.proxies = settings["proxies"]
    session.verify = settings["verify"]
    session.trust_env = False
    return session


class SmsPartnerClient:
    """Implements ``StopListProvider`` (``stoplist.domain.ports``)."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: ApiKeySource,
        session: HttpSession,
        connect_timeout: float,
        read_timeout: float,
        retry: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
        pacer: Pacer | None = None,
        circuit: CircuitBreaker | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._session = session
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._retry = retry
        self._sleep = sleep
        self._pacer = pacer
        self._circuit = circuit

    def add_stop(self, e164: str, deadline: Deadline | None = None) -> AddResult:
        """``POST /stop-sms/add``. Code 3 (already listed) is a success: the call is idempotent."""

        def send(key: str, timeout: tuple[float, float]) -> requests.Response:
            body = {"apiKey": key, "phoneNumber": e164, "_format": "json"}
            return self._session.post(f"{self._base_url}/stop-sms/add", json=body, timeout=timeout)

        document = self._call(
            _Endpoint("stop-sms/add", send, _read_document, accept_codes=frozenset({CODE_ALREADY_LISTED})), deadline
        )
        code = document.get("code")
        if code == CODE_ALREADY_LISTED:
            return AddResult(already_listed=True)
        stop_id = document.get("stopId")
        return AddResult(already_listed=False, stop_id=stop_id if isinstance(stop_id, int) else None)

    def list_stops(self, deadline: Deadline | None = None) -> Iterator[StopEntry]:
        """``GET /stop-sms/list``, its entries yielded as they are read from the connection.

        Getting the answer and reading it up to its first entry is one attempt, retried, paced and bounded by
        ``deadline`` like any call (an error document, an unreadable head, a 5xx). Once entries flow, a body
        found cut, not JSON, disagreeing with its ``nbData``, or read past ``deadline`` raises
        ``ProviderUnavailableError`` after the entries read so far: a caller acts on the list only once it is
        exhausted. Memory does not grow with the list: at 1,000,000 entries (77 MB of JSON) the process keeping
        one number's entries peaks at 45 MB RSS, its imports' own figure, in 4.9 s (1.8 s of CPU); the whole
        body read at once peaked at 537 MB (bench/list_memory.py, against the stand-in on loopback).
        """

        def send(key: str, timeout: tuple[float, float]) -> requests.Response:
            params = {"apiKey": key, "_format": "json"}
            return self._session.get(f"{self._base_url}/stop-sms/list", params=params, timeout=timeout, stream=True)

        opened = self._call(_Endpoint("stop-sms/list", send, _open_list), deadline)
        return self._list_entries(opened, deadline)

    def _list_entries(self, opened: _OpenList, deadline: Deadline | None) -> Iterator[StopEntry]:
        endpoint = "stop-sms/list"
        count = 0
        try:
            for entry in opened.body.entries():
                count += 1
                if count % LIST_DEADLINE_EVERY == 0 and deadline is not None and deadline.remaining() <= 0:
                    raise ProviderUnavailableError(f"{endpoint}: the deadline passed after {count} entries")
                yield entry
        except BodyError as exc:
            raise self._cut_short(f"{endpoint}: {exc} after {count} entries") from None
        except requests.RequestException as exc:
            raise self._cut_short(f"{endpoint}: {type(exc).__name__} after {count} entries") from None
        finally:
            opened.response.close()
        opened.check(opened.body.fields)  # the fields written after data, if any
        declared = opened.body.fields.get("nbData")
        if isinstance(declared, int) and declared != count:
            raise ProviderUnavailableError(f"{endpoint} declared {declared} entries but returned {count}: truncated")

    def _cut_short(self, message: str) -> ProviderUnavailableError:
        """An answer that broke off once its entries flowed: a failure of the provider, too late to retry."""
        if self._circuit is not None:
            self._circuit.failed(message)
        return ProviderUnavailableError(message)

    def delete_stop(self, stop_id: int, deadline: Deadline | None = None) -> DeleteResult:
        """``GET /stop-sms/delete?id=``. Code 4 (id not found) is done, not an error: the entry is gone."""

        def send(key: str, timeout: tuple[float, float]) -> requests.Response:
            params = {"apiKey": key, "id": str(stop_id), "_format": "json"}
            return self._session.get(f"{self._base_url}/stop-sms/delete", params=params, timeout=timeout)

        document = self._call(
            _Endpoint(
                "stop-sms/delete",
                send,
                _read_document,
                accept_codes=frozenset({CODE_ID_NOT_FOUND}),
                rejected_codes=frozenset({CODE_PHONE_REQUIRED, CODE_ID_REQUIRED}),
            ),
            deadline,
        )
        return DeleteResult(found=document.get("code") != CODE_ID_NOT_FOUND)

    def _call(self, endpoint: _Endpoint[T], deadline: Deadline | None) -> T:
        """Send with bounded retries of transient failures and one re-read of the secret on an auth code."""
        key = self._api_key.get()
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._attempt(endpoint, key, deadline)
            except ProviderAuthError:
                if refreshed:
                    raise
                refreshed = True
                logger.warning("provider refused the api key, reading the secret again", endpoint=endpoint.name)
                key = self._api_key.refresh_after_rejection(key)
                attempt -= 1  # the re-read is not one of the transient attempts
            except ProviderUnavailableError as exc:
                if attempt >= self._retry.max_attempts or not exc.attempted:
                    raise
                # After a 429 the pacer itself holds the next call back (Retry-After included).
                paced = isinstance(exc, ProviderThrottledError) and self._pacer is not None
                delay = 0.0 if paced else self._retry.delay(attempt, exc.retry_after)
                if deadline is not None and deadline.remaining() - delay < MIN_CALL_SECONDS:
                    raise  # no time for another attempt: the record comes back later
                logger.info(
                    "provider call failed, retrying",
                    endpoint=endpoint.name,
                    attempt=attempt,
                    delay_seconds=round(delay, 3),
                    error=str(exc),
                )
                if delay:
                    self._sleep(delay)

    def _attempt(self, endpoint: _Endpoint[T], key: str, deadline: Deadline | None) -> T:
        """One call, if the circuit lets it through and the pacer gives it a slot before the deadline."""
        circuit = self._circuit
        if circuit is not None and (blocked := circuit.blocked(self._probe_patience(deadline))) is not None:
            why, wait = blocked
            raise ProviderUnavailableError(f"{endpoint.name}: {why}", retry_after=wait, circuit_open=True)
        try:
            timeout = self._slot(endpoint.name, deadline)
            result = self._once(endpoint, key, timeout)
        except ProviderThrottledError as exc:
            if exc.attempted and self._pacer is not None:
                self._pacer.throttled(exc.retry_after)
                logger.warning("provider throttled the call", endpoint=endpoint.name, retry_after=exc.retry_after)
            if circuit is not None and exc.attempted:
                circuit.succeeded()  # a 429 is an answer: the provider is up
            elif circuit is not None:
                circuit.abandoned()
            raise
        except ProviderUnavailableError as exc:
            if circuit is not None and exc.attempted:
                circuit.failed(str(exc))
            elif circuit is not None:
                circuit.abandoned()
            raise
        except StopListError:
            if circuit is not None:
                circuit.succeeded()  # an error code is an answer: the provider is up
            raise
        except Exception:
            if circuit is not None:
                circuit.abandoned()
            raise
        if circuit is not None:
            circuit.succeeded()
        return result

    def _probe_patience(self, deadline: Deadline | None) -> float:
        """How long a call waits for a half-open circuit's probe: as long as the probe can take (its timeouts),
        and never so long that no time would be left for the call itself."""
        patience = self._connect_timeout + self._read_timeout
        if deadline is not None:
            patience = min(patience, deadline.remaining() - MIN_CALL_SECONDS)
        return max(0.0, patience)

    def _slot(self, endpoint: str, deadline: Deadline | None) -> tuple[float, float]:
        """Wait for the pacer's place; the call's timeouts, shortened to what the deadline leaves."""
        if self._pacer is not None:
            throttled = self._pacer.acquire(None if deadline is None else deadline.remaining() - MIN_CALL_SECONDS)
            if throttled is not None:
                raise ProviderThrottledError(
                    f"{endpoint}: no place in the provider's budget before the deadline",
                    retry_after=throttled.wait_seconds,
                    attempted=False,
                )
        if deadline is None:
            return (self._connect_timeout, self._read_timeout)
        left = deadline.remaining()
        if left < MIN_CALL_SECONDS:
            raise ProviderUnavailableError(f"{endpoint}: no time left in the invocation", attempted=False)
        return (min(self._connect_timeout, left), min(self._read_timeout, left))

    def _once(self, endpoint: _Endpoint[T], key: str, timeout: tuple[float, float]) -> T:
        name = endpoint.name
        try:
            response = endpoint.send(key, timeout)
        except requests.RequestException as exc:
            # requests' messages carry the URL, and the URL of the GET carries the key: name the type only.
            raise ProviderUnavailableError(f"{name}: {type(exc).__name__}") from None
        with _closed_on_error(response):
            status = response.status_code
            retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
            if status == 429:
                raise ProviderThrottledError(f"{name}: HTTP 429", retry_after=retry_after)
            if status >= 500:
                raise ProviderUnavailableError(f"{name}: HTTP {status}", retry_after=retry_after)

            def check(document: dict[str, Any]) -> dict[str, Any]:
                return _check_code(endpoint, document, status, key)

            try:
                return endpoint.read(name, response, check)
            except requests.RequestException as exc:
                raise ProviderUnavailableError(f"{name}: {type(exc).__name__}") from None


@dataclass(frozen=True)
class _Endpoint(Generic[T]):
    """One call of the API, as every attempt of it needs it: its name (in logs and error texts), how it is sent
    with a key and timeouts, how its answer is read into the call's result (``Check`` judging its document), and
    what its codes mean: ``accept_codes`` are answers too, ``rejected_codes`` a request that can never succeed
    (permanent)."""

    name: str
    send: Callable[[str, tuple[float, float]], requests.Response]
    read: Callable[[str, requests.Response, Check], T]
    accept_codes: frozenset[int] = frozenset()
    rejected_codes: frozenset[int] = frozenset({CODE_PHONE_REQUIRED})


@contextlib.contextmanager
def _closed_on_error(response: requests.Response) -> Iterator[None]:
    """A streamed answer holds its connection until read or closed: one given up on goes back to the pool."""
    try:
        yield
    except BaseException:
        response.close()
        raise


def _read_document(endpoint: str, response: requests.Response, check: Check) -> dict[str, Any]:
    """The answer of add and delete: one small JSON object."""
    text = response.text
    try:
        document = response.json() if text else None
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise ProviderUnavailableError(f"{endpoint}: HTTP {response.status_code} with a body that is not a JSON object")
    return check(document)


@dataclass(frozen=True)
class _OpenList:
    """A list answer read up to its first entry: the rest is read as the caller takes the entries."""

    response: requests.Response
    body: ListBody
    check: Check


def _open_list(endpoint: str, response: requests.Response, check: Check) -> _OpenList:
    """Read the list's answer up to its first entry; its fields are judged as soon as they are known (an error
    document has no entries: it is read whole here, within the attempt, so an auth code re-reads the secret)."""
    body = ListBody(response.iter_content(LIST_CHUNK_BYTES))
    try:
        body.open()
    except BodyError as exc:
        raise ProviderUnavailableError(f"{endpoint}: HTTP {response.status_code} with {exc}") from None
    if body.complete:
        check(body.fields)
    elif "success" in body.head:
        check(body.head)  # an error document that has entries too: refused before any is handed over
    if not body.has_data_list:
        raise ProviderUnavailableError(f"{endpoint} answered without a data list")
    return _OpenList(response, body, check)


def _check_code(endpoint: _Endpoint[Any], document: dict[str, Any], status: int, key: str) -> dict[str, Any]:
    """The endpoint's answer judged by its codes: accepted, or the typed error it stands for."""
    code = document.get("code")
    if document.get("success") is True and code in (CODE_SUCCESS, None):
        return document
    if code in endpoint.accept_codes:
        return document
    name = endpoint.name
    message = _safe_message(document.get("message"), key)
    if code in AUTH_CODES:
        raise ProviderAuthError(f"{name}: code {code} ({message})")
    if code == CODE_INVALID_PHONE:
        raise InvalidPhoneNumberError(f"{name}: code 9 ({message})")
    if code in endpoint.rejected_codes:
        raise ProviderRejectedError(f"{name}: code {code} ({message})")
    raise ProviderError(f"{name}: HTTP {status}, unexpected code {_safe_message(repr(code), key)} ({message})")


def _safe_message(message: object, key: str) -> str:
    """The provider's message as it may be echoed into logs, DLQ attributes and exception texts: the key
    replaced, phone numbers masked, *then* cut to MESSAGE_LIMIT (cut first, a key straddling the cut would
    leave its first characters behind)."""
    if message is None:
        return "no message"
    text = str(message)
    if key:
        text = text.replace(key, "***")
    return mask_phones_in(text)[:MESSAGE_LIMIT]


def _retry_after_seconds(header: str | None) -> float | None:
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        return None  # an HTTP-date: fall back to our own backoff

from __future__ import annotations

import json
import string
import tracemalloc
from collections.abc import Iterator

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from stoplist.adapters.circuit import CircuitBreaker
from stoplist.adapters.provider import (
    LIST_DEADLINE_EVERY,
    MAX_RETRY_AFTER_SECONDS,
    MESSAGE_LIMIT,
    RetryPolicy,
    SmsPartnerClient,
    new_session,
)
from stoplist.adapters.secrets import ApiKeySource
from stoplist.domain.deadline import Deadline
from stoplist.domain.ports import StopEntry
from stoplist.errors import (
    InvalidPhoneNumberError,
    ProviderAuthError,
    ProviderError,
    ProviderRejectedError,
    ProviderUnavailableError,
)

from tests.unit.fakes import FakeSecrets, FakeSession, response

KEY = "secret-key-value-1234"
OK = {"success": True, "code": 200, "stopId": 300}


def client(
    session: FakeSession, secrets: FakeSecrets | None = None, sleeps: list[float] | None = None
) -> SmsPartnerClient:
    source = ApiKeySource("arn:secret", 300, secrets or FakeSecrets(KEY))
    return SmsPartnerClient(
        base_url="https://api.example/v1/",
        api_key=source,
        session=session,
        connect_timeout=3.05,
        read_timeout=10.0,
        retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02),
        sleep=(sleeps.append if sleeps is not None else lambda _: None),
    )


def test_add_posts_json_with_key_number_and_format() -> None:
    session = FakeSession(response(200, OK))
    result = client(session).add_stop("+33612345678")
    assert (result.already_listed, result.stop_id) == (False, 300)
    [sent] = session.sent
    assert sent["url"] == "https://api.example/v1/stop-sms/add"
    assert sent["json"] == {"apiKey": KEY, "phoneNumber": "+33612345678", "_format": "json"}
    assert sent["timeout"] == (3.05, 10.0)


@pytest.mark.parametrize("status", [200, 400, 409])
def test_code_3_is_already_listed_whatever_the_status(status: int) -> None:
    session = FakeSession(response(status, {"success": False, "code": 3, "message": "Number is already in stop list"}))
    assert client(session).add_stop("+33612345678").already_listed


@pytest.mark.parametrize(
    ("code", "error"),
    [(9, InvalidPhoneNumberError), (2, ProviderRejectedError), (42, ProviderError)],
)
@pytest.mark.parametrize("status", [200, 400])
def test_error_codes_map_to_typed_errors(code: int, error: type[Exception], status: int) -> None:
    session = FakeSession(response(status, {"success": False, "code": code, "message": "m"}))
    with pytest.raises(error, match=f"code {code}"):
        client(session).add_stop("+33612345678")
    assert len(session.sent) == 1  # not retried


@pytest.mark.parametrize("code", [1, 10])
def test_auth_code_reads_the_secret_again_once(code: int) -> None:
    secrets = FakeSecrets(KEY)
    refused = response(401, {"success": False, "code": code, "message": "Invalid API key"})
    session = FakeSession(refused, response(200, OK))

    def rotate(url: str, *, json: object, timeout: tuple[float, float]) -> requests.Response:
        secrets.value = "rotated-key"
        return FakeSession._next(session, method="POST", url=url, json=json, timeout=timeout)

    session.post = rotate  # type: ignore[method-assign]
    assert client(session, secrets).add_stop("+33612345678").stop_id == 300
    assert [sent["json"]["apiKey"] for sent in session.sent] == [KEY, "rotated-key"]
    assert secrets.forced_reads == 1


def test_auth_code_after_the_reread_raises() -> None:
    refused = response(200, {"success": False, "code": 10, "message": "Invalid API key"})
    session = FakeSession(refused, refused)
    with pytest.raises(ProviderAuthError, match="code 10"):
        client(session).add_stop("+33612345678")
    assert len(session.sent) == 2


@pytest.mark.parametrize(
    "failure",
    [
        response(500, "<html>oops</html>"),
        response(503, ""),
        response(429, {"success": False}),
        response(200, '{"success": tr'),
        response(200, "[]"),
        requests.ConnectionError("connection reset"),
        requests.ReadTimeout("read timed out"),
    ],
    ids=["500", "503", "429", "malformed", "not-an-object", "reset", "timeout"],
)
def test_transient_failures_are_retried_then_raised(failure: requests.Response | Exception) -> None:
    sleeps: list[float] = []
    session = FakeSession(failure, failure, failure)
    with pytest.raises(ProviderUnavailableError):
        client(session, sleeps=sleeps).add_stop("+33612345678")
    assert len(session.sent) == 3
    assert len(sleeps) == 2
    assert all(0 <= delay <= 0.02 for delay in sleeps)


def test_retry_after_is_a_floor_and_capped() -> None:
    sleeps: list[float] = []
    session = FakeSession(
        response(429, {}, {"Retry-After": "1.5"}), response(429, {}, {"Retry-After": "3600"}), response(200, OK)
    )
    client(session, sleeps=sleeps).add_stop("+33612345678")
    assert sleeps == [1.5, MAX_RETRY_AFTER_SECONDS]


def test_network_errors_never_carry_the_url_or_key() -> None:
    leaky = requests.ConnectionError(f"HTTPSConnectionPool: /v1/stop-sms/list?apiKey={KEY} failed")
    session = FakeSession(leaky, leaky, leaky)
    with pytest.raises(ProviderUnavailableError) as caught:
        client(session).list_stops()
    assert KEY not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def refusal(message: str) -> str:
    """The text of the error raised for an unknown code whose message is ``message``."""
    session = FakeSession(*(response(200, {"success": False, "code": 42, "message": message}) for _ in range(3)))
    with pytest.raises(ProviderError) as caught:
        client(session).add_stop("+33612345678")
    return str(caught.value)


# Everything but the key's own alphabet: what is left of the key after redaction cannot hide in the filler.
FILLER = " .,:;!?'()/éèàç"
KEY_ALPHABET = set(string.ascii_letters + string.digits + "-")


@pytest.mark.parametrize("position", range(MESSAGE_LIMIT + len(KEY) + 2))
def test_a_key_anywhere_in_a_long_message_leaves_nothing(position: int) -> None:
    """The key at every position: before, across and after the cut."""
    message = FILLER[0] * position + KEY + FILLER[1] * 40
    text = refusal(message)
    echoed = text[text.index("(") + 1 : text.rindex(")")]
    assert not set(echoed) & KEY_ALPHABET, echoed
    assert len(echoed) <= MESSAGE_LIMIT


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=string.ascii_letters + string.digits + "-", min_size=8, max_size=64),
    st.text(alphabet=FILLER, max_size=300),
    st.integers(min_value=0, max_value=300),
)
def test_a_key_anywhere_in_any_message_leaves_nothing(key: str, filler: str, position: int) -> None:
    from stoplist.adapters.provider import _safe_message

    cut = min(position, len(filler))
    echoed = _safe_message(filler[:cut] + key + filler[cut:], key)
    assert not set(echoed) & KEY_ALPHABET, echoed
    assert len(echoed) <= MESSAGE_LIMIT


def test_numbers_echoed_by_the_provider_are_masked() -> None:
    session = FakeSession(response(200, {"success": False, "code": 9, "message": "Numéro 06 12 34 56 78 invalide"}))
    with pytest.raises(InvalidPhoneNumberError) as caught:
        client(session).add_stop("+33612345678")
    assert str(caught.value) == "stop-sms/add: code 9 (Numéro ****5678 invalide)"


def test_an_unknown_code_is_echoed_safely() -> None:
    code = f"{KEY} +33612345678"
    session = FakeSession(*(response(200, {"success": False, "code": code}) for _ in range(3)))
    with pytest.raises(ProviderError) as caught:
        client(session).add_stop("+33612345678")
    assert KEY not in str(caught.value)
    assert "12345678" not in str(caught.value)


def test_provider_message_echoing_the_key_is_redacted() -> None:
    session = FakeSession(response(200, {"success": False, "code": 42, "message": f"bad key {KEY}"}))
    with pytest.raises(ProviderError) as caught:
        client(session).add_stop("+33612345678")
    assert KEY not in str(caught.value)


def test_list_reads_entries() -> None:
    body = {
        "success": True,
        "code": 200,
        "nbData": 2,
        "data": [
            {"id": 19, "phoneNumber": "+33612345678", "createdAt": "2015-07-20 10:19:45"},
            {"id": 20, "phoneNumber": "0698765432", "createdAt": None},
        ],
    }
    session = FakeSession(response(200, body))
    entries = list(client(session).list_stops())
    assert [(e.stop_id, e.phone_number, e.created_at) for e in entries] == [
        (19, "+33612345678", "2015-07-20 10:19:45"),
        (20, "0698765432", None),
    ]
    assert session.sent[0]["params"] == {"apiKey": KEY, "_format": "json"}
    assert session.sent[0]["stream"] is True


def test_delete_gets_with_key_id_and_format_in_the_query() -> None:
    session = FakeSession(response(200, {"success": True, "code": 200}))
    assert client(session).delete_stop(666).found
    [sent] = session.sent
    assert (sent["method"], sent["url"]) == ("GET", "https://api.example/v1/stop-sms/delete")
    assert sent["params"] == {"apiKey": KEY, "id": "666", "_format": "json"}


@pytest.mark.parametrize("status", [200, 404])
def test_delete_code_4_id_not_found_is_done(status: int) -> None:
    session = FakeSession(response(status, {"success": False, "code": 4, "message": "L'ID number not found."}))
    assert client(session).delete_stop(666).found is False
    assert len(session.sent) == 1


@pytest.mark.parametrize("code", [2, 3])
def test_delete_codes_2_and_3_are_permanent_not_already_listed(code: int) -> None:
    session = FakeSession(response(200, {"success": False, "code": code, "message": "L'ID number is required"}))
    with pytest.raises(ProviderRejectedError, match=f"stop-sms/delete: code {code}"):
        client(session).delete_stop(666)


def test_delete_auth_code_rereads_the_secret_and_errors_never_carry_the_key() -> None:
    refused = response(200, {"success": False, "code": 10, "message": f"Incorrect API Key {KEY}"})
    session = FakeSession(refused, refused)
    with pytest.raises(ProviderAuthError) as caught:
        client(session).delete_stop(666)
    assert KEY not in str(caught.value)
    assert len(session.sent) == 2


def test_delete_network_error_names_the_type_only() -> None:
    failure = requests.ConnectionError(f"GET https://api.example/v1/stop-sms/delete?apiKey={KEY}&id=666 failed")
    session = FakeSession(failure, failure, failure)
    with pytest.raises(ProviderUnavailableError) as caught:
        client(session).delete_stop(666)
    assert str(caught.value) == "stop-sms/delete: ConnectionError"
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_odd_list_entries_are_kept_for_the_snapshot_to_judge() -> None:
    """A JSON number is read as its digits; anything that cannot be a number is kept as ``None``."""
    data: list[object] = [
        {"id": 1, "phoneNumber": 33612345678, "createdAt": "2024-01-01 00:00:00"},
        {"id": 2, "phoneNumber": 612345679.0},
        {"id": 3, "phoneNumber": None},
        {"id": 4, "phoneNumber": True},
        {"id": 5, "phoneNumber": {"number": "+33612345678"}},
        {"id": 6},
        {"id": "7", "phoneNumber": " +33 6 12 34 56 80\n", "createdAt": 20240101},
        "+33612345681",
        None,
        {"id": 10, "phoneNumber": 262692123456789012345678},
        {"id": 11, "phoneNumber": float("inf")},
        {"id": 12.0, "phoneNumber": -33612345678},
    ]
    body = json.dumps({"success": True, "code": 200, "nbData": len(data), "data": data})
    body = body.replace("Infinity", "1e400")  # valid JSON for a number no float holds
    assert list(client(FakeSession(response(200, body))).list_stops()) == [
        StopEntry(1, "33612345678", "2024-01-01 00:00:00"),
        StopEntry(2, "612345679", None),
        StopEntry(3, None, None),
        StopEntry(4, None, None),
        StopEntry(5, None, None),
        StopEntry(6, None, None),
        StopEntry(None, " +33 6 12 34 56 80\n", None),
        StopEntry(None, None, None),
        StopEntry(None, None, None),
        StopEntry(10, "262692123456789012345678", None),
        StopEntry(11, None, None),
        StopEntry(None, "-33612345678", None),  # text for the snapshot to find invalid
    ]


def list_body(count: int, **fields: object) -> bytes:
    """A list answer with ``count`` regular entries; ``fields`` replace or add top-level fields."""
    data = [
        {"id": index, "phoneNumber": f"+336{index:08d}", "createdAt": "2024-01-01 00:00:00"} for index in range(count)
    ]
    document: dict[str, object] = {"success": True, "code": 200, "nbData": count, "data": data}
    document.update(fields)
    return json.dumps(document, separators=(",", ":")).encode()


def test_a_large_list_streams_in_memory_far_below_its_size() -> None:
    """The whole body is in the fake response before measuring: what the read allocates is what counts (about
    1 MB whatever the size; reading the same 7.6 MB body with ``json.loads`` allocates 41 MB)."""
    count = 100_000
    body = list_body(count)
    session = FakeSession(response(200, body))
    tracemalloc.start()
    try:
        kept = [entry for entry in client(session).list_stops() if entry.phone_number == "+33600099999"]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert kept == [StopEntry(99_999, "+33600099999", "2024-01-01 00:00:00")]
    assert peak < len(body) / 4, (peak, len(body))


@pytest.mark.parametrize("code", [1, 10])
def test_a_list_error_document_rereads_the_secret_then_raises(code: int) -> None:
    refused = response(200, {"success": False, "code": code, "message": f"Invalid API key {KEY}"})
    session = FakeSession(refused, refused)
    with pytest.raises(ProviderAuthError, match=f"code {code}") as caught:
        client(session).list_stops()
    assert KEY not in str(caught.value)
    assert len(session.sent) == 2


def test_a_list_error_code_with_an_empty_data_list_is_an_error() -> None:
    session = FakeSession(response(400, {"success": False, "code": 42, "message": "m", "data": []}))
    with pytest.raises(ProviderError, match="unexpected code 42"):
        client(session).list_stops()


def test_an_error_document_after_the_entries_raises_at_the_end() -> None:
    body = json.dumps({"data": [{"id": 1, "phoneNumber": "+33612345678"}], "success": False, "code": 10})
    entries = client(FakeSession(response(200, body))).list_stops()
    assert next(entries) == StopEntry(1, "+33612345678", None)
    with pytest.raises(ProviderAuthError, match="code 10"):
        next(entries)


def test_fields_after_the_data_are_read() -> None:
    """The top-level fields written after ``data`` count as well: here an ``nbData`` that gives away a cut."""
    body = json.dumps({"data": [{"id": 1, "phoneNumber": "+33612345678"}], "success": True, "nbData": 2})
    entries = client(FakeSession(response(200, body))).list_stops()
    assert next(entries) == StopEntry(1, "+33612345678", None)
    with pytest.raises(ProviderUnavailableError, match="declared 2 entries but returned 1"):
        next(entries)


def test_an_nbdata_mismatch_raises_only_after_the_entries() -> None:
    session = FakeSession(response(200, list_body(5000, nbData=5001)))
    read: list[StopEntry] = []
    with pytest.raises(ProviderUnavailableError, match="declared 5001 entries but returned 5000: truncated"):
        read.extend(client(session).list_stops())
    assert len(read) == 5000
    assert len(session.sent) == 1  # entries were handed over: too late to retry


@pytest.mark.parametrize(
    "body",
    [b'{"success": true, "code": 200}', b'{"success": true, "code": 200, "nbData": 1, "data": {"item": 1}}', b"[]"],
    ids=["no-data", "data-not-a-list", "not-an-object"],
)
def test_a_list_without_a_data_list_is_retried_then_raised(body: bytes) -> None:
    session = FakeSession(*(response(200, body) for _ in range(3)))
    with pytest.raises(ProviderUnavailableError):
        client(session).list_stops()
    assert len(session.sent) == 3


@pytest.mark.parametrize("head", [b"", b"<html>maintenance</html>", b'{"success": tr', b'{"success":true,"data":[{"id'])
def test_a_list_unreadable_before_its_first_entry_is_retried(head: bytes) -> None:
    session = FakeSession(response(200, head), response(200, list_body(2)))
    assert [entry.stop_id for entry in client(session).list_stops()] == [0, 1]
    assert len(session.sent) == 2


@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_list_answered_with_an_http_error_is_retried(status: int) -> None:
    session = FakeSession(response(status, "<html>busy</html>"), response(200, list_body(1)))
    assert len(list(client(session).list_stops())) == 1
    assert len(session.sent) == 2


def test_a_body_cut_mid_way_raises_after_the_entries_read() -> None:
    body = list_body(10_000)
    session = FakeSession(response(200, body[: len(body) // 2]))
    read: list[StopEntry] = []
    with pytest.raises(ProviderUnavailableError) as caught:
        read.extend(client(session).list_stops())
    assert 4000 < len(read) < 6000
    assert str(caught.value) == f"stop-sms/list: a body cut short or not JSON after {len(read)} entries"
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
    assert len(session.sent) == 1


def cut_connection(body: bytes, after_chunks: int) -> requests.Response:
    """An answer whose connection breaks after some chunks, requests' error quoting the URL and its key."""
    answer = response(200, body)

    def chunks(chunk_size: int | None = 1, decode_unicode: bool = False) -> Iterator[bytes]:
        chunk_size = chunk_size or 1
        for index in range(after_chunks):
            yield body[index * chunk_size : (index + 1) * chunk_size]
        raise requests.exceptions.ChunkedEncodingError(f"Connection broken: /v1/stop-sms/list?apiKey={KEY}")

    answer.iter_content = chunks  # type: ignore[method-assign]
    return answer


def test_a_connection_broken_mid_way_raises_without_the_key_and_counts_for_the_circuit() -> None:
    circuit = CircuitBreaker(threshold=1, cooldown_seconds=60, max_cooldown_seconds=60)
    source = ApiKeySource("arn:secret", 300, FakeSecrets(KEY))
    provider = SmsPartnerClient(
        base_url="https://api.example/v1/",
        api_key=source,
        session=FakeSession(cut_connection(list_body(10_000), after_chunks=3)),
        connect_timeout=3.05,
        read_timeout=10.0,
        retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02),
        circuit=circuit,
    )
    read: list[StopEntry] = []
    with pytest.raises(ProviderUnavailableError) as caught:
        read.extend(provider.list_stops())
    assert read
    assert str(caught.value) == f"stop-sms/list: ChunkedEncodingError after {len(read)} entries"
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
    assert circuit.is_open
    assert KEY not in circuit.last_error


def test_the_deadline_passing_mid_way_stops_the_read() -> None:
    now = [0.0]
    deadline = Deadline(at=20.0, clock=lambda: now[0])
    entries = client(FakeSession(response(200, list_body(3 * LIST_DEADLINE_EVERY)))).list_stops(deadline)
    read = [next(entries) for _ in range(10)]
    now[0] = 21.0
    with pytest.raises(ProviderUnavailableError, match=f"deadline passed after {LIST_DEADLINE_EVERY} entries"):
        read.extend(entries)
    assert len(read) == LIST_DEADLINE_EVERY - 1


def test_a_list_given_up_on_gives_its_connection_back() -> None:
    answer = response(200, list_body(3))
    closed: list[bool] = []
    answer.close = lambda: closed.append(True)  # type: ignore[method-assign]
    entries = client(FakeSession(answer)).list_stops()
    next(entries)
    assert not closed
    entries.close()  # type: ignore[attr-defined]
    assert closed == [True]


API = "https://api.smspartner.fr/v1"


@pytest.mark.parametrize("variable", ["https_proxy", "HTTPS_PROXY"])
def test_the_session_takes_the_environment_proxy_and_ca_bundle_once(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    for name in ("https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, "http://proxy.internal:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/company-ca.pem")

    session = new_session(4, API)
    monkeypatch.setenv(variable, "http://other.internal:3128")  # read once: a later change is not seen

    assert session.trust_env is False
    assert session.proxies.get("https") == "http://proxy.internal:3128"
    assert session.verify == "/etc/company-ca.pem"


def test_no_proxy_for_the_provider_host_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "api.smspartner.fr")

    assert "https" not in new_session(4, API).proxies

from __future__ import annotations

import string

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from stoplist.adapters.provider import (
    MAX_RETRY_AFTER_SECONDS,
    MESSAGE_LIMIT,
    RetryPolicy,
    SmsPartnerClient,
    new_session,
)
from stoplist.adapters.secrets import ApiKeySource
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
    entries = client(session).list_stops()
    assert [(e.stop_id, e.phone_number, e.created_at) for e in entries] == [
        (19, "+33612345678", "2015-07-20 10:19:45"),
        (20, "0698765432", None),
    ]
    assert session.sent[0]["params"] == {"apiKey": KEY, "_format": "json"}


@pytest.mark.parametrize(
    "body",
    [
        {"success": True, "code": 200, "nbData": 3, "data": [{"id": 1, "phoneNumber": "+33612345678"}]},
        {"success": True, "code": 200},
    ],
    ids=["nbdata-mismatch", "no-data"],
)
def test_untrustworthy_lists_are_errors(body: dict[str, object]) -> None:
    session = FakeSession(response(200, body), response(200, body), response(200, body))
    with pytest.raises(ProviderUnavailableError):
        client(session).list_stops()


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
    ]
    body = {"success": True, "code": 200, "nbData": len(data), "data": data}
    assert client(FakeSession(response(200, body))).list_stops() == [
        StopEntry(1, "33612345678", "2024-01-01 00:00:00"),
        StopEntry(2, "612345679", None),
        StopEntry(3, None, None),
        StopEntry(4, None, None),
        StopEntry(5, None, None),
        StopEntry(6, None, None),
        StopEntry(None, " +33 6 12 34 56 80\n", None),
        StopEntry(None, None, None),
        StopEntry(None, None, None),
    ]


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

"""The API key never escapes (logs, metrics, dead-letter messages, exception texts), under every fault type
and every error code, on both endpoints; phone numbers appear in logs only masked."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from devkit.lambda_runtime import LocalFunction
from devkit.standin import FAULTS, ListOverride, SmsPartnerStandIn
from devkit.template import LocalResources
from tests.helpers import API_KEY, dead_letters, load_event
from tests.integration.test_optout_sqs import optout, sqs_event

pytestmark = pytest.mark.integration

NUMBER = "+33612345678"


@pytest.fixture
def everything_logged() -> Iterator[io.StringIO]:
    """Every log record of every library at DEBUG (urllib3 logs request lines with their query string)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous)


def assert_clean(application_logs: str, *texts: str) -> None:
    for text in (application_logs, *texts):
        assert API_KEY not in text
    # Full numbers never reach an application log line; the masked form does. (Libraries' DEBUG lines, which
    # an operator must turn on, echo request parameters and so numbers; never the key.)
    assert NUMBER not in application_logs
    assert "0612345678" not in application_logs


def run_optout(function: LocalFunction, resources: LocalResources, body: str | None = None) -> tuple[str, str]:
    """Invoke with one record on its last receive (an opt-out unless ``body`` says otherwise); return the
    exception text (if any) and the dead-letter messages."""
    error = ""
    try:
        last = int(resources.parameters["MaxReceiveCount"])
        response = function.invoke(sqs_event(body or optout("06 12 34 56 78"), receive_count=last))
        error = json.dumps(response)
    except Exception as exc:  # noqa: BLE001 - the text of whatever escaped is what is checked
        error = f"{type(exc).__name__}: {exc}"
    # Throttled records go back to the queue rather than to the dead-letter queue: check both.
    held = dead_letters(resources.queue_urls["OptOutDeadLetterQueue"]) + dead_letters(
        resources.queue_urls["OptOutQueue"]
    )
    return error, json.dumps(held)


OPTOUT_FAILURES = [("fault", fault) for fault in FAULTS] + [("code", code) for code in (1, 2, 3, 9, 10, 42)]


@pytest.mark.parametrize(("kind", "value"), OPTOUT_FAILURES, ids=[f"{kind}-{value}" for kind, value in OPTOUT_FAILURES])
def test_optout_under_each_fault_and_code(
    sqs_function: LocalFunction,
    resources: LocalResources,
    standin: SmsPartnerStandIn,
    json_logs: io.StringIO,
    everything_logged: io.StringIO,
    capsys: pytest.CaptureFixture[str],
    kind: str,
    value: str | int,
) -> None:
    # Every attempt gets it; the record is on its last receive, so whatever is retryable is dead-lettered
    # with its error (a 429 is requeued): all the texts a failure can produce are produced.
    if kind == "fault":
        standin.queue_faults(str(value), str(value), str(value))
    else:
        standin.queue_codes(int(value), int(value), int(value))

    error, dead = run_optout(sqs_function, resources)

    out = capsys.readouterr()
    application_logs = json_logs.getvalue() + out.out
    assert API_KEY not in dead  # the DLQ message body is the original event (its number unmasked, by design)
    assert_clean(application_logs, error, everything_logged.getvalue(), out.err)
    if kind == "fault" and value == "http_429":
        assert "event requeued" in application_logs
    elif kind == "fault":
        assert f"gave up after {resources.parameters['MaxReceiveCount']} receives" in dead
        assert "provider call failed, retrying" in application_logs  # the capture works
    elif value == 3:
        assert '"phone":"+336****5678"' in application_logs  # already listed: done, logged masked
    else:
        assert '"event_id":"msg-0000"' in application_logs


@pytest.mark.parametrize("code", [2, 9, 42])
def test_a_provider_quoting_the_request_leaks_neither_key_nor_number(
    sqs_function: LocalFunction,
    resources: LocalResources,
    standin: SmsPartnerStandIn,
    json_logs: io.StringIO,
    capsys: pytest.CaptureFixture[str],
    code: int,
) -> None:
    """The key straddles the 120-character cut of the echoed message (it starts at 111); the number sits
    before it."""
    standin.message_template = "{phone} " + "." * 90 + " apiKey={key} ({message})"
    standin.queue_codes(code, code, code)

    error, dead = run_optout(sqs_function, resources)

    out = capsys.readouterr()
    application_logs = json_logs.getvalue() + out.out
    reasons = [message["reason"] for message in json.loads(dead)]
    assert reasons
    assert all("+336****5678" in reason for reason in reasons)  # the message was echoed, masked
    for text in (*reasons, application_logs, error, out.err):
        assert API_KEY[:6] not in text
        assert NUMBER not in text
    assert_clean(application_logs, error, *reasons)


@pytest.mark.parametrize(
    "failure",
    [*FAULTS, "code-1", "code-10", "http-500-override", "truncated", "nbdata-mismatch"],
)
def test_snapshot_under_each_failure(
    snapshot_function: LocalFunction,
    standin: SmsPartnerStandIn,
    json_logs: io.StringIO,
    everything_logged: io.StringIO,
    capsys: pytest.CaptureFixture[str],
    failure: str,
) -> None:
    standin.faults.timeout_seconds = 1.0
    snapshot_function.env["PROVIDER_READ_TIMEOUT_SECONDS"] = "0.5"
    snapshot_function.new_container()
    standin.seed_stop_list([NUMBER])
    if failure in FAULTS:
        standin.queue_faults(failure, failure, failure)
    elif failure.startswith("code-"):
        standin.override_list(ListOverride("error_code", code=int(failure[5:]), remaining=5))
    else:
        standin.override_list(ListOverride(failure.replace("-override", "").replace("-", "_"), remaining=5))

    error = ""
    try:
        snapshot_function.invoke(load_event("schedule.json"))
    except Exception as exc:  # noqa: BLE001 - the text of whatever escaped is what is checked
        error = f"{type(exc).__name__}: {exc!r} {exc.__context__!r} {exc.__cause__!r}"

    out = capsys.readouterr()
    assert error  # every one of these failures fails the snapshot
    assert API_KEY not in error
    assert API_KEY not in json_logs.getvalue()
    assert API_KEY not in everything_logged.getvalue()
    assert API_KEY not in out.out + out.err
    if failure not in {"reset", "timeout", "hang"}:  # those get no response, so urllib3 logs no request line
        assert "stop-sms/list?apiKey=***" in everything_logged.getvalue()  # the line was there, redacted


DELETE_FAILURES = [("fault", fault) for fault in FAULTS] + [("code", code) for code in (1, 3, 4, 10, 42)]


@pytest.mark.parametrize(("kind", "value"), DELETE_FAILURES, ids=[f"{kind}-{value}" for kind, value in DELETE_FAILURES])
def test_opt_in_under_each_fault_and_code_of_the_delete(
    sqs_function: LocalFunction,
    resources: LocalResources,
    standin: SmsPartnerStandIn,
    json_logs: io.StringIO,
    everything_logged: io.StringIO,
    capsys: pytest.CaptureFixture[str],
    kind: str,
    value: str | int,
) -> None:
    """GET /stop-sms/delete carries the key in its query string, like the list."""
    sqs_function.invoke(sqs_event(optout("06 12 34 56 78", occurredAt="2026-01-01T00:00:00Z")))
    if kind == "fault":
        standin.queue_faults(str(value), str(value), str(value), endpoint="delete")
    else:
        standin.queue_codes(int(value), int(value), int(value), endpoint="delete")
    opt_in = optout(
        "06 12 34 56 78", action="opt-in", consentSource="web-form", consentAt="2026-02-01T00:00:00Z", eventId="in-1"
    )

    error, dead = run_optout(sqs_function, resources, opt_in)

    out = capsys.readouterr()
    application_logs = json_logs.getvalue() + out.out
    assert API_KEY not in dead
    assert_clean(application_logs, error, everything_logged.getvalue(), out.err)
    assert standin.counters["calls_delete"] >= 1
    if kind == "code" and value != 4:
        assert "stop-sms/delete" in dead  # dead-lettered with the reason, without the key
        assert f"code {value}" in dead
    if not (kind == "fault" and value in {"reset", "timeout", "hang"}):
        assert "stop-sms/delete?apiKey=***" in everything_logged.getvalue()  # the line was there, redacted

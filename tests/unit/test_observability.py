from __future__ import annotations

import io
import logging

import pytest
from stoplist.observability import mask_phone, mask_phones_in


@pytest.mark.parametrize(
    ("number", "masked"),
    [("+33612345678", "+336****5678"), ("+4915123456789", "+491****6789"), ("+3361", "****")],
)
def test_mask_phone(number: str, masked: str) -> None:
    assert mask_phone(number) == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("Number +33612345678 is already in stop list", "Number +336****5678 is already in stop list"),
        ("Invalid phone number 06 12 34 56 78.", "Invalid phone number ****5678."),
        ("Invalid: 06.12.34.56.78 / 06-12-34-56-78", "Invalid: ****5678 / ****5678"),
        ("+33 6 12 34 56 78 refused", "+336****5678 refused"),
        ("msisdn 33612345678", "msisdn ****5678"),
        ("+262 692 12 34 56", "+262****3456"),
        ("code 200 at 2015-07-20 10:19:45, id 12345678", "code 200 at 2015-07-20 10:19:45, id 12345678"),
    ],
)
def test_mask_phones_in_free_text(text: str, masked: str) -> None:
    assert mask_phones_in(text) == masked


def test_urllib3_request_lines_lose_the_key() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    urllib3_logger = logging.getLogger("urllib3.connectionpool")
    urllib3_logger.addHandler(handler)
    urllib3_logger.setLevel(logging.DEBUG)
    try:
        urllib3_logger.debug(
            '%s://%s:%s "%s %s %s" %s %s',
            "https",
            "api",
            443,
            "GET",
            "/v1/stop-sms/list?apiKey=abc123&_format=json",
            "HTTP/1.1",
            200,
            10,
        )
    finally:
        urllib3_logger.removeHandler(handler)
        urllib3_logger.setLevel(logging.NOTSET)
    assert "abc123" not in stream.getvalue()
    assert "apiKey=***&_format=json" in stream.getvalue()


@pytest.mark.parametrize(("disabled", "patched"), [("true", None), (None, None), ("false", ("botocore",))])
def test_tracing_patches_botocore_only_when_enabled(
    monkeypatch: pytest.MonkeyPatch, disabled: str | None, patched: tuple[str, ...] | None
) -> None:
    """Off (the template's default, or unset), Powertools' Tracer is never built: it would import the X-Ray SDK,
    which only the tracing layer carries."""
    import aws_lambda_powertools
    from stoplist import observability

    built: list[tuple[str, ...]] = []

    def tracer(service: str, patch_modules: tuple[str, ...]) -> None:
        built.append(patch_modules)

    monkeypatch.setattr(aws_lambda_powertools, "Tracer", tracer)
    if disabled is None:
        monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)
    else:
        monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", disabled)
    observability.start_tracing.cache_clear()
    try:
        observability.start_tracing()
        observability.start_tracing()
    finally:
        observability.start_tracing.cache_clear()
    assert built == ([] if patched is None else [patched])


class _Provider:
    calls = 0

    def add_stop(self, number: str) -> str:
        self.calls += 1
        if number == "bad":
            raise ValueError("refused")
        return f"added {number}"


def test_traced_is_the_object_itself_when_tracing_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from stoplist.observability import traced

    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    provider = _Provider()
    assert traced(provider, "smspartner") is provider


def test_traced_calls_run_in_a_subsegment_each_when_tracing_is_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """The provider's calls are traced around the adapter (not by patching requests, whose exceptions quote the
    URL and its apiKey query): one subsegment per call, errors passed on as they are."""
    from collections.abc import Iterator
    from contextlib import contextmanager

    from aws_xray_sdk.core import xray_recorder
    from stoplist.observability import traced

    opened: list[str] = []

    @contextmanager
    def in_subsegment(name: str) -> Iterator[None]:
        opened.append(name)
        yield

    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "false")
    monkeypatch.setattr(xray_recorder, "in_subsegment", in_subsegment)
    provider = _Provider()
    client = traced(provider, "smspartner")
    assert client.add_stop("+33612345678") == "added +33612345678"
    with pytest.raises(ValueError, match="refused"):
        client.add_stop("bad")
    assert opened == ["smspartner.add_stop", "smspartner.add_stop"]
    assert client.calls == 2  # attributes read through

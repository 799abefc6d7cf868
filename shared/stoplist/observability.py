"""The one Logger and the one Metrics of the application (Powertools), its optional Tracer, plus the helpers
that keep logs clean.

Service name and metrics namespace come from POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE,
which the template sets. The template's Tracing parameter sets POWERTOOLS_TRACE_DISABLED (true unless Active).
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.shared.functions import strtobool

SERVICE = os.getenv("POWERTOOLS_SERVICE_NAME", "smspartner-stoplist")
logger = Logger(service=SERVICE)
metrics = Metrics(namespace=os.getenv("POWERTOOLS_METRICS_NAMESPACE", "SmsPartnerStopList"), service=SERVICE)

__all__ = ["MetricUnit", "count", "logger", "mask_phone", "mask_phones_in", "metrics", "start_tracing", "traced"]

T = TypeVar("T")

# botocore: every AWS call (DynamoDB, SQS, EventBridge, Secrets Manager). Not requests: the X-Ray SDK records
# the text of an exception raised by Session.request, and urllib3's (a connection refused, a timeout) quote the
# URL with its query, where the stop list's GET carries the API key. The provider's calls are traced by
# ``traced`` instead, around the adapter, whose errors carry no secret.
TRACED_MODULES = ("botocore",)

_API_KEY_IN_URL = re.compile(r"(apiKey=)[^&\s\"']+", re.IGNORECASE)
# Digits, possibly after a "+", in groups split by one kind of separator (spaces, dots or dashes): a number
# as people write it. Only runs of nine digits or more are masked: a national or E.164 number, but not a
# provider code, an HTTP status or a date (2015-07-20 has eight).
_PHONE_LIKE = re.compile(r"\+?[0-9]+(?:(?P<sep>[ .\-])[0-9]+(?:(?P=sep)[0-9]+)*)?")
_PHONE_MIN_DIGITS = 9


def mask_phone(number: str) -> str:
    """``+33612345678`` -> ``+336****5678``: enough to tell numbers apart in a log, not enough to text one."""
    if len(number) <= 8:
        return "****"
    return f"{number[:4]}****{number[-4:]}"


def mask_phones_in(text: str) -> str:
    """Mask every phone-like digit run of a free text (a provider's message may echo the number): an E.164
    number as ``mask_phone`` does (so it matches the application's own log lines), a shorter run down to
    its last four digits (``mask_phone`` would show eight of a national number's ten)."""

    def masked(found: re.Match[str]) -> str:
        compact = re.sub(r"[ .\-]", "", found.group())
        digits = len(compact.lstrip("+"))
        if digits < _PHONE_MIN_DIGITS:
            return found.group()
        return mask_phone(compact) if compact.startswith("+") else f"****{compact[-4:]}"

    return _PHONE_LIKE.sub(masked, text)


class _RedactApiKeyFilter(logging.Filter):
    """urllib3 logs request lines at DEBUG, and the GET of the stop list carries the key in its query."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _API_KEY_IN_URL.sub(r"\1***", record.getMessage())
        record.args = None
        return True


class _DropResponseBodiesFilter(logging.Filter):
    """botocore logs every response body at DEBUG: GetSecretValue's holds the API key, DynamoDB's hold numbers."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith("Response body"))


logging.getLogger("urllib3.connectionpool").addFilter(_RedactApiKeyFilter())
logging.getLogger("botocore.parsers").addFilter(_DropResponseBodiesFilter())


def count(name: str, value: float = 1) -> None:
    """Add to a Count metric (EMF, flushed by ``metrics.log_metrics`` at the end of the invocation)."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def tracing_enabled() -> bool:
    """Off unless POWERTOOLS_TRACE_DISABLED says false: the X-Ray SDK ships only in the tracing layer."""
    return not strtobool(os.getenv("POWERTOOLS_TRACE_DISABLED", "true"))


@cache
def start_tracing() -> None:
    """Patch botocore for X-Ray, once per container, when tracing is on; otherwise nothing is
    imported (Powertools' Tracer imports the X-Ray SDK even when disabled). Called by ``stoplist.wiring`` before
    the first client is made, so a cold start without tracing pays nothing for it."""
    if tracing_enabled():
        from aws_lambda_powertools import Tracer

        Tracer(service=SERVICE, patch_modules=TRACED_MODULES)


def traced(target: T, name: str) -> T:
    """``target`` itself when tracing is off; otherwise ``target`` with each call of a public method in an X-Ray
    subsegment named ``name.method`` (an exception is recorded with its text: the adapter's own errors, which
    carry no secret). A method that returns an iterator is timed until it returns, not until it is read."""
    return cast(T, _Traced(target, name)) if tracing_enabled() else target


class _Traced:
    def __init__(self, target: object, name: str) -> None:
        self._target, self._name = target, name

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(self._target, attribute)
        if attribute.startswith("_") or not callable(value):
            return value
        return _in_subsegment(value, f"{self._name}.{attribute}")


def _in_subsegment(method: Callable[..., Any], name: str) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        from aws_xray_sdk.core import xray_recorder

        with xray_recorder.in_subsegment(name):
            return method(*args, **kwargs)

    return call

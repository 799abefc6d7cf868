"""Every exception type the domain raises.

Adapters translate provider codes, HTTP failures and botocore ``ClientError``s (``stoplist.adapters.aws``) into
these, so that callers decide on *kind* (permanent, transient, auth) and never on a library's exception.
Messages are written to be safe to log and to put in a dead-letter message: they never carry the API key, a URL
with a query string, or a full phone number.
"""

from __future__ import annotations


class StopListError(Exception):
    """Base of the project's errors.

    ``reason`` is a short machine-friendly code for logs and dead-letter attributes.
    """

    reason = "error"


# --- permanent: retrying cannot help; the message goes to the dead-letter queue with its reason -----------
class PermanentError(StopListError):
    reason = "permanent"


class InvalidEventError(PermanentError):
    """The event does not follow the opt-out contract (not JSON, wrong types, no phone, too large)."""

    reason = "invalid_event"


class InvalidPhoneNumberError(PermanentError):
    """The number is not a valid phone number, by our own check or by the provider's (code 9)."""

    reason = "invalid_phone_number"


class InvalidConsentError(InvalidEventError):
    """An opt-in without usable consent evidence (missing, blank, not ISO 8601, no offset, in the future)."""

    reason = "invalid_consent"


class ConsentSupersededError(PermanentError):
    """The opt-in's consent is not later than every opt-out known for the number (``stoplist.domain.ordering``): the
    number stays opted out."""

    reason = "consent_superseded"


class ProviderRejectedError(PermanentError):
    """The provider refused the request for a reason that will not change on retry (code 2)."""

    reason = "provider_rejected"


# --- HTTP doors: the request itself is refused, with its status code; nothing is published -----------------
class InvalidReplyError(StopListError):
    """An SMS reply posted to the webhook is not one of the provider's documented reply shapes (HTTP 400)."""

    reason = "invalid_reply"


class RequestRefusedError(StopListError):
    """An HTTP request to the webhook or the unsubscribe page that cannot be served (bad token, body, type).
    Each door counts its refusals as its own outcome (``ReplyRefused``, ``UnsubscribeRequestRefused``)."""

    reason = "request_refused"

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# --- retryable: the record fails and comes back later --------------------------------------------------------
class RetryableError(StopListError):
    """``metric`` is the Count metric an event that fails this way counts in (``stoplist.domain.dispatch.process``
    counts it; the snapshot's ``run_and_count`` counts ``ProviderAuthError``'s and ``ConfigurationError``'s too, so
    that their alarms see a key refused to the snapshot, or a secret it cannot use). A final outcome, a permanent
    failure included, counts in its ``Disposition`` instead."""

    reason = "retryable"
    metric = "ProviderTransientError"
    # The provider's state or another event's, not this record's: it comes back after ``retry_after`` as a new
    # message (``stoplist.domain.dispatch``), without spending one of its receives.
    requeued = False
    retry_after: float | None = None


class NumberBusyError(RetryableError):
    """Another event of the same number holds it (``stoplist.domain.number_lease``): this one comes back after it."""

    reason = "number_busy"
    metric = "NumberBusy"
    requeued = True

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ProviderUnavailableError(RetryableError):
    """HTTP 429 or 5xx, timeout, connection error, or a body that is not the documented JSON."""

    reason = "provider_unavailable"

    def __init__(
        self,
        message: str,
        retry_after: float | None = None,
        *,
        attempted: bool = True,
        circuit_open: bool = False,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        # False: no call was sent (no slot before the deadline, no time left, the circuit is open).
        self.attempted = attempted and not circuit_open
        self.circuit_open = circuit_open


class ProviderThrottledError(ProviderUnavailableError):
    """HTTP 429, or no place in the provider's budget before the deadline.

    The provider's state, not the message's fault: the record waits ``retry_after`` seconds and must not
    spend its receives (see ``OptOutService``)."""

    reason = "provider_throttled"
    metric = "ProviderThrottled"
    requeued = True


class ProviderAuthError(RetryableError):
    """Code 1 (no key) or 10 (invalid key), still so after the secret was read again."""

    reason = "provider_auth"
    metric = "ProviderAuthError"


class ProviderError(RetryableError):
    """An answer the documentation does not describe (unknown code): retried, then dead-lettered."""

    reason = "provider_unknown_answer"


class AwsServiceError(RetryableError):
    """An AWS call (DynamoDB, SQS, Secrets Manager) failed; translated from botocore's ClientError."""

    reason = "aws_service"
    metric = "AwsServiceError"

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class ConfigurationError(RetryableError):
    """The deployment is wrong (missing setting, unreadable or empty secret): events come back until an
    operator fixes it, and on their last receive go to the dead-letter queue with this reason."""

    reason = "configuration"
    metric = "ConfigurationError"

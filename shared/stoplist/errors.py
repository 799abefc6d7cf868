"""Every exception type the domain raises.

Adapters translate provider codes, HTTP failures and botocore ``ClientError``s into these, so that callers
decide on *kind* (permanent, transient, auth) and never on a library's exception. Messages are written to be
safe to log and to put in a dead-letter message: they never carry the API key, a URL with a query string,
or a full phone number.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError


class StopListError(Exception):
    """Base of the project's errors. ``reason`` is a short machine-friendly code for metrics and DLQs."""

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


class ProviderRejectedError(PermanentError):
    """The provider refused the request for a reason that will not change on retry (code 2)."""

    reason = "provider_rejected"


class InvalidReplyError(PermanentError):
    """An SMS reply posted to the webhook is not one of the provider's documented reply shapes."""

    reason = "invalid_reply"


# --- HTTP doors: the request itself is refused, with its status code; nothing is published -----------------
class RequestRefusedError(StopListError):
    """An HTTP request to the webhook or the unsubscribe page that cannot be served (bad token, body, type)."""

    reason = "request_refused"

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# --- retryable: the record fails and comes back later --------------------------------------------------------
class RetryableError(StopListError):
    reason = "retryable"


class ProviderUnavailableError(RetryableError):
    """HTTP 429 or 5xx, timeout, connection error, or a body that is not the documented JSON."""

    reason = "provider_unavailable"

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ProviderAuthError(RetryableError):
    """Code 1 (no key) or 10 (invalid key), still so after the secret was read again."""

    reason = "provider_auth"


class ProviderError(RetryableError):
    """An answer the documentation does not describe (unknown code): retried, then dead-lettered."""

    reason = "provider_unknown_answer"


class AwsServiceError(RetryableError):
    """An AWS call (DynamoDB, SQS, Secrets Manager) failed; translated from botocore's ClientError."""

    reason = "aws_service"
    code = ""


def aws_error(action: str, exc: ClientError | BotoCoreError) -> AwsServiceError:
    """Translate a botocore failure; only the error code is kept (messages may quote request values)."""
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", "ClientError"))
    else:
        code = type(exc).__name__
    error = AwsServiceError(f"cannot {action}: {code}")
    error.code = code
    return error


class ConfigurationError(RetryableError):
    """The deployment is wrong (missing setting, unreadable or empty secret): events come back until an
    operator fixes it, and on their last receive go to the dead-letter queue with this reason."""

    reason = "configuration"


class SnapshotAbortedError(StopListError):
    """The snapshot left the table untouched because the provider's list could not be trusted."""

    reason = "snapshot_aborted"

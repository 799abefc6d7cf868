"""The SMS Partner API key, read from Secrets Manager through Powertools parameters (cached, max age a setting).

The SecretString is either the bare key or JSON ``{"apiKey": "..."}``. The key itself is never logged and
never put into an exception message.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import BotoCoreError, ClientError

from stoplist.errors import ConfigurationError

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient


class SecretReader(Protocol):
    """What ``ApiKeySource`` uses of Powertools' ``SecretsProvider`` (its cache with a max age)."""

    def get(
        self, name: str, *, max_age: int | None = None, force_fetch: bool = False
    ) -> str | bytes | dict[str, Any] | None: ...


class ApiKeySource:
    def __init__(self, secret_id: str, max_age_seconds: int, provider: SecretReader) -> None:
        self._secret_id = secret_id
        self._max_age = max_age_seconds
        self._provider = provider
        self._lock = threading.Lock()
        self._current: str | None = None

    def get(self) -> str:
        """The key, from Powertools' cache while it is younger than the max age."""
        key = self._read(force=False)
        self._current = key
        return key

    def refresh_after_rejection(self, rejected_key: str) -> str:
        """Read the secret again because the provider refused ``rejected_key`` (the key may have been rotated).

        Records processed concurrently may all hit the rejection; only the first reads the secret, the
        others get the key it found.
        """
        with self._lock:
            if self._current is not None and self._current != rejected_key:
                return self._current
            self._current = self._read(force=True)
            return self._current

    def _read(self, force: bool) -> str:
        try:
            raw = self._provider.get(self._secret_id, max_age=self._max_age, force_fetch=force)
        except GetParameterError:
            # Powertools' message names the secret and botocore's error code, never the value.
            raise ConfigurationError(f"cannot read the API key secret {self._secret_id!r}") from None
        return _parse_secret(raw)


def _parse_secret(raw: object) -> str:
    text = raw.decode() if isinstance(raw, bytes) else str(raw or "")
    text = text.strip()
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            raise ConfigurationError("the API key secret is neither a bare key nor valid JSON") from None
        value = document.get("apiKey") if isinstance(document, dict) else None
        if not isinstance(value, str):
            raise ConfigurationError('the API key secret is JSON without a string "apiKey"')
        text = value.strip()
    if not text:
        raise ConfigurationError("the API key secret is empty")
    return text


class BareSecret:
    """A generated bare-string secret (webhook token, link signing key) and its previous version.

    ``AWSCURRENT`` and, for key rotation, ``AWSPREVIOUS`` (Secrets Manager moves the label there on
    ``put-secret-value``), each kept ``max_age_seconds``. Read with boto3 directly: Powertools' cache is keyed
    on the secret's name, not on the version stage, so it would hand back one stage for the other.
    """

    def __init__(
        self,
        *,
        secret_id: str,
        max_age_seconds: int,
        client: SecretsManagerClient,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._secret_id = secret_id
        self._max_age = max_age_seconds
        self._client = client
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, str | None]] = {}

    def current(self) -> str:
        value = self._get("AWSCURRENT")
        if value is None:
            raise ConfigurationError(f"the secret {self._secret_id!r} has no current version")
        return value

    def versions(self) -> list[str]:
        """Current first, then the previous version if there is one."""
        previous = self._get("AWSPREVIOUS")
        return [self.current(), *([previous] if previous else [])]

    def reread_if_older_than(self, seconds: float) -> bool:
        """Forget cached versions older than ``seconds`` (a token made by a key newer than ours); True if any."""
        with self._lock:
            now = self._clock()
            stale = [stage for stage, (read_at, _) in self._cache.items() if now - read_at > seconds]
            for stage in stale:
                del self._cache[stage]
        return bool(stale)

    def _get(self, stage: str) -> str | None:
        with self._lock:
            cached = self._cache.get(stage)
            if cached is not None and self._clock() - cached[0] < self._max_age:
                return cached[1]
        value = self._read(stage)
        with self._lock:
            self._cache[stage] = (self._clock(), value)
        return value

    def _read(self, stage: str) -> str | None:
        try:
            answer = self._client.get_secret_value(SecretId=self._secret_id, VersionStage=stage)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "ClientError"))
            if stage != "AWSCURRENT" and code == "ResourceNotFoundException":
                return None  # never rotated: no previous version
            raise ConfigurationError(f"cannot read the secret {self._secret_id!r}: {code}") from None
        except BotoCoreError as exc:
            raise ConfigurationError(f"cannot read the secret {self._secret_id!r}: {type(exc).__name__}") from None
        value = str(answer.get("SecretString") or "").strip()
        if not value:
            raise ConfigurationError(f"the secret {self._secret_id!r} is empty")
        return value

"""The SMS Partner API key, read from Secrets Manager through Powertools parameters (cached, max age a setting).

The SecretString is either the bare key or JSON ``{"apiKey": "..."}``. The key itself is never logged and
never put into an exception message.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Protocol

from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from stoplist.errors import ConfigurationError


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

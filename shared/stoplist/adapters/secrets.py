"""The SMS Partner API key, read from Secrets Manager through Powertools parameters (cached, max age a setting).

The SecretString is either the bare key or JSON ``{"apiKey": "..."}``. The key itself is never logged and
never put into an exception message.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import BotoCoreError, ClientError

from stoplist.domain.ports import SecretVersion
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
    """A generated bare-string secret (webhook token, link signing key) and its versions, with their dates.

    ``AWSCURRENT`` and ``AWSPREVIOUS`` (Secrets Manager moves the label there on ``put-secret-value``), and the
    whole history (every version the secret keeps, for the links' key ring), each kept ``max_age_seconds``.
    Each version comes with its ``CreatedDate``: the webhook's grace after a rotation and the links' lifetime
    are measured from it. Read with boto3 directly: Powertools' cache is keyed on the secret's name, not on the
    version stage, so it would hand back one stage for the other.
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
        self._cache: dict[str, tuple[float, Any]] = {}
        self._by_version_id: dict[str, SecretVersion] = {}  # a version's value never changes: kept for good

    def current(self) -> str:
        return self.current_version().value

    def current_version(self) -> SecretVersion:
        version = self._cached("AWSCURRENT", lambda: self._read(VersionStage="AWSCURRENT"))
        if version is None:
            raise ConfigurationError(f"the secret {self._secret_id!r} has no current version")
        return version  # type: ignore[no-any-return]

    def previous_version(self) -> SecretVersion | None:
        return self._cached("AWSPREVIOUS", lambda: self._read(VersionStage="AWSPREVIOUS"))  # type: ignore[no-any-return]

    def history(self) -> list[SecretVersion]:
        """Every version the secret keeps, newest first (labelled or not: Secrets Manager removes unlabelled
        versions only beyond 100 of them, and none younger than 24 hours)."""
        return self._cached("history", self._read_history)  # type: ignore[no-any-return]

    def reread_if_older_than(self, seconds: float) -> bool:
        """Forget cached versions older than ``seconds`` (a token made by a key newer than ours); True if any."""
        with self._lock:
            now = self._clock()
            stale = [stage for stage, (read_at, _) in self._cache.items() if now - read_at > seconds]
            for stage in stale:
                del self._cache[stage]
        return bool(stale)

    def _cached(self, name: str, read: Callable[[], Any]) -> Any:
        with self._lock:
            cached = self._cache.get(name)
            if cached is not None and self._clock() - cached[0] < self._max_age:
                return cached[1]
        value = read()
        with self._lock:
            self._cache[name] = (self._clock(), value)
        return value

    def _read_history(self) -> list[SecretVersion]:
        listed: list[tuple[str, int]] = []  # version id, rank of its label (current first among equal dates)
        token: dict[str, Any] = {}
        with _secret_errors(self._secret_id):
            while True:  # no paginator for this call in boto3
                page = self._client.list_secret_version_ids(SecretId=self._secret_id, IncludeDeprecated=True, **token)
                for version in page.get("Versions", []):
                    stages = version.get("VersionStages", [])
                    listed.append((version["VersionId"], 2 if "AWSCURRENT" in stages else int("AWSPREVIOUS" in stages)))
                if not page.get("NextToken"):
                    break
                token = {"NextToken": page["NextToken"]}
        ranked = []
        for version_id, rank in listed:
            known = self._by_version_id.get(version_id)
            if known is None:
                # ListSecretVersionIds' own CreatedDate is the version's on AWS but the call's time on moto
                # 5.2; GetSecretValue's is the version's on both (to the second on moto: hence the rank).
                known = self._read(VersionId=version_id)
                if known is None:
                    continue  # removed between the list and the read
                self._by_version_id[version_id] = known
            ranked.append((known.created_at, rank, known))
        return [version for _, _, version in sorted(ranked, key=lambda entry: entry[:2], reverse=True)]

    def _read(self, **version: str) -> SecretVersion | None:
        """One version by stage or id; None when there is no such version (never rotated: no previous one)."""
        with _secret_errors(self._secret_id, missing_ok=version.get("VersionStage") != "AWSCURRENT") as missing:
            answer = self._client.get_secret_value(SecretId=self._secret_id, **version)
        if missing:
            return None
        value = str(answer.get("SecretString") or "").strip()
        if not value:
            raise ConfigurationError(f"the secret {self._secret_id!r} is empty")
        created = answer.get("CreatedDate")
        return SecretVersion(value, created if isinstance(created, datetime) else datetime.fromtimestamp(0, UTC))


@contextlib.contextmanager
def _secret_errors(secret_id: str, missing_ok: bool = False) -> Iterator[list[bool]]:
    """Secrets Manager's errors as ConfigurationError, naming the secret and the code, never a value. With
    ``missing_ok``, a missing version sets the yielded flag instead."""
    missing: list[bool] = []
    try:
        yield missing
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", "ClientError"))
        if not (missing_ok and code == "ResourceNotFoundException"):
            raise ConfigurationError(f"cannot read the secret {secret_id!r}: {code}") from None
        missing.append(True)
    except BotoCoreError as exc:
        raise ConfigurationError(f"cannot read the secret {secret_id!r}: {type(exc).__name__}") from None

"""BareSecret: current and previous versions of a generated secret, cached, re-read on demand."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from stoplist.adapters.secrets import BareSecret
from stoplist.errors import ConfigurationError


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.client("secretsmanager")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_current_then_previous_after_rotation(client: Any) -> None:
    client.create_secret(Name="link-key", SecretString="first-key")
    clock = Clock()
    secret = BareSecret(secret_id="link-key", max_age_seconds=300, client=client, clock=clock)
    assert (secret.current(), secret.previous_version()) == ("first-key", None)
    client.put_secret_value(SecretId="link-key", SecretString="second-key")
    assert secret.current() == "first-key"  # cached
    clock.now = 301
    previous = secret.previous_version()
    assert (secret.current(), previous.value if previous else None) == ("second-key", "first-key")


def test_reread_only_what_is_older_than_asked(client: Any) -> None:
    client.create_secret(Name="token", SecretString="one")
    clock = Clock()
    secret = BareSecret(secret_id="token", max_age_seconds=300, client=client, clock=clock)
    assert secret.current() == "one"
    client.put_secret_value(SecretId="token", SecretString="two")
    assert not secret.reread_if_older_than(30)
    clock.now = 31
    assert secret.reread_if_older_than(30)
    assert secret.current() == "two"


def test_missing_or_empty_secret_is_a_configuration_error(client: Any) -> None:
    with pytest.raises(ConfigurationError, match="ResourceNotFoundException"):
        BareSecret(secret_id="nope", max_age_seconds=0, client=client).current()
    client.create_secret(Name="blank", SecretString="  ")
    with pytest.raises(ConfigurationError, match="empty"):
        BareSecret(secret_id="blank", max_age_seconds=0, client=client).current()


def test_versions_come_with_their_creation_dates_and_the_whole_history(client: Any) -> None:
    client.create_secret(Name="link-key", SecretString="first-key")
    secret = BareSecret(secret_id="link-key", max_age_seconds=0, client=client)
    first = secret.current_version()
    assert secret.previous_version() is None
    for value in ("second-key", "third-key", "fourth-key"):
        client.put_secret_value(SecretId="link-key", SecretString=value)

    current, previous = secret.current_version(), secret.previous_version()

    assert previous is not None
    assert (current.value, previous.value) == ("fourth-key", "third-key")
    assert first.created_at <= previous.created_at <= current.created_at
    history = secret.history()
    assert history[0].value == "fourth-key"  # newest first
    assert {version.value for version in history} == {"first-key", "second-key", "third-key", "fourth-key"}
    assert first in history  # with the date it was read with at first

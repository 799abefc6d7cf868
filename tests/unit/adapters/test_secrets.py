from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from stoplist.adapters.secrets import ApiKeySource
from stoplist.errors import ConfigurationError

from tests.unit.fakes import FakeSecrets


def source(value: str) -> tuple[ApiKeySource, FakeSecrets]:
    secrets = FakeSecrets(value)
    return ApiKeySource("arn:secret", 300, secrets), secrets


@pytest.mark.parametrize("stored", ["abc123", "  abc123\n", '{"apiKey": "abc123"}', '{"apiKey": " abc123 ", "x": 1}'])
def test_bare_key_or_json(stored: str) -> None:
    assert source(stored)[0].get() == "abc123"


@pytest.mark.parametrize(
    ("stored", "message"),
    [("", "empty"), ('{"apiKey": ""}', "empty"), ('{"key": "abc"}', '"apiKey"'), ("{not json", "neither")],
)
def test_unusable_secrets_are_configuration_errors_without_the_value(stored: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        source(stored)[0].get()
    assert "not json" not in str(caught.value)


def test_concurrent_rejections_read_the_secret_once() -> None:
    keys, secrets = source("old")
    rejected = keys.get()
    secrets.value = "new"

    assert keys.refresh_after_rejection(rejected) == "new"
    assert keys.refresh_after_rejection(rejected) == "new"  # a sibling that also used "old"
    assert secrets.forced_reads == 1


def test_unreadable_secret_is_a_configuration_error() -> None:
    class Failing:
        def get(self, name: str, *, max_age: int | None = None, force_fetch: bool = False) -> str:
            raise GetParameterError("An error occurred (AccessDeniedException)")

    with pytest.raises(ConfigurationError, match="cannot read the API key secret 'arn:secret'"):
        ApiKeySource("arn:secret", 300, Failing()).get()

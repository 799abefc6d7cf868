from __future__ import annotations

import pytest
from stoplist.config import DEFAULT_API_URL, DEFAULT_PHONE_REGION, Settings
from stoplist.errors import ConfigurationError


def test_defaults_without_environment() -> None:
    settings = Settings.from_env({})
    assert settings.api_url == DEFAULT_API_URL
    assert settings.default_phone_region == "FR"
    assert settings.record_concurrency == 10
    assert settings.record_concurrency >= settings.batch_size  # one wave per batch


def test_environment_is_read_and_trailing_slash_dropped() -> None:
    settings = Settings.from_env(
        {"SMSPARTNER_API_URL": "http://127.0.0.1:9/v1/", "RECORD_CONCURRENCY": "3", "DEFAULT_PHONE_REGION": "be"}
    )
    assert settings.api_url == "http://127.0.0.1:9/v1"
    assert settings.record_concurrency == 3
    assert settings.default_phone_region == "BE"


def test_non_numeric_setting_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="not a number"):
        Settings.from_env({"RECORD_CONCURRENCY": "eight"})


def test_require_names_what_is_missing() -> None:
    with pytest.raises(ConfigurationError, match="api_key_secret_id, dead_letter_queue_url"):
        Settings.from_env({}).require("api_url", "api_key_secret_id", "dead_letter_queue_url")


def test_every_setting_has_one_variable_and_the_template_sets_the_ones_it_must() -> None:
    variables = Settings.variables()
    assert len(set(variables.values())) == len(variables)  # no variable read into two settings
    assert variables["default_phone_region"] == "DEFAULT_PHONE_REGION"
    assert Settings.from_env({"DEFAULT_PHONE_REGION": "de"}).default_phone_region == "DE"


def test_each_default_is_the_field_default() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.default_phone_region == DEFAULT_PHONE_REGION

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from stoplist.adapters.aws import aws_errors
from stoplist.errors import (
    AwsServiceError,
    ConfigurationError,
    ProviderAuthError,
    ProviderError,
    ProviderUnavailableError,
)


def client_error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "UpdateItem")


def test_a_client_error_keeps_only_its_code_and_no_cause() -> None:
    with pytest.raises(AwsServiceError) as caught, aws_errors("write the opt-out to the table"):
        raise client_error("ProvisionedThroughputExceededException", "key +33612345678 is hot")
    assert str(caught.value) == "cannot write the opt-out to the table: ProvisionedThroughputExceededException"
    assert caught.value.code == "ProvisionedThroughputExceededException"
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_a_botocore_failure_is_named_by_its_type() -> None:
    with (
        pytest.raises(AwsServiceError, match=r"cannot scan the table: EndpointConnectionError$"),
        aws_errors("scan the table"),
    ):
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1/?secret=1")


def test_an_expected_code_propagates_untranslated() -> None:
    with (
        pytest.raises(ClientError),
        aws_errors("delete an item", expected=frozenset({"ConditionalCheckFailedException"})),
    ):
        raise client_error("ConditionalCheckFailedException", "the condition failed")


@pytest.mark.parametrize(
    ("error", "metric"),
    [
        (ProviderAuthError("x"), "ProviderAuthError"),
        (ProviderUnavailableError("x"), "ProviderTransientError"),
        (ProviderError("x"), "ProviderTransientError"),
        (AwsServiceError("x"), "AwsServiceError"),
        (ConfigurationError("x"), "ConfigurationError"),
    ],
)
def test_each_error_kind_names_its_metric(error: Exception, metric: str) -> None:
    assert getattr(error, "metric") == metric  # noqa: B009 - the attribute is what is tested

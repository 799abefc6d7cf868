from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from stoplist.adapters.aws import until_processed
from stoplist.errors import AwsServiceError


def test_sends_what_comes_back_unprocessed_until_nothing_does() -> None:
    answers: list[dict[str, Any]] = [
        {"UnprocessedItems": {"t": ["b", "c"]}},
        {"UnprocessedItems": {"t": ["c"]}},
        {"UnprocessedItems": {}},
    ]
    sent: list[dict[str, Any]] = []
    sleeps: list[float] = []

    def send(request: dict[str, Any]) -> dict[str, Any]:
        sent.append(request)
        return answers[len(sent) - 1]

    assert (
        list(until_processed(send, {"t": ["a", "b", "c"]}, "UnprocessedItems", "write", sleep=sleeps.append)) == answers
    )
    assert sent == [{"t": ["a", "b", "c"]}, {"t": ["b", "c"]}, {"t": ["c"]}]
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.05
    assert 0 <= sleeps[1] <= 0.1


def test_gives_up_after_its_rounds() -> None:
    sleeps: list[float] = []
    with pytest.raises(AwsServiceError, match="cannot read: UnprocessedKeys left after 3 rounds"):
        list(
            until_processed(
                lambda _: {"UnprocessedKeys": {"t": [1]}}, {"t": [1]}, "UnprocessedKeys", "read", sleeps.append, 3
            )
        )
    assert len(sleeps) == 2  # between sends, none after the last


def test_a_botocore_failure_is_translated() -> None:
    def send(request: dict[str, Any]) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "m"}}, "BatchGetItem")

    with pytest.raises(AwsServiceError, match="cannot read: ThrottlingException"):
        list(until_processed(send, {}, "UnprocessedKeys", "read", sleep=lambda _: None))

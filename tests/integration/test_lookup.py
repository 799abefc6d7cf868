"""The lookup helper other services use, against DynamoDB Local."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from stoplist.adapters.table import StopListTable
from stoplist.domain.ports import OptOutRecord
from stoplist.errors import AwsServiceError, InvalidPhoneNumberError
from stoplist.lookup import StopListLookup
from stoplist.scrub import Reason

from devkit.template import LocalResources

pytestmark = pytest.mark.integration


@pytest.fixture
def opted_out(resources: LocalResources) -> list[str]:
    table = StopListTable(resources.table_name, boto3.client("dynamodb"))
    numbers = [f"+336200{index:05d}" for index in range(0, 500, 3)]  # every third number of 500
    for number in numbers:
        table.record_opt_out(OptOutRecord(number, f"evt-{number}", "2026-01-01T00:00:00.000000Z"))
    return numbers


def test_is_opted_out_normalises_like_the_events(resources: LocalResources, opted_out: list[str]) -> None:
    lookup = StopListLookup(resources.table_name)

    assert lookup.is_opted_out("+33620000000")
    assert lookup.is_opted_out("06 20 00 00 00")
    assert lookup.is_opted_out("0033 6 20 00 00 00")
    assert not lookup.is_opted_out("06 20 00 00 01")
    with pytest.raises(InvalidPhoneNumberError):
        lookup.is_opted_out("not a number")


def test_filter_recipients_over_several_batches(resources: LocalResources, opted_out: list[str]) -> None:
    lookup = StopListLookup(resources.table_name)
    campaign = [f"0620{index:06d}" for index in range(500)]
    campaign += ["06 20 00 00 00", "garbage"]  # a second spelling of an opted-out number, and a non-number

    result = lookup.filter_recipients(campaign)

    assert len(result.opted_out) == len(opted_out) + 1
    assert "06 20 00 00 00" in result.opted_out
    assert result.invalid == ["garbage"]
    assert len(result.reachable) == 500 - len(opted_out)
    assert "0620000001" in result.reachable


def test_scrub_streams_a_campaign_against_the_table(resources: LocalResources, opted_out: list[str]) -> None:
    lookup = StopListLookup(resources.table_name)
    campaign = [{"name": f"client {index}", "phone": f"0620{index:06d}"} for index in range(500)]
    campaign += [{"name": "again", "phone": "+33 6 20 00 00 01"}, {"name": "typo", "phone": "06 20"}]

    verdicts = list(lookup.scrub(campaign, number=lambda row: row["phone"], in_flight=4))

    assert [verdict.row for verdict in verdicts] == campaign
    by_reason: dict[str | None, int] = {}
    for verdict in verdicts:
        by_reason[verdict.reason] = by_reason.get(verdict.reason, 0) + 1
    assert by_reason == {
        None: 500 - len(opted_out),
        Reason.OPTED_OUT: len(opted_out),
        Reason.DUPLICATE: 1,
        Reason.INVALID_NUMBER: 1,
    }
    assert verdicts[3].reason is Reason.OPTED_OUT
    assert verdicts[4].kept


class _Throttled:
    """Wraps the real client; the first answers leave keys unprocessed, as DynamoDB does under load."""

    def __init__(self, client: Any, unprocessed_rounds: int) -> None:
        self._client = client
        self._rounds = unprocessed_rounds
        self.calls = 0

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self._rounds:
            ((table, request),) = RequestItems.items()
            half = len(request["Keys"]) // 2
            if half == 0:
                return {"Responses": {table: []}, "UnprocessedKeys": RequestItems}
            answer = self._client.batch_get_item(RequestItems={table: {**request, "Keys": request["Keys"][:half]}})
            answer["UnprocessedKeys"] = {table: {**request, "Keys": request["Keys"][half:]}}
            return answer  # type: ignore[no-any-return]
        return self._client.batch_get_item(RequestItems=RequestItems)  # type: ignore[no-any-return]


def test_unprocessed_keys_are_retried(resources: LocalResources, opted_out: list[str]) -> None:
    client = _Throttled(boto3.client("dynamodb"), unprocessed_rounds=3)
    lookup = StopListLookup(resources.table_name, client=client, sleep=lambda _: None)  # type: ignore[arg-type]

    result = lookup.filter_recipients(opted_out[:100])

    assert sorted(result.opted_out) == sorted(opted_out[:100])
    assert client.calls == 4

    client = _Throttled(boto3.client("dynamodb"), unprocessed_rounds=3)
    lookup = StopListLookup(resources.table_name, client=client, sleep=lambda _: None)  # type: ignore[arg-type]
    verdicts = list(lookup.scrub(opted_out[:100], in_flight=1))
    assert {verdict.reason for verdict in verdicts} == {Reason.OPTED_OUT}
    assert client.calls == 4


def test_unprocessed_keys_that_never_clear_raise(resources: LocalResources, opted_out: list[str]) -> None:
    client = _Throttled(boto3.client("dynamodb"), unprocessed_rounds=1000)
    lookup = StopListLookup(resources.table_name, client=client, sleep=lambda _: None)  # type: ignore[arg-type]

    with pytest.raises(AwsServiceError, match="UnprocessedKeys left after 8 rounds"):
        lookup.filter_recipients(opted_out[:10])

"""The write-through (stoplist.adapters.table) against DynamoDB Local: ``optedOutAt`` never moves backwards
without a read first, alone and in a transaction that an older opt-out cancels (DynamoDB Local answers
``CancellationReasons`` as DynamoDB does)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from stoplist.adapters.table import StopListTable, opt_out_update, write_updates
from stoplist.domain.ports import OptOutRecord

from devkit.template import LocalResources

pytestmark = pytest.mark.integration

EARLY, LATE = "2026-01-01T00:00:00.000000Z", "2026-02-01T00:00:00.000000Z"


class CountingClient:
    """A DynamoDB client that records the operation of every call it passes on."""

    def __init__(self) -> None:
        self._client: Any = boto3.client("dynamodb")
        self.calls: list[str] = []

    def update_item(self, **request: Any) -> Any:
        self.calls.append("UpdateItem")
        return self._client.update_item(**request)

    def transact_write_items(self, **request: Any) -> Any:
        self.calls.append("TransactWriteItems")
        return self._client.transact_write_items(**request)


def item(resources: LocalResources, number: str) -> dict[str, Any]:
    client: Any = boto3.client("dynamodb")
    found: dict[str, Any] = client.get_item(
        TableName=resources.table_name, Key={"phoneNumber": {"S": number}}, ConsistentRead=True
    )["Item"]
    return {name: next(iter(value.values())) for name, value in found.items()}


def test_an_older_opt_out_keeps_the_later_opted_out_at_and_writes_its_own_fields(resources: LocalResources) -> None:
    client = CountingClient()
    table = StopListTable(resources.table_name, client)  # type: ignore[arg-type]
    number = "+33612345678"

    table.record_opt_out(OptOutRecord(number, "later", LATE, source="crm", stop_id=7), now="2026-03-01")
    assert client.calls == ["UpdateItem"]  # the latest opt-out: one request, nothing read
    table.record_opt_out(OptOutRecord(number, "replayed", EARLY, source="import", reason="STOP"), now="2026-03-02")

    assert client.calls == ["UpdateItem"] * 3  # the replay: refused, then written without optedOutAt
    written = item(resources, number)
    assert (written["optedOutAt"], written["eventOptedOutAt"]) == (LATE, EARLY)
    assert (written["eventId"], written["source"], written["optOutReason"]) == ("replayed", "import", "STOP")
    assert (written["updatedAt"], written["firstSeenAt"], written["addedStopIds"]) == (
        "2026-03-02",
        "2026-03-01",
        ["7"],
    )

    table.record_opt_out(OptOutRecord(number, "newest", "2026-02-02T00:00:00.000000Z"), now="2026-03-03")
    assert item(resources, number)["optedOutAt"] == "2026-02-02T00:00:00.000000Z"
    assert client.calls == ["UpdateItem"] * 4


def test_a_transaction_an_older_opt_out_cancels_goes_again_with_it_in_its_second_form(
    resources: LocalResources,
) -> None:
    numbers = ["+33612345670", "+33612345671", "+33612345672"]
    table = StopListTable(resources.table_name, boto3.client("dynamodb"))
    table.record_opt_out(OptOutRecord(numbers[1], "later", LATE), now="2026-03-01")
    client = CountingClient()
    records = [OptOutRecord(number, f"evt-{number}", EARLY) for number in numbers]

    errors = write_updates(client, resources.table_name, [opt_out_update(record, "2026-03-02") for record in records])  # type: ignore[arg-type]

    assert errors == [None, None, None]
    # DynamoDB Local's CancellationReasons name the older one: the three go again, it without optedOutAt.
    assert client.calls == ["TransactWriteItems"] * 2
    assert [item(resources, number)["optedOutAt"] for number in numbers] == [EARLY, LATE, EARLY]
    assert [item(resources, number)["eventId"] for number in numbers] == [f"evt-{number}" for number in numbers]

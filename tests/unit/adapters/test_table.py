"""The table adapter's writes, against a recording client: every attribute written is a documented one."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from stoplist.adapters.table import ITEM_ATTRIBUTES, SnapshotTable, StopListTable
from stoplist.domain.ports import ListedEntry, OptOutRecord, ProviderFields
from stoplist.errors import AwsServiceError


class RecordingClient:
    def __init__(self) -> None:
        self.attributes: set[str] = set()

    def update_item(self, **request: Any) -> dict[str, Any]:
        self.attributes.update(request["Key"])
        self.attributes.update(request["ExpressionAttributeNames"].values())
        return {}

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        for requests in RequestItems.values():
            for request in requests:
                self.attributes.update(request["PutRequest"]["Item"])
        return {}


def test_every_attribute_written_is_in_item_attributes_and_the_reverse() -> None:
    client = RecordingClient()
    table = StopListTable("t", client)  # type: ignore[arg-type]

    table.record_opt_out(OptOutRecord("+33612345678", "e", "2024-01-02", source="crm", reason="r", stop_id=1), now="n")
    snapshot = SnapshotTable("t", client)  # type: ignore[arg-type]
    snapshot.merge_provider_fields("+33612345678", ProviderFields((ListedEntry(1, "2015-07-20 10:19:45"),)), "n")
    snapshot.put_new([("+33612345679", ProviderFields((ListedEntry(2, "2015-07-20 10:19:45"),)))], "n")

    assert client.attributes == set(ITEM_ATTRIBUTES)


class TransactionClient:
    """Records UpdateItem and TransactWriteItems requests. The first UpdateItem stays in flight until ``release``
    (so that the writes made meanwhile group); ``cancel`` and ``fail`` script the transaction's answer, ``refuse``
    the numbers whose own UpdateItem fails."""

    def __init__(
        self,
        cancel: bool = False,
        fail: str = "",
        refuse: frozenset[str] = frozenset(),
        later: frozenset[str] = frozenset(),
    ) -> None:
        self.calls: list[tuple[str, list[str]]] = []
        self.transactions: list[list[dict[str, Any]]] = []
        self.updates: list[dict[str, Any]] = []
        self.first_in_flight = threading.Event()
        self.release = threading.Event()
        self.cancel = cancel
        self.fail = fail
        self.refuse = refuse
        self.later = later  # numbers whose item records a later opt-out: the write-through's condition fails

    def _condition_fails(self, request: dict[str, Any]) -> bool:
        later = request["Key"]["phoneNumber"]["S"] in self.later
        return later if request["ConditionExpression"].endswith("<= :latest") else not later

    def update_item(self, **request: Any) -> dict[str, Any]:
        number = request["Key"]["phoneNumber"]["S"]
        self.calls.append(("UpdateItem", [number]))
        self.updates.append(request)
        if len(self.calls) == 1:
            self.first_in_flight.set()
            assert self.release.wait(5)
        if number in self.refuse:
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "UpdateItem")
        if self._condition_fails(request):
            raise ClientError({"Error": {"Code": "ConditionalCheckFailedException"}}, "UpdateItem")
        return {}

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(("TransactWriteItems", [item["Update"]["Key"]["phoneNumber"]["S"] for item in TransactItems]))
        self.transactions.append(TransactItems)
        if self.cancel:
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
                    "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}, {"Code": "None"}],
                },
                "TransactWriteItems",
            )
        if self.fail:
            raise ClientError({"Error": {"Code": self.fail}}, "TransactWriteItems")
        reasons: list[Any] = [
            {"Code": "ConditionalCheckFailed" if self._condition_fails(item["Update"]) else "None"}
            for item in TransactItems
        ]
        if any(reason["Code"] != "None" for reason in reasons):
            raise ClientError(
                {"Error": {"Code": "TransactionCanceledException"}, "CancellationReasons": reasons},
                "TransactWriteItems",
            )
        return {}


def concurrent_opt_outs(client: TransactionClient, first: str, others: list[str]) -> dict[str, Exception | None]:
    """``first`` written alone and held in flight while ``others`` are written from threads of their own."""
    table = StopListTable("t", client)  # type: ignore[arg-type]
    outcomes: dict[str, Exception | None] = {}

    def write(number: str) -> None:
        try:
            table.record_opt_out(OptOutRecord(number, "evt-1", "t", source="crm"), now="n")
        except AwsServiceError as exc:
            outcomes[number] = exc
        else:
            outcomes[number] = None

    threads = [threading.Thread(target=write, args=(first,))]
    threads[0].start()
    assert client.first_in_flight.wait(5)
    threads += [threading.Thread(target=write, args=(number,)) for number in others]
    for thread in threads[1:]:
        thread.start()
    deadline = time.monotonic() + 5
    while table._write_through.waiting < len(others):  # the writes queued behind the first
        assert time.monotonic() < deadline
        time.sleep(0.001)
    client.release.set()
    for thread in threads:
        thread.join(5)
    return outcomes


OTHERS = ["+33612345671", "+33612345672", "+33612345673"]


def test_write_throughs_made_together_leave_in_one_transaction_with_the_same_updates() -> None:
    client = TransactionClient()

    outcomes = concurrent_opt_outs(client, "+33612345670", OTHERS)

    assert outcomes == dict.fromkeys(["+33612345670", *OTHERS])
    assert client.calls[0] == ("UpdateItem", ["+33612345670"])
    assert client.calls[1][0] == "TransactWriteItems"
    assert sorted(client.calls[1][1]) == OTHERS
    assert len(client.calls) == 2
    # Each action of the transaction is the UpdateItem a write alone would have sent, on the same table.
    alone = {key: value for key, value in client.updates[0].items() if key != "Key"}
    for action in client.transactions[0]:
        update = dict(action["Update"])
        update.pop("Key")
        assert update == alone


def test_a_cancelled_transaction_writes_each_item_alone_and_fails_only_the_refused_one() -> None:
    client = TransactionClient(cancel=True, refuse=frozenset({OTHERS[1]}))

    outcomes = concurrent_opt_outs(client, "+33612345670", OTHERS)

    assert [name for name, _ in client.calls] == ["UpdateItem", "TransactWriteItems"] + ["UpdateItem"] * 3
    assert outcomes["+33612345670"] is None
    assert outcomes[OTHERS[0]] is None
    assert outcomes[OTHERS[2]] is None
    refused = outcomes[OTHERS[1]]
    assert isinstance(refused, AwsServiceError)
    assert refused.code == "ProvisionedThroughputExceededException"


def test_a_failed_transaction_fails_each_of_its_writes_with_the_code_only() -> None:
    client = TransactionClient(fail="ThrottlingException")

    outcomes = concurrent_opt_outs(client, "+33612345670", OTHERS)

    assert outcomes["+33612345670"] is None
    for number in OTHERS:
        error = outcomes[number]
        assert isinstance(error, AwsServiceError)
        assert str(error) == "cannot write to the table: ThrottlingException"
    assert len(client.calls) == 2  # no retry one by one: the service refused the request, not an item


def assigned(request: dict[str, Any]) -> dict[str, Any]:
    """The attributes an UpdateItem's SET assigns a plain value, with their values."""
    names, values = request["ExpressionAttributeNames"], request["ExpressionAttributeValues"]
    sets = request["UpdateExpression"].removeprefix("SET ").split(" REMOVE ")[0].split(" ADD ")[0]
    return {names[name]: values[value] for name, value in re.findall(r"(#\w+) = (:\w+)(?:,|$)", sets)}


def sets_opted_out_at(request: dict[str, Any]) -> bool:
    return "optedOutAt" in assigned(request)


def test_an_opt_out_older_than_the_recorded_one_is_written_again_without_opted_out_at() -> None:
    client = TransactionClient(later=frozenset({"+33612345670"}))
    client.release.set()
    table = StopListTable("t", client)  # type: ignore[arg-type]

    table.record_opt_out(OptOutRecord("+33612345670", "evt-old", "2026-01-01T00:00:00.000000Z"), now="n")

    first, second = client.updates
    assert sets_opted_out_at(first)
    assert first["ConditionExpression"] == "attribute_not_exists(#latest) OR #latest <= :latest"
    assert not sets_opted_out_at(second)
    assert second["ConditionExpression"] == "#latest > :latest"
    assert assigned(second) == {name: value for name, value in assigned(first).items() if name != "optedOutAt"}
    assert second["UpdateExpression"].split(" REMOVE ")[1] == first["UpdateExpression"].split(" REMOVE ")[1]
    assert second["ExpressionAttributeValues"][":latest"] == {"S": "2026-01-01T00:00:00.000000Z"}


def test_the_latest_opt_out_is_one_request_and_sets_opted_out_at() -> None:
    client = TransactionClient()
    client.release.set()
    table = StopListTable("t", client)  # type: ignore[arg-type]

    table.record_opt_out(OptOutRecord("+33612345670", "evt-1", "2026-01-01T00:00:00.000000Z"), now="n")

    [update] = client.updates
    assert sets_opted_out_at(update)


def test_a_transaction_an_older_opt_out_cancels_goes_again_with_it_written_without_opted_out_at() -> None:
    client = TransactionClient(later=frozenset({OTHERS[1]}))

    outcomes = concurrent_opt_outs(client, "+33612345670", OTHERS)

    assert outcomes == dict.fromkeys(["+33612345670", *OTHERS])
    assert [name for name, _ in client.calls] == ["UpdateItem", "TransactWriteItems", "TransactWriteItems"]
    first, again = (
        {action["Update"]["Key"]["phoneNumber"]["S"]: action["Update"] for action in t} for t in client.transactions
    )
    assert [sets_opted_out_at(first[number]) for number in OTHERS] == [True, True, True]
    assert [sets_opted_out_at(again[number]) for number in OTHERS] == [True, False, True]  # the older one's other form
    assert again[OTHERS[0]] == first[OTHERS[0]]


def test_a_second_cancellation_writes_each_item_alone_the_older_one_in_its_second_form() -> None:
    class Conflicting(TransactionClient):
        """The second transaction meets another writer of the first item."""

        def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
            if self.transactions:
                self.calls.append(("TransactWriteItems", []))
                self.transactions.append(TransactItems)
                reasons: list[Any] = [{"Code": "TransactionConflict"}] + [{"Code": "None"}] * (len(TransactItems) - 1)
                raise ClientError(
                    {"Error": {"Code": "TransactionCanceledException"}, "CancellationReasons": reasons},
                    "TransactWriteItems",
                )
            return super().transact_write_items(TransactItems)

    client = Conflicting(later=frozenset({OTHERS[1]}))

    outcomes = concurrent_opt_outs(client, "+33612345670", OTHERS)

    assert outcomes == dict.fromkeys(["+33612345670", *OTHERS])
    assert [name for name, _ in client.calls] == ["UpdateItem"] + ["TransactWriteItems"] * 2 + ["UpdateItem"] * 3
    alone = {update["Key"]["phoneNumber"]["S"]: update for update in client.updates[1:]}
    assert sorted(alone) == OTHERS  # each written once: the older one straight to its second form
    assert [sets_opted_out_at(alone[number]) for number in OTHERS] == [True, False, True]


def test_an_item_changing_under_both_writes_fails_the_record_after_alternating() -> None:
    class Flipping(TransactionClient):
        """Every condition fails: another writer changes the item between each two requests."""

        def _condition_fails(self, request: dict[str, Any]) -> bool:
            return True

    client = Flipping()
    client.release.set()
    table = StopListTable("t", client)  # type: ignore[arg-type]

    with pytest.raises(AwsServiceError) as raised:
        table.record_opt_out(OptOutRecord("+33612345670", "evt-1", "2026-01-01T00:00:00.000000Z"), now="n")

    assert raised.value.code == "ConditionalCheckFailedException"
    assert [sets_opted_out_at(update) for update in client.updates] == [True, False, True]

"""NumberLeases (stoplist.adapters.locks) against DynamoDB Local: taken once, given back by its owner only, taken
again once it ended."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import boto3
import pytest
from stoplist.adapters.locks import EXPIRY_AFTER_SECONDS, NumberLeases
from stoplist.domain.ports import NumberLocks

from devkit.template import LocalResources

pytestmark = pytest.mark.integration

NUMBER = "+33612345678"
T0, T1, T2 = "2026-12-06T10:00:00.000000Z", "2026-12-06T10:01:00.000000Z", "2026-12-06T10:02:00.000000Z"


def leases(resources: LocalResources) -> NumberLocks:
    return NumberLeases(resources.table_names["NumberLeaseTable"], boto3.client("dynamodb"))


def test_a_lease_is_taken_once_until_its_owner_gives_it_back(resources: LocalResources) -> None:
    locks = leases(resources)
    assert locks.acquire(NUMBER, "a", until=T1, now=T0) is None
    assert locks.acquire(NUMBER, "b", until=T1, now=T0) == T1  # held: when the holder's lease ends
    locks.release(NUMBER, "b")  # not b's to give back
    assert locks.acquire(NUMBER, "c", until=T1, now=T0) == T1
    locks.release(NUMBER, "a")
    assert locks.acquire(NUMBER, "c", until=T1, now=T0) is None
    assert locks.acquire("+33612345679", "d", until=T1, now=T0) is None  # numbers are held apart


def test_a_lease_that_ended_is_taken_by_the_next_event_and_carries_a_ttl(resources: LocalResources) -> None:
    locks = leases(resources)
    assert locks.acquire(NUMBER, "died", until=T1, now=T0) is None
    assert locks.acquire(NUMBER, "next", until=T2, now=T2) is None
    client: Any = boto3.client("dynamodb")
    item = client.get_item(TableName=resources.table_names["NumberLeaseTable"], Key={"phoneNumber": {"S": NUMBER}})
    assert item["Item"]["leaseOwner"]["S"] == "next"
    ends = datetime.fromisoformat(T2).timestamp()
    assert int(item["Item"]["expiresAt"]["N"]) == ends + EXPIRY_AFTER_SECONDS  # DynamoDB's TTL clears it after
    locks.release(NUMBER, "died")  # its lease was taken over: nothing to give back, no error

"""ProviderCallCounts (stoplist.adapters.call_counts) against DynamoDB Local: concurrent adds never lose a call, and
instances pacing through it share one budget."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from stoplist.adapters.call_counts import EXPIRY_AFTER_SECONDS, ProviderCallCounts
from stoplist.adapters.pacing import CallCounts, Pacer

from devkit.template import LocalResources

pytestmark = pytest.mark.integration


def counts(resources: LocalResources) -> CallCounts:
    return ProviderCallCounts(resources.table_names["ProviderCallsTable"], boto3.client("dynamodb"))


def test_concurrent_adds_are_all_counted_and_the_item_expires(resources: LocalResources) -> None:
    shared = counts(resources)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: shared.add(1_800_000_000, 1), range(40)))
    assert sorted(answers) == list(range(1, 41))  # every add saw its own count: none lost, none twice
    client: Any = boto3.client("dynamodb")
    item = client.get_item(TableName=resources.table_names["ProviderCallsTable"], Key={"second": {"N": "1800000000"}})[
        "Item"
    ]
    assert item["expiresAt"] == {"N": str(1_800_000_000 + EXPIRY_AFTER_SECONDS)}


def test_two_instances_take_one_budget_between_them(resources: LocalResources) -> None:
    """Two pacers (two instances, each its own client) and 8 callers each, 60 calls in all at 600 a minute (10
    places a second): they go in about 6 seconds, not 3 (a budget each)."""
    started: list[float] = []
    lock = threading.Lock()

    def instance() -> None:
        pacer = Pacer(calls_per_minute=600, counts=counts(resources))

        def call() -> None:
            assert pacer.acquire(max_wait=30.0) is None
            with lock:
                started.append(time.time())

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda _: call(), range(30)))

    instances = [threading.Thread(target=instance) for _ in range(2)]
    for thread in instances:
        thread.start()
    for thread in instances:
        thread.join()

    assert len(started) == 60
    # 6 seconds of places, the first one entered part way: over 4 s from the first call to the last (two budgets
    # would take 3 seconds' places, under 3 s), and no second with places left unused for long.
    assert 4.0 < max(started) - min(started) < 9.0

"""The snapshot's lease on DynamoDB Local: two snapshots at once, one runs and the other does nothing."""

from __future__ import annotations

import itertools
from typing import Any

import boto3
import pytest
from stoplist.adapters.lease import TableLease
from stoplist.config import Settings
from stoplist.domain.deadline import Deadline
from stoplist.domain.keys import SNAPSHOT_LEASE_KEY, STATUS_KEY
from stoplist.domain.ports import AddResult, StopEntry, StopListProvider
from stoplist.domain.snapshot import ScheduledSnapshot, SnapshotReport, run_and_count
from stoplist.wiring import build_scheduled_snapshot

from devkit.emf import tally_metrics
from devkit.lambda_runtime import LocalFunction
from devkit.standin import SmsPartnerStandIn
from devkit.template import LocalResources
from tests.helpers import load_event, metrics_counted, table_items

pytestmark = pytest.mark.integration

NUMBERS = [f"+3361{index:07d}" for index in range(40)]


class _AnotherSnapshotDuringFetch:
    """The first snapshot's provider: while its list is fetched (lease held), a second snapshot runs whole."""

    def __init__(self, inner: StopListProvider, second: ScheduledSnapshot) -> None:
        self._inner = inner
        self._second = second
        self.second_report: SnapshotReport | None = None
        self.second_ran = False

    def add_stop(self, e164: str, deadline: Deadline | None = None) -> AddResult:
        return self._inner.add_stop(e164, deadline)

    def list_stops(self, deadline: Deadline | None = None) -> list[StopEntry]:
        entries = self._inner.list_stops(deadline)
        self.second_report = run_and_count(lambda: self._second, seconds_left=900)
        self.second_ran = True
        return entries


def test_two_snapshots_at_once_one_runs_and_the_other_does_nothing(
    resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    standin.seed_stop_list(NUMBERS)
    settings = Settings.from_env(resources.function_env["SnapshotFunction"])
    first, second = build_scheduled_snapshot(settings), build_scheduled_snapshot(settings)
    provider = _AnotherSnapshotDuringFetch(first.sync._provider, second)
    first.sync._provider = provider

    with metrics_counted() as counted:
        report = run_and_count(lambda: first, seconds_left=900)

    assert provider.second_ran
    assert provider.second_report is None  # it found the lease held
    assert report is not None
    assert report.added == len(NUMBERS)
    assert report.removed == 0  # the lease item, in the table during the scan, is not a number to remove
    items = table_items(resources.table_name)
    assert set(items) == {*NUMBERS, STATUS_KEY}  # the lease was given back
    assert counted["SnapshotSkippedOverlap"] == 1
    assert counted["SnapshotSucceeded"] == 1
    # Released: the next snapshot runs.
    assert run_and_count(lambda: second, seconds_left=900) is not None


def test_the_handler_skips_while_another_run_holds_the_lease(
    snapshot_function: LocalFunction,
    resources: LocalResources,
    standin: SmsPartnerStandIn,
    capsys: pytest.CaptureFixture[str],
) -> None:
    standin.seed_stop_list(NUMBERS)
    other = TableLease(resources.table_name, boto3.client("dynamodb"))
    assert other.acquire(600)
    capsys.readouterr()

    answer = snapshot_function.invoke(load_event("schedule.json"))

    assert answer == {"skipped": "another snapshot holds the lease"}
    assert set(table_items(resources.table_name)) == {SNAPSHOT_LEASE_KEY}
    assert standin.counters.get("calls_list", 0) == 0
    metrics = tally_metrics(capsys.readouterr().out)
    assert metrics["SnapshotSkippedOverlap"] == 1
    assert "SnapshotFailed" not in metrics

    other.release()
    report = snapshot_function.invoke(load_event("schedule.json"))
    assert report["added"] == len(NUMBERS)


def test_an_expired_lease_is_taken_over_and_its_late_release_frees_nothing(resources: LocalResources) -> None:
    clock = itertools.count(1000.0, 5.0)  # each reading 5 s later
    dynamodb: Any = boto3.client("dynamodb")
    dead = TableLease(resources.table_name, dynamodb, clock=lambda: next(clock))
    late = TableLease(resources.table_name, dynamodb, clock=lambda: next(clock))

    assert dead.acquire(7.0)  # t=1000: held until 1007
    assert not late.acquire(7.0)  # t=1005: still held
    assert late.acquire(7.0)  # t=1010: expired, taken over until 1017
    holder = table_items(resources.table_name)[SNAPSHOT_LEASE_KEY]["holder"]

    dead.release()  # the run that outlived its lease must not free the new holder's

    assert table_items(resources.table_name)[SNAPSHOT_LEASE_KEY]["holder"] == holder
    late.release()
    assert SNAPSHOT_LEASE_KEY not in table_items(resources.table_name)

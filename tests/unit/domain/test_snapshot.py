from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from stoplist.domain.deadline import Deadline
from stoplist.domain.ports import ListedEntry, ProviderFields, StopEntry
from stoplist.domain.snapshot import (
    LEASE_MARGIN_SECONDS,
    ScheduledSnapshot,
    SnapshotSync,
    SyncPlan,
    plan_sync,
    run_and_count,
)
from stoplist.errors import AwsServiceError, ConfigurationError, ProviderUnavailableError

from tests.helpers import metrics_counted
from tests.unit.fakes import FakeLease, FakeProvider, FakeTable


def entries(count: int, start: int = 0, created: str = "2024-01-01 00:00:00") -> list[StopEntry]:
    return [StopEntry(start + index, f"+3361{start + index:07d}", created) for index in range(count)]


_ticks = itertools.count()  # one clock for all syncs of a test run: time only moves forward


def sync(provider: FakeProvider, table: FakeTable, max_delete_percent: float = 10.0) -> SnapshotSync:
    ticks = _ticks
    return SnapshotSync(
        provider=provider,
        table=table,
        default_region="FR",
        max_delete_percent=max_delete_percent,
        write_threads=3,
        scan_segments=4,
        clock=lambda: f"2026-11-22T00:00:00.{next(ticks):06d}Z",
    )


def test_writes_are_proportional_to_the_change() -> None:
    provider = FakeProvider(entries=entries(1000))
    table = FakeTable()
    sync(provider, table).run()
    assert table.writes == 1000

    table.writes = 0
    provider.entries = entries(995) + entries(3, start=5000)  # 5 gone, 3 new
    provider.entries[10] = StopEntry(10, provider.entries[10].phone_number, "2025-01-01 00:00:00")  # 1 changed
    report = sync(provider, table).run()

    assert (report.added, report.updated, report.removed) == (3, 1, 5)
    assert table.writes == 9


def test_guard_boundary_is_the_threshold() -> None:
    table = FakeTable()
    sync(FakeProvider(entries=entries(100)), table).run()

    exactly_ten_percent = sync(FakeProvider(entries=entries(90, start=10)), table).run()
    assert (exactly_ten_percent.guard_tripped, exactly_ten_percent.removed) == (False, 10)

    eleven_percent = sync(FakeProvider(entries=entries(79, start=21)), table).run()
    assert (eleven_percent.guard_tripped, eleven_percent.deletions_skipped) == (True, 11)


def test_guard_skips_updates_too() -> None:
    table = FakeTable()
    sync(FakeProvider(entries=entries(10)), table).run()
    report = sync(FakeProvider(entries=entries(1, created="2030-01-01 00:00:00")), table).run()
    assert report.guard_tripped
    assert report.updated == 0
    assert table.items["+33610000000"]["providerEntries"][0].created_at == "2024-01-01 00:00:00"


def test_empty_table_accepts_any_list_and_empty_list_on_empty_table_is_fine() -> None:
    assert not sync(FakeProvider(entries=[]), FakeTable()).run().guard_tripped


def test_duplicate_spellings_are_one_number_with_every_entry() -> None:
    """Two spellings, and the international form without its "+" (as SMS Partner writes it too)."""
    provider = FakeProvider(
        entries=[StopEntry(2, "+33612345678", "b"), StopEntry(1, "0612345678", "a"), StopEntry(3, "33612345678", "c")]
    )
    table = FakeTable()
    report = sync(provider, table).run()
    assert (report.size, report.invalid_numbers) == (1, 0)
    assert [entry.stop_id for entry in table.items["+33612345678"]["providerEntries"]] == [1, 2, 3]


def test_odd_entries_are_normalised_or_counted() -> None:
    """A trailing newline must not make a key of its own (``$`` matches before it), nor a missing number
    stop the snapshot; an overseas number gets the key its lookups use."""
    table = FakeTable(items={"+33612345678": {"updatedAt": "x"}})
    provider = FakeProvider(
        entries=[
            StopEntry(1, "+33612345678\n", None),
            StopEntry(2, None, None),
            StopEntry(3, "+33692123456", None),
            StopEntry(4, "", None),
        ]
    )
    report = sync(provider, table).run()
    assert set(table.items) == {"+33612345678", "+262692123456"}
    assert (report.size, report.invalid_numbers, report.removed) == (2, 2, 0)


class FailingProvider(FakeProvider):
    def list_stops(self, deadline: Deadline | None = None) -> Iterator[StopEntry]:
        raise ProviderUnavailableError("stop-sms/list: HTTP 500")


def test_fetch_failure_writes_nothing() -> None:
    table = FakeTable(items={"+33612345678": {"updatedAt": "x"}})
    with pytest.raises(ProviderUnavailableError):
        sync(FailingProvider(), table).run()
    assert table.writes == 0
    assert table.status == {}


def test_a_list_found_truncated_at_its_end_writes_nothing() -> None:
    """The provider yields entries, then finds the list cut: nothing is added, changed or removed."""

    class CutAtTheEnd(FakeProvider):
        def list_stops(self, deadline: Deadline | None = None) -> Iterator[StopEntry]:
            yield from self.entries
            raise ProviderUnavailableError("stop-sms/list declared 9 entries but returned 3: truncated")

    before = {"+33612345678": {"updatedAt": "x"}, "+33610000000": {"updatedAt": "x"}}
    table = FakeTable(items={number: dict(item) for number, item in before.items()})
    with pytest.raises(ProviderUnavailableError, match="truncated"):
        sync(CutAtTheEnd(entries=entries(3)), table).run()
    assert table.writes == 0
    assert table.items == before
    assert table.status == {}


def test_status_is_written_on_success() -> None:
    table = FakeTable()
    sync(FakeProvider(entries=[*entries(3), StopEntry(9, "bad", None)]), table).run()
    assert table.status["size"] == 3
    assert table.status["invalidNumbers"] == 1
    assert table.status["lastSuccessAt"] > table.status["listFetchedAt"]


def test_provider_fields_compare_by_value() -> None:
    assert ProviderFields.of([ListedEntry(2, "b"), ListedEntry(1, "a")]) == ProviderFields.of(
        [ListedEntry(1, "a"), ListedEntry(2, "b")]
    )
    assert ProviderFields.of([ListedEntry(1, "a")]) != ProviderFields.of([ListedEntry(1, None)])
    assert ProviderFields.of([ListedEntry(None, "x"), ListedEntry(4, "a")]).stop_id == 4


# --- the lease: two snapshots never run at once ---------------------------------------------------------------
def scheduled(provider: FakeProvider, table: FakeTable, lease: FakeLease) -> ScheduledSnapshot:
    return ScheduledSnapshot(sync=sync(provider, table), lease=lease)


def test_a_run_holds_the_lease_past_its_deadline_and_gives_it_back() -> None:
    provider, table, lease = FakeProvider(entries=entries(3)), FakeTable(), FakeLease()

    with metrics_counted() as counted:
        report = run_and_count(lambda: scheduled(provider, table, lease), seconds_left=899.5)

    assert report is not None
    assert report.added == 3
    assert lease.asked_seconds == [899.5 + LEASE_MARGIN_SECONDS]
    assert (lease.held, lease.releases) == (False, 1)
    assert counted["SnapshotSucceeded"] == 1
    assert "SnapshotSkippedOverlap" not in counted


def test_a_run_that_finds_the_lease_held_does_nothing_and_counts_it() -> None:
    provider, table, lease = FakeProvider(entries=entries(3)), FakeTable(), FakeLease(held_elsewhere=True)

    with metrics_counted() as counted:
        report = run_and_count(lambda: scheduled(provider, table, lease), seconds_left=900)

    assert report is None
    assert (provider.lists, table.writes, table.status) == (0, 0, {})
    assert lease.releases == 0  # another run's lease is never given back
    assert counted == {"SnapshotSkippedOverlap": 1}


def test_a_failed_run_gives_the_lease_back_and_counts_the_failure() -> None:
    provider, table, lease = FailingProvider(), FakeTable(), FakeLease()

    with metrics_counted() as counted, pytest.raises(ProviderUnavailableError):
        run_and_count(lambda: scheduled(provider, table, lease), seconds_left=900)

    assert (lease.held, lease.releases) == (False, 1)
    assert counted["SnapshotFailed"] == 1


def test_a_lease_that_cannot_be_given_back_leaves_the_run_succeeded() -> None:
    lease = FakeLease(release_error=AwsServiceError("cannot release the snapshot lease: Throttling", "Throttling"))

    with metrics_counted() as counted:
        report = run_and_count(lambda: scheduled(FakeProvider(entries=entries(2)), FakeTable(), lease), 900)

    assert report is not None
    assert report.added == 2
    assert counted["SnapshotSucceeded"] == 1  # the lease expires on its own


def test_an_unusable_api_key_counts_as_a_configuration_error_for_its_alarm() -> None:
    class EmptyKey(FakeProvider):
        def list_stops(self, deadline: Deadline | None = None) -> Iterator[StopEntry]:
            raise ConfigurationError("the API key secret is empty")

    with metrics_counted() as counted, pytest.raises(ConfigurationError):
        run_and_count(lambda: scheduled(EmptyKey(), FakeTable(), FakeLease()), seconds_left=900)

    assert counted == {"SnapshotFailed": 1, "ConfigurationError": 1}


def fields(stop_id: int, created: str = "2024-01-01 00:00:00") -> ProviderFields:
    return ProviderFields.of([ListedEntry(stop_id, created)])


def test_the_plan_adds_what_the_list_has_changes_what_differs_and_removes_what_it_lost() -> None:
    desired = {"+33611": fields(1), "+33612": fields(2), "+33613": fields(30)}
    current = {"+33612": fields(2), "+33613": fields(3), "+33614": fields(4)}
    plan = plan_sync(desired, current, max_delete_percent=50)
    assert plan == SyncPlan(additions=[("+33611", fields(1))], changes=[("+33613", fields(30))], removals=["+33614"])


def test_the_guard_keeps_the_additions_and_drops_changes_and_removals() -> None:
    current = {f"+336{n}": fields(n) for n in range(10)}
    desired = {"+33699": fields(99), "+3360": fields(100), **{f"+336{n}": fields(n) for n in range(1, 8)}}
    # 2 removals of 10 items: 20 % is over a 10 % limit, at it with 20 %.
    tripped = plan_sync(desired, current, max_delete_percent=10)
    assert tripped == SyncPlan(
        additions=[("+33699", fields(99))], changes=[], removals=[], guard_tripped=True, deletions_skipped=2
    )
    kept = plan_sync(desired, current, max_delete_percent=20)
    assert kept.removals == ["+3368", "+3369"]
    assert kept.changes == [("+3360", fields(100))]
    assert not kept.guard_tripped


def test_an_empty_list_never_empties_the_table_and_an_empty_table_takes_the_whole_list() -> None:
    table = {"+33611": fields(1)}
    assert plan_sync({}, table, max_delete_percent=100) == SyncPlan([], [], [], guard_tripped=True, deletions_skipped=1)
    assert plan_sync(table, {}, max_delete_percent=0) == SyncPlan([("+33611", fields(1))], [], [])

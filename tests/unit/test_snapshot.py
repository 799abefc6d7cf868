from __future__ import annotations

import itertools

import pytest
from stoplist.domain.deadline import Deadline
from stoplist.domain.ports import ProviderFields, StopEntry
from stoplist.domain.snapshot import LEASE_MARGIN_SECONDS, ScheduledSnapshot, SnapshotSync, run_and_count
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
    assert table.items["+33610000000"]["providerCreatedAt"] == "2024-01-01 00:00:00"


def test_empty_table_accepts_any_list_and_empty_list_on_empty_table_is_fine() -> None:
    assert not sync(FakeProvider(entries=[]), FakeTable()).run().guard_tripped


def test_duplicate_spellings_keep_the_first_entry() -> None:
    provider = FakeProvider(entries=[StopEntry(1, "0612345678", "a"), StopEntry(2, "+33612345678", "b")])
    table = FakeTable()
    report = sync(provider, table).run()
    assert report.size == 1
    assert table.items["+33612345678"]["providerStopId"] == 1


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
    def list_stops(self, deadline: Deadline | None = None) -> list[StopEntry]:
        raise ProviderUnavailableError("stop-sms/list: HTTP 500")


def test_fetch_failure_writes_nothing() -> None:
    table = FakeTable(items={"+33612345678": {"updatedAt": "x"}})
    with pytest.raises(ProviderUnavailableError):
        sync(FailingProvider(), table).run()
    assert table.writes == 0
    assert table.status == {}


def test_status_is_written_on_success() -> None:
    table = FakeTable()
    sync(FakeProvider(entries=[*entries(3), StopEntry(9, "bad", None)]), table).run()
    assert table.status["size"] == 3
    assert table.status["invalidNumbers"] == 1
    assert table.status["lastSuccessAt"] > table.status["listFetchedAt"]


def test_provider_fields_compare_by_value() -> None:
    assert ProviderFields(1, "a") == ProviderFields(1, "a")
    assert ProviderFields(1, "a") != ProviderFields(1, None)


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
        def list_stops(self, deadline: Deadline | None = None) -> list[StopEntry]:
            raise ConfigurationError("the API key secret is empty")

    with metrics_counted() as counted, pytest.raises(ConfigurationError):
        run_and_count(lambda: scheduled(EmptyKey(), FakeTable(), FakeLease()), seconds_left=900)

    assert counted == {"SnapshotFailed": 1, "ConfigurationError": 1}

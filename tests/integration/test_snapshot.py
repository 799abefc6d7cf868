"""The snapshot handler against DynamoDB Local and the stand-in: load, re-sync, races, failures, guard."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from stoplist.adapters.table import StopListTable
from stoplist.config import Settings
from stoplist.domain.deadline import Deadline
from stoplist.domain.keys import STATUS_KEY
from stoplist.domain.ports import AddResult, OptOutRecord, StopEntry, StopListProvider
from stoplist.errors import StopListError
from stoplist.lookup import StopListLookup
from stoplist.wiring import build_snapshot_sync

from devkit.emf import tally_metrics
from devkit.lambda_runtime import LocalFunction
from devkit.standin import ListOverride, SmsPartnerStandIn
from devkit.template import LocalResources
from tests.helpers import load_event, table_items

pytestmark = pytest.mark.integration

SCHEDULE = load_event("schedule.json")


def numbers(count: int, start: int = 0) -> list[str]:
    return [f"+3361{index:07d}" for index in range(start, start + count)]


def phone_items(table_name: str) -> dict[str, dict[str, Any]]:
    return {key: item for key, item in table_items(table_name).items() if key != STATUS_KEY}


def test_first_load_makes_the_table_equal_to_the_list(
    snapshot_function: LocalFunction,
    resources: LocalResources,
    standin: SmsPartnerStandIn,
    capsys: pytest.CaptureFixture[str],
) -> None:
    standin.seed_stop_list([*numbers(250), "0698765432", "+49 1512 3456789", "12345"])

    report = snapshot_function.invoke(SCHEDULE)

    items = phone_items(resources.table_name)
    assert set(items) == {*numbers(250), "+33698765432", "+4915123456789"}
    assert report["added"] == 252
    assert report["invalid_numbers"] == 1
    assert items["+33698765432"]["providerStopId"] == str(standin.stop_list()["0698765432"][0])
    assert items["+33698765432"]["providerCreatedAt"] == "2024-01-01 00:00:00"
    status = table_items(resources.table_name)[STATUS_KEY]
    assert status["size"] == "252"
    assert status["added"] == "252"
    metrics = tally_metrics(capsys.readouterr().out)
    assert metrics["SnapshotSize"] == 252
    assert metrics["SnapshotAdded"] == 252
    assert metrics["SnapshotSucceeded"] == 1


def test_odd_entries_are_normalised_or_counted_never_fatal(
    snapshot_function: LocalFunction,
    resources: LocalResources,
    standin: SmsPartnerStandIn,
    capsys: pytest.CaptureFixture[str],
) -> None:
    standin.seed_stop_list(numbers(20))
    standin.seed_raw_entries(
        [
            {"id": 901, "phoneNumber": 33612345670, "createdAt": "2024-01-01 00:00:00"},  # a JSON number
            {"id": 902, "phoneNumber": " +33 6 12 34 56 71 "},  # spaces
            {"id": 903, "phoneNumber": "+33612345672\n"},  # a trailing newline
            {"id": 904, "phoneNumber": "0692 12 34 56"},  # Réunion, as typed there
            {"id": 905, "phoneNumber": "+33596301234"},  # a Martinique landline under France's code
            {"id": 906, "phoneNumber": None},
            {"id": 907, "phoneNumber": "call me"},
            {"id": 908},
            ["not", "an", "object"],
        ]
    )

    report = snapshot_function.invoke(SCHEDULE)

    items = phone_items(resources.table_name)
    normalised = {"+33612345670", "+33612345671", "+33612345672", "+262692123456", "+596596301234"}
    assert set(items) == {*numbers(20), *normalised}
    assert (report["added"], report["invalid_numbers"]) == (25, 4)
    assert table_items(resources.table_name)[STATUS_KEY]["invalidNumbers"] == "4"
    assert tally_metrics(capsys.readouterr().out)["SnapshotSucceeded"] == 1
    # the same odd list again: nothing to write, no key churned by the odd spellings
    assert snapshot_function.invoke(SCHEDULE)["items_written"] == 0
    # lookups find the overseas numbers however they are typed
    lookup = StopListLookup(resources.table_name)
    assert all(lookup.is_opted_out(raw) for raw in ("0692 12 34 56", "+33 6 92 12 34 56", "+262692123456"))
    assert lookup.is_opted_out("05 96 30 12 34")


def test_resnapshot_writes_only_what_changed(
    snapshot_function: LocalFunction, resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    standin.seed_stop_list(numbers(300))
    snapshot_function.invoke(SCHEDULE)
    before = phone_items(resources.table_name)

    standin.remove_numbers(numbers(5))  # removed from the list
    standin.remove_numbers(numbers(3, start=100))
    standin.seed_stop_list(numbers(3, start=100), created_at="2025-06-01 12:00:00")  # changed id and date
    standin.seed_stop_list(numbers(7, start=1000))  # new
    report = snapshot_function.invoke(SCHEDULE)

    assert (report["added"], report["updated"], report["removed"]) == (7, 3, 5)
    assert report["items_written"] == 15
    after = phone_items(resources.table_name)
    assert set(after) == set(numbers(295, start=5)) | set(numbers(7, start=1000))
    unchanged = set(numbers(300)) - set(numbers(5)) - set(numbers(3, start=100))
    assert all(after[number]["updatedAt"] == before[number]["updatedAt"] for number in unchanged)
    assert after[numbers(1, start=100)[0]]["providerCreatedAt"] == "2025-06-01 12:00:00"


def test_unchanged_list_writes_nothing(
    snapshot_function: LocalFunction, resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    standin.seed_stop_list(numbers(120))
    snapshot_function.invoke(SCHEDULE)

    report = snapshot_function.invoke(SCHEDULE)

    assert report["items_written"] == 0
    assert report["size"] == 120


def test_snapshot_merges_provider_fields_into_a_written_through_item(
    snapshot_function: LocalFunction, resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    table = StopListTable(resources.table_name, boto3.client("dynamodb"))
    table.record_opt_out(
        OptOutRecord(
            "+33612345678",
            "evt-1",
            "2026-01-01T00:00:00.000000Z",
            source="crm",
            reason="asked by phone",
        )
    )
    standin.seed_stop_list(["+33612345678"], created_at="2026-11-22 10:00:00")

    report = snapshot_function.invoke(SCHEDULE)

    assert report["updated"] == 1
    item = phone_items(resources.table_name)["+33612345678"]
    assert (item["source"], item["eventId"], item["optOutReason"]) == ("crm", "evt-1", "asked by phone")
    assert item["providerCreatedAt"] == "2026-11-22 10:00:00"
    assert item["recordedBy"] == "optout"


class _OptOutDuringFetch:
    """A provider whose list is fetched while a handler writes an opt-out through, as in production."""

    def __init__(self, inner: StopListProvider, during_fetch: Callable[[], object]) -> None:
        self._inner = inner
        self._during_fetch = during_fetch

    def add_stop(self, e164: str, deadline: Deadline | None = None) -> AddResult:
        return self._inner.add_stop(e164, deadline)

    def list_stops(self, deadline: Deadline | None = None) -> Iterator[StopEntry]:
        yield from self._inner.list_stops()
        self._during_fetch()  # the list is read to its end, not yet acted on


def test_opt_out_written_during_the_snapshot_survives_it(resources: LocalResources, standin: SmsPartnerStandIn) -> None:
    table = StopListTable(resources.table_name, boto3.client("dynamodb"))
    table.record_opt_out(
        OptOutRecord("+33600000001", "old", "2026-01-01T00:00:00.000000Z")
    )  # no longer on the list: goes
    table.record_opt_out(
        OptOutRecord("+33600000003", "old", "2026-01-01T00:00:00.000000Z")
    )  # not on the list either, but ...
    standin.seed_stop_list(["+33600000002"])
    # Two of three items would go: raise the guard, which is tested on its own below.
    settings = Settings.from_env({**resources.function_env["SnapshotFunction"], "SNAPSHOT_MAX_DELETE_PERCENT": "100"})
    sync = build_snapshot_sync(settings)
    sync._provider = _OptOutDuringFetch(
        # ... opted out again while the list is being fetched: the list cannot know it yet.
        sync._provider,
        lambda: table.record_opt_out(OptOutRecord("+33600000003", "racing", "2026-01-01T00:00:00.000000Z")),
    )

    report = sync.run()

    items = phone_items(resources.table_name)
    assert set(items) == {"+33600000002", "+33600000003"}
    assert items["+33600000003"]["eventId"] == "racing"
    assert report.removed == 1
    assert report.removals_skipped_recent_write == 1


@pytest.mark.parametrize(
    "override",
    [
        # remaining=5: the first refusal makes the client read the secret again and retry once.
        ListOverride("error_code", code=10, remaining=5),
        ListOverride("error_code", code=1, remaining=5),
        ListOverride("http_500", remaining=5),
        ListOverride("truncated", remaining=5),
        ListOverride("nbdata_mismatch", remaining=5),
    ],
    ids=["code-10", "code-1", "http-500", "truncated-json", "nbdata-mismatch"],
)
def test_failed_fetch_leaves_the_table_exactly_as_it_was(
    snapshot_function: LocalFunction,
    resources: LocalResources,
    standin: SmsPartnerStandIn,
    capsys: pytest.CaptureFixture[str],
    override: ListOverride,
) -> None:
    standin.seed_stop_list(numbers(50))
    snapshot_function.invoke(SCHEDULE)
    before = table_items(resources.table_name)
    standin.remove_numbers(numbers(40))
    standin.override_list(override)
    capsys.readouterr()

    with pytest.raises(StopListError):
        snapshot_function.invoke(SCHEDULE)

    assert table_items(resources.table_name) == before  # status item included
    metrics = tally_metrics(capsys.readouterr().out)
    assert metrics["SnapshotFailed"] == 1
    # a refused key also counts where ProviderAuthErrorAlarm looks; nothing else does
    assert metrics.get("ProviderAuthError", 0) == (1 if override.kind == "error_code" else 0)


def test_read_timeout_leaves_the_table_as_it_was(
    resources: LocalResources, standin: SmsPartnerStandIn, snapshot_function: LocalFunction
) -> None:
    standin.seed_stop_list(numbers(20))
    snapshot_function.invoke(SCHEDULE)
    before = table_items(resources.table_name)
    standin.remove_numbers(numbers(20))
    standin.faults.timeout_seconds = 1.0
    standin.queue_faults("timeout", "timeout", "timeout")

    with pytest.raises(StopListError, match="ReadTimeout"):
        snapshot_function.invoke(SCHEDULE)

    assert table_items(resources.table_name) == before


@pytest.mark.parametrize("remaining_list", ["half", "empty"])
def test_mass_deletion_guard_applies_additions_only(
    snapshot_function: LocalFunction,
    resources: LocalResources,
    standin: SmsPartnerStandIn,
    capsys: pytest.CaptureFixture[str],
    json_logs: io.StringIO,
    remaining_list: str,
) -> None:
    standin.seed_stop_list(numbers(100))
    snapshot_function.invoke(SCHEDULE)
    before = phone_items(resources.table_name)
    standin.remove_numbers(numbers(50) if remaining_list == "half" else numbers(100))
    if remaining_list == "half":
        standin.seed_stop_list(numbers(2, start=500))
    capsys.readouterr()

    report = snapshot_function.invoke(SCHEDULE)

    after = phone_items(resources.table_name)
    assert report["guard_tripped"] is True
    assert report["removed"] == 0
    assert set(before) <= set(after)
    expected_new = set(numbers(2, start=500)) if remaining_list == "half" else set()
    assert set(after) - set(before) == expected_new
    assert tally_metrics(capsys.readouterr().out)["SnapshotDeletionsSkipped"] == (
        50 if remaining_list == "half" else 100
    )
    [guard_log] = [json.loads(line) for line in json_logs.getvalue().splitlines() if '"ERROR"' in line]
    assert guard_log["message"] == "snapshot would remove too much of the table, applying additions only"


def test_raised_threshold_lets_the_deletions_through(
    resources: LocalResources, standin: SmsPartnerStandIn, snapshot_function: LocalFunction
) -> None:
    standin.seed_stop_list(numbers(100))
    snapshot_function.invoke(SCHEDULE)
    standin.remove_numbers(numbers(50))
    snapshot_function.env["SNAPSHOT_MAX_DELETE_PERCENT"] = "60"
    snapshot_function.new_container()

    report = snapshot_function.invoke(SCHEDULE)

    assert report["removed"] == 50
    assert set(phone_items(resources.table_name)) == set(numbers(50, start=50))

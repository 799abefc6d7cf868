"""Make the table equal to the provider's stop list, writing only what changed.

Safety rules: a failed or untrustworthy fetch leaves the table exactly as it was (nothing is written, not
even the status item); a list that would remove more than ``max_delete_percent`` of the table, or an empty
list while the table is not, only adds (no updates, no deletions) until an operator raises the threshold;
a delete is conditional on the item not having been written since the fetch began, so that an opt-out
written through by a handler meanwhile survives. A failure *during* the writes (DynamoDB throttling past its
retries, the function's timeout) leaves the writes done so far and no status item: the next run compares
the list with the table again and converges.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import TypeVar

from stoplist.domain.phone import provider_e164
from stoplist.domain.ports import Lease, ListedEntry, ProviderFields, SnapshotStore, StopListProvider, utc_now
from stoplist.errors import AwsServiceError, ConfigurationError, ProviderAuthError, StopListError
from stoplist.observability import MetricUnit, count, logger, metrics

T = TypeVar("T")


def thread_pool(workers: int) -> Executor:
    """The snapshot's workers: threads, since its calls wait on the network (scan segments, batch writes)."""
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="snapshot")


@dataclass
class SnapshotReport:
    size: int = 0
    table_size_before: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    removals_skipped_recent_write: int = 0
    deletions_skipped: int = 0
    invalid_numbers: int = 0
    duration_ms: int = 0
    fetch_ms: int = 0  # fetch and parse of the list, from the start
    scan_ms: int = 0  # the table scan, from the start (it runs while the list is fetched)
    write_ms: int = 0
    guard_tripped: bool = False
    fetched_from: str = ""

    @property
    def items_written(self) -> int:
        return self.added + self.updated + self.removed

    def as_dict(self) -> dict[str, int | bool | str]:
        return {**asdict(self), "items_written": self.items_written}


class SnapshotSync:
    def __init__(
        self,
        *,
        provider: StopListProvider,
        table: SnapshotStore,
        default_region: str,
        max_delete_percent: float,
        write_threads: int,
        scan_segments: int,
        clock: Callable[[], str] = utc_now,
        pool: Callable[[int], Executor] = thread_pool,
    ) -> None:
        """``pool`` makes the executor of one run from its number of workers (the interleaving checker runs the
        work inline, so that its scheduler decides every interleaving)."""
        self._provider = provider
        self._table = table
        self._default_region = default_region
        self._max_delete_percent = max_delete_percent
        self._threads = max(1, write_threads)
        self._segments = max(1, scan_segments)
        self._clock = clock
        self._pool = pool

    def run(self) -> SnapshotReport:
        with _cyclic_gc_paused():
            return self._run()

    def _run(self) -> SnapshotReport:
        started = time.monotonic()
        report = SnapshotReport()
        # Anything written at or after this instant may be newer than the list we are about to fetch.
        cutoff = self._clock()
        report.fetched_from = cutoff
        with self._pool(self._threads) as pool:
            # The scan does not depend on the list: run it while the list is fetched and parsed.
            segments = [pool.submit(self._scan_segment, segment) for segment in range(self._segments)]
            try:
                desired = self._fetch(report)  # raises before any write when the list cannot be trusted
            except BaseException:
                for future in segments:
                    future.cancel()
                raise
            report.fetch_ms = int((time.monotonic() - started) * 1000)
            current: dict[str, ProviderFields] = {}
            for future in segments:
                current.update(future.result())
            scanned = time.monotonic()
            report.scan_ms = int((scanned - started) * 1000)
            report.table_size_before = len(current)
            plan = plan_sync(desired, current, self._max_delete_percent)
            del current
            if plan.guard_tripped:
                report.guard_tripped = True
                report.deletions_skipped = plan.deletions_skipped
                logger.error(
                    "snapshot would remove too much of the table, applying additions only",
                    removals=plan.deletions_skipped,
                    table_size=report.table_size_before,
                    list_size=len(desired),
                    max_delete_percent=self._max_delete_percent,
                )
            deleted = self._apply(plan, pool, cutoff, report)
        report.write_ms = int((time.monotonic() - scanned) * 1000)
        report.removed = sum(deleted)
        report.removals_skipped_recent_write = len(deleted) - report.removed
        report.size = len(desired)
        report.duration_ms = int((time.monotonic() - started) * 1000)
        self._table.write_status(
            {
                "lastSuccessAt": self._clock(),
                "listFetchedAt": cutoff,
                "size": report.size,
                "added": report.added,
                "updated": report.updated,
                "removed": report.removed,
                "deletionsSkipped": report.deletions_skipped,
                "invalidNumbers": report.invalid_numbers,
                "durationMs": report.duration_ms,
            }
        )
        logger.info("snapshot done", extra=report.as_dict())
        return report

    def _fetch(self, report: SnapshotReport) -> dict[str, ProviderFields]:
        desired: dict[str, ProviderFields] = {}
        for entry in self._provider.list_stops():
            number = provider_e164(entry.phone_number, self._default_region)
            if number is None:
                report.invalid_numbers += 1
                continue
            listed = ListedEntry(entry.stop_id, entry.created_at)
            known = desired.get(number)
            # The same number written two ways (+33692… and +262692…): the item keeps every entry, so that a
            # re-opt-in deletes them all.
            desired[number] = (
                ProviderFields((listed,)) if known is None else ProviderFields.of((*known.entries, listed))
            )
        if report.invalid_numbers:
            logger.warning("provider list holds numbers that are not valid", count=report.invalid_numbers)
        return desired

    def _scan_segment(self, segment: int) -> dict[str, ProviderFields]:
        return dict(self._table.scan_segment(segment, self._segments))

    def _apply(self, plan: SyncPlan, pool: Executor, cutoff: str, report: SnapshotReport) -> list[bool]:
        """Write the plan with the run's pool: additions in batches, changes and removals one by one (a removal
        is conditional on no write since ``cutoff``). Returns whether each removal deleted its item."""
        now = self._clock()
        chunks = _chunks(plan.additions, self._table.batch_write_limit)
        report.added = sum(pool.map(lambda chunk: self._table.put_new(chunk, now), chunks))
        list(pool.map(lambda change: self._table.merge_provider_fields(change[0], change[1], now), plan.changes))
        report.updated = len(plan.changes)
        return list(pool.map(lambda number: self._table.delete_unless_written_since(number, cutoff), plan.removals))


@dataclass(frozen=True)
class SyncPlan:
    """What a snapshot writes: numbers to add, numbers whose provider fields changed, numbers to remove. When the
    guard trips (the list would remove too much of the table), changes and removals are left out, additions kept,
    and ``deletions_skipped`` counts the removals left out."""

    additions: list[tuple[str, ProviderFields]]
    changes: list[tuple[str, ProviderFields]]
    removals: list[str]
    guard_tripped: bool = False
    deletions_skipped: int = 0


def plan_sync(
    desired: dict[str, ProviderFields], current: dict[str, ProviderFields], max_delete_percent: float
) -> SyncPlan:
    """The plan that makes the table (``current``) equal to the provider's list (``desired``); pure, no I/O."""
    additions = [(number, fields) for number, fields in desired.items() if number not in current]
    changes = [
        (number, fields) for number, fields in desired.items() if number in current and current[number] != fields
    ]
    removals = [number for number in current if number not in desired]
    if _guard_trips(len(desired), len(current), len(removals), max_delete_percent):
        return SyncPlan(additions, [], [], guard_tripped=True, deletions_skipped=len(removals))
    return SyncPlan(additions, changes, removals)


def _guard_trips(list_size: int, table_size: int, removals: int, max_delete_percent: float) -> bool:
    if table_size == 0 or removals == 0:
        return False
    if list_size == 0:
        return True
    return removals * 100 > max_delete_percent * table_size


@dataclass(frozen=True)
class ScheduledSnapshot:
    """What the snapshot handler builds once per container: the sync, and the lease that keeps it alone."""

    sync: SnapshotSync
    lease: Lease


# A lease outlives the invocation that holds it by this much (Lambda ends the invocation at its timeout): a run
# that died frees it at most a minute after its deadline.
LEASE_MARGIN_SECONDS = 60.0


def run_and_count(snapshot: Callable[[], ScheduledSnapshot], seconds_left: float) -> SnapshotReport | None:
    """The snapshot handler's one call, and the one place snapshot metrics are counted.

    ``snapshot`` builds (or returns the cached) sync inside the count, so a deployment error counts as a failed
    snapshot too. The run holds the lease for ``seconds_left`` (the invocation's remaining time) plus a margin;
    a run that finds it held (another snapshot still running, or a schedule's duplicate delivery) does nothing,
    counts ``SnapshotSkippedOverlap`` and returns None.
    """
    try:
        job = snapshot()
        if not job.lease.acquire(seconds_left + LEASE_MARGIN_SECONDS):
            count("SnapshotSkippedOverlap")
            logger.warning("another snapshot holds the lease, this one does nothing")
            return None
        try:
            report = job.sync.run()
        finally:
            _release(job.lease)
    except StopListError as exc:
        count("SnapshotFailed")
        if isinstance(exc, ProviderAuthError | ConfigurationError):
            # Their alarms watch every refused key and every broken setting or secret, whichever function meets
            # it: a key left empty after the deploy alarms within one snapshot interval, before any opt-out.
            count(exc.metric)
        logger.error("snapshot failed, status not updated", error_type=exc.reason, error=str(exc))
        raise
    count("SnapshotSucceeded")
    count("SnapshotSize", report.size)
    count("SnapshotAdded", report.added)
    count("SnapshotUpdated", report.updated)
    count("SnapshotRemoved", report.removed)
    count("SnapshotDeletionsSkipped", report.deletions_skipped)
    metrics.add_metric(name="SnapshotDurationMs", unit=MetricUnit.Milliseconds, value=report.duration_ms)
    return report


def _release(lease: Lease) -> None:
    """A lease that cannot be given back expires on its own: the run's outcome stands."""
    try:
        lease.release()
    except AwsServiceError as exc:
        logger.warning("snapshot lease not released, it will expire", error=str(exc))


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """A snapshot builds millions of long-lived, acyclic objects (the list, the scanned table). CPython's
    cyclic collector walks all of them again and again while they are built, which made a 1,000,000-number
    snapshot super-linear; reference counting frees them just the same. One collection of the young generations
    follows: with the collector paused, everything the run made and kept is still young, so that is all it needs
    to look at (a full collection walked every object of the process: 19 ms a run in the test process, 45 % of
    the interleaving checker's time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.collect(1)


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk

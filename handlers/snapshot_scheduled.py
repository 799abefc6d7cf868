"""Scheduled: make the StopListTable equal to the provider's stop list (see stoplist.domain.snapshot for the rules)."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from stoplist.config import Settings
from stoplist.domain.snapshot import SnapshotSync
from stoplist.errors import StopListError
from stoplist.observability import count, logger, metrics


@cache
def dependencies() -> SnapshotSync:
    from stoplist.wiring import build_snapshot_sync

    return build_snapshot_sync(Settings.from_env())


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        report = dependencies().run()
    except StopListError as exc:
        count("SnapshotFailed")
        logger.error("snapshot failed, table left as it was", error_type=exc.reason, error=str(exc))
        raise
    count("SnapshotSucceeded")
    count("SnapshotSize", report.size)
    count("SnapshotAdded", report.added)
    count("SnapshotUpdated", report.updated)
    count("SnapshotRemoved", report.removed)
    count("SnapshotDeletionsSkipped", report.deletions_skipped)
    metrics.add_metric(name="SnapshotDurationMs", unit=MetricUnit.Milliseconds, value=report.duration_ms)
    return report.as_dict()

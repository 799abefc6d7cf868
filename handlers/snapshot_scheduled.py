"""Scheduled: make the StopListTable equal to the provider's stop list (see stoplist.domain.snapshot for the rules)."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from stoplist.config import Settings
from stoplist.domain.snapshot import ScheduledSnapshot, run_and_count
from stoplist.observability import logger, metrics


@cache
def dependencies() -> ScheduledSnapshot:
    from stoplist.wiring import build_scheduled_snapshot

    return build_scheduled_snapshot(Settings.from_env())


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = run_and_count(dependencies, seconds_left=context.get_remaining_time_in_millis() / 1000)
    return report.as_dict() if report is not None else {"skipped": "another snapshot holds the lease"}

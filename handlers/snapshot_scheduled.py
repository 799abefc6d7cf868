"""Scheduled: make the StopListTable equal to the provider's stop list (see stoplist.domain.snapshot for the rules)."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from stoplist.config import Settings
from stoplist.domain.snapshot import SnapshotSync, run_and_count
from stoplist.observability import logger, metrics


@cache
def dependencies() -> SnapshotSync:
    from stoplist.wiring import build_snapshot_sync

    return build_snapshot_sync(Settings.from_env())


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_and_count(dependencies).as_dict()

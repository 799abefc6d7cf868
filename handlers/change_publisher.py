"""DynamoDB stream of StopListTable -> history entries and announcements on the bus (stoplist.domain.changes).

Partial batch failures: the answer names the first record whose announcement could not be published, and
the stream retries from it (the records before it are done). An error raised (history unwritable) fails
the whole batch: the event source bisects and retries it, then sends its description to the on-failure
destination.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from stoplist.adapters.stream import stream_records
from stoplist.config import Settings
from stoplist.domain.changes import ChangePublisher
from stoplist.observability import logger, metrics


@cache
def dependencies() -> ChangePublisher:
    from stoplist.wiring import build_change_publisher

    return build_change_publisher(Settings.from_env())


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failed = dependencies().process(stream_records(event))
    return {"batchItemFailures": [{"itemIdentifier": sequence_number} for sequence_number in failed]}

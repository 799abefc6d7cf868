"""SQS -> SMS Partner stop list, with partial batch failures (only the records that must come back fail).

Records of a batch run concurrently in a bounded thread pool (RECORD_CONCURRENCY, at least the batch size:
one wave per batch), driven by Powertools' AsyncBatchProcessor; the event source's MaximumConcurrency bounds
the number of instances. Every record's calls end before the invocation's deadline (the context's remaining
time, less a margin), so a slow provider cannot get the invocation killed.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from stoplist.adapters.opt_out_queue import ORIGINAL_MESSAGE_ID
from stoplist.config import Settings
from stoplist.domain.deadline import Deadline
from stoplist.domain.events import parse_sqs_body
from stoplist.domain.optout import OptOutService, RawEvent, failure_metric
from stoplist.errors import RetryableError
from stoplist.observability import count, logger, metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord


@dataclass(frozen=True)
class Runtime:
    service: OptOutService
    pool: ThreadPoolExecutor
    batch: AsyncBatchProcessor
    deadline_margin_seconds: float


@cache
def dependencies() -> Runtime:
    """Built on the first invocation, reused by the container. Clients, the HTTP stack and Powertools' batch
    module (which imports every event data class) stay out of import for a short cold start."""
    from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType
    from stoplist.wiring import build_optout_service

    settings = Settings.from_env()
    pool = ThreadPoolExecutor(max_workers=settings.record_concurrency, thread_name_prefix="record")
    return Runtime(
        build_optout_service(settings),
        pool,
        AsyncBatchProcessor(event_type=EventType.SQS),
        settings.deadline_margin_seconds,
    )


async def handle_record(record: SQSRecord, lambda_context: LambdaContext) -> str:
    runtime = dependencies()
    deadline = Deadline.from_context(lambda_context, runtime.deadline_margin_seconds)
    # A requeued record (throttled) keeps the id of the message it was, the default eventId.
    original = record.message_attributes[ORIGINAL_MESSAGE_ID]
    raw = RawEvent(
        record.body or "",
        (original.string_value if original is not None else None) or record.message_id,
        int(record.attributes.approximate_receive_count),
        record.receipt_handle,
    )
    try:
        disposition = await asyncio.get_running_loop().run_in_executor(
            runtime.pool, runtime.service.handle, raw, lambda: parse_sqs_body(raw.body, raw.message_id), deadline
        )
    except RetryableError as exc:
        count(failure_metric(exc))
        raise
    count(disposition.value)
    return disposition.name


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.batch import async_process_partial_response

    return dict(
        async_process_partial_response(
            event=event, record_handler=handle_record, processor=dependencies().batch, context=context
        )
    )

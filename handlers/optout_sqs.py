"""SQS -> SMS Partner stop list, with partial batch failures (only the records that must come back fail).

Records of a batch run concurrently in a bounded thread pool (RECORD_CONCURRENCY, at least the batch size:
one wave per batch), driven by Powertools' AsyncBatchProcessor; the event source's MaximumConcurrency bounds
the number of instances. Every record's calls end before the invocation's deadline (the context's remaining
time, less a margin), so a slow provider cannot get the invocation killed.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from stoplist.adapters.opt_out_queue import ERASURE_RECHECK, ORIGINAL_MESSAGE_ID, RECEIVED_AT, received_at
from stoplist.config import Settings
from stoplist.domain.dispatch import Delivery, EventDispatcher, process
from stoplist.domain.events import RawEvent, read_sqs_message
from stoplist.observability import logger, metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord


class Runtime:
    """What one container keeps between invocations.

    The service is built on the first record, inside ``process``, so that a missing setting or an unreadable
    secret counts as ``ConfigurationError`` here exactly as on the bus; only a setting that is not a number (the
    template's Number parameters rule that out) fails the invocation before any record.
    """

    def __init__(self, settings: Settings) -> None:
        from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType

        self.settings = settings
        self.pool = ThreadPoolExecutor(max_workers=settings.record_concurrency, thread_name_prefix="record")
        self.batch = AsyncBatchProcessor(event_type=EventType.SQS)
        self._lock = threading.Lock()
        self._service: EventDispatcher | None = None

    def service(self) -> EventDispatcher:
        with self._lock:
            if self._service is None:
                from stoplist.wiring import build_dispatcher

                self._service = build_dispatcher(self.settings, Delivery.QUEUE)
            return self._service


@cache
def dependencies() -> Runtime:
    """Built on the first invocation, reused by the container. Clients, the HTTP stack and Powertools' batch
    module (which imports every event data class) stay out of import for a short cold start."""
    return Runtime(Settings.from_env())


async def handle_record(record: SQSRecord, lambda_context: LambdaContext) -> str:
    runtime = dependencies()
    # A requeued record (throttled) keeps the id of the message it was: the default eventId.
    original = record.message_attributes[ORIGINAL_MESSAGE_ID]
    first_received = record.message_attributes[RECEIVED_AT]
    recheck = record.message_attributes[ERASURE_RECHECK]
    raw = RawEvent(
        record.body or "",
        (original.string_value if original is not None else None) or record.message_id,
        int(record.attributes.approximate_receive_count),
        record.receipt_handle,
        # A requeued record keeps the time its event first reached the queue or the bus.
        received_at(
            first_received.string_value if first_received is not None else None, record.attributes.sent_timestamp
        ),
        erasure_recheck=recheck is not None and recheck.string_value == "true",
    )
    disposition = await asyncio.get_running_loop().run_in_executor(
        runtime.pool, process, runtime.service, raw, read_sqs_message, lambda_context
    )
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

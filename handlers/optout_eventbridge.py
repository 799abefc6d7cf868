"""EventBridge (detail-type SmsOptOutRequested, SmsOptInRequested or SmsErasureRequested) -> the stop list.

Invoked asynchronously. A permanent failure is dead-lettered here, with its reason, and the invocation
succeeds. A transient one (provider down, slow, throttled) hands the whole event over to OptOutQueue, whose
backoff then applies, and the invocation succeeds too; only if that hand-over fails does the invocation
raise: Lambda retries (EventInvokeConfig), then the OnFailure destination takes the event.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from stoplist.config import Settings
from stoplist.domain.dispatch import Delivery, EventDispatcher, process
from stoplist.domain.events import RawEvent, eventbridge_reader
from stoplist.domain.ordering import parse_time, to_utc
from stoplist.observability import logger, metrics


@cache
def dependencies() -> EventDispatcher:
    from stoplist.wiring import build_dispatcher

    return build_dispatcher(Settings.from_env(), Delivery.BUS)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    event_id = event.get("id") if isinstance(event.get("id"), str) else "unknown"
    raw = RawEvent(json.dumps(event, default=str), str(event_id), received_at=_event_time(event))
    disposition = process(dependencies, raw, eventbridge_reader(event), context)
    return {"eventId": raw.message_id, "disposition": disposition.name}


def _event_time(event: dict[str, Any]) -> datetime:
    """The bus's own ``time`` of the event (when it was put on the bus); now when absent or unreadable."""
    try:
        return to_utc(parse_time(str(event["time"])))
    except (KeyError, ValueError):
        return datetime.now(UTC)

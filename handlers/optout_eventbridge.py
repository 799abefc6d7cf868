"""EventBridge (detail-type SmsOptOutRequested) -> SMS Partner stop list.

Invoked asynchronously. A permanent failure is dead-lettered here, with its reason, and the invocation
succeeds. A transient one (provider down, slow, throttled) hands the whole event over to OptOutQueue, whose
backoff then applies, and the invocation succeeds too; only if that hand-over fails does the invocation
raise: Lambda retries (EventInvokeConfig), then the OnFailure destination takes the event.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from stoplist.config import Settings
from stoplist.domain.deadline import Deadline
from stoplist.domain.events import parse_eventbridge_event
from stoplist.domain.optout import OptOutService, RawEvent, failure_metric
from stoplist.errors import RetryableError
from stoplist.observability import count, logger, metrics


@cache
def dependencies() -> tuple[OptOutService, Settings]:
    from stoplist.wiring import build_optout_service

    settings = Settings.from_env()
    return build_optout_service(settings, use_receive_count=False), settings


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    event_id = event.get("id") if isinstance(event.get("id"), str) else "unknown"
    raw = RawEvent(json.dumps(event, default=str), str(event_id))
    service, settings = dependencies()
    deadline = Deadline.from_context(context, settings.deadline_margin_seconds)
    try:
        disposition = service.handle(raw, lambda: parse_eventbridge_event(event), deadline)
    except RetryableError as exc:
        count(failure_metric(exc))
        raise
    count(disposition.value)
    return {"eventId": raw.message_id, "disposition": disposition.name}

"""POST /webhooks/smspartner/replies?token=... -> an opt-out event on OptOutQueue when the reply is a STOP.

SMS Partner posts every SMS reply here. Answers at once: 200 for a reply (opt-out or ignored), 401/403 for a
missing or wrong token, 400/413/415 for a body that is not a reply, 503 when the queue or the secret cannot
be reached (the sender may try again). The token and the reply's text never reach a log line.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from stoplist.adapters.http_api import HttpRequest, json_response
from stoplist.config import Settings
from stoplist.domain.replies import ReplyWebhook
from stoplist.errors import RequestRefusedError, RetryableError
from stoplist.observability import logger, metrics


@cache
def dependencies() -> ReplyWebhook:
    from stoplist.wiring import build_reply_webhook

    return build_reply_webhook(Settings.from_env())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = HttpRequest.from_event(event)
        outcome = dependencies().process(request.query.get("token"), request.fields)
    except RequestRefusedError as exc:
        return json_response(exc.status, {"error": str(exc)})
    except RetryableError as exc:
        logger.error("reply not handled, sender may retry", error_type=exc.reason, error=str(exc))
        return json_response(503, {"error": "temporarily unavailable"})
    return json_response(200, {"status": outcome.name.lower()})

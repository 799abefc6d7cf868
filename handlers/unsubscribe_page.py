"""GET /u/{token}: the confirmation page (changes nothing); POST /u/{token}: the opt-out, then "done".

A token that is not ours (any shape, any change, unknown key) gets the same 404 page; one past its lifetime
(LinkLifetimeDays) gets 410 and the page that says to reply STOP. The opt-out goes to OptOutQueue; the page
never waits on the provider. The token and the full number never reach a log line.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from stoplist.adapters import pages
from stoplist.adapters.http_api import HttpRequest, html_response
from stoplist.config import Settings
from stoplist.domain.unsubscribe import UnsubscribeLinks
from stoplist.errors import RequestRefusedError, RetryableError
from stoplist.observability import logger, metrics

# The form posts no field: a body is not expected, and a large one is not a person pressing a button.
MAX_BODY_BYTES = 4096


@cache
def dependencies() -> UnsubscribeLinks:
    from stoplist.wiring import build_unsubscribe_links

    return build_unsubscribe_links(Settings.from_env())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = HttpRequest.from_event(event)
    language = pages.choose_language(request.headers.get("accept-language"))
    page_headers = pages.page_headers(language)
    token = request.path_parameters.get("token")
    try:
        if request.method == "POST":
            link = dependencies().confirm(token, lambda: request.body(MAX_BODY_BYTES))
            page = pages.done_page
        else:
            link = dependencies().view(token)
            page = pages.confirm_page
    except RequestRefusedError as exc:
        return html_response(exc.status, pages.not_found_page(language), page_headers)
    except RetryableError as exc:
        logger.error("unsubscribe page unavailable", error_type=exc.reason, error=str(exc))
        return html_response(503, pages.unavailable_page(language), page_headers)
    if link is None:
        return html_response(404, pages.not_found_page(language), page_headers)
    if link.expired:
        return html_response(410, pages.expired_page(language), page_headers)
    return html_response(200, page(language, link.number), page_headers)

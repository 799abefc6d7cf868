"""Unsubscribe links: a GET shows the masked number and changes nothing (link scanners and message previews
fetch links); a POST publishes the opt-out. The eventId comes from the token, so pressing twice, or a
retried POST, is the same opt-out (and the provider's add is idempotent anyway)."""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import UTC, datetime

from stoplist.domain.events import optout_event
from stoplist.domain.ports import SECRET_REREAD_SECONDS, OptOutPublisher, SigningKeys
from stoplist.errors import RequestRefusedError
from stoplist.links import open_token, token_fingerprint
from stoplist.observability import count, logger, mask_phone

SOURCE = "unsubscribe-link"


class LinkOutcome(enum.Enum):
    """What became of one request to /u/{token}; the value is the metric it counts in."""

    SHOWN = "UnsubscribePageShown"
    CONFIRMED = "UnsubscribeConfirmed"
    INVALID = "UnsubscribeLinkInvalid"
    REFUSED = "UnsubscribeRequestRefused"


class UnsubscribeLinks:
    def __init__(
        self,
        *,
        publisher: OptOutPublisher,
        signing_keys: SigningKeys,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._publisher = publisher
        self._keys = signing_keys
        self._now = now

    def view(self, token: str | None) -> str | None:
        """The number to show (E.164), or None for a link that is not ours. Publishes nothing."""
        return self._finish(LinkOutcome.SHOWN, token, self._open(token))

    def confirm(self, token: str | None, read_body: Callable[[], object] = lambda: None) -> str | None:
        """Publish the opt-out; the number, or None for a link that is not ours. ``read_body`` enforces the
        body limit (RequestRefusedError, counted as refused): the form posts no field."""
        try:
            read_body()
        except RequestRefusedError as exc:
            count(LinkOutcome.REFUSED.value)
            logger.warning("unsubscribe request refused", status=exc.status, error=str(exc))
            raise
        number = self._open(token)
        if number is not None and token is not None:
            self._publisher.publish(
                optout_event(
                    number,
                    source=SOURCE,
                    event_id=token_fingerprint(token),
                    occurred_at=self._now().isoformat(timespec="seconds"),
                    reason="unsubscribe link",
                )
            )
        return self._finish(LinkOutcome.CONFIRMED, token, number)

    def _open(self, token: str | None) -> str | None:
        number = open_token(token, self._keys.versions())
        if number is None and self._keys.reread_if_older_than(SECRET_REREAD_SECONDS):
            number = open_token(token, self._keys.versions())
        return number

    def _finish(self, outcome: LinkOutcome, token: str | None, number: str | None) -> str | None:
        if number is None:
            outcome = LinkOutcome.INVALID
        count(outcome.value)
        logger.info(
            "unsubscribe link",
            outcome=outcome.name.lower(),
            event_id=token_fingerprint(token) if number is not None and token else None,
            phone=mask_phone(number) if number else None,
        )
        return number

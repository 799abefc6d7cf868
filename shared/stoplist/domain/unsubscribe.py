"""Unsubscribe links: a GET shows the masked number and changes nothing (link scanners and message previews
fetch links); a POST publishes the opt-out. The eventId comes from the token, so pressing twice, or a
retried POST, is the same opt-out (and the provider's add is idempotent anyway).

A link lives ``lifetime`` (``LinkLifetimeDays``) after the day it was issued, whatever rotations of the signing
key happen meanwhile: every version of the key secret opens links. Past it, the link is recognised as ours but
expired: the page says to reply STOP, and nothing is published. A link made before links carried their issue
day lives until ``lifetime`` after its key was retired (its successor created): it cannot be younger. A dated
link whose day is after its key's retirement was not made by us while that key was in use, so a key leaked
after its retirement cannot make links that outlive it by more than the lifetime.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from stoplist.domain.events import optout_event
from stoplist.domain.links import OpenedToken, open_token, token_fingerprint
from stoplist.domain.ports import SECRET_REREAD_SECONDS, OptOutPublisher, SigningKeys
from stoplist.errors import RequestRefusedError
from stoplist.observability import count, logger, mask_phone

SOURCE = "unsubscribe-link"
_DAY = timedelta(days=1)


class LinkOutcome(enum.Enum):
    """What became of one request to /u/{token}; the value is the metric it counts in."""

    SHOWN = "UnsubscribePageShown"
    CONFIRMED = "UnsubscribeConfirmed"
    INVALID = "UnsubscribeLinkInvalid"
    EXPIRED = "UnsubscribeLinkExpired"
    REFUSED = "UnsubscribeRequestRefused"


@dataclass(frozen=True)
class OpenedLink:
    number: str  # E.164
    expired: bool  # past its lifetime: the page says to reply STOP, nothing is published


class UnsubscribeLinks:
    def __init__(
        self,
        *,
        publisher: OptOutPublisher,
        signing_keys: SigningKeys,
        lifetime: timedelta,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._publisher = publisher
        self._keys = signing_keys
        self._lifetime = lifetime
        self._now = now

    def view(self, token: str | None) -> OpenedLink | None:
        """The link's number (E.164) and whether it expired, or None for a link that is not ours. Publishes
        nothing."""
        return self._finish(LinkOutcome.SHOWN, token, self._open(token))

    def confirm(self, token: str | None, read_body: Callable[[], object] = lambda: None) -> OpenedLink | None:
        """Publish the opt-out of a link within its lifetime; the link, or None for a link that is not ours.
        ``read_body`` enforces the body limit (RequestRefusedError, counted as refused): the form posts no field."""
        try:
            read_body()
        except RequestRefusedError as exc:
            count(LinkOutcome.REFUSED.value)
            logger.warning("unsubscribe request refused", status=exc.status, error=str(exc))
            raise
        link = self._open(token)
        if link is not None and not link.expired and token is not None:
            self._publisher.publish(
                optout_event(
                    link.number,
                    source=SOURCE,
                    event_id=token_fingerprint(token),
                    occurred_at=self._now().isoformat(timespec="seconds"),
                    reason="unsubscribe link",
                )
            )
        return self._finish(LinkOutcome.CONFIRMED, token, link)

    def _open(self, token: str | None) -> OpenedLink | None:
        link = self._read(token)
        if link is None and self._keys.reread_if_older_than(SECRET_REREAD_SECONDS):
            link = self._read(token)
        return link

    def _read(self, token: str | None) -> OpenedLink | None:
        history = self._keys.history()  # newest first
        opened = open_token(token, [version.value for version in history])
        if opened is None:
            return None
        index = next(index for index, version in enumerate(history) if version.value == opened.secret)
        return self._within_lifetime(opened, retired_at=history[index - 1].created_at if index else None)

    def _within_lifetime(self, opened: OpenedToken, retired_at: datetime | None) -> OpenedLink | None:
        """``retired_at``: when the key that made the token was succeeded (None: it is the current key)."""
        now = self._now()
        if opened.issued_on is None:
            expired = retired_at is not None and retired_at + self._lifetime <= now
            return OpenedLink(opened.number, expired)
        issued = datetime.combine(opened.issued_on, time.min, UTC)  # the issue day, in UTC, from its start
        # A day of slack for the clocks of whoever mints links (and a batch minted across a rotation).
        if issued > now + _DAY or (retired_at is not None and issued > retired_at + _DAY):
            return None  # a day after its key's retirement, or to come: not made by us with this key
        return OpenedLink(opened.number, issued + _DAY + self._lifetime <= now)

    def _finish(self, outcome: LinkOutcome, token: str | None, link: OpenedLink | None) -> OpenedLink | None:
        if link is None:
            outcome = LinkOutcome.INVALID
        elif link.expired:
            outcome = LinkOutcome.EXPIRED
        count(outcome.value)
        logger.info(
            "unsubscribe link",
            outcome=outcome.name.lower(),
            event_id=token_fingerprint(token) if link is not None and token else None,
            phone=mask_phone(link.number) if link else None,
        )
        return link

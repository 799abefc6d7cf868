"""SMS replies posted by SMS Partner's "response reception URL": which ones are opt-outs.

The provider documents two shapes (its page "Replies Management"; summary in shared/smspartner-docs):

- long number: ``msisdn`` (sender, ``33612345678``, no ``+``), ``to``, ``messageId``, ``text``, ``type``,
  ``keyword``, ``message-timestamp``; a long SMS comes in parts with ``concat``, ``concat-ref``,
  ``concat-total``, ``concat-part``;
- short number: ``type`` (``response``), ``phone_number`` (``+336…``), ``text``, ``message_id``.

A reply is an opt-out when its normalised text (case, accents, punctuation and spacing ignored) *is* one
of the keywords or *starts with* one followed by a word boundary: "Stop", "STOP SMS", "arrêt !", "Stop merci"
are; "stopper", "Bonjour", "je veux stop" are not. Only the first part of a multi-part SMS can start with
a keyword; later parts are continuations and are ignored. The provider's own ``keyword`` field is not
trusted (it is the first word upper-cased, and "STOP-SMS" would not match it).

No STOP is lost silently. When OptOutQueue refuses the opt-out event, the event (the contract's object, as it
would have been queued) goes to the opt-out dead-letter queue with the reason, where ``stoplist dlq replay``
sends it back to the queue like any dead letter, and the call counts as ``ReplyPublishFailed`` (alarmed);
the sender gets 200, since the reply is kept. Only when the dead-letter queue refuses it too is the call
answered 503, for SMS Partner to retry (its retries are not documented).

The token accepts its previous version for ``token_grace`` after a rotation, measured from the creation of
the secret's current version (its ``CreatedDate``): the operator rotates the secret, then changes the URL in
SMS Partner's console within the grace, and no STOP is refused in between.
"""

from __future__ import annotations

import enum
import hmac
import json
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from stoplist.domain.events import optout_event
from stoplist.domain.phone import to_e164
from stoplist.domain.ports import SECRET_REREAD_SECONDS, DeadLetter, DeadLetterSink, OptOutPublisher, WebhookToken
from stoplist.errors import (
    ConfigurationError,
    InvalidPhoneNumberError,
    InvalidReplyError,
    RequestRefusedError,
    RetryableError,
)
from stoplist.observability import count, logger, mask_phone

SOURCE = "smspartner-reply"

MAX_TEXT_LENGTH = 1600  # ten concatenated SMS parts; the body limit caps the rest
MAX_ID_LENGTH = 128
_DIGITS_ONLY = re.compile(r"^[1-9][0-9]{6,14}$")
_NOT_WORD = re.compile(r"[^0-9a-z]+")
_SMALL_INT = re.compile(r"^[0-9]{1,3}$")


def normalise_text(text: str) -> str:
    """``"  Arrêt !!"`` -> ``"arret"``: accents dropped, case folded, punctuation and spacing collapsed."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()
    return _NOT_WORD.sub(" ", bare).strip()


class StopKeywords:
    """The opt-out keywords (the template's ``StopKeywords`` parameter, comma-separated)."""

    def __init__(self, keywords: str) -> None:
        normalised = {normalise_text(keyword) for keyword in keywords.split(",")}
        normalised.discard("")
        if not normalised:
            raise ConfigurationError("StopKeywords holds no keyword")
        # Longest first, so that "stop sms" is the keyword reported for "STOP SMS".
        self._keywords = sorted(normalised, key=len, reverse=True)

    def match(self, text: str) -> str | None:
        """The keyword the text is or starts with (as whole words), or None."""
        words = normalise_text(text)
        for keyword in self._keywords:
            if words == keyword or words.startswith(keyword + " "):
                return keyword
        return None


@dataclass(frozen=True)
class Reply:
    phone_number: str  # E.164
    text: str
    message_id: str | None
    continuation: bool  # a later part of a multi-part SMS


def parse_reply(fields: Mapping[str, str], default_region: str = "FR") -> Reply:
    """Read either documented shape; raise InvalidReplyError for anything that is not a reply."""
    long_number, short_number = "msisdn" in fields, "phone_number" in fields
    if long_number and short_number:
        raise InvalidReplyError("both msisdn and phone_number: not one of the documented reply shapes")
    if not (long_number or short_number):
        raise InvalidReplyError("neither msisdn nor phone_number: not a reply")
    if "text" not in fields:
        raise InvalidReplyError("text is missing")
    text = fields["text"]
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidReplyError(f"text is longer than {MAX_TEXT_LENGTH} characters")
    sender = fields["msisdn" if long_number else "phone_number"].strip()
    message_id = (fields.get("messageId") if long_number else fields.get("message_id")) or None
    if message_id is not None and len(message_id) > MAX_ID_LENGTH:
        raise InvalidReplyError(f"message id is longer than {MAX_ID_LENGTH} characters")
    return Reply(
        phone_number=_sender_e164(sender, default_region),
        text=text,
        message_id=message_id.strip() if message_id else None,
        continuation=long_number and _is_continuation(fields),
    )


def _sender_e164(sender: str, default_region: str) -> str:
    """SMS Partner writes international numbers without ``+`` (``33612345678``); add it, then the one path."""
    candidate = f"+{sender}" if _DIGITS_ONLY.match(sender) else sender
    try:
        return to_e164(candidate, None, default_region)
    except InvalidPhoneNumberError as exc:
        raise InvalidReplyError(f"sender: {exc}") from None


def _is_continuation(fields: Mapping[str, str]) -> bool:
    if fields.get("concat", "").strip().lower() not in ("true", "1"):
        return False
    part, total = fields.get("concat-part", "").strip(), fields.get("concat-total", "").strip()
    if not (_SMALL_INT.match(part) and _SMALL_INT.match(total)) or not 1 <= int(part) <= int(total):
        raise InvalidReplyError("concat-part and concat-total are not a part number and a count")
    return int(part) > 1


class ReplyOutcome(enum.Enum):
    """What became of one webhook call; the value is the metric it counts in."""

    OPT_OUT = "ReplyOptOut"
    IGNORED = "ReplyIgnored"
    REFUSED = "ReplyRefused"
    # A STOP that OptOutQueue refused: kept in the dead-letter queue for replay (200), or, if that failed too,
    # answered 503.
    PUBLISH_FAILED = "ReplyPublishFailed"


class ReplyWebhook:
    """Token check, reply parsing, STOP detection, publication: one call of the webhook, counted once."""

    def __init__(
        self,
        *,
        publisher: OptOutPublisher,
        dead_letters: DeadLetterSink,
        keywords: StopKeywords,
        token: WebhookToken,
        token_grace: timedelta,
        default_region: str,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._publisher = publisher
        self._dead_letters = dead_letters
        self._keywords = keywords
        self._token = token
        self._token_grace = token_grace
        self._default_region = default_region
        self._now = now

    def process(self, token: str | None, read_fields: Callable[[], Mapping[str, str]]) -> ReplyOutcome:
        """Raises RequestRefusedError (counted as refused) for a call that must not be acknowledged, and
        RetryableError (counted as a failed publication) for a STOP that could be neither queued nor kept."""
        try:
            self._authenticate(token)
            try:
                reply = parse_reply(read_fields(), self._default_region)
            except InvalidReplyError as exc:
                raise RequestRefusedError(400, str(exc)) from None
        except RequestRefusedError as exc:
            count(ReplyOutcome.REFUSED.value)
            logger.warning("reply refused", status=exc.status, error=str(exc))
            raise
        keyword = None if reply.continuation else self._keywords.match(reply.text)
        outcome, lost = ReplyOutcome.IGNORED, None
        if keyword is not None:
            event = optout_event(
                reply.phone_number,
                source=SOURCE,
                event_id=reply.message_id,
                occurred_at=self._now().isoformat(timespec="seconds"),
                reason=f"SMS reply {keyword.upper()}",
            )
            outcome, lost = self._publish(event)
        count(outcome.value)
        logger.info(
            "reply handled",
            outcome=outcome.name.lower(),
            event_id=reply.message_id,
            phone=mask_phone(reply.phone_number),
            keyword=keyword,
        )
        if lost is not None:
            raise lost
        return outcome

    def _publish(self, event: dict[str, str]) -> tuple[ReplyOutcome, RetryableError | None]:
        """Queue the opt-out, else keep it in the dead-letter queue; the error to answer with if neither took it."""
        try:
            self._publisher.publish(event)
        except RetryableError as exc:
            logger.error("reply not queued, keeping it in the dead-letter queue", error_type=exc.reason, error=str(exc))
            letter = DeadLetter(
                body=json.dumps(event),
                reason=f"reply webhook could not send it to OptOutQueue: {exc}",
                error_type=exc.reason,
                event_id=event.get("eventId"),
                original_message_id=None,
                receive_count=None,
            )
            try:
                self._dead_letters.send(letter)
            except RetryableError as kept_exc:
                logger.error("reply kept nowhere", error_type=kept_exc.reason, error=str(kept_exc))
                return ReplyOutcome.PUBLISH_FAILED, exc
            return ReplyOutcome.PUBLISH_FAILED, None
        return ReplyOutcome.OPT_OUT, None

    def _authenticate(self, token: str | None) -> None:
        """SMS Partner does not sign its calls: the URL carries a secret, compared in constant time. A token
        newer than the cached one (just rotated) re-reads the secret, at most every SECRET_REREAD_SECONDS."""
        if not token:
            raise RequestRefusedError(401, "the token query parameter is missing")
        given = token.encode("utf-8", errors="replace")
        if self._accepts(given):
            return
        if self._token.reread_if_older_than(SECRET_REREAD_SECONDS) and self._accepts(given):
            return
        raise RequestRefusedError(403, "the token is wrong")

    def _accepts(self, given: bytes) -> bool:
        """The current token, or the previous one within the grace after the current one was created."""
        current = self._token.current_version()
        accepted = [current.value]
        if self._now() - current.created_at < self._token_grace:
            previous = self._token.previous_version()
            if previous is not None:
                accepted.append(previous.value)
        matches = [hmac.compare_digest(given, value.encode("utf-8")) for value in accepted]  # each one compared
        return any(matches)

"""Reading dead-lettered messages: why each one is there, which number it was about, what to send back.

Three shapes reach the dead-letter queues (docs/operations.md, "Reading a dead-letter queue"):

- the handlers' own dead letters: the original body, the reason in message attributes (``errorType``,
  ``reason``, ``eventId``, ``failedAt``, ``bodyTruncated``);
- a Lambda invocation record, from the bus function's ``OnFailure`` destination:
  ``{"requestContext", "requestPayload": <the EventBridge event>, "responseContext", "responsePayload"}``;
- EventBridge's own dead letters (rule target DLQ): the event as body, ``ERROR_CODE``/``ERROR_MESSAGE``
  attributes; and a bare message moved by the queue's redrive (no attribute at all).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from stoplist.adapters.opt_out_queue import RECEIVED_AT, received_at
from stoplist.config import DEFAULT_PHONE_REGION
from stoplist.domain.events import phone_in_body
from stoplist.domain.ordering import utc_text
from stoplist.domain.phone import to_e164
from stoplist.errors import InvalidPhoneNumberError, PermanentError
from stoplist.observability import mask_phone

REDRIVE = "queue_redrive"


def _permanent_reasons(kind: type[PermanentError] = PermanentError) -> set[str]:
    reasons = {kind.reason}
    for subclass in kind.__subclasses__():
        reasons |= _permanent_reasons(subclass)
    return reasons


# errorTypes that a replay would only bring back: the message itself is wrong (errors.py's permanent kinds).
PERMANENT = frozenset(_permanent_reasons())
_INVOCATION_RECORD_KEYS = {"requestContext", "requestPayload", "responsePayload"}


@dataclass(frozen=True)
class DeadLetter:
    queue: str  # which dead-letter queue: "queue" or "events"
    message_id: str
    error_type: str
    reason: str
    event_id: str
    failed_at: str
    phone: str  # masked
    replay_body: str  # what goes back to OptOutQueue
    replayable: bool
    received_at: str = ""  # when the event first reached the stack; the replay carries it
    not_replayable_because: str = ""

    def summary(self) -> dict[str, Any]:
        """For output: everything but the body, which holds the number unmasked."""
        return {name: value for name, value in asdict(self).items() if name != "replay_body"}


def _attributes(message: dict[str, Any]) -> dict[str, str]:
    return {name: value.get("StringValue", "") for name, value in message.get("MessageAttributes", {}).items()}


def _invocation_record(body: str) -> dict[str, Any] | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if isinstance(document, dict) and document.keys() >= _INVOCATION_RECORD_KEYS:
        return document
    return None


def replay_body(body: str) -> str:
    """The body to send back: an invocation record is unwrapped to its ``requestPayload`` (the EventBridge
    event, which the queue accepts and unwraps in turn); any other body goes back unchanged."""
    record = _invocation_record(body)
    if record is not None and isinstance(record["requestPayload"], dict):
        return json.dumps(record["requestPayload"])
    return body


def number_in(body: str) -> str | None:
    """The E.164 number an event is about, refused or not; None when the body holds no valid one."""
    found = phone_in_body(body)
    if found is None:
        return None
    try:
        return to_e164(found[0], found[1], DEFAULT_PHONE_REGION)
    except InvalidPhoneNumberError:
        return None


def masked_phone(body: str) -> str:
    """The number an event is about, masked (``+336****5678``); ``-`` when the body holds none."""
    number = number_in(body)
    if number is not None:
        return mask_phone(number)
    found = phone_in_body(body)
    return mask_phone(found[0].strip()) if found else "-"


def describe(message: dict[str, Any], queue: str) -> DeadLetter:
    """One received SQS message of a dead-letter queue, read."""
    body = message.get("Body", "")
    attributes = _attributes(message)
    record = _invocation_record(body)
    if "errorType" in attributes:
        error_type, reason = attributes["errorType"], attributes.get("reason", "")
    elif record is not None:
        response = record.get("responsePayload") or {}
        context = record.get("requestContext") or {}
        error_type = str(response.get("errorType") or context.get("condition") or "invocation_failed")
        reason = str(response.get("errorMessage") or context.get("condition") or "")
    elif "ERROR_CODE" in attributes:
        error_type, reason = attributes["ERROR_CODE"], attributes.get("ERROR_MESSAGE", "")
    else:
        error_type = REDRIVE
        reason = "no reason attached: moved by the queue's redrive (the function crashed or timed out)"
    payload = replay_body(body)
    truncated = attributes.get("bodyTruncated") == "true"
    return DeadLetter(
        queue=queue,
        message_id=message["MessageId"],
        error_type=error_type,
        reason=reason,
        event_id=attributes.get("eventId", ""),
        failed_at=attributes.get("failedAt", ""),
        phone=masked_phone(payload),
        replay_body=payload,
        replayable=not truncated,
        received_at=_first_received(message, attributes),
        not_replayable_because="the body was cut to fit SQS's size limit" if truncated else "",
    )


def _first_received(message: dict[str, Any], attributes: dict[str, str]) -> str:
    """``receivedAt`` as the functions wrote it; for a message the queue's redrive moved, which keeps its send
    time, that time."""
    if attributes.get(RECEIVED_AT):
        return attributes[RECEIVED_AT]
    sent = message.get("Attributes", {}).get("SentTimestamp")
    return "" if not sent else utc_text(received_at(None, sent))


@dataclass
class Group:
    queue: str
    error_type: str
    count: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    phones: list[str] = field(default_factory=list)

    def as_dict(self, examples: int) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "error_type": self.error_type,
            "count": self.count,
            "reasons": [reason for reason, _ in self.reasons.most_common(examples)],
            "numbers": self.phones[:examples],
        }


def group(letters: list[DeadLetter]) -> list[Group]:
    """By queue and ``errorType``, largest group first; reasons counted, masked numbers in order of arrival."""
    groups: dict[tuple[str, str], Group] = {}
    for letter in letters:
        entry = groups.setdefault((letter.queue, letter.error_type), Group(letter.queue, letter.error_type))
        entry.count += 1
        entry.reasons[letter.reason] += 1
        if letter.phone not in entry.phones:
            entry.phones.append(letter.phone)
    return sorted(groups.values(), key=lambda entry: (-entry.count, entry.queue, entry.error_type))

"""The opt-out event contract that other teams publish to (documented in docs/integrating.md, kept exactly).

A message body (SQS) or ``detail`` (EventBridge) is a JSON object: ``phoneNumber`` (required string),
``country`` (ISO alpha-2), ``source``, ``reason``, ``eventId``, ``occurredAt`` (ISO 8601), all optional
strings. Unknown fields are ignored. An SQS body may also be an SNS notification or a whole EventBridge
event wrapping that object, or a Lambda invocation record (OnFailure destination) around such an event.

``action`` is ``opt-out`` (the default), ``opt-in`` or ``erase``; on the bus, detail-type ``SmsOptInRequested``
means ``opt-in`` and ``SmsErasureRequested`` means ``erase`` (``DETAIL_TYPES``). An opt-in needs consent
evidence: ``consentSource`` and ``consentAt`` (ISO 8601 with a UTC offset), ``consentText`` optional. An
``occurredAt`` without offset is accepted: ``stoplist.domain.ordering`` reads it in the number's own time zone.
The parsers return an ``OptOutRequest``, an ``OptInRequest`` or an ``ErasureRequest``, so that what an event asks
for is its type.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from stoplist.domain.ordering import parse_time
from stoplist.errors import InvalidConsentError, InvalidEventError

# SQS and EventBridge both cap a message at 256 KB; anything larger did not come through them unchanged.
MAX_EVENT_BYTES = 256 * 1024
MAX_TEXT_FIELD = 1024
_COUNTRY = re.compile(r"[A-Za-z]{2}")

OPT_OUT = "opt-out"
OPT_IN = "opt-in"
# A person's request to erase their data (GDPR art. 17): details go, the objection stays (domain/erasure.py).
ERASE = "erase"
ACTIONS = (OPT_OUT, OPT_IN, ERASE)
# The ``source`` of opt-outs loaded by ``stoplist import`` (a door of the stack's own, as the HTTP doors' are).
IMPORT_SOURCE = "import"
# EventBridge detail-type -> action; the rule of template.yaml matches exactly these (tests/unit/template checks).
DETAIL_TYPES = {"SmsOptOutRequested": OPT_OUT, "SmsOptInRequested": OPT_IN, "SmsErasureRequested": ERASE}


@dataclass(frozen=True)
class Consent:
    """Evidence that the person asked to receive SMS again: where, when (``at``, ISO 8601 with an offset)."""

    source: str
    at: str
    text: str | None = None


@dataclass(frozen=True)
class RawEvent:
    """An event as received, before parsing: what goes to the dead-letter queue if it is refused.

    ``receipt_handle`` is set for an SQS record (which can be postponed); a bus event has none. ``received_at`` is
    when the event reached this application (SQS ``SentTimestamp``, kept across requeues; the EventBridge event's
    ``time``): no opt-out or consent counts later than that (``stoplist.domain.ordering``)."""

    body: str
    message_id: str
    receive_count: int = 1
    receipt_handle: str | None = None
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # An erasure's second run (``stoplist.domain.dispatch``): the queue's ``erasureRecheck`` attribute.
    erasure_recheck: bool = False


@dataclass(frozen=True)
class OptOutRequest:
    """An opt-out event of the contract."""

    action: ClassVar[str] = OPT_OUT

    phone_number: str
    event_id: str
    country: str | None = None
    source: str | None = None
    reason: str | None = None
    occurred_at: str | None = None


@dataclass(frozen=True)
class OptInRequest:
    """A re-opt-in event of the contract, with its consent evidence."""

    action: ClassVar[str] = OPT_IN

    phone_number: str
    event_id: str
    consent: Consent
    country: str | None = None
    source: str | None = None
    occurred_at: str | None = None


@dataclass(frozen=True)
class ErasureRequest:
    """A person's request to erase their data (GDPR art. 17): details go, the objection stays
    (``stoplist.domain.erasure``)."""

    action: ClassVar[str] = ERASE

    phone_number: str
    event_id: str
    country: str | None = None
    source: str | None = None
    occurred_at: str | None = None


Request = OptOutRequest | OptInRequest | ErasureRequest


def read_sqs_message(raw: RawEvent) -> Request:
    """The parser of a queue record: its body, with its message id as the default ``eventId``."""
    return parse_sqs_body(raw.body, raw.message_id)


def eventbridge_reader(event: dict[str, Any]) -> Callable[[RawEvent], Request]:
    """The parser of a bus delivery: it reads the event as Lambda handed it over, not its JSON (``raw.body``, the
    whole event as JSON, is what a dead letter or a requeue carries)."""

    def read(_raw: RawEvent) -> Request:
        return parse_eventbridge_event(event)

    return read


def parse_sqs_body(body: str, message_id: str) -> Request:
    """Read an SQS message body: the contract's object, or an SNS / EventBridge envelope around it."""
    if len(body.encode("utf-8", errors="surrogatepass")) > MAX_EVENT_BYTES:
        raise InvalidEventError(f"message body is larger than {MAX_EVENT_BYTES} bytes")
    payload = _load_json(body, "message body")
    payload, envelope_id, detail_type = _unwrap(payload)
    return parse_optout(payload, envelope_id or message_id, _detail_type_action(detail_type))


def phone_in_body(body: str) -> tuple[str, str | None] | None:
    """The ``phoneNumber`` and ``country`` an SQS body is about, even when the event is refused for another
    reason (a missing consent, an unknown action): what a dead letter is about. None without a number."""
    try:
        payload, _, _ = _unwrap(_load_json(body, "message body"))
    except InvalidEventError:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("phoneNumber"), str):
        return None
    country = payload.get("country")
    return payload["phoneNumber"], country if isinstance(country, str) else None


def parse_eventbridge_event(event: dict[str, Any]) -> Request:
    """Read an EventBridge event whose ``detail`` is the contract's object."""
    detail = event.get("detail")
    event_id = event.get("id")
    if not isinstance(event_id, str) or not event_id:
        event_id = "unknown"
    if len(json.dumps(detail, default=str).encode()) > MAX_EVENT_BYTES:
        raise InvalidEventError(f"event detail is larger than {MAX_EVENT_BYTES} bytes")
    return parse_optout(detail, event_id, _detail_type_action(event.get("detail-type")))


def _detail_type_action(detail_type: object) -> str | None:
    """The action a detail-type stands for; an unknown one (another producer's fan-out) says nothing."""
    return DETAIL_TYPES.get(detail_type) if isinstance(detail_type, str) else None


def parse_optout(payload: object, default_event_id: str, implied_action: str | None = None) -> Request:
    """The contract's object as the request it is (opt-out or re-opt-in), or InvalidEventError."""
    if not isinstance(payload, dict):
        raise InvalidEventError(f"opt-out event is a JSON {_json_type(payload)}, not an object")
    phone = payload.get("phoneNumber")
    if phone is None:
        raise InvalidEventError("phoneNumber is missing")
    if not isinstance(phone, str):
        raise InvalidEventError(f"phoneNumber is a JSON {_json_type(phone)}, not a string")
    if not phone.strip():
        raise InvalidEventError("phoneNumber is empty")
    country = _optional_text(payload, "country")
    if country is not None and not _COUNTRY.fullmatch(country):
        raise InvalidEventError("country is not an ISO 3166 alpha-2 code")
    occurred_at = _optional_text(payload, "occurredAt")
    if occurred_at is not None:
        try:
            parse_time(occurred_at)
        except ValueError:
            raise InvalidEventError("occurredAt is not an ISO 8601 date-time") from None
    event_id = _optional_text(payload, "eventId") or default_event_id
    source = _optional_text(payload, "source")
    country = country.upper() if country else None
    action = _action(payload, implied_action)
    if action == OPT_IN:
        return OptInRequest(phone, event_id, _consent(payload), country, source, occurred_at)
    if action == ERASE:
        return ErasureRequest(phone, event_id, country, source, occurred_at)
    return OptOutRequest(phone, event_id, country, source, _optional_text(payload, "reason"), occurred_at)


def _action(payload: dict[str, Any], implied: str | None) -> str:
    action = _optional_text(payload, "action")
    if action is None:
        return implied or OPT_OUT
    action = action.strip().lower()
    if action not in ACTIONS:
        raise InvalidEventError(f"action is neither {' nor '.join(ACTIONS)}")
    if implied is not None and action != implied:
        raise InvalidEventError(f"action {action} contradicts the detail-type, which means {implied}")
    return action


def _consent(payload: dict[str, Any]) -> Consent:
    """An opt-in without usable evidence of consent is refused: the number stays opted out."""
    source = _optional_text(payload, "consentSource")
    if source is None:
        raise InvalidConsentError("an opt-in needs consentSource (missing or blank)")
    at = _optional_text(payload, "consentAt")
    if at is None:
        raise InvalidConsentError("an opt-in needs consentAt (missing or blank)")
    try:
        moment = parse_time(at)
    except ValueError:
        raise InvalidConsentError("consentAt is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        # Evidence must say when in absolute time: "09:00" in Paris and in UTC are an hour apart.
        raise InvalidConsentError("consentAt has no UTC offset (add Z or +01:00)")
    return Consent(source=source.strip(), at=at.strip(), text=_optional_text(payload, "consentText"))


def _unwrap(payload: object) -> tuple[object, str | None, object]:
    """Peel one SNS notification and/or one EventBridge event off the payload (the usual fan-outs), or the
    Lambda invocation record that the bus function's OnFailure destination wrote (its ``requestPayload`` is
    the EventBridge event), so that OptOutEventsDeadLetterQueue can be replayed into the queue as it is;
    returns the contract's object, the envelope's id and the EventBridge detail-type (None without one)."""
    envelope_id: str | None = None
    detail_type: object = None
    if isinstance(payload, dict) and "requestPayload" in payload and "requestContext" in payload:
        payload = payload["requestPayload"]
    if isinstance(payload, dict) and payload.get("Type") == "Notification" and "TopicArn" in payload:
        message = payload.get("Message")
        if not isinstance(message, str):
            raise InvalidEventError("SNS notification has no string Message")
        envelope_id = payload.get("MessageId") if isinstance(payload.get("MessageId"), str) else None
        payload = _load_json(message, "SNS Message")
    if isinstance(payload, dict) and "detail-type" in payload and "detail" in payload:
        if not isinstance(payload.get("detail"), dict):
            raise InvalidEventError("EventBridge event has no object detail")
        event_id = payload.get("id")
        envelope_id = event_id if isinstance(event_id, str) and event_id else envelope_id
        detail_type = payload.get("detail-type")
        payload = payload["detail"]
    return payload, envelope_id, detail_type


def _load_json(text: str, what: str) -> object:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        # RecursionError: deeply nested arrays; ValueError covers JSONDecodeError and bad unicode.
        raise InvalidEventError(f"{what} is not valid JSON") from None


def _optional_text(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidEventError(f"{key} is a JSON {_json_type(value)}, not a string")
    if len(value) > MAX_TEXT_FIELD:
        raise InvalidEventError(f"{key} is longer than {MAX_TEXT_FIELD} characters")
    # An empty optional field (a blank form input) means "not given", not "invalid".
    return value if value.strip() else None


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "array"
    if value is None:
        return "null"
    if isinstance(value, str):
        return "string"
    return "object"


def optout_event(
    phone_number: str, *, source: str, event_id: str | None, occurred_at: str, reason: str | None = None
) -> dict[str, str]:
    """The contract's object, as this application's own HTTP doors publish it to the queue."""
    event = {"phoneNumber": phone_number, "source": source, "occurredAt": occurred_at}
    if event_id:
        event["eventId"] = event_id
    if reason:
        event["reason"] = reason
    return event

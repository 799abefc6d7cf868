"""One event in, one final outcome out, or an exception that asks for a retry: the handlers' one call.

    parse (events) -> OptOutRequest  -> OptOutService.opt_out  (stoplist.domain.optout)
                   -> OptInRequest   -> OptInService.opt_in    (stoplist.domain.optin)
                   -> ErasureRequest -> ErasureService.erase   (stoplist.domain.erasure)

Both follow the ordering rule of ``stoplist.domain.ordering``; this module only delivers: it routes the request
by its type, and ends every event the same way.

Permanent failures go to the dead-letter queue with their reason and count as handled. Retryable ones depend on
how the event arrived (``Delivery``):

- from the queue, the record is made invisible for its backoff (``RedeliverySchedule``) and the error raised, so
  that it comes back later and later; on its last receive it is dead-lettered with the reason here rather than
  redriven there bare;
- a record that waits on the provider's state or on another event of its number (``RetryableError.requeued``: a
  429, no place in the provider's budget, the number held) is sent to the queue again as a new message, delayed by
  that wait, and the received one acknowledged: a visibility delay would spend one of its receives;
- from the bus (no receive count), any retryable failure hands the whole event over to the queue, where the same
  backoff applies; the invocation succeeds.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from typing import Any

from stoplist.domain.deadline import Deadline, HasRemainingTime
from stoplist.domain.erasure import ErasureService
from stoplist.domain.events import ErasureRequest, OptInRequest, RawEvent, Request
from stoplist.domain.optin import OptInService
from stoplist.domain.optout import OptOutService
from stoplist.domain.outcomes import Disposition
from stoplist.domain.ports import DeadLetter, DeadLetterSink, RetryQueue
from stoplist.domain.redelivery import SQS_MAX_DELAY_SECONDS, RedeliverySchedule
from stoplist.errors import (
    AwsServiceError,
    ConfigurationError,
    PermanentError,
    ProviderAuthError,
    ProviderUnavailableError,
    RetryableError,
)
from stoplist.observability import count, logger

Parser = Callable[[RawEvent], Request]


class Delivery(enum.Enum):
    """How events reach the function: it decides what a retryable failure does."""

    QUEUE = "queue"  # SQS: receives are counted, a record can be postponed
    BUS = "bus"  # EventBridge: no receive count; a transient failure hands the event over to the queue


class EventDispatcher:
    def __init__(
        self,
        *,
        opt_out: OptOutService,
        opt_in: OptInService | None,
        erasure: ErasureService | None,
        dead_letters: DeadLetterSink,
        queue: RetryQueue,
        delivery: Delivery,
        max_receive_count: int,
        schedule: RedeliverySchedule,
        deadline_margin_seconds: float,
        erasure_recheck_seconds: int,
    ) -> None:
        """``opt_in`` and ``erasure`` are None where the function is not set up for them (unit tests of the
        opt-out's delivery); an event of that kind is then a configuration error."""
        self._opt_out = opt_out
        self._opt_in = opt_in
        self._erasure = erasure
        self._dead_letters = dead_letters
        self._queue = queue
        self._delivery = delivery
        self._max_receive_count = max_receive_count
        self._schedule = schedule
        self._deadline_margin = deadline_margin_seconds
        self._erasure_recheck = erasure_recheck_seconds

    def handle(self, raw: RawEvent, parse: Parser, context: HasRemainingTime | None = None) -> Disposition:
        """Take one event to its end; ``parse`` reads the contract's object out of ``raw``. With the invocation's
        ``context``, every provider call ends before its deadline (remaining time less the margin)."""
        event_id = raw.message_id
        deadline = None if context is None else Deadline.from_context(context, self._deadline_margin)
        try:
            request = parse(raw)
            event_id = request.event_id
            if isinstance(request, OptInRequest):
                if self._opt_in is None:
                    raise ConfigurationError("this function is not set up for opt-ins")
                return self._opt_in.opt_in(request, raw.received_at, deadline)
            if isinstance(request, ErasureRequest):
                if self._erasure is None:
                    raise ConfigurationError("this function is not set up for erasures")
                self._erasure.erase(request, raw.received_at, deadline)
                return self._erasure_done(raw, event_id)
            return self._opt_out.opt_out(request, raw.received_at, deadline)
        except PermanentError as exc:
            logger.warning("event rejected", event_id=event_id, error_type=exc.reason, error=str(exc))
            self._dead_letter(raw, event_id, exc, f"rejected: {exc}")
            return Disposition.REJECTED
        except RetryableError as exc:
            return self._retry_later(raw, event_id, exc)

    def _erasure_done(self, raw: RawEvent, event_id: str) -> Disposition:
        """After an erasure's first run, send it again for a second, ``erasure_recheck_seconds`` later.

        A change of the number made before the erasure but still in the table's stream when it ran (the change
        publisher's lag: a second, normally) reaches the history afterwards, with its details; the second run
        strips them. It changes nothing else (an erasure is idempotent) and sends no third. If the second run
        cannot be queued, the first stands and the failure is logged: `stoplist forget` runs it again."""
        if raw.erasure_recheck:
            return Disposition.ERASURE_RECHECKED
        try:
            self._queue.requeue(raw.body, self._erasure_recheck, raw.message_id, raw.received_at, erasure_recheck=True)
        except AwsServiceError as exc:
            logger.error("the erasure's second run could not be queued", event_id=event_id, error=str(exc))
        return Disposition.ERASED

    def _retry_later(self, raw: RawEvent, event_id: str, exc: RetryableError) -> Disposition:
        """Bring the event back later (raising, or requeued), or dead-letter it on its last receive."""
        log = logger.error if isinstance(exc, ProviderAuthError | ConfigurationError) else logger.warning
        if exc.requeued:
            log = logger.info  # a state that passes, expected in a burst: counted, not a warning per record
        fields: dict[str, Any] = {
            "event_id": event_id,
            "error_type": exc.reason,
            "error": str(exc),
            "receive_count": raw.receive_count,
        }
        from_bus = self._delivery is Delivery.BUS
        if from_bus or exc.requeued:
            delay = self._requeue_delay(exc)
            try:
                self._queue.requeue(raw.body, delay, None if from_bus else raw.message_id, raw.received_at)
            except AwsServiceError as send_error:
                logger.error("event could not be requeued", event_id=event_id, error=str(send_error))
                if from_bus:
                    raise send_error from None  # Lambda's async retries, then the OnFailure destination
            else:
                log(
                    "event requeued" if exc.requeued else "event handed over to the queue",
                    delay_seconds=delay,
                    **fields,
                )
                return Disposition.THROTTLED if exc.requeued else Disposition.HANDED_OVER
        if raw.receive_count >= self._max_receive_count:
            log("event failed on its last receive, dead-lettering", **fields)
            self._dead_letter(raw, event_id, exc, f"gave up after {raw.receive_count} receives, last error: {exc}")
            return Disposition.DEAD_LETTERED
        log("event failed, will be retried", retry_in_seconds=self._postpone(raw, exc), **fields)
        raise exc

    def _requeue_delay(self, exc: RetryableError) -> int:
        if exc.requeued:
            return RedeliverySchedule.throttle_delay(exc.retry_after or 1.0)
        return min(SQS_MAX_DELAY_SECONDS, self._schedule.backoff(1))

    def _postpone(self, raw: RawEvent, exc: RetryableError) -> int | None:
        """Make the received message invisible for its backoff; without it, the queue's own timeout applies."""
        if raw.receipt_handle is None:
            return None
        if exc.requeued:
            delay = RedeliverySchedule.throttle_delay(exc.retry_after or 1.0)
        else:
            delay = self._schedule.backoff(raw.receive_count)
        if isinstance(exc, ProviderUnavailableError) and exc.circuit_open and exc.retry_after:
            delay = max(delay, math.ceil(exc.retry_after))  # not before the circuit lets a probe through
        try:
            self._queue.postpone(raw.receipt_handle, delay)
        except AwsServiceError as error:
            logger.warning("could not postpone the record", event_id=raw.message_id, error=str(error))
            return None
        return delay

    def _dead_letter(self, raw: RawEvent, event_id: str, exc: PermanentError | RetryableError, reason: str) -> None:
        self._dead_letters.send(
            DeadLetter(
                body=raw.body,
                reason=reason,
                error_type=exc.reason,
                event_id=event_id,
                original_message_id=raw.message_id,
                receive_count=raw.receive_count,
                received_at=raw.received_at,
            )
        )


def process(
    dispatcher: Callable[[], EventDispatcher],
    raw: RawEvent,
    parse: Parser,
    context: HasRemainingTime | None = None,
) -> Disposition:
    """The handlers' one call per event, and the one place outcome metrics are counted.

    ``dispatcher`` builds (or returns the cached) dispatcher inside the count, so that a deployment error (a missing
    setting, an unreadable secret) counts as ``ConfigurationError`` on every entry point. A final outcome counts in
    its ``Disposition`` value; an event that will come back counts in its error's ``metric`` and the error
    propagates, for the entry point to hand the event back.
    """
    try:
        disposition = dispatcher().handle(raw, parse, context)
    except RetryableError as exc:
        count(exc.metric)
        raise
    count(disposition.value)
    return disposition

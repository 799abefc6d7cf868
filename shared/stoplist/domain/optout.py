"""The opt-out service: one event in, one final disposition out, or an exception that asks for a retry.

    parse (events) -> E.164 (phone) -> POST /stop-sms/add (provider) -> write-through (table)

An event whose ``action`` is ``opt-in`` goes to the opt-in service (``stoplist.domain.optin``) instead;
both end the same way (a disposition, a dead letter with the reason, or a retry).

Permanent failures go to the dead-letter queue with their reason and count as handled. Retryable ones:

- from the queue, the record is made invisible for its backoff (``RedeliverySchedule``) and the error
  raised, so that it comes back later and later; on its last receive we dead-letter it with the reason
  ourselves rather than let the redrive drop it there bare;
- a throttled record (429, or no slot in the instance's share before the deadline) is the provider's state,
  not the message's fault: it is sent to the queue again as a new message, delayed by the pacer's wait, and
  the received one acknowledged. A visibility delay would spend one of its receives, and enough throttling
  would dead-letter it, or leave too few receives to wait out an outage;
- from the bus (no receive count), any retryable failure hands the whole event over to the queue, where the
  same backoff applies; the invocation succeeds.

``process`` is what the handlers call: it builds the service on first use, takes the event to its end and counts
its outcome, so that every entry point counts the same metric for the same outcome, configuration errors
included.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from typing import Any

from stoplist.domain.deadline import Deadline, HasRemainingTime
from stoplist.domain.events import ERASE, OPT_IN, OptOutRequest, RawEvent, to_instant, utc_text
from stoplist.domain.honour import honour
from stoplist.domain.phone import to_e164
from stoplist.domain.ports import (
    DeadLetter,
    DeadLetterSink,
    HistoryReader,
    OptOutRecord,
    OptOutStore,
    RetryQueue,
    StopListProvider,
    utc_now,
)
from stoplist.domain.redelivery import SQS_MAX_DELAY_SECONDS, RedeliverySchedule
from stoplist.errors import (
    AwsServiceError,
    ConfigurationError,
    OptOutSupersededError,
    PermanentError,
    ProviderAuthError,
    ProviderThrottledError,
    ProviderUnavailableError,
    RetryableError,
)
from stoplist.observability import count, logger, mask_phone


class Disposition(enum.Enum):
    """Final outcome of one event; the value is the metric it counts in."""

    ADDED = "OptOutAdded"
    ALREADY_LISTED = "OptOutAlreadyListed"
    REJECTED = "OptOutRejected"
    DEAD_LETTERED = "OptOutDeadLettered"
    # Sent to OptOutQueue as a new message: a bus event after a transient failure, a throttled record.
    HANDED_OVER = "OptOutHandedOver"
    THROTTLED = "ProviderThrottled"
    OPTED_IN = "OptInRemoved"  # the provider's entry was deleted
    NOT_LISTED = "OptInNotListed"  # the number was on no list: nothing to undo
    ERASED = "SubjectErased"  # details erased, the objection kept (domain/erasure.py)


Parser = Callable[[RawEvent], OptOutRequest]


class OptOutService:
    def __init__(
        self,
        *,
        provider: StopListProvider,
        dead_letters: DeadLetterSink,
        table: OptOutStore | None,
        default_region: str,
        max_receive_count: int | None,
        queue: RetryQueue | None,
        schedule: RedeliverySchedule | None,
        deadline_margin_seconds: float,
        opt_in: Callable[[OptOutRequest, Deadline | None], Disposition] | None = None,
        history: HistoryReader | None = None,
        erase: Callable[[OptOutRequest, Deadline | None], Disposition] | None = None,
    ) -> None:
        """``max_receive_count`` is None where deliveries are not counted (EventBridge): no last receive."""
        self._provider = provider
        self._dead_letters = dead_letters
        self._table = table
        self._default_region = default_region
        self._max_receive_count = max_receive_count
        self._queue = queue
        self._schedule = schedule
        self._deadline_margin = deadline_margin_seconds
        self._opt_in = opt_in
        self._history = history
        self._erase = erase

    def handle(self, raw: RawEvent, parse: Parser, context: HasRemainingTime | None = None) -> Disposition:
        """Take one event to its end; ``parse`` reads the contract's object out of ``raw``. With the invocation's
        ``context``, every provider call ends before its deadline (remaining time less the margin)."""
        event_id = raw.message_id
        deadline = None if context is None else Deadline.from_context(context, self._deadline_margin)
        try:
            request = parse(raw)
            event_id = request.event_id
            if request.action == OPT_IN:
                if self._opt_in is None:
                    raise ConfigurationError("this function is not set up for opt-ins")
                return self._opt_in(request, deadline)
            if request.action == ERASE:
                if self._erase is None:
                    raise ConfigurationError("this function is not set up for erasures")
                return self._erase(request, deadline)
            return self._opt_out(request, deadline)
        except PermanentError as exc:
            logger.warning("opt-out rejected", event_id=event_id, error_type=exc.reason, error=str(exc))
            self._dead_letter(raw, event_id, exc, f"rejected: {exc}")
            return Disposition.REJECTED
        except RetryableError as exc:
            return self._retry_later(raw, event_id, exc)

    def _retry_later(self, raw: RawEvent, event_id: str, exc: RetryableError) -> Disposition:
        """Bring the event back later (raising, or requeued), or dead-letter it on its last receive."""
        log = logger.error if isinstance(exc, ProviderAuthError | ConfigurationError) else logger.warning
        throttled = isinstance(exc, ProviderThrottledError)
        if throttled:
            log = logger.info  # the provider's state, expected in a burst: counted, not a warning per record
        fields: dict[str, Any] = {
            "event_id": event_id,
            "error_type": exc.reason,
            "error": str(exc),
            "receive_count": raw.receive_count,
        }
        from_bus = raw.receipt_handle is None and self._max_receive_count is None
        if self._queue is not None and (from_bus or throttled):
            delay = self._requeue_delay(exc)
            try:
                self._queue.requeue(raw.body, delay, None if from_bus else raw.message_id)
            except AwsServiceError as send_error:
                logger.error("opt-out could not be requeued", event_id=event_id, error=str(send_error))
                if from_bus:
                    raise send_error from None  # Lambda's async retries, then the OnFailure destination
            else:
                log(
                    "opt-out throttled, requeued" if throttled else "opt-out handed over to the queue",
                    delay_seconds=delay,
                    **fields,
                )
                return Disposition.THROTTLED if throttled else Disposition.HANDED_OVER
        last_receive = self._max_receive_count is not None and raw.receive_count >= self._max_receive_count
        if last_receive:
            log("opt-out failed on its last receive, dead-lettering", **fields)
            self._dead_letter(raw, event_id, exc, f"gave up after {raw.receive_count} receives, last error: {exc}")
            return Disposition.DEAD_LETTERED
        log("opt-out failed, will be retried", retry_in_seconds=self._postpone(raw, exc), **fields)
        raise exc

    def _requeue_delay(self, exc: RetryableError) -> int:
        if isinstance(exc, ProviderThrottledError):
            return RedeliverySchedule.throttle_delay(exc.retry_after or 1.0)
        if self._schedule is None:
            return 0
        return min(SQS_MAX_DELAY_SECONDS, self._schedule.backoff(1))

    def _postpone(self, raw: RawEvent, exc: RetryableError) -> int | None:
        """Make the received message invisible for its backoff; without it, the queue's own timeout applies."""
        if self._queue is None or self._schedule is None or raw.receipt_handle is None:
            return None
        if isinstance(exc, ProviderThrottledError):
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

    def _opt_out(self, request: OptOutRequest, deadline: Deadline | None) -> Disposition:
        number = to_e164(request.phone_number, request.country, self._default_region)
        self._check_not_superseded(number, request)
        result = self._provider.add_stop(number, deadline)
        honoured = honour(request.occurred_at, utc_now())
        if self._table is not None:
            self._table.record_opt_out(
                OptOutRecord(
                    phone_number=number,
                    event_id=request.event_id,
                    source=request.source,
                    reason=request.reason,
                    opted_out_at=request.occurred_at,
                    stop_id=result.stop_id,
                    honoured_at=honoured.honoured_at,
                    honour_seconds=honoured.seconds,
                )
            )
        return log_done(request, number, Disposition.ALREADY_LISTED if result.already_listed else Disposition.ADDED)

    def _check_not_superseded(self, number: str, request: OptOutRequest) -> None:
        """An opt-out that says it happened before a re-opt-in already recorded loses to it (the later wins).
        Without ``occurredAt`` the opt-out is as of now, later than anything recorded: no read is needed."""
        if self._history is None or request.occurred_at is None:
            return
        consent_at = self._history.opt_in_after(number, utc_text(to_instant(request.occurred_at)))
        if consent_at is not None:
            raise OptOutSupersededError(
                f"a re-opt-in with consent at {consent_at} is later than this opt-out ({request.occurred_at})"
            )

    def _dead_letter(self, raw: RawEvent, event_id: str, exc: PermanentError | RetryableError, reason: str) -> None:
        self._dead_letters.send(
            DeadLetter(
                body=raw.body,
                reason=reason,
                error_type=exc.reason,
                event_id=event_id,
                original_message_id=raw.message_id,
                receive_count=raw.receive_count,
            )
        )


def log_done(request: OptOutRequest, number: str, disposition: Disposition) -> Disposition:
    """The one line an event that reached its end logs (opt-out or opt-in), the number masked."""
    logger.info(
        f"{request.action} done",
        event_id=request.event_id,
        phone=mask_phone(number),
        outcome=disposition.name.lower(),
        source=request.source,
    )
    return disposition


def process(
    service: Callable[[], OptOutService], raw: RawEvent, parse: Parser, context: HasRemainingTime | None = None
) -> Disposition:
    """The handlers' one call per event, and the one place outcome metrics are counted.

    ``service`` builds (or returns the cached) service, inside the count, so that a deployment error (a missing
    setting, an unreadable secret) counts as ``ConfigurationError`` on every entry point. A final outcome counts
    in its ``Disposition`` value; an event that will come back counts in its error's ``metric`` and the error
    propagates, for the entry point to hand the event back.
    """
    try:
        disposition = service().handle(raw, parse, context)
    except RetryableError as exc:
        count(exc.metric)
        raise
    count(disposition.value)
    return disposition

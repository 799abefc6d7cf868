"""The opt-out service: one event in, one final disposition out, or an exception that asks for a retry.

    parse (events) -> E.164 (phone) -> POST /stop-sms/add (provider) -> write-through (table)

An event whose ``action`` is ``opt-in`` goes to the opt-in service (``stoplist.domain.optin``) instead;
both end the same way (a disposition, a dead letter with the reason, or a retry).

Permanent failures go to the dead-letter queue with their reason and count as handled; retryable ones
raise, so that SQS (or Lambda's async retries, for EventBridge) bring the event back, except on the last
receive, where we dead-letter with the reason ourselves rather than let the redrive drop it there bare.

``process`` is what the handlers call: it builds the service on first use, takes the event to its end and counts
its outcome, so that every entry point counts the same metric for the same outcome, configuration errors
included.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from stoplist.domain.events import OPT_IN, OptOutRequest, RawEvent, to_instant, utc_text
from stoplist.domain.phone import to_e164
from stoplist.domain.ports import (
    DeadLetter,
    DeadLetterSink,
    HistoryReader,
    OptOutRecord,
    OptOutStore,
    StopListProvider,
)
from stoplist.errors import ConfigurationError, OptOutSupersededError, PermanentError, ProviderAuthError, RetryableError
from stoplist.observability import count, logger, mask_phone


class Disposition(enum.Enum):
    """Final outcome of one event; the value is the metric it counts in."""

    ADDED = "OptOutAdded"
    ALREADY_LISTED = "OptOutAlreadyListed"
    REJECTED = "OptOutRejected"
    DEAD_LETTERED = "OptOutDeadLettered"
    OPTED_IN = "OptInRemoved"  # the provider's entry was deleted
    NOT_LISTED = "OptInNotListed"  # the number was on no list: nothing to undo


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
        opt_in: Callable[[OptOutRequest], Disposition] | None = None,
        history: HistoryReader | None = None,
    ) -> None:
        """``max_receive_count`` is None where deliveries are not counted (EventBridge): no last receive."""
        self._provider = provider
        self._dead_letters = dead_letters
        self._table = table
        self._default_region = default_region
        self._max_receive_count = max_receive_count
        self._opt_in = opt_in
        self._history = history

    def handle(self, raw: RawEvent, parse: Parser) -> Disposition:
        """Take one event to its end; ``parse`` reads the contract's object out of ``raw``."""
        event_id = raw.message_id
        try:
            request = parse(raw)
            event_id = request.event_id
            if request.action == OPT_IN:
                if self._opt_in is None:
                    raise ConfigurationError("this function is not set up for opt-ins")
                return self._opt_in(request)
            return self._opt_out(request)
        except PermanentError as exc:
            logger.warning("opt-out rejected", event_id=event_id, error_type=exc.reason, error=str(exc))
            self._dead_letter(raw, event_id, exc, f"rejected: {exc}")
            return Disposition.REJECTED
        except RetryableError as exc:
            log = logger.error if isinstance(exc, ProviderAuthError | ConfigurationError) else logger.warning
            last_receive = self._max_receive_count is not None and raw.receive_count >= self._max_receive_count
            log(
                "opt-out failed on its last receive, dead-lettering"
                if last_receive
                else "opt-out failed, will be retried",
                event_id=event_id,
                error_type=exc.reason,
                error=str(exc),
                receive_count=raw.receive_count,
            )
            if not last_receive:
                raise
            self._dead_letter(raw, event_id, exc, f"gave up after {raw.receive_count} receives, last error: {exc}")
            return Disposition.DEAD_LETTERED

    def _opt_out(self, request: OptOutRequest) -> Disposition:
        number = to_e164(request.phone_number, request.country, self._default_region)
        self._check_not_superseded(number, request)
        result = self._provider.add_stop(number)
        if self._table is not None:
            self._table.record_opt_out(
                OptOutRecord(
                    phone_number=number,
                    event_id=request.event_id,
                    source=request.source,
                    reason=request.reason,
                    opted_out_at=request.occurred_at,
                    stop_id=result.stop_id,
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


def process(service: Callable[[], OptOutService], raw: RawEvent, parse: Parser) -> Disposition:
    """The handlers' one call per event, and the one place outcome metrics are counted.

    ``service`` builds (or returns the cached) service, inside the count, so that a deployment error (a missing
    setting, an unreadable secret) counts as ``ConfigurationError`` on every entry point. A final outcome counts
    in its ``Disposition`` value; an event that will come back counts in its error's ``metric`` and the error
    propagates, for the entry point to hand the event back.
    """
    try:
        disposition = service().handle(raw, parse)
    except RetryableError as exc:
        count(exc.metric)
        raise
    count(disposition.value)
    return disposition

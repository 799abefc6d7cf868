"""What became of an event, in one place: the final outcomes (each the metric it counts in) and the one log line
an event that reached its end writes."""

from __future__ import annotations

import enum

from stoplist.domain.events import Request
from stoplist.observability import logger, mask_phone


class Disposition(enum.Enum):
    """Final outcome of one event; the value is the metric it counts in."""

    ADDED = "OptOutAdded"
    ALREADY_LISTED = "OptOutAlreadyListed"
    # Older than a consent already applied: kept in the history, the number stays opted in (nothing to fix).
    SUPERSEDED = "OptOutSuperseded"
    REJECTED = "OptOutRejected"
    DEAD_LETTERED = "OptOutDeadLettered"
    # Sent to OptOutQueue as a new message: a bus event after a transient failure, a throttled or waiting record.
    HANDED_OVER = "OptOutHandedOver"
    THROTTLED = "ProviderThrottled"
    OPTED_IN = "OptInRemoved"  # the provider's entries were deleted
    NOT_LISTED = "OptInNotListed"  # the number was on no list: nothing to undo
    ERASED = "SubjectErased"  # details erased, the objection kept (domain/erasure.py)
    # The erasure's second run, once the table's stream has caught up: whatever reached the history meanwhile.
    ERASURE_RECHECKED = "SubjectErasureRechecked"


def log_done(request: Request, number: str, disposition: Disposition) -> Disposition:
    """The one line an event that reached its end logs (opt-out or opt-in), the number masked."""
    logger.info(
        f"{request.action} done",
        event_id=request.event_id,
        phone=mask_phone(number),
        outcome=disposition.name.lower(),
        source=request.source,
    )
    return disposition

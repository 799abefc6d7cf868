"""One opt-out, opt-in or erasure of a number at a time, across every instance (the ``NumberLocks`` port).

Why a lease rather than optimistic versions alone: the provider is not transactional. An opt-out's ``add`` and an
opt-in's ``delete`` of the same number can reach SMS Partner in one order and the table in the other, and no
condition on the item can undo a call already answered. Holding the number while deciding and calling makes
every decision see what the others finished: the opt-in sees every opt-out that reached the provider, and the
opt-out sees every consent applied. Two events of one number at once are rare (a person does not STOP and
subscribe in the same second), so the cost is two small writes an event, and a record that finds the number
held comes back a few seconds later without spending a receive. An erasure (``stoplist.domain.erasure``) calls
no provider but rewrites the item and the history: held too, its rewrites never interleave with an opt-out's or
an opt-in's writes of the same number.

The lease ends by itself at the invocation's deadline plus ``LEASE_MARGIN_SECONDS``: the calls made under it end
before the deadline (``Deadline``), so an instance killed mid-call leaves the number held no longer than that.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from stoplist.domain.deadline import Deadline
from stoplist.domain.ordering import parse_time, utc_text
from stoplist.domain.ports import NumberLocks
from stoplist.errors import NumberBusyError

# After the deadline, the time a call sent just before it may still take to be answered by the provider.
LEASE_MARGIN_SECONDS = 60.0
# Without an invocation deadline (the command line, tests), the longest a lease is held.
DEFAULT_LEASE_SECONDS = 300.0
# How soon an event that found its number held comes back: the holder is usually done within a second; one that
# died leaves its lease until it ends, and the event keeps coming back this often until then.
BUSY_RETRY_SECONDS = 5.0


@contextlib.contextmanager
def number_held(
    locks: NumberLocks, number: str, deadline: Deadline | None, clock: Callable[[], datetime]
) -> Iterator[None]:
    """Hold ``number`` for the block, or raise NumberBusyError (retryable) with the time until the holder's ends."""
    now = clock()
    seconds = DEFAULT_LEASE_SECONDS if deadline is None else max(0.0, deadline.remaining())
    until = now + timedelta(seconds=seconds + LEASE_MARGIN_SECONDS)
    owner = uuid.uuid4().hex
    held_until = locks.acquire(number, owner, utc_text(until), utc_text(now))
    if held_until is not None:
        wait = min(BUSY_RETRY_SECONDS, max(1.0, (parse_time(held_until) - now).total_seconds()))
        raise NumberBusyError("another event of this number is under way", retry_after=wait)
    try:
        yield
    finally:
        locks.release(number, owner)

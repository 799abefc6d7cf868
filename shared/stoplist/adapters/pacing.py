"""Pacing of the provider's calls: one budget for the whole stack, counted per second in a shared table.

SMS Partner allows 2,000 requests a minute per IP and answers 429 beyond. ``ProviderRequestsPerMinute`` is the
budget of every caller together: the queue function's instances, the bus function's, the snapshot. A call takes a
place in a second: second ``s`` allows ``floor((s + 1) r) - floor(s r)`` calls (``r`` the budget a second, so the
allowances of any 60 seconds add up to the budget), and the count of each second is one counter that every
instance adds to (``CallCounts``: an ``UpdateItem ADD`` on the ProviderCallsTable, one write a call). A call whose
add leaves the count within the allowance has its place; otherwise it tries the next second, and waits for the
second it got. A budget shared this way is work-conserving: an idle caller leaves its part to the others, so a
backlog in the queue drains at the whole budget. Static shares per instance could not: with the queue's
instances at 90 % of the budget between them, a stream at 90 % of the provider's limit ran over what they were
allowed, and a STOP waited 5.8 times the floor at p99 (bench/honour.py, moto and DynamoDB Local).

Any 60 s holds at most 61 seconds' allowances: the budget plus one second's. At the default (1,950 a minute,
32 or 33 a second) that is at most 1,983 calls in any minute: under 2,000.

- A call waits for its second in its worker thread, but never longer than the caller's ``max_wait`` (what the
  invocation's deadline leaves): it then gets a :class:`Throttled` answer with the wait instead, and the record
  comes back once the wait is over. No place is taken in a second it will not use.
- Seconds this instance found full are remembered: its next calls start looking after them.
- A 429 says the provider counts more than the stack does (another caller on the same IP, a lower limit): every
  caller pauses. The instance fills the seconds of the ``Retry-After`` (1 s without one, at most
  ``MAX_PAUSE_SECONDS``) in the shared counts, so that no instance starts a call in them.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

# SMS Partner's limit: requests a minute per IP (its error-code page; HTTP 429 beyond).
SMS_PARTNER_LIMIT = 2000
# The longest pause a 429 imposes on every caller; a longer Retry-After is left to the records' redelivery.
MAX_PAUSE_SECONDS = 5.0
# A 429 without a Retry-After pauses every caller this long.
DEFAULT_PAUSE_SECONDS = 1.0


class CallCounts(Protocol):
    """The provider's calls counted per second (epoch seconds), across every instance."""

    def add(self, second: int, calls: int) -> int:
        """Add ``calls`` to ``second``'s count; the count after adding."""
        ...


class LocalCallCounts:
    """``CallCounts`` for one process (the command line, unit tests): a dict under a lock."""

    def __init__(self) -> None:
        self._counts: dict[int, int] = {}
        self._lock = threading.Lock()

    def add(self, second: int, calls: int) -> int:
        with self._lock:
            for old in [key for key in self._counts if key < second - 120]:
                del self._counts[old]
            self._counts[second] = self._counts.get(second, 0) + calls
            return self._counts[second]


@dataclass(frozen=True)
class Throttled:
    """No place before the caller's ``max_wait``: the next free second may be ``wait_seconds`` away."""

    wait_seconds: float


class Pacer:
    def __init__(
        self,
        *,
        calls_per_minute: float,
        counts: CallCounts,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``clock`` is wall-clock time: the seconds are the same for every instance."""
        self._per_minute = max(calls_per_minute, 0.001)
        self._counts = counts
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._full_until = 0  # every second before it was found full by this instance
        self._paused_until = 0  # seconds before it are filled by this instance's last pause

    def allowance(self, second: int) -> int:
        """Calls second ``second`` allows: the budget spread so that any 60 consecutive seconds add up to it."""
        # Multiplied before dividing: exact for whole budgets, so every instance finds the same allowances.
        return math.floor((second + 1) * self._per_minute / 60) - math.floor(second * self._per_minute / 60)

    def acquire(self, max_wait: float | None = None) -> Throttled | None:
        """Take a place in the first second that has one, and sleep until that second; ``Throttled`` (no place
        taken) when that would mean waiting longer than ``max_wait``."""
        now = self._clock()
        with self._lock:
            second = max(math.floor(now), self._full_until)
        while True:
            wait = max(0.0, second - now)
            if max_wait is not None and wait > max_wait:
                return Throttled(wait)
            allowance = self.allowance(second)  # 0 in some seconds when the budget is under 60 a minute
            if allowance and self._counts.add(second, 1) <= allowance:
                break
            second += 1
            with self._lock:
                self._full_until = max(self._full_until, second)
        if wait > 0:
            self._sleep(wait)
        return None

    def throttled(self, retry_after: float | None = None) -> None:
        """The provider answered 429: fill the seconds of its ``Retry-After`` for every caller (once per second
        for all the 429s of a wave)."""
        now = self._clock()
        pause = min(MAX_PAUSE_SECONDS, retry_after or DEFAULT_PAUSE_SECONDS)
        last = math.floor(now + pause)
        with self._lock:
            first = max(math.floor(now), self._paused_until)
            self._paused_until = max(self._paused_until, last + 1)
            self._full_until = max(self._full_until, last + 1)
        for second in range(first, last + 1):
            self._counts.add(second, self.allowance(second))

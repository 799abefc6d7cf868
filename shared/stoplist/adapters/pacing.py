"""Pacing of one instance's provider calls: a token bucket whose rate drops on a 429 and climbs back.

SMS Partner allows 2,000 requests a minute per IP and answers 429 beyond. Every function instance gets a
share of ``ProviderRequestsPerMinute`` (``Settings.provider_calls_per_minute``) and spends it here:

- a token bucket of ``burst`` tokens (a batch: one wave per batch), refilled at the instance's rate;
- a sliding window over the last ``window_seconds`` (5 s): no more calls start in any such window than the
  rate allows in it, or than ``burst`` when that is more (a batch still goes in one wave). The bucket alone
  allows ``burst`` plus 5 s of its rate in 5 s, and every instance starts a backlog on a full bucket:
  against a stand-in allowing 100 calls in any 5 s, with ProviderRequestsPerMinute at 90 % of it, 500
  opt-outs met 4.6 % of 429s with the bucket alone, none with the window (the busiest 5 s served 87-88
  calls; bench/backlog.py, moto and DynamoDB Local on 2 loaded cores). A second token bucket cannot hold
  that line (whatever its size, its 5 s allowance is its size plus 5 s of refill); a log of the window's
  start times can, exactly: a call starts no earlier than the window's oldest counted call plus the window;
- a call takes the next free slot, waiting for it in the worker thread, but never past the caller's
  ``start_by`` (the invocation's deadline): then it gets a :class:`Throttled` answer with the wait instead,
  so that the record can come back once the wait is over;
- a 429 halves the instance's rate (once for all the 429s of a wave: at most once a second) and empties its
  bucket (and, with a ``Retry-After``, pauses it that long); the rate climbs back linearly to the full share
  over ``recovery_seconds``.

A library could do the bucket, but not the deadline-bounded wait, the window and the 429 slow-down together;
this is about 80 lines.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Throttled:
    """No slot before ``start_by``: the next one is ``wait_seconds`` away."""

    wait_seconds: float


class Pacer:
    def __init__(
        self,
        *,
        calls_per_minute: float,
        burst: int,
        window_seconds: float = 5.0,
        min_share: float = 0.05,
        recovery_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._full_rate = max(calls_per_minute, 0.001) / 60.0
        self._min_rate = self._full_rate * min_share
        self._burst = max(1, burst)
        self._recovery = recovery_seconds
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(self._burst)
        self._updated = clock()
        self._slow_rate = self._full_rate
        self._slowed_at = -float("inf")
        self._window = window_seconds
        self._starts: list[float] = []  # the start times of the calls granted in the last window, sorted

    def rate(self, now: float | None = None) -> float:
        """Calls per second allowed now: the full share, or on its way back to it after a 429."""
        now = self._clock() if now is None else now
        progress = min(1.0, (now - self._slowed_at) / self._recovery) if self._recovery > 0 else 1.0
        return self._slow_rate + (self._full_rate - self._slow_rate) * progress

    def acquire(self, start_by: float | None = None) -> Throttled | None:
        """Take a slot, sleeping until it comes; ``Throttled`` (and no slot taken) if it comes after ``start_by``."""
        with self._lock:
            now = self._clock()
            rate = self._refill(now)
            wait = max(0.0, (1.0 - self._tokens) / rate, self._window_wait(now, rate))
            if start_by is not None and now + wait > start_by:
                return Throttled(wait)
            self._tokens -= 1.0
            bisect.insort(self._starts, now + wait)
        if wait > 0:
            self._sleep(wait)
        return None

    def throttled(self, retry_after: float | None = None) -> None:
        """The provider answered 429: halve the rate, drop the burst, and pause for ``Retry-After`` if given.

        The 429s of one wave are one signal: the rate is halved at most once a second."""
        with self._lock:
            now = self._clock()
            rate = self._refill(now)
            if now - self._slowed_at >= 1.0:
                self._slow_rate = max(self._min_rate, rate / 2)
                self._slowed_at = now
            self._tokens = min(self._tokens, 0.0) - (retry_after or 0.0) * self._slow_rate

    def _window_wait(self, now: float, rate: float) -> float:
        """Until a call may start without more than the window's allowance started in any window."""
        del self._starts[: bisect.bisect_right(self._starts, now - self._window)]
        allowed = max(self._burst, math.floor(rate * self._window))
        if len(self._starts) < allowed:
            return 0.0
        return max(0.0, self._starts[-allowed] + self._window - now)

    def _refill(self, now: float) -> float:
        rate = self.rate(now)
        self._tokens = min(float(self._burst), self._tokens + (now - self._updated) * rate)
        self._updated = now
        return rate

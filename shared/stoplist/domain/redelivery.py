"""When a record that failed comes back: later and later, so that an opt-out outlives a day-long outage.

A record that failed for a transient reason is made invisible for ``base * 2^(receive - 1)`` seconds, capped
just under SQS's 12-hour visibility limit, times a jitter factor drawn in ``[min_jitter, 1]`` (so a backlog
spreads out, and the waits keep a floor that :meth:`RedeliverySchedule.guaranteed_wait` can count on). With
the defaults (120 s, 0.75, MaxReceiveCount 12) the waits before dead-lettering add up to at least 30.7 hours
(the arithmetic: docs/provider-limits.md, "Outages"; ``tests/unit/test_redelivery.py`` checks it against the
template).

A throttled record (429, or no slot in this instance's share of the rate limit) is not a failure: it waits
about as long as the pacer says, at most SQS's 15-minute message delay.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

SQS_MAX_VISIBILITY_SECONDS = 43_200
# The 12 hours count from the receive; the wait is set at the end of an invocation (30 s timeout, 1 s batching
# window): leave two minutes.
MAX_BACKOFF_SECONDS = SQS_MAX_VISIBILITY_SECONDS - 120
SQS_MAX_DELAY_SECONDS = 900


@dataclass(frozen=True)
class RedeliverySchedule:
    base_seconds: float
    min_jitter: float
    cap_seconds: float = MAX_BACKOFF_SECONDS

    def step(self, receive_count: int) -> float:
        """The wait after a failed receive, before jitter."""
        return min(self.cap_seconds, self.base_seconds * 2.0 ** max(0, receive_count - 1))

    def backoff(self, receive_count: int) -> int:
        """Seconds a record that failed on this receive stays invisible."""
        return math.floor(self.step(receive_count) * random.uniform(self.min_jitter, 1.0))  # noqa: S311

    def guaranteed_wait(self, max_receive_count: int) -> float:
        """The least total wait before the last receive: the floor of every wait after receives 1 .. max - 1."""
        return sum(self.min_jitter * self.step(receive) for receive in range(1, max_receive_count))

    @staticmethod
    def throttle_delay(wait_seconds: float) -> int:
        """A throttled record comes back once the pacer's wait is over, spread by up to half again."""
        spread = wait_seconds * random.uniform(1.0, 1.5)  # noqa: S311
        return max(1, min(SQS_MAX_DELAY_SECONDS, math.ceil(spread)))

"""When a record that failed comes back: later and later, so that an opt-out outlives a day-long outage.

A record that failed for a transient reason is made invisible for ``base * 2^(receive - 1)`` seconds, capped
just under SQS's 12-hour visibility limit, times a jitter factor drawn in ``[min_jitter, 1]`` (so a backlog
spreads out, and the waits keep a floor that :meth:`RedeliverySchedule.guaranteed_wait` can count on). With
the defaults (120 s, 0.75, MaxReceiveCount 12) the waits before dead-lettering add up to at least 30.7 hours
(the arithmetic: docs/provider-limits.md, "Outages"; ``tests/unit/domain/test_redelivery.py`` checks it against the
template). The longest waits bound the receive count: past 36, a message whose jitter draws are all high would
outlive the queue's 14-day retention before its last receive (:meth:`RedeliverySchedule.most_receives_within`).

A throttled record (429, or no place in the provider's budget before the deadline) is not a failure: it waits
about as long as the pacer says, at most SQS's 15-minute message delay.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from stoplist.domain.backoff import Backoff, Uniform

SQS_MAX_VISIBILITY_SECONDS = 43_200
# A receive's own time before its wait starts: the wait is set at the end of an invocation (30 s timeout, 1 s
# batching window); two minutes.
INVOCATION_ALLOWANCE_SECONDS = 120
# The 12 hours count from the receive: leave that allowance.
MAX_BACKOFF_SECONDS = SQS_MAX_VISIBILITY_SECONDS - INVOCATION_ALLOWANCE_SECONDS
SQS_MAX_DELAY_SECONDS = 900


@dataclass(frozen=True)
class RedeliverySchedule:
    base_seconds: float
    min_jitter: float
    cap_seconds: float = MAX_BACKOFF_SECONDS
    uniform: Uniform = field(default=random.uniform, compare=False, repr=False)

    @property
    def _backoff(self) -> Backoff:
        return Backoff(self.base_seconds, self.cap_seconds, self.min_jitter, self.uniform)

    def step(self, receive_count: int) -> float:
        """The wait after a failed receive, before jitter."""
        return self._backoff.step(receive_count)

    def backoff(self, receive_count: int) -> int:
        """Seconds a record that failed on this receive stays invisible."""
        return math.floor(self._backoff.delay(receive_count))

    def guaranteed_wait(self, max_receive_count: int) -> float:
        """The least total wait before the last receive: the floor of every wait after receives 1 .. max - 1."""
        return sum(self.min_jitter * self.step(receive) for receive in range(1, max_receive_count))

    def longest_wait(self, max_receive_count: int) -> float:
        """The most time from a message's first receive to its last: every wait at its full step (a jitter draw of
        1), each after an invocation's allowance. SQS deletes a message at its retention, counted from the send,
        so past the retention a waiting opt-out is lost without a dead letter."""
        return sum(self.step(receive) + INVOCATION_ALLOWANCE_SECONDS for receive in range(1, max_receive_count))

    def most_receives_within(self, retention_seconds: float) -> int:
        """The largest receive count whose longest wait ends within the retention (the template's MaxValue of
        MaxReceiveCount; tests/unit/domain/test_redelivery.py holds the two together)."""
        receives = 1
        while self.longest_wait(receives + 1) <= retention_seconds:
            receives += 1
        return receives

    @staticmethod
    def throttle_delay(wait_seconds: float) -> int:
        """A throttled record comes back once the pacer's wait is over, spread by up to half again."""
        spread = wait_seconds * random.uniform(1.0, 1.5)  # noqa: S311
        return max(1, min(SQS_MAX_DELAY_SECONDS, math.ceil(spread)))

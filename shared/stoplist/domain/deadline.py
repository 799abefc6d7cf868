"""The invocation's deadline, so that no call outlives the function's timeout.

Lambda kills an invocation at its timeout: records on their last receive would then be redriven to the
dead-letter queue without their reason, and finished siblings would come back. Every wait and every provider
call is bounded by :meth:`Deadline.remaining`; ``margin_seconds`` is kept for what comes after the calls
(dead-lettering, visibility changes, the batch response).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


class HasRemainingTime(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


@dataclass(frozen=True)
class Deadline:
    at: float  # on ``clock``'s scale
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)

    @classmethod
    def from_context(
        cls, context: HasRemainingTime, margin_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> Deadline:
        return cls(clock() + context.get_remaining_time_in_millis() / 1000 - margin_seconds, clock)

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        return cls(clock() + seconds, clock)

    def remaining(self) -> float:
        return self.at - self.clock()

"""The one exponential backoff: ``base * 2^(attempt - 1)``, capped, then jittered, from an injectable random source.

Every wait between two tries is drawn here: a record's redelivery (``stoplist.domain.redelivery``: jitter in
``[min_jitter, 1]`` of the step, so its waits keep a floor), a provider call's retries inside an invocation
(``stoplist.adapters.provider``), PutEvents' refused entries (``stoplist.adapters.bus``) and DynamoDB's unprocessed
items (``stoplist.adapters.aws``), the last three with full jitter (``min_jitter`` 0: anywhere in ``[0, step]``),
so that callers who failed together do not come back together.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

# A uniform draw in [low, high], ``random.uniform``'s signature: tests pass their own to fix the draw.
Uniform = Callable[[float, float], float]


@dataclass(frozen=True)
class Backoff:
    base_seconds: float
    cap_seconds: float = math.inf
    # The least fraction of the step a wait keeps: 0 is full jitter, 1 no jitter.
    min_jitter: float = 0.0
    uniform: Uniform = field(default=random.uniform, compare=False, repr=False)

    def step(self, attempt: int) -> float:
        """The wait after the ``attempt``-th failure (1 for the first), before jitter."""
        return min(self.cap_seconds, self.base_seconds * 2.0 ** max(0, attempt - 1))

    def delay(self, attempt: int) -> float:
        """The wait after the ``attempt``-th failure: a draw in ``[min_jitter * step, step]``."""
        step = self.step(attempt)
        return self.uniform(self.min_jitter * step, step)

"""A circuit breaker per instance: while the provider is known down, calls are skipped, not sent.

After ``threshold`` consecutive failures (HTTP 5xx, timeouts, connection errors, unreadable answers; not 429s,
which the pacer handles, and not error codes, which are answers) the circuit opens for ``cooldown_seconds``:
calls fail at once with the last error. Then one call goes through as a probe (half-open): its success closes
the circuit, its failure opens it again for twice as long, up to ``max_cooldown_seconds`` (a minute by default:
the provider's return is seen within a minute, for about one call a minute per instance while it is down). So
during an outage an instance makes a handful of calls on its first batch, then about one per cooldown, however
many records come back.

While the probe is under way the other calls of the batch wait for its answer (``patience`` seconds at most,
which the caller bounds by its deadline) instead of failing: when the provider is back, the whole first batch
after the outage goes through, rather than one record and a backoff step (minutes) for the others. A call that
finds the circuit open waits, within the same patience, for the probe's time too: with a cooldown shorter than
the patience, a record fails only when a probe did, never because this instance had not yet seen the provider's
return. Failing at once there cost records that came back just after a 10-minute outage a further, doubled
backoff step: the last STOP was honoured 866 s after the return instead of within the 480 s step (bench/honour.py,
with a cooldown of 30 s to 60 s).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class CircuitBreaker:
    def __init__(
        self,
        *,
        threshold: int,
        cooldown_seconds: float,
        max_cooldown_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = max(1, threshold)
        self._base_cooldown = cooldown_seconds
        self._max_cooldown = max(cooldown_seconds, max_cooldown_seconds)
        self._clock = clock
        self._lock = threading.Lock()
        self._probe_done = threading.Condition(self._lock)
        self._failures = 0
        self._cooldown = cooldown_seconds
        self._open_until: float | None = None
        self._probing = False
        self.last_error = ""

    def blocked(self, patience: float = 0.0) -> tuple[str, float] | None:
        """``None`` if a call may go now (closed, or the one probe of a half-open circuit); else why not, and the
        seconds until a probe may go (a record skipped now should not come back sooner).

        Waits up to ``patience`` seconds (real time): for the answer of a probe under way (its success lets this
        call go, its failure blocks it; an abandoned probe makes this call the probe), and for the probe's time
        when it comes within the patience (this call may then be the probe)."""
        with self._lock:
            give_up = time.monotonic() + patience
            while True:
                if self._open_until is None:
                    return None
                now = self._clock()
                if now >= self._open_until and not self._probing:
                    self._probing = True
                    return None
                left = give_up - time.monotonic()
                until_probe = 0.0 if self._probing else self._open_until - now
                if left <= 0 or until_probe > left:
                    break
                self._probe_done.wait(until_probe or left)
            wait = self._open_until - now if now < self._open_until else self._cooldown
            why = f"provider known unavailable after {self._failures} failed calls, last: {self.last_error}"
            return why, wait

    def succeeded(self) -> None:
        with self._lock:
            self._failures = 0
            self._open_until = None
            self._probing = False
            self._cooldown = self._base_cooldown
            self._probe_done.notify_all()

    def failed(self, error: str) -> None:
        with self._lock:
            self._failures += 1
            self.last_error = error
            if self._probing:
                self._probing = False
                self._cooldown = min(self._max_cooldown, self._cooldown * 2)
                self._open_until = self._clock() + self._cooldown
                self._probe_done.notify_all()
            elif self._open_until is None and self._failures >= self._threshold:
                self._open_until = self._clock() + self._cooldown

    def abandoned(self) -> None:
        """A call allowed by :meth:`blocked` was not made after all: the probe goes to the next call."""
        with self._lock:
            self._probing = False
            self._probe_done.notify_all()

    @property
    def is_open(self) -> bool:
        with self._lock:
            return self._open_until is not None

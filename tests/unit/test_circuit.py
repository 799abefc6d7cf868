from __future__ import annotations

from stoplist.adapters.circuit import CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker(threshold=3, cooldown_seconds=30, max_cooldown_seconds=100, clock=clock)


def test_opens_after_consecutive_failures_and_names_the_last_error() -> None:
    circuit = breaker(Clock())
    for _ in range(2):
        assert circuit.blocked() is None
        circuit.failed("HTTP 503")
    circuit.succeeded()  # a success in between resets the count
    for _ in range(3):
        circuit.failed("HTTP 503")
    blocked = circuit.blocked()
    assert blocked is not None
    why, wait = blocked
    assert "HTTP 503" in why
    assert wait == 30


def test_one_probe_after_the_cooldown_closes_it_on_success() -> None:
    clock = Clock()
    circuit = breaker(clock)
    for _ in range(3):
        circuit.failed("ReadTimeout")
    clock.now = 29
    assert circuit.blocked() is not None
    clock.now = 30
    assert circuit.blocked() is None  # the probe
    assert circuit.blocked() is not None  # only one at a time
    circuit.succeeded()
    assert circuit.blocked() is None
    assert not circuit.is_open


def test_a_failed_probe_doubles_the_cooldown_up_to_the_cap() -> None:
    clock = Clock()
    circuit = breaker(clock)
    for _ in range(3):
        circuit.failed("HTTP 500")
    waits = []
    for _ in range(4):
        opened_at = clock.now
        while circuit.blocked() is not None:
            clock.now += 1
        waits.append(clock.now - opened_at)
        circuit.failed("HTTP 500")
    assert waits == [30, 60, 100, 100]


def test_an_abandoned_probe_goes_to_the_next_call() -> None:
    clock = Clock()
    circuit = breaker(clock)
    for _ in range(3):
        circuit.failed("HTTP 500")
    clock.now = 30
    assert circuit.blocked() is None
    circuit.abandoned()  # e.g. no pacer slot before the deadline
    assert circuit.blocked() is None

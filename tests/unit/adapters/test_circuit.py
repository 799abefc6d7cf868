from __future__ import annotations

import threading
import time

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


def half_open(clock: Clock) -> CircuitBreaker:
    """A circuit whose probe has just been let through."""
    circuit = breaker(clock)
    for _ in range(3):
        circuit.failed("HTTP 503")
    clock.now = 30
    assert circuit.blocked() is None  # the probe
    return circuit


def ask_in_thread(circuit: CircuitBreaker, patience: float) -> tuple[threading.Thread, list[object]]:
    answers: list[object] = []
    thread = threading.Thread(target=lambda: answers.append(circuit.blocked(patience)))
    thread.start()
    return thread, answers


def test_calls_during_the_probe_wait_for_it_and_go_when_it_succeeds() -> None:
    circuit = half_open(Clock())
    waiting = [ask_in_thread(circuit, patience=5.0) for _ in range(9)]
    time.sleep(0.05)
    assert all(thread.is_alive() for thread, _ in waiting)  # not failed at once: waiting for the probe

    circuit.succeeded()

    for thread, answers in waiting:
        thread.join(timeout=2)
        assert answers == [None]


def test_calls_during_the_probe_are_blocked_when_it_fails() -> None:
    circuit = half_open(Clock())
    thread, answers = ask_in_thread(circuit, patience=5.0)
    time.sleep(0.05)

    circuit.failed("HTTP 503")

    thread.join(timeout=2)
    [blocked] = answers
    assert isinstance(blocked, tuple)
    assert blocked[1] == 60  # the doubled cooldown


def test_the_wait_for_the_probe_is_bounded_by_the_patience() -> None:
    circuit = half_open(Clock())
    started = time.monotonic()
    blocked = circuit.blocked(patience=0.2)
    elapsed = time.monotonic() - started
    assert blocked is not None
    assert 0.2 <= elapsed < 1.0


def test_an_abandoned_probe_hands_over_to_a_waiting_call() -> None:
    circuit = half_open(Clock())
    thread, answers = ask_in_thread(circuit, patience=5.0)
    time.sleep(0.05)

    circuit.abandoned()

    thread.join(timeout=2)
    assert answers == [None]  # the waiting call is the new probe
    assert circuit.blocked() is not None  # and the only one


def test_a_call_waits_for_a_probe_due_within_its_patience_and_becomes_it() -> None:
    """Not a failure for a record when the provider may be back already: it waits the 0.2 s to the probe."""
    circuit = CircuitBreaker(threshold=1, cooldown_seconds=0.2, max_cooldown_seconds=0.2)
    circuit.failed("HTTP 503")
    started = time.monotonic()
    assert circuit.blocked(patience=1.0) is None  # the probe
    assert 0.15 <= time.monotonic() - started < 1.0
    blocked = circuit.blocked(patience=0.0)
    assert blocked is not None  # one probe at a time


def test_a_call_whose_patience_ends_before_the_probe_fails_at_once_with_the_wait() -> None:
    circuit = CircuitBreaker(threshold=1, cooldown_seconds=30, max_cooldown_seconds=30)
    circuit.failed("HTTP 503")
    started = time.monotonic()
    blocked = circuit.blocked(patience=5.0)
    assert blocked is not None
    assert time.monotonic() - started < 0.5  # no wait that could not end in a probe
    assert 29 < blocked[1] <= 30

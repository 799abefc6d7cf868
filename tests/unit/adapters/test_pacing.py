from __future__ import annotations

import itertools
import math
import threading
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stoplist.adapters.pacing import MAX_PAUSE_SECONDS, LocalCallCounts, Pacer, Throttled


class FakeClock:
    """Time that moves only when the pacer sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


class CountingCounts(LocalCallCounts):
    """The counts, and how many adds reached them (each is one write in the shared table)."""

    def __init__(self) -> None:
        super().__init__()
        self.adds = 0

    def add(self, second: int, calls: int) -> int:
        self.adds += 1
        return super().add(second, calls)


def pacer(clock: FakeClock, per_minute: float = 60.0, counts: LocalCallCounts | None = None) -> Pacer:
    return Pacer(calls_per_minute=per_minute, counts=counts or LocalCallCounts(), clock=clock, sleep=clock.sleep)


def test_the_allowances_of_any_sixty_seconds_add_up_to_the_budget() -> None:
    budget = pacer(FakeClock(), per_minute=1950)
    assert {budget.allowance(second) for second in range(1000, 1060)} == {32, 33}
    for start in range(1000, 1100):
        assert sum(budget.allowance(second) for second in range(start, start + 60)) == 1950


def test_a_second_takes_its_allowance_at_once_then_the_next_second() -> None:
    clock = FakeClock()
    budget = pacer(clock, per_minute=600)  # 10 a second
    for _ in range(10):
        assert budget.acquire() is None
    assert clock.now == 1000.0  # a batch goes in one wave
    assert budget.acquire() is None
    assert clock.now == pytest.approx(1001.0)  # the 11th waits for the next second


def test_instances_share_one_budget_through_the_counts() -> None:
    """Two instances (two pacers, one table): together, no more than the budget; either alone, all of it."""
    clock = FakeClock()
    counts = LocalCallCounts()
    first, second = pacer(clock, 600, counts), pacer(clock, 600, counts)
    for _ in range(7):
        assert first.acquire() is None
    for _ in range(3):
        assert second.acquire() is None
    assert clock.now == 1000.0
    assert second.acquire() is None
    assert clock.now == pytest.approx(1001.0)  # the second's 10 places went to both together


def test_a_place_after_the_wait_allowed_is_refused_with_the_wait_and_not_taken() -> None:
    clock = FakeClock()
    counts = CountingCounts()
    budget = pacer(clock, per_minute=60, counts=counts)  # 1 a second
    clock.now = 1000.5
    assert budget.acquire() is None
    refused = budget.acquire(max_wait=0.2)
    assert isinstance(refused, Throttled)
    assert refused.wait_seconds == pytest.approx(0.5)  # second 1001 starts in 0.5 s
    assert clock.now == 1000.5  # no sleep
    assert counts.add(1001, 0) == 0  # second 1001 was not taken by the refusal
    assert budget.acquire(max_wait=0.5) is None
    assert clock.now == pytest.approx(1001.0)


def test_seconds_found_full_are_not_asked_again() -> None:
    clock = FakeClock()
    counts = CountingCounts()
    other, budget = pacer(clock, 60, counts), pacer(clock, 60, counts)  # 1 a second
    assert other.acquire() is None  # another instance takes second 1000
    assert isinstance(budget.acquire(max_wait=0.0), Throttled)  # 1000 asked: full
    adds = counts.adds
    assert isinstance(budget.acquire(max_wait=0.0), Throttled)
    assert counts.adds == adds  # 1000 is known full: not asked again, and 1001 is too far


def test_a_budget_under_one_a_second_skips_the_seconds_without_places_without_asking() -> None:
    clock = FakeClock()
    counts = CountingCounts()
    budget = pacer(clock, per_minute=12, counts=counts)  # one place every 5 s
    starts = []
    for _ in range(4):
        assert budget.acquire() is None
        starts.append(clock.now)
    assert [b - a for a, b in itertools.pairwise(starts)] == [pytest.approx(5.0)] * 3
    assert counts.adds <= 4 + 3  # one add per place, plus one per second found full


def test_a_429_pauses_every_caller_for_its_retry_after() -> None:
    clock = FakeClock()
    counts = LocalCallCounts()
    throttled, other = pacer(clock, 600, counts), pacer(clock, 600, counts)
    throttled.throttled(retry_after=3)
    refused = other.acquire(max_wait=2.5)  # another instance: seconds 1000 to 1003 are full
    assert isinstance(refused, Throttled)
    assert refused.wait_seconds == pytest.approx(3.0)  # second 1003, the first not asked, is 3 s away
    assert other.acquire() is None
    assert clock.now == pytest.approx(1004.0)


def test_a_429_without_retry_after_pauses_a_second_and_a_long_one_at_most_the_ceiling() -> None:
    clock = FakeClock()
    clock.now = 1000.5
    budget = pacer(clock, 600)
    budget.throttled()
    assert budget.acquire() is None
    assert clock.now == pytest.approx(1002.0)  # 1000 and 1001 filled: a second from 1000.5
    budget.throttled(retry_after=3600)
    assert budget.acquire() is None
    assert clock.now == pytest.approx(1002.0 + MAX_PAUSE_SECONDS + 1)


def test_the_429s_of_one_wave_fill_each_second_once() -> None:
    clock = FakeClock()
    counts = CountingCounts()
    budget = pacer(clock, 600, counts)
    for _ in range(10):
        budget.throttled()
    assert counts.adds == 2  # seconds 1000 and 1001, by the first 429


def test_concurrent_callers_take_exactly_the_places_there_are() -> None:
    clock = FakeClock()
    waits: list[float] = []
    # 2 a second; the callers' sleeps do not move this clock: every one of them starts looking at second 1000.
    budget = Pacer(calls_per_minute=120, counts=LocalCallCounts(), clock=clock, sleep=waits.append)
    threads = [threading.Thread(target=budget.acquire, kwargs={"max_wait": 100.0}) for _ in range(25)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    starts = Counter([1000.0] * (25 - len(waits)) + [1000.0 + wait for wait in waits])
    assert starts == {1000.0 + second: 2 for second in range(12)} | {1012.0: 1}


def busiest(starts: list[float], window: float) -> int:
    """The most calls started in any window of ``window`` seconds, half-open."""
    return max(sum(1 for other in starts if start <= other < start + window - 1e-9) for start in starts)


@settings(max_examples=60, deadline=None)
@given(
    per_minute=st.floats(min_value=6, max_value=3000),
    instances=st.integers(min_value=1, max_value=5),
    calls=st.lists(st.tuples(st.integers(0, 4), st.floats(min_value=0, max_value=3)), min_size=1, max_size=80),
)
def test_no_minute_ever_holds_more_than_the_budget_and_one_second(
    per_minute: float, instances: int, calls: list[tuple[int, float]]
) -> None:
    clock = FakeClock()
    counts = LocalCallCounts()
    pacers = [pacer(clock, per_minute, counts) for _ in range(instances)]
    starts = []
    for which, gap in calls:
        clock.now += gap  # callers come when they come, to any instance
        assert pacers[which % instances].acquire() is None
        starts.append(clock.now)
    assert busiest(starts, 60.0) <= math.ceil(per_minute) + math.ceil(per_minute / 60)
    per_second = Counter(math.floor(start) for start in starts)
    assert all(count <= pacers[0].allowance(second) for second, count in per_second.items())

from __future__ import annotations

import math
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stoplist.adapters.pacing import Pacer, Throttled


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


def pacer(clock: FakeClock, per_minute: float = 60.0, burst: int = 10, **kwargs: float) -> Pacer:
    return Pacer(calls_per_minute=per_minute, burst=burst, clock=clock, sleep=clock.sleep, **kwargs)


def test_a_full_bucket_lets_a_batch_go_at_once_then_paces_at_the_rate() -> None:
    clock = FakeClock()
    bucket = pacer(clock, per_minute=60, burst=10)
    for _ in range(10):
        assert bucket.acquire() is None
    assert clock.now == 1000.0  # one wave: no wait for the first batch
    assert bucket.acquire() is None
    assert clock.now == pytest.approx(1005.0)  # the window: no more than the burst in the first 5 s
    for _ in range(4):
        assert bucket.acquire() is None
    assert clock.now == pytest.approx(1005.0)  # what the bucket refilled meanwhile
    for _ in range(5):
        assert bucket.acquire() is None
    assert clock.now == pytest.approx(1010.0)  # then one call a second


def test_a_slot_after_the_deadline_is_refused_with_the_wait_and_not_taken() -> None:
    clock = FakeClock()
    bucket = pacer(clock, per_minute=60, burst=1)
    assert bucket.acquire() is None
    refused = bucket.acquire(start_by=clock.now + 0.5)
    assert isinstance(refused, Throttled)
    assert refused.wait_seconds == pytest.approx(1.0)
    assert clock.now == 1000.0  # no sleep
    assert bucket.acquire(start_by=clock.now + 1.0) is None  # the refused slot was not spent
    assert clock.now == pytest.approx(1001.0)


def test_a_429_halves_the_rate_drops_the_burst_and_recovers_over_time() -> None:
    clock = FakeClock()
    bucket = pacer(clock, per_minute=60, burst=10, recovery_seconds=60)
    bucket.throttled()
    assert bucket.rate() == pytest.approx(0.5)
    refused = bucket.acquire(start_by=clock.now)  # no burst left
    assert isinstance(refused, Throttled)
    assert refused.wait_seconds == pytest.approx(2.0)
    clock.now += 30
    assert bucket.rate() == pytest.approx(0.75)
    clock.now += 30
    assert bucket.rate() == pytest.approx(1.0)


def test_retry_after_pauses_the_instance() -> None:
    clock = FakeClock()
    bucket = pacer(clock, per_minute=600, burst=10)
    bucket.throttled(retry_after=20)
    refused = bucket.acquire(start_by=clock.now + 5)
    assert isinstance(refused, Throttled)
    assert refused.wait_seconds >= 20


def test_repeated_429s_never_stop_the_instance() -> None:
    clock = FakeClock()
    bucket = pacer(clock, per_minute=60, burst=1, min_share=0.05)
    for _ in range(50):
        bucket.throttled()
        clock.now += 1.0
    assert 0.05 <= bucket.rate() < 0.1  # the floor (5 % of the share), plus a second of recovery


def test_the_429s_of_one_wave_halve_the_rate_once() -> None:
    clock = FakeClock()
    bucket = pacer(clock, per_minute=60, burst=10)
    for _ in range(10):
        bucket.throttled()
    assert bucket.rate() == pytest.approx(0.5)


def test_concurrent_callers_never_exceed_burst_plus_rate() -> None:
    clock = FakeClock()
    bucket = pacer(clock, per_minute=120, burst=5)
    threads = [threading.Thread(target=bucket.acquire) for _ in range(25)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 25 calls: 5 from the burst, 20 at 2 a second -> the last slot 10 s on (sleeps run in parallel here).
    assert bucket.acquire(start_by=clock.now) is not None


def busiest(starts: list[float], window: float) -> int:
    """The most calls started in any window of ``window`` seconds (half-open, as the pacer counts; a
    nanosecond spared for the float sums of the fake clock)."""
    return max(sum(1 for other in starts if start <= other < start + window - 1e-9) for start in starts)


def test_any_five_seconds_hold_the_share_even_from_a_full_bucket() -> None:
    clock = FakeClock()
    bucket = pacer(clock, per_minute=120, burst=10)  # 2 a second: 10 in any 5 s
    starts = []
    for _ in range(40):
        assert bucket.acquire() is None
        starts.append(clock.now)
    assert starts[:10] == [1000.0] * 10  # the batch still goes in one wave
    assert busiest(starts, 5.0) == 10  # the bucket alone would start 20 in the first 5 s
    assert starts[-1] - starts[0] == pytest.approx(15.0, abs=0.5)  # and the long-run rate is unchanged


@settings(max_examples=60, deadline=None)
@given(
    per_minute=st.floats(min_value=6, max_value=3000),
    burst=st.integers(min_value=1, max_value=50),
    gaps=st.lists(st.floats(min_value=0, max_value=3), min_size=1, max_size=80),
)
def test_no_window_ever_holds_more_than_the_rate_allows(per_minute: float, burst: int, gaps: list[float]) -> None:
    clock = FakeClock()
    bucket = pacer(clock, per_minute=per_minute, burst=burst)
    starts = []
    for gap in gaps:
        clock.now += gap  # callers come when they come
        assert bucket.acquire() is None
        starts.append(clock.now)
    assert busiest(starts, 5.0) <= max(burst, math.floor(per_minute / 60 * 5))
    assert busiest(starts, 60.0) <= burst + per_minute + 1


def test_a_refused_slot_leaves_the_window_alone() -> None:
    clock = FakeClock()
    bucket = pacer(clock, per_minute=1200, burst=10)  # 100 in any 5 s
    for _ in range(100):
        assert bucket.acquire() is None
    assert clock.now == pytest.approx(1000.0 + 90 * 0.05)  # a wave of 10, then 20 a second
    refused = bucket.acquire(start_by=clock.now + 0.1)
    assert isinstance(refused, Throttled)
    assert refused.wait_seconds == pytest.approx(0.5)  # the window's wait (the bucket's would be 0.05 s)
    assert bucket.acquire() is None
    assert clock.now == pytest.approx(1005.0)  # the refused slot was not counted in the window

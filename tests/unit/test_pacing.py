from __future__ import annotations

import threading

import pytest
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
    for _ in range(5):
        assert bucket.acquire() is None
    assert clock.now == pytest.approx(1005.0)  # then one call a second


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

"""The one backoff and each caller's figures, with the random draw fixed at its ends (``uniform`` injected)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from stoplist.adapters.aws import UNPROCESSED_BACKOFF, until_processed
from stoplist.adapters.bus import EventBus
from stoplist.adapters.provider import RetryPolicy
from stoplist.config import Settings
from stoplist.domain.backoff import Backoff, Uniform
from stoplist.domain.records import Announcement
from stoplist.domain.redelivery import MAX_BACKOFF_SECONDS, RedeliverySchedule


def lowest(low: float, _high: float) -> float:
    return low


def highest(_low: float, high: float) -> float:
    return high


def test_the_step_doubles_from_the_base_up_to_the_cap() -> None:
    backoff = Backoff(0.5, cap_seconds=3.0)
    assert [backoff.step(attempt) for attempt in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert backoff.step(0) == 0.5  # no attempt before the first
    assert Backoff(0.5).step(30) == 0.5 * 2**29  # uncapped by default


@pytest.mark.parametrize(("min_jitter", "low", "high"), [(0.0, 0.0, 4.0), (0.75, 3.0, 4.0), (1.0, 4.0, 4.0)])
def test_the_draw_lies_between_the_floor_and_the_step(min_jitter: float, low: float, high: float) -> None:
    draws: list[tuple[float, float]] = []

    def record(a: float, b: float) -> float:
        draws.append((a, b))
        return a

    assert Backoff(1.0, min_jitter=min_jitter, uniform=record).delay(3) == low
    assert draws == [(low, high)]
    assert Backoff(1.0, min_jitter=min_jitter, uniform=highest).delay(3) == high


def test_the_default_source_is_random() -> None:
    delays = {Backoff(1.0).delay(5) for _ in range(20)}
    assert len(delays) > 1
    assert all(0 <= delay <= 16 for delay in delays)


def test_redelivery_keeps_its_floor_of_three_quarters_and_its_cap_under_12_hours() -> None:
    settings = Settings.from_env({})
    assert (settings.redelivery_base_seconds, settings.redelivery_min_jitter) == (120.0, 0.75)

    def schedule(uniform: Uniform) -> RedeliverySchedule:
        return RedeliverySchedule(base_seconds=120, min_jitter=0.75, uniform=uniform)

    assert [schedule(lowest).backoff(receive) for receive in (1, 2, 3)] == [90, 180, 360]
    assert [schedule(highest).backoff(receive) for receive in (1, 2, 3)] == [120, 240, 480]
    assert schedule(highest).backoff(30) == math.floor(MAX_BACKOFF_SECONDS)


def test_provider_retries_have_full_jitter_capped_at_their_max_and_retry_after_as_a_floor() -> None:
    settings = Settings.from_env({})
    assert (settings.provider_retry_base_seconds, settings.provider_retry_max_seconds) == (0.2, 2.0)
    policy = RetryPolicy(max_attempts=3, base_delay=0.2, max_delay=2.0, uniform=highest)
    assert [policy.delay(attempt, None) for attempt in (1, 2, 5, 6)] == [0.2, 0.4, 2.0, 2.0]
    floor = RetryPolicy(max_attempts=3, base_delay=0.2, max_delay=2.0, uniform=lowest)
    assert floor.delay(4, None) == 0.0
    assert floor.delay(4, 1.5) == 1.5
    assert floor.delay(4, 60.0) == 5.0  # a Retry-After is capped


def test_putevents_retries_have_full_jitter_and_their_own_setting() -> None:
    assert Settings.from_env({"PUBLISH_RETRY_BASE_SECONDS": "0.5"}).publish_retry_base_seconds == 0.5
    assert Settings.from_env({}).publish_retry_base_seconds == 0.2

    class Refusing:
        def put_events(self, Entries: list[dict[str, str]]) -> dict[str, object]:
            return {"Entries": [{"ErrorCode": "InternalFailure"} for _ in Entries]}

    for uniform, expected in ((highest, [0.2, 0.4, 0.8]), (lowest, [0.0, 0.0, 0.0])):
        sleeps: list[float] = []
        bus = EventBus(
            "bus",
            Refusing(),  # type: ignore[arg-type]
            max_attempts=4,
            base_delay=0.2,
            sleep=sleeps.append,
            uniform=uniform,
        )
        assert bus.publish([Announcement("SmsOptOutRecorded", {})]) == 0
        assert sleeps == pytest.approx(expected)


def test_unprocessed_items_wait_with_full_jitter_from_50_ms_up_to_1_s() -> None:
    assert Backoff(0.05, 1.0) == UNPROCESSED_BACKOFF
    sleeps: list[float] = []
    answers = list(
        until_processed(
            lambda _: {"UnprocessedItems": {"t": [1]}} if len(sleeps) < 7 else {},
            {"t": [1]},
            "UnprocessedItems",
            "write",
            sleeps.append,
            backoff=replace(UNPROCESSED_BACKOFF, uniform=highest),
        )
    )
    assert len(answers) == 8
    assert sleeps == pytest.approx([0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0])

from __future__ import annotations

import pytest
from stoplist.config import Settings
from stoplist.domain.redelivery import MAX_BACKOFF_SECONDS, SQS_MAX_VISIBILITY_SECONDS, RedeliverySchedule

from devkit.template import load_template


def default_schedule() -> RedeliverySchedule:
    settings = Settings.from_env({})
    return RedeliverySchedule(base_seconds=settings.redelivery_base_seconds, min_jitter=settings.redelivery_min_jitter)


def test_waits_double_and_stay_under_the_sqs_visibility_limit() -> None:
    schedule = default_schedule()
    steps = [schedule.step(receive) for receive in range(1, 13)]
    assert steps[:4] == [120, 240, 480, 960]
    assert max(steps) == MAX_BACKOFF_SECONDS < SQS_MAX_VISIBILITY_SECONDS
    for receive in range(1, 13):
        for _ in range(50):
            assert (
                schedule.min_jitter * schedule.step(receive) - 1 <= schedule.backoff(receive) <= schedule.step(receive)
            )


def test_the_template_default_waits_out_a_day_long_outage() -> None:
    """The arithmetic of docs/provider-limits.md, "Outages": the least total wait before the last receive is at
    least 24 hours."""
    receives = int(load_template()["Parameters"]["MaxReceiveCount"]["Default"])
    assert receives == Settings.from_env({}).max_receive_count
    least = default_schedule().guaranteed_wait(receives)
    assert least >= 24 * 3600
    assert least == pytest.approx(110_610)  # 30.7 h; one receive fewer would be 21.75 h
    assert default_schedule().guaranteed_wait(receives - 1) < 24 * 3600


def test_the_template_refuses_a_receive_count_whose_waits_outlive_the_queue() -> None:
    """Every accepted MaxReceiveCount reaches its last receive (and so its dead letter) before SQS deletes the
    message at the queue's retention, however the jitter draws; the first refused one may not."""
    template = load_template()
    retention = template["Resources"]["OptOutQueue"]["Properties"]["MessageRetentionPeriod"]
    bound = template["Parameters"]["MaxReceiveCount"]["MaxValue"]
    schedule = default_schedule()
    assert bound == schedule.most_receives_within(retention) == 36
    assert schedule.longest_wait(bound) <= retention < schedule.longest_wait(bound + 1)
    assert schedule.longest_wait(bound) == pytest.approx(1_185_600)  # 13.7 days of the 14


def test_the_longest_wait_is_every_full_step_and_an_invocation_each() -> None:
    schedule = RedeliverySchedule(base_seconds=100, min_jitter=0.5)
    assert schedule.longest_wait(1) == 0
    assert schedule.longest_wait(3) == (100 + 120) + (200 + 120)
    assert schedule.longest_wait(3) > schedule.guaranteed_wait(3) == 150


def test_a_throttled_record_waits_about_the_pacers_wait_within_the_sqs_delay_limit() -> None:
    assert 2 <= RedeliverySchedule.throttle_delay(2.0) <= 3
    assert RedeliverySchedule.throttle_delay(0.01) == 1
    assert RedeliverySchedule.throttle_delay(10_000) == 900

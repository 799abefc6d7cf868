"""Fault injection: 1,000 opt-outs through the local pipeline (queue, event-source poller, handler, redrive)
while the stand-in fails 42 % of the add calls. Nothing is lost, nothing ends in the wrong place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devkit.pipeline import RunOptions, run_pipeline
from tests.helpers import TEST_TUNING

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FAULT_RATES = {"http_500": 0.10, "http_503": 0.10, "http_429": 0.10, "timeout": 0.05, "reset": 0.05, "malformed": 0.02}


def test_thousand_opt_outs_under_provider_faults(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    valid = [f"+3376{index:07d}" for index in range(950)]
    invalid = [f"35{index:02d}" for index in range(50)]  # short numbers: rejected before any call
    numbers_file = tmp_path / "numbers.csv"
    numbers_file.write_text("phone\n" + "\n".join(valid + invalid) + "\n")

    summary = run_pipeline(
        RunOptions(
            numbers_file=numbers_file,
            via="queue",
            fault_rates=FAULT_RATES,
            extra_env={**TEST_TUNING, "PROVIDER_READ_TIMEOUT_SECONDS": "0.3"},
            retry_delay_seconds=0,
        )
    )

    # events/ also go through: 4 valid on the queue, 1 invalid, 1 valid on the bus; then the sample re-opt-in
    samples_in = 6 + 1
    assert summary.total_in == 1000 + samples_in
    assert summary.total_in == summary.accounted  # none lost
    assert set(valid) <= summary.stop_list  # every valid number reached the provider ...
    assert set(valid) <= summary.table_numbers  # ... and the table
    dead = summary.dead_letters["OptOutDeadLetterQueue"]
    dead_numbers = {json.loads(message["body"])["phoneNumber"] for message in dead}
    assert set(invalid) <= dead_numbers  # every invalid one is dead-lettered ...
    assert all(message["reason"] for message in dead)  # ... with its reason
    assert not dead_numbers & summary.stop_list  # and none is in both places
    assert dead_numbers - set(invalid) == {"3639"}  # the sample event's invalid number, nothing else
    assert summary.metrics["OptOutDeadLettered"] == 0  # the redrive budget was never exhausted
    faults = {name: count for name, count in summary.provider_calls.items() if name.startswith("fault_")}
    assert sum(faults.values()) > 300  # the faults really happened
    with capsys.disabled():
        print(
            f"\nfault suite: {summary.total_in} events, {summary.provider_calls['add']} add calls, "
            f"faults injected {sum(faults.values())} ({', '.join(f'{k[6:]} {v}' for k, v in sorted(faults.items()))}), "
            f"records retried later {int(summary.metrics['ProviderTransientError'])}, "
            f"dead-lettered {len(dead)}, lost {summary.total_in - summary.accounted}"
        )

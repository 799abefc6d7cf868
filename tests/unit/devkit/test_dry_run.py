"""The local run's dry run parses and normalises every event of the run, calling nothing (this unit test starts
no server: tests/unit/conftest.py would refuse one)."""

from __future__ import annotations

from pathlib import Path

from devkit.pipeline import RunOptions, dry_run, run_events


def test_each_event_gets_its_number_or_its_rejection(tmp_path: Path) -> None:
    numbers = tmp_path / "numbers.csv"
    numbers.write_text("phone\n06 11 22 33 44\n3639\n07 55 44 33 22\n")

    outcomes = dry_run(RunOptions(numbers_file=numbers, via="both"))

    bodies, bus_events = run_events(RunOptions(numbers_file=numbers, via="both"))
    assert len(outcomes) == len(bodies) + len(bus_events)
    from_file = [outcome for outcome in outcomes if outcome.phone_number in {"06 11 22 33 44", "07 55 44 33 22"}]
    assert [(o.channel, o.e164) for o in from_file] == [("queue", "+33611223344"), ("queue", "+33755443322")]
    rejected = [outcome for outcome in outcomes if outcome.rejection is not None]
    assert {outcome.rejection.reason for outcome in rejected if outcome.rejection} == {"invalid_phone_number"}
    assert ("bus", "") in {(o.channel, o.e164) for o in rejected}  # the file's 3639 went to the bus

"""The interleaving checker (docs/ordering-checker.md): thousands of seeded schedules of the real opt-out,
opt-in, erasure and snapshot services against fakes of the ports, each checked against the ordering rule.

``SIM_SCHEDULES=<n>`` runs more schedules, ``SIM_SEED=<n>`` replays exactly one (its trace is printed with -s).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from tests.simulation.world import Result, Variant, run_schedule

SCHEDULES = int(os.environ.get("SIM_SCHEDULES", "3000"))
REPLAY = os.environ.get("SIM_SEED")
# How far the checker looks for a schedule that breaks the rule on a behaviour the rule replaced.
SEARCH = 2000
# How many seeds are run with and without their erasures.
PAIRED = 200


def _seeds() -> range:
    if REPLAY is not None:
        return range(int(REPLAY), int(REPLAY) + 1)
    return range(SCHEDULES)


def test_no_schedule_breaks_the_rule() -> None:
    for seed in _seeds():
        result = run_schedule(seed)
        if REPLAY is not None:
            print(result.report())
        if result.failures:
            pytest.fail(result.report(), pytrace=False)


def test_a_schedule_replays_exactly() -> None:
    first, again = run_schedule(1356), run_schedule(1356)
    assert first.trace == again.trace
    assert [event.describe() for event in first.events] == [event.describe() for event in again.events]
    assert len(first.trace) > 50


def _first_failing(variant: Variant, expected: Callable[[Result], bool]) -> Result:
    for seed in range(SEARCH):
        result = run_schedule(seed, variant)
        if expected(result):
            return result
    raise AssertionError(f"no schedule of {SEARCH} broke the rule with {variant}")


def _lost_stops(result: Result) -> list[str]:
    return [message for kind, message in result.failures if kind == "lost-stop"]


def test_finds_the_replayed_opt_out_that_moved_opted_out_at_backwards() -> None:
    """Case 1: with the old write-through (``optedOutAt`` set to each event's own time), a replayed old opt-out
    moves it backwards and a consent between the two wins: a STOP is lost."""

    def moved_back_and_lost(result: Result) -> bool:
        return any(number in message for message in _lost_stops(result) for number in result.table.moved_backwards)

    found = _first_failing(Variant(keeps_latest=False), moved_back_and_lost)
    assert not _lost_stops(run_schedule(found.seed)), "the same events lose no STOP with the real table"


def test_finds_the_crossing_that_loses_a_later_stop() -> None:
    """Case 2: without the lease, an opt-out and an opt-in of one number cross (each held it at once) and the
    opt-out's STOP is lost."""

    def crossed_and_lost(result: Result) -> bool:
        holds = list(result.locks.holds.values())
        crossings = {
            out.number
            for out in holds
            if "opt-out" in out.actor
            for opt_in in holds
            if "opt-in" in opt_in.actor
            and opt_in.number == out.number
            and opt_in.start < (out.end or result.steps)
            and out.start < (opt_in.end or result.steps)
        }
        return any(number in message for message in _lost_stops(result) for number in crossings)

    found = _first_failing(Variant(leases=False), crossed_and_lost)
    assert not _lost_stops(run_schedule(found.seed)), "the same events lose no STOP with the lease"


def _erasure_details(result: Result) -> list[str]:
    return [message for kind, message in result.failures if kind == "erasure-details"]


def test_finds_the_erasure_that_misses_a_consent_written_meanwhile() -> None:
    """Without the lease, an opt-in of the number writes its consent (text and source) into the history after
    the erasure read the entries and before it recorded itself: a detail the erasure should have removed stays."""
    found = _first_failing(Variant(leases=False), lambda result: bool(_erasure_details(result)))
    assert not _erasure_details(run_schedule(found.seed)), "the same events leave no detail with the lease"


def test_finds_the_erasure_that_read_the_history_eventually_consistently() -> None:
    """Case 3: an opt-in writes its consent and gives the number back; the erasure, next to hold it, reads the
    history eventually consistently, does not see that consent yet, and its text and source stay."""
    found = _first_failing(Variant(strong_reads=False), lambda result: bool(_erasure_details(result)))
    assert not _erasure_details(run_schedule(found.seed)), "the same events leave no detail with a strong read"


def _erasers(result: Result) -> set[str]:
    return {event.name for event in result.events if event.kind == "erase"}


def test_erasures_change_nothing_else() -> None:
    """A seed run with and without its erasures: until an erasure holds a number another actor wants, the other
    actors run the same steps at the same times, and the provider and the table end holding the same numbers
    (an erasure never un-blocks a number, nor blocks one)."""
    compared = held = 0
    for seed in range(PAIRED):
        alone, erased = run_schedule(seed, Variant(erasures=False)), run_schedule(seed)
        erasers = _erasers(erased)
        if any(actor not in erasers and holder in erasers for actor, holder in erased.locks.refused):
            held += 1
            continue
        others = [line for line in erased.trace if line.split()[1] not in erasers]
        assert others == alone.trace, f"seed {seed}: the erasures changed the other actors' schedule"
        assert erased.table.items.keys() == alone.table.items.keys(), f"seed {seed}: the table holds other numbers"
        assert erased.provider.entries.keys() == alone.provider.entries.keys(), f"seed {seed}: the list differs"
        compared += bool(erasers)
    assert compared > PAIRED / 2, f"only {compared} of {PAIRED} seeds had erasures that held no one up"
    assert held > 0, "no erasure ever held a number another actor wanted"

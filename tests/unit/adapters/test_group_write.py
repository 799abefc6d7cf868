"""GroupWriter: writes made while a request is in flight leave together, each caller keeps its own outcome.

Threads only, no server: a scripted ``write_many`` holds its first request open until the test lets it go.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import pytest
from stoplist.adapters.group_write import GroupWriter

WAIT = 5.0  # seconds: generous bound for a thread to reach a state; the tests never sleep for a result


class HeldRequests:
    """``write_many`` that records each request and keeps the first one in flight until ``release``."""

    def __init__(self, errors: Callable[[Sequence[str]], Sequence[Exception | None]] | None = None) -> None:
        self.requests: list[list[str]] = []
        self.first_in_flight = threading.Event()
        self.release = threading.Event()
        self._errors = errors

    def __call__(self, items: Sequence[str]) -> Sequence[Exception | None]:
        self.requests.append(list(items))
        if len(self.requests) == 1:
            self.first_in_flight.set()
            assert self.release.wait(WAIT)
        return self._errors(items) if self._errors else [None] * len(items)


def key(item: str) -> str:
    return item.split(":")[0]


def write_in_thread(writer: GroupWriter[str], item: str, outcomes: dict[str, Exception | None]) -> threading.Thread:
    def run() -> None:
        try:
            writer.write(item)
        except Exception as exc:  # noqa: BLE001 - recorded for the assertion
            outcomes[item] = exc
        else:
            outcomes[item] = None

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.001)


def start_held(
    writer: GroupWriter[str], held: HeldRequests, first: str, others: list[str]
) -> tuple[list[threading.Thread], dict[str, Exception | None]]:
    """``first`` in flight alone, then ``others`` waiting behind it."""
    outcomes: dict[str, Exception | None] = {}
    threads = [write_in_thread(writer, first, outcomes)]
    assert held.first_in_flight.wait(WAIT)
    threads += [write_in_thread(writer, item, outcomes) for item in others]
    until(lambda: writer.waiting == len(others))
    return threads, outcomes


def finish(held: HeldRequests, threads: list[threading.Thread]) -> None:
    held.release.set()
    for thread in threads:
        thread.join(WAIT)
        assert not thread.is_alive()


def test_a_write_alone_leaves_alone_at_once() -> None:
    requests: list[list[str]] = []

    def write_many(items: Sequence[str]) -> list[Exception | None]:
        requests.append(list(items))
        return [None] * len(items)

    GroupWriter(write_many, key=key, limit=10).write("a")

    assert requests == [["a"]]


def test_writes_made_during_a_request_leave_together_in_the_next() -> None:
    held = HeldRequests()
    writer = GroupWriter(held, key=key, limit=10)

    threads, outcomes = start_held(writer, held, "a", ["b", "c", "d"])
    finish(held, threads)

    assert held.requests[0] == ["a"]
    assert sorted(held.requests[1]) == ["b", "c", "d"]
    assert len(held.requests) == 2
    assert outcomes == dict.fromkeys("abcd")


def test_a_group_never_exceeds_the_limit() -> None:
    held = HeldRequests()
    writer = GroupWriter(held, key=key, limit=2)

    threads, _ = start_held(writer, held, "a", ["b", "c", "d", "e", "f"])
    finish(held, threads)

    assert [len(request) for request in held.requests] == [1, 2, 2, 1]
    assert sorted(item for request in held.requests for item in request) == list("abcdef")


def test_two_writes_of_one_key_never_share_a_request() -> None:
    held = HeldRequests()
    writer = GroupWriter(held, key=key, limit=10)

    threads, outcomes = start_held(writer, held, "x:1", ["y:1", "y:2", "z:1", "y:3"])
    finish(held, threads)

    for request in held.requests:
        keys = [key(item) for item in request]
        assert len(keys) == len(set(keys)), request
    # Oldest first: the second and third writes of "y" follow in later requests, in order.
    y_order = [item for request in held.requests for item in request if item.startswith("y:")]
    assert y_order == ["y:1", "y:2", "y:3"]
    assert set(outcomes) == {"x:1", "y:1", "y:2", "z:1", "y:3"}


def test_each_caller_gets_its_own_error() -> None:
    refused = ValueError("refused")
    held = HeldRequests(lambda items: [refused if item == "c" else None for item in items])
    writer = GroupWriter(held, key=key, limit=10)

    threads, outcomes = start_held(writer, held, "a", ["b", "c", "d"])
    finish(held, threads)

    assert outcomes == {"a": None, "b": None, "c": refused, "d": None}


def test_a_failing_request_fails_every_write_it_carried_and_no_other() -> None:
    calls: list[list[str]] = []
    broken = ConnectionError("socket closed")

    def write_many(items: Sequence[str]) -> list[Exception | None]:
        calls.append(list(items))
        if "bad" in items:
            raise broken
        return [None] * len(items)

    writer = GroupWriter(write_many, key=key, limit=10)
    with pytest.raises(ConnectionError):
        writer.write("bad")
    writer.write("good")  # the writer still works after a failed request

    assert calls == [["bad"], ["good"]]


def test_an_answer_of_the_wrong_length_fails_the_group_instead_of_hanging_it() -> None:
    writer = GroupWriter(lambda items: [], key=key, limit=10)

    with pytest.raises(RuntimeError, match="0 outcomes for 1 items"):
        writer.write("a")


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        GroupWriter(lambda items: [None] * len(items), key=key, limit=0)

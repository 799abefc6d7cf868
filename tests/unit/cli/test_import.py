"""Import mechanics without a queue: pacing, batches of 10, refused entries, the checkpoint and resuming."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from stoplist_cli.checkpoint import Checkpoint, Progress
from stoplist_cli.import_command import BatchRefused, Pacer, run_import, send_batch
from stoplist_cli.opt_out_file import Line


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class FakeSqs:
    """Accepts every entry except those listed in ``refuse`` (by Id), a number of times each."""

    def __init__(self, refuse: dict[str, int] | None = None, fail_on_call: int | None = None) -> None:
        self.refuse = dict(refuse or {})
        self.fail_on_call = fail_on_call
        self.calls = 0
        self.bodies: list[str] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        self.calls += 1
        if self.fail_on_call == self.calls:
            raise KeyboardInterrupt
        assert len(Entries) <= 10
        ok, failed = [], []
        for entry in Entries:
            if self.refuse.get(entry["Id"], 0) > 0:
                self.refuse[entry["Id"]] -= 1
                failed.append({"Id": entry["Id"], "Code": "InternalError", "SenderFault": False})
            else:
                ok.append({"Id": entry["Id"]})
                self.bodies.append(entry["MessageBody"])
        return {"Successful": ok, "Failed": failed}


def lines(count: int, invalid: tuple[int, ...] = ()) -> list[Line]:
    return [
        Line(n, error="not a phone number") if n in invalid else Line(n, body=json.dumps({"line": n}))
        for n in range(1, count + 1)
    ]


def test_pacer_holds_the_average_rate() -> None:
    clock = FakeClock()
    pacer = Pacer(25.0, clock=clock, sleep=clock.sleep)

    for _ in range(10):
        pacer.wait(10)

    # 100 messages at 25 a second: the tenth batch may leave 90 / 25 = 3.6 s after the first.
    assert clock.now == pytest.approx(3.6)


def test_pacer_zero_rate_never_sleeps() -> None:
    clock = FakeClock()
    pacer = Pacer(0, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        pacer.wait(10)
    assert clock.slept == []


def test_refused_entries_are_retried_then_the_batch_stops() -> None:
    sqs = FakeSqs(refuse={"3": 2})
    send_batch(sqs, "q", lines(5), sleep=lambda _: None)
    assert sqs.calls == 3
    assert len(sqs.bodies) == 5

    with pytest.raises(BatchRefused, match="lines 2"):
        send_batch(FakeSqs(refuse={"2": 99}), "q", lines(5), sleep=lambda _: None)


def test_run_sends_valid_lines_in_batches_of_ten_and_checkpoints(tmp_path: Path) -> None:
    sqs = FakeSqs()
    checkpoint = Checkpoint(tmp_path, "hash", "q")
    progress = Progress("f", "hash", "q")

    result = run_import(lines(25, invalid=(4, 17)), sqs, "q", checkpoint, progress, Pacer(0))

    assert (result.valid, result.sent, len(result.invalid)) == (23, 23, 2)
    assert sqs.calls == 3
    assert [json.loads(body)["line"] for body in sqs.bodies] == [n for n in range(1, 26) if n not in (4, 17)]
    saved = checkpoint.load()
    assert saved is not None
    assert (saved.complete, saved.done_through, saved.sent) == (True, 25, 23)


def test_interrupted_import_resumes_after_the_last_accepted_batch(tmp_path: Path) -> None:
    checkpoint = Checkpoint(tmp_path, "hash", "q")
    first = FakeSqs(fail_on_call=3)
    with pytest.raises(KeyboardInterrupt):
        run_import(lines(45), first, "q", checkpoint, Progress("f", "hash", "q"), Pacer(0))
    saved = checkpoint.load()
    assert saved is not None
    assert (saved.done_through, saved.complete) == (20, False)

    second = FakeSqs()
    result = run_import(lines(45), second, "q", checkpoint, saved, Pacer(0))

    assert result.already_done == 20
    sent = [json.loads(body)["line"] for body in first.bodies + second.bodies]
    assert sent == list(range(1, 46))  # every line once: the interrupted batch was never accepted


def test_checkpoints_are_per_file_and_queue(tmp_path: Path) -> None:
    paths = {Checkpoint(tmp_path, h, q).path for h in ("a", "b") for q in ("q1", "q2")}
    assert len(paths) == 4

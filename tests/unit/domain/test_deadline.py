from __future__ import annotations

from stoplist.domain.deadline import Deadline


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def test_deadline_is_the_remaining_time_less_the_margin() -> None:
    now = [100.0]
    deadline = Deadline.from_context(Context(), margin_seconds=3, clock=lambda: now[0])
    assert deadline.at == 127.0
    now[0] = 120.0
    assert deadline.remaining() == 7.0

"""A deterministic scheduler of actors, in the style of AWS Labs' shuttle and FoundationDB's simulation.

Each actor (an event delivered again and again until it ends, a snapshot, a STOP the provider receives itself)
runs the real services in a thread of its own, but only one actor runs at a time: every call on a fake port
is a yield point (``Scheduler.point``) where ``random.Random(seed)`` picks which waiting actor proceeds next.
Actors are offered in the order of their names, so the same seed gives the same schedule, step for step.

Time is logical: one second a step. An actor that waits (a record's redelivery, a late answer) sleeps a
number of steps; when every actor sleeps, time jumps to the earliest wake-up, as in a discrete-event
simulation. The services get ``Scheduler.now`` as their clock, so leases end on this clock too.

A side actor (an erasure) is drawn by a random source of its own (``side_rng``) and its steps take no time:
until it touches what the others read (it holds a number they want), the others run exactly the steps, at
exactly the times, that they run without it, so adding side actors leaves every seed's schedule of the
others as it was.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

# A schedule that has not ended after this many real seconds is stuck (an actor blocked outside the scheduler).
HANG_SECONDS = 30.0


@dataclass(eq=False)
class _Actor:
    name: str
    body: Callable[[], None]
    # Held while the actor waits for its turn: released by whoever hands it over (the cheapest handoff there is).
    go: threading.Lock = field(default_factory=threading.Lock)
    wake_at: int = 0
    side: bool = False
    finished: bool = False
    error: BaseException | None = None


class Scheduler:
    def __init__(self, rng: random.Random, start: datetime, side_rng: random.Random | None = None) -> None:
        self._rng = rng
        self._side_rng = side_rng or rng
        self._start = start
        self.step = 0
        self.trace: list[str] = []
        self._actors: list[_Actor] = []
        self._local = threading.local()
        self._done = threading.Event()

    # --- what the fakes and the services see -------------------------------------------------------------
    def now(self) -> datetime:
        return self._start + timedelta(seconds=self.step)

    @property
    def actor(self) -> str:
        """The name of the actor running here (``-`` outside a schedule: the final snapshot, the checks)."""
        current: _Actor | None = getattr(self._local, "actor", None)
        return "-" if current is None else current.name

    def point(self, label: str) -> None:
        """A yield point: the scheduler may let another actor run before this one goes on."""
        current: _Actor | None = getattr(self._local, "actor", None)
        if current is None:
            return
        if not current.side:
            self.step += 1
        self.trace.append(f"{self.step:5d} {current.name:<14} {label}")
        self._hand_over(current)

    def sleep(self, steps: int, why: str) -> None:
        """Wait ``steps`` logical seconds (the other actors run meanwhile)."""
        current: _Actor | None = getattr(self._local, "actor", None)
        if current is None:
            return
        self.trace.append(f"{self.step:5d} {current.name:<14} sleeps {steps}s: {why}")
        current.wake_at = self.step + steps
        self._hand_over(current)

    # --- running -----------------------------------------------------------------------------------------
    def spawn(self, name: str, body: Callable[[], None], start_after: int = 0, side: bool = False) -> None:
        actor = _Actor(name, body, wake_at=start_after, side=side)
        actor.go.acquire()
        self._actors.append(actor)

    def run(self) -> list[tuple[str, BaseException]]:
        """Run every actor to its end; returns the actors that raised, with what they raised."""
        self._actors.sort(key=lambda actor: actor.name)
        threads = [threading.Thread(target=self._main, args=(actor,), daemon=True) for actor in self._actors]
        for thread in threads:
            thread.start()
        first = self._choose()
        if first is None:
            return []
        first.go.release()
        if not self._done.wait(HANG_SECONDS):
            raise AssertionError("schedule hung: an actor blocked outside the scheduler\n" + "\n".join(self.trace))
        for thread in threads:
            thread.join()
        return [(actor.name, actor.error) for actor in self._actors if actor.error is not None]

    def _main(self, actor: _Actor) -> None:
        actor.go.acquire()
        self._local.actor = actor
        try:
            actor.body()
        except BaseException as exc:  # noqa: BLE001 - reported by run(), with the trace
            actor.error = exc
            self.trace.append(f"{self.step:5d} {actor.name:<14} crashed: {exc!r}")
        actor.finished = True
        following = self._choose()
        if following is None:
            self._done.set()
        else:
            following.go.release()

    def _hand_over(self, current: _Actor) -> None:
        following = self._choose()
        if following is current:
            return
        assert following is not None  # the current actor is alive
        following.go.release()
        current.go.acquire()

    def _choose(self) -> _Actor | None:
        alive = [actor for actor in self._actors if not actor.finished]
        if not alive:
            return None
        ready = [actor for actor in alive if actor.wake_at <= self.step]
        if not ready:
            self.step = min(actor.wake_at for actor in alive)
            ready = [actor for actor in alive if actor.wake_at <= self.step]
        side = [actor for actor in ready if actor.side]
        if not side:
            return self._rng.choice(ready)
        # A side actor goes with its share of the ready actors, drawn from its own source; the others are drawn
        # from theirs exactly as they would be without it.
        if len(side) == len(ready) or self._side_rng.random() * len(ready) < len(side):
            return self._side_rng.choice(side)
        return self._rng.choice([actor for actor in ready if not actor.side])


class InlineExecutor(Executor):
    """An executor that runs each task at once in the caller's thread: the snapshot's parallel scan and writes
    become steps of its actor, interleaved with the other actors by the scheduler."""

    def __init__(self, _workers: int = 1) -> None:
        pass

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future, as a pool does
            future.set_exception(exc)
        return future

    def map(
        self, fn: Callable[..., T], *iterables: Iterable[Any], timeout: float | None = None, chunksize: int = 1
    ) -> Any:
        return iter([fn(*args) for args in zip(*iterables, strict=False)])

"""One schedule of the interleaving checker: the events of a seed, the real services run by the scheduler
against the fakes, the model of what the ordering rule decides, and the checks of the end state.

The model is the rule (``stoplist.domain.ordering``): a number ends opted out when an opt-out of it is known
and no consent is later than every one of them (a tie goes to the opt-out). The opt-outs known are the
opt-out events (when they count: ``opt_out_time``), the STOPs the provider received itself (their
``createdAt``), and the entries an ``add`` created whose answer was lost: the service never learns their id,
so the rule can only date them by their ``createdAt`` (the safe side: such an entry can only keep a number
opted out longer).

Erasures (``stoplist.domain.erasure``) come from a random source of their own and run as the scheduler's side
actors (their steps take no time): a seed's other events, and their schedule until an erasure holds a number
they want, are what they are without erasures. The model of the rule ignores erasures: an erasure changes
nothing of what the provider and the table hold.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from stoplist.domain.changes import OPT_IN_RECORDED, OPT_OUT_RECORDED, ChangePublisher
from stoplist.domain.dispatch import Delivery, EventDispatcher
from stoplist.domain.erasure import CHANGE_ERASURE, FORGET_SOURCE, ErasureService, erased_fields
from stoplist.domain.events import RawEvent, read_sqs_message
from stoplist.domain.optin import OptInService
from stoplist.domain.optout import OptOutService
from stoplist.domain.ordering import consent_time, consent_wins, opt_out_time, provider_time
from stoplist.domain.outcomes import Disposition
from stoplist.domain.phone import provider_e164
from stoplist.domain.ports import (
    AnnouncementBus,
    ConsentHistory,
    DeadLetterSink,
    ErasureHistory,
    ErasureStore,
    NumberLocks,
    OptInProvider,
    OptInStore,
    OptOutStore,
    RetryQueue,
    SnapshotStore,
    StopListProvider,
)
from stoplist.domain.redelivery import SQS_MAX_DELAY_SECONDS, RedeliverySchedule
from stoplist.domain.snapshot import SnapshotSync
from stoplist.errors import RetryableError, StopListError
from stoplist.observability import metrics

from tests.simulation.fakes import REGION, SimBus, SimDeadLetters, SimHistory, SimLocks, SimProvider, SimQueue, SimTable
from tests.simulation.scheduler import InlineExecutor, Scheduler

START = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
PLUS_ONE = timezone(timedelta(hours=1))
# Canonical number -> how events and the provider may spell it.
NUMBERS = {
    "+33612345678": ("+33612345678",),
    "+262692123456": ("+262692123456", "+33692123456"),
    "+596696123456": ("+596696123456",),
}
DECOYS = ("+33611111111", "+33622222222")  # other people's STOPs: the list is never empty
MAX_ATTEMPTS = 40
FAULT_RATE = 0.08
CONSENT_SKEW_SECONDS = 300
FINAL = {Disposition.ADDED, Disposition.ALREADY_LISTED, Disposition.SUPERSEDED, Disposition.OPTED_IN}
FINAL |= {Disposition.NOT_LISTED, Disposition.REJECTED, Disposition.ERASED}
APPLIED_OPT_IN = {Disposition.OPTED_IN, Disposition.NOT_LISTED}
# Details an erasure removes, carried by every opt-out and opt-in (the events' ``source`` names no door either).
REASON = "ne veut plus de promotions"
CONSENT_TEXT = "oui aux offres de Marie D."
ERASURE_SOURCES = (FORGET_SOURCE, "dpo ticket 4711 Marie D.")


@dataclass(frozen=True)
class Variant:
    """Which behaviour the fakes have: the real one, or one the ordering rule replaced."""

    keeps_latest: bool = True  # False: the old write-through, optedOutAt set to the event's own time
    leases: bool = True  # False: every lease granted, no serialisation of a number's events
    erasures: bool = True  # False: the seed's events without its erasures
    strong_reads: bool = True  # False: every history Query eventually consistent, the erasure's too


@dataclass
class Event:
    name: str
    kind: str  # opt-out | opt-in | erase | stop | snapshot
    number: str = ""
    spelling: str = ""
    event_id: str = ""
    body: dict[str, str] = field(default_factory=dict)
    start_after: int = 0
    received_at: datetime | None = None
    copy_of: Event | None = None  # the same SQS message delivered twice: one SentTimestamp
    outcome: Disposition | None = None

    def describe(self) -> str:
        hidden = ("phoneNumber", "consentSource", "reason", "consentText")
        fields = {key: value for key, value in self.body.items() if key not in hidden}
        when = f" received {self.received_at:%H:%M:%S}" if self.received_at else ""
        outcome = f" -> {self.outcome.name}" if self.outcome else ""
        return f"{self.name} {self.kind} {self.spelling} {fields}{when}{outcome}"


@dataclass
class Result:
    seed: int
    failures: list[tuple[str, str]]  # (kind, message)
    events: list[Event]
    trace: list[str]
    steps: int
    table: SimTable
    locks: SimLocks
    provider: SimProvider

    def report(self) -> str:
        lines = [f"seed {self.seed}: {len(self.failures)} failure(s), replay with SIM_SEED={self.seed}"]
        lines += [f"  [{kind}] {message}" for kind, message in self.failures]
        lines += ["events:", *(f"  {event.describe()}" for event in self.events), "schedule:", *self.trace]
        return "\n".join(lines)


def _at(delta_seconds: int) -> datetime:
    return START + timedelta(seconds=delta_seconds)


def _delta(rng: random.Random) -> int:
    """Times in 30-second steps around the start, so that ties and crossings are frequent."""
    return rng.randint(-20, 4) * 30


def _occurred_at(rng: random.Random) -> str | None:
    choice = rng.randrange(7)
    moment = _at(_delta(rng))
    if choice == 0:
        return None
    if choice == 1:
        return moment.isoformat().replace("+00:00", "Z")
    if choice == 2:
        return moment.astimezone(PLUS_ONE).isoformat()
    if choice == 3:
        return moment.replace(tzinfo=None).isoformat()  # no offset: the number's own zone
    if choice == 4:
        return (START + timedelta(days=1)).isoformat()  # in the future: counts as its receipt
    if choice == 5:
        return (START - timedelta(days=rng.choice((200, 30)))).isoformat()  # a replay of an old one
    return rng.choice(("9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"))


def _consent_at(rng: random.Random) -> str:
    fast = rng.random() < 0.2  # a clock up to 4 minutes fast
    moment = _at(rng.randint(2, 8) * 30) if fast else _at(_delta(rng))
    return moment.isoformat().replace("+00:00", "Z")


def generate(seed: int) -> tuple[list[Event], list[tuple[str, str]], bool]:
    """The events of a seed, the entries the provider holds at the start, and whether a snapshot ran before."""
    rng = random.Random(f"events-{seed}")
    numbers = rng.sample(sorted(NUMBERS), rng.randint(1, 3))
    initial = [(decoy, "2025-06-01 10:00:00") for decoy in DECOYS]
    for number in numbers:
        for spelling in NUMBERS[number]:
            if rng.random() < 0.25:
                created = _at(_delta(rng) - rng.choice((0, 86_400))).astimezone(PLUS_ONE)
                initial.append((spelling, created.strftime("%Y-%m-%d %H:%M:%S")))
    events: list[Event] = []
    for number in numbers:
        for _ in range(rng.randint(1, 4)):
            index = len(events)
            spelling = rng.choice(NUMBERS[number])
            roll = rng.random()
            event = Event(f"e{index:02d}", "", number, spelling, f"evt-{index:02d}", start_after=rng.randint(0, 90))
            if roll < 0.45:
                event.kind = "opt-out"
                event.body = {"phoneNumber": spelling, "eventId": event.event_id, "source": "sim", "reason": REASON}
                occurred = _occurred_at(rng)
                if occurred is not None:
                    event.body["occurredAt"] = occurred
            elif roll < 0.85:
                event.kind = "opt-in"
                event.body = {
                    "action": "opt-in",
                    "phoneNumber": spelling,
                    "eventId": event.event_id,
                    "consentSource": "crm",
                    "consentAt": _consent_at(rng),
                    "consentText": CONSENT_TEXT,
                }
            else:
                event.kind = "stop"
            event.name = f"{event.name}-{event.kind}"
            events.append(event)
            if event.kind == "opt-out" and rng.random() < 0.15:
                copy = Event(f"e{len(events):02d}-again", "opt-out", number, spelling, event.event_id, event.body)
                copy.start_after = event.start_after + rng.randint(0, 120)
                copy.copy_of = event
                events.append(copy)
    for index in range(rng.randint(0, 2)):
        events.append(Event(f"s{index}-snapshot", "snapshot", start_after=rng.randint(0, 120)))
    return events, initial, rng.random() < 0.5


def generate_erasures(seed: int, numbers: list[str]) -> list[Event]:
    """The erasures of a seed, from a source of their own (so the seed's other events stay as they were): none
    a quarter of the time, else one or two of the seed's numbers, with or without ``occurredAt`` (``stoplist
    forget`` sends it), from ``stoplist forget`` or another system, some delivered twice."""
    rng = random.Random(f"erasures-{seed}")
    erasures: list[Event] = []
    for index in range(rng.choice((0, 1, 1, 2)) if numbers else 0):
        number = rng.choice(numbers)
        spelling = rng.choice(NUMBERS[number])
        event = Event(f"x{index}-erase", "erase", number, spelling, f"erase-{index}", start_after=rng.randint(0, 150))
        event.body = {"action": "erase", "phoneNumber": spelling, "eventId": event.event_id}
        event.body["source"] = rng.choice(ERASURE_SOURCES)
        if rng.random() < 0.5:
            event.body["occurredAt"] = _at(rng.randint(0, 5) * 30).isoformat()
        erasures.append(event)
        if rng.random() < 0.2:
            copy = Event(f"x{index}-erase-again", "erase", number, spelling, event.event_id, event.body)
            copy.start_after = event.start_after + rng.randint(0, 60)
            copy.copy_of = event
            erasures.append(copy)
    return erasures


class World:
    """The fakes, the real services wired to them, and the actors of one schedule."""

    def __init__(self, seed: int, variant: Variant) -> None:
        self.seed = seed
        self.rng = random.Random(f"schedule-{seed}")
        self.side_rng = random.Random(f"erasures-schedule-{seed}")  # the erasures' turns and waits
        self.scheduler = Scheduler(self.rng, START, self.side_rng)
        self.provider = SimProvider(self.scheduler, self.rng, FAULT_RATE)
        self.table = SimTable(self.scheduler, keeps_latest=variant.keeps_latest)
        self.locks = SimLocks(self.scheduler, always_grant=not variant.leases)
        self.history = SimHistory(self.scheduler, strong_reads=variant.strong_reads)
        self.dead_letters = SimDeadLetters()
        self.bus = SimBus()
        # The fakes checked against the ports, as the services see them.
        provider: OptInProvider = self.provider
        table: OptInStore = self.table
        store: OptOutStore = self.table
        locks: NumberLocks = self.locks
        history: ConsentHistory = self.history
        erasure_table: ErasureStore = self.table
        erasure_history: ErasureHistory = self.history
        queue: RetryQueue = SimQueue()
        sink: DeadLetterSink = self.dead_letters
        clock = self.scheduler.now
        self.dispatcher = EventDispatcher(
            opt_out=OptOutService(
                provider=provider, table=store, locks=locks, history=history, default_region=REGION, clock=clock
            ),
            opt_in=OptInService(
                provider=provider,
                table=table,
                locks=locks,
                history=history,
                default_region=REGION,
                clock_skew_seconds=CONSENT_SKEW_SECONDS,
                clock=clock,
            ),
            erasure=ErasureService(
                table=erasure_table, locks=locks, history=erasure_history, default_region=REGION, clock=clock
            ),
            dead_letters=sink,
            queue=queue,
            delivery=Delivery.QUEUE,
            max_receive_count=MAX_ATTEMPTS + 1,
            schedule=RedeliverySchedule(base_seconds=30, min_jitter=0.75),
            deadline_margin_seconds=0,
            erasure_recheck_seconds=SQS_MAX_DELAY_SECONDS,
        )

    def snapshot(self) -> SnapshotSync:
        provider: StopListProvider = self.provider
        store: SnapshotStore = self.table
        return SnapshotSync(
            provider=provider,
            table=store,
            default_region=REGION,
            max_delete_percent=100,
            write_threads=2,
            scan_segments=2,
            clock=lambda: self.scheduler.now().isoformat(timespec="microseconds").replace("+00:00", "Z"),
            pool=InlineExecutor,
        )

    def deliver(self, event: Event, rng: random.Random) -> None:
        """An SQS record and its redeliveries, until the event reaches a final outcome (or MAX_ATTEMPTS); ``rng``
        draws the waits."""
        first = event.copy_of or event
        if first.received_at is None:
            first.received_at = self.scheduler.now()
        event.received_at = first.received_at
        body = json.dumps(event.body)
        receive, message = 1, 0
        for _ in range(MAX_ATTEMPTS):
            raw = RawEvent(body, f"{event.event_id}-m{message}", receive, None, event.received_at)
            try:
                outcome = self.dispatcher.handle(raw, read_sqs_message)
            except RetryableError as exc:
                receive += 1
                self.scheduler.sleep(rng.randint(5, 60), f"redelivered after {exc.reason}")
                continue
            if outcome in (Disposition.THROTTLED, Disposition.HANDED_OVER):
                message, receive = message + 1, 1
                self.scheduler.sleep(rng.randint(5, 60), f"requeued: {outcome.name}")
                continue
            event.outcome = outcome
            self.scheduler.point(f"done: {outcome.name}")
            return

    def run_snapshot(self) -> None:
        try:
            self.snapshot().run()
        except StopListError as exc:
            self.scheduler.point(f"snapshot failed: {exc.reason}")

    def actor(self, event: Event) -> Any:
        if event.kind == "snapshot":
            return self.run_snapshot
        if event.kind == "stop":
            return lambda: self.provider.stop_received(event.spelling)
        if event.kind == "erase":
            return lambda: self.deliver(event, self.side_rng)
        return lambda: self.deliver(event, self.rng)


def run_schedule(seed: int, variant: Variant = Variant()) -> Result:
    events, initial, snapshot_first = generate(seed)
    if variant.erasures:
        events += generate_erasures(seed, sorted({event.number for event in events if event.number}))
    world = World(seed, variant)
    for spelling, created in initial:
        world.provider.seed_entry(spelling, created)
    if snapshot_first:
        world.run_snapshot()
    for event in events:
        world.scheduler.spawn(event.name, world.actor(event), event.start_after, side=event.kind == "erase")
    crashes = world.scheduler.run()
    # The history as the services left it, before the change publisher writes the stream's entries (which carry
    # the details of changes still in the stream when an erasure ran: docs/privacy.md).
    erasure_failures = _erasure_failures(world, events)
    world.run_snapshot()  # the next snapshot, after every actor finished: no faults outside a schedule
    bus: AnnouncementBus = world.bus
    ChangePublisher(history=world.history, bus=bus).process(world.table.stream)
    metrics.clear_metrics()
    failures = [("crash", f"{name} raised {error!r}") for name, error in crashes]
    failures += erasure_failures
    failures += check(world, events)
    return Result(
        seed, failures, events, world.scheduler.trace, world.scheduler.step, world.table, world.locks, world.provider
    )


def expected_opted_out(world: World, events: list[Event], number: str) -> bool:
    """The rule, applied to every event of the number once all are known."""
    opt_outs = [
        opt_out_time(event.body.get("occurredAt"), event.received_at, number)
        for event in events
        if event.kind == "opt-out" and event.number == number and event.received_at is not None
    ]
    for entry in [*world.provider.received_itself, *world.provider.lost_answers]:
        moment = provider_time(entry.created_at)
        if provider_e164(entry.spelling, REGION) == number and moment is not None:
            opt_outs.append(moment)
    consents = [
        consent_time(event.body["consentAt"], event.received_at)
        for event in events
        if event.kind == "opt-in" and event.number == number and event.received_at is not None
    ]
    if not opt_outs:
        return False
    return not (consents and consent_wins(max(consents), opt_outs))


def check(world: World, events: list[Event]) -> list[tuple[str, str]]:
    failures: list[tuple[str, str]] = []
    for event in events:
        if event.kind in ("opt-out", "opt-in", "erase") and event.outcome not in FINAL:
            failures.append(("no-outcome", f"{event.name} ended without a final outcome ({event.outcome})"))
    for letter in world.dead_letters.letters:
        if letter.error_type != "consent_superseded":
            failures.append(("dead-letter", f"{letter.event_id} dead-lettered: {letter.reason}"))
    numbers = sorted({event.number for event in events if event.number})
    for number in numbers:
        # The rule's model knows no erasure: a number erased is held exactly where it would be without it.
        expected = expected_opted_out(world, events, number)
        listed = bool(world.provider.listed(number))
        in_table = number in world.table.items
        erased = any(event.kind == "erase" and event.number == number and event.outcome for event in events)
        said = f"{number}{' (erased)' if erased else ''}"
        if expected and not listed:
            failures.append(("lost-stop", f"{said}: the rule says opted out, the provider does not list it"))
        if not expected and listed:
            failures.append(("kept-out", f"{said}: the rule says opted in, the provider lists it"))
        if in_table != expected:
            failures.append(("table", f"{said}: after the snapshot the table holds it: {in_table}, rule: {expected}"))
        failures += _history_failures(world, events, number)
        failures += _announcement_failures(world, events, number, in_table)
    return failures


def _history_failures(world: World, events: list[Event], number: str) -> list[tuple[str, str]]:
    keys: dict[str, set[str]] = defaultdict(set)
    for (phone, key), entry in world.history.items.items():
        if phone == number:
            keys[entry.event_id].add(key)
    failures = []
    for event in events:
        if event.number != number or event.outcome is None:
            continue
        found = len(keys.get(event.event_id, ()))
        if event.outcome is Disposition.ERASED:
            entries = [world.history.items[number, key] for key in keys.get(event.event_id, ())]
            erasures = [entry for entry in entries if entry.change == CHANGE_ERASURE]
            if len(erasures) != 1:
                failures.append(("erasure-record", f"{event.name} is recorded {len(erasures)} times"))
        elif event.kind == "opt-out" or event.outcome in APPLIED_OPT_IN:
            if found != 1:
                failures.append(("history", f"{event.name} ({event.outcome.name}) is in the history {found} times"))
        elif found > 1:
            failures.append(("history", f"{event.name} ({event.outcome.name}) is in the history {found} times"))
    return failures


def _announcement_failures(world: World, events: list[Event], number: str, in_table: bool) -> list[tuple[str, str]]:
    """Announcements follow the table's transitions: in, out, in, ... and the last one says where it ended."""
    said = [a for a in world.bus.announcements if a.detail["phoneNumber"] == number]
    types = [a.detail_type for a in said]
    failures = []
    for index, detail_type in enumerate(types):
        if detail_type != (OPT_OUT_RECORDED if index % 2 == 0 else OPT_IN_RECORDED):
            failures.append(("announcements", f"{number}: announcements do not alternate: {types}"))
            break
    if bool(types) and (types[-1] == OPT_OUT_RECORDED) != in_table:
        failures.append(("announcements", f"{number}: last announcement {types[-1]}, table holds it: {in_table}"))
    opt_ins = {event.event_id for event in events if event.kind == "opt-in" and event.number == number}
    for announcement in said:
        if announcement.detail["recordedBy"] == "optin" and announcement.detail["eventId"] not in opt_ins:
            failures.append(("announcements", f"{number}: opt-in announced for {announcement.detail['eventId']}"))
    return failures


def _erasure_failures(world: World, events: list[Event]) -> list[tuple[str, str]]:
    """No entry of the number put in the history before an erasure's own entry (its last put: a redelivered
    erasure strips again) still holds a detail the erasure removes."""
    failures = []
    done = {event.event_id: event for event in events if event.kind == "erase" and event.outcome is Disposition.ERASED}
    for event_id, event in sorted(done.items()):
        own = [
            put
            for key, put in world.history.appended.items()
            if key[0] == event.number
            and world.history.items[key].event_id == event_id
            and world.history.items[key].change == CHANGE_ERASURE
        ]
        if not own:
            continue  # reported by the history's check
        for key, put in world.history.appended.items():
            entry = world.history.items[key]
            if key[0] == event.number and put < max(own) and (fields := erased_fields(entry)):
                failures.append(
                    ("erasure-details", f"{event.name}: {entry.change} {entry.event_id} still holds {fields}")
                )
    return failures

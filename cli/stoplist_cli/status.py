"""``stoplist status``: is the pipeline healthy? Snapshot, table, queues, alarms; exit 1 when something is wrong.

Wrong means: a dead-letter queue holds a message, the last successful snapshot is older than three
intervals (what ``SnapshotStaleAlarm`` waits for) or there is none, or an alarm of the stack is in ALARM.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import click
from stoplist.domain.keys import STATUS_KEY

from stoplist_cli import queues
from stoplist_cli.context import Session, json_option, pass_session
from stoplist_cli.output import Cell, Exit, Styled, human_age

STALE_AFTER_INTERVALS = 3  # SnapshotStaleAlarm's EvaluationPeriods
AGE_SAMPLE = 100  # messages read for the age of the oldest when CloudWatch has no data (SQS returns no order)
QUEUES = (
    ("OptOutQueue", "queue_url", False),
    ("OptOutDeadLetterQueue", "dead_letter_queue_url", True),
    ("OptOutEventsDeadLetterQueue", "events_dead_letter_queue_url", True),
    ("ChangeEventsDeadLetterQueue", "change_events_dead_letter_queue_url", True),  # when the stack has it
)


@dataclass
class QueueStatus:
    queue: str
    name: str
    visible: int
    in_flight: int
    delayed: int
    oldest_age_seconds: float | None
    # "cloudwatch" (ApproximateAgeOfOldestMessage), "sampled" (SentTimestamp of the messages read), or "none"
    age_from: str
    dead_letter: bool


@dataclass
class StatusReport:
    snapshot: dict[str, Any] | None
    snapshot_age_seconds: float | None
    snapshot_stale_after_seconds: int
    table_items: int | None
    queues: list[QueueStatus]
    alarms_in_alarm: list[dict[str, str]]
    alarms_checked: int
    problems: list[str] = field(default_factory=list)


def read_snapshot_status(dynamodb: Any, table: str) -> dict[str, Any] | None:
    item = dynamodb.get_item(TableName=table, Key={"phoneNumber": {"S": STATUS_KEY}}, ConsistentRead=True).get("Item")
    if not item:
        return None
    status: dict[str, Any] = {}
    for name, value in item.items():
        if name == "phoneNumber":
            continue
        status[name] = int(float(value["N"])) if "N" in value else value.get("S", "")
    return status


def parse_time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def find_problems(report: StatusReport) -> list[str]:
    problems = []
    if report.snapshot is None:
        problems.append("no snapshot has succeeded yet")
    elif report.snapshot_age_seconds is None or report.snapshot_age_seconds > report.snapshot_stale_after_seconds:
        problems.append(
            f"the last successful snapshot is {human_age(report.snapshot_age_seconds)} old "
            f"(stale after {human_age(report.snapshot_stale_after_seconds)})"
        )
    for queue in report.queues:
        if queue.dead_letter and queue.visible + queue.in_flight + queue.delayed:
            count = queue.visible + queue.in_flight + queue.delayed
            problems.append(f"{queue.queue} holds {count} message(s): see `stoplist dlq list`")
    for alarm in report.alarms_in_alarm:
        problems.append(f"alarm {alarm['name']} is in ALARM")
    return problems


def queue_status(sqs: Any, cloudwatch: Any, logical: str, url: str, dead_letter: bool) -> QueueStatus:
    depth = queues.depth(sqs, url)
    age = queues.oldest_age_from_cloudwatch(cloudwatch, url)
    age_from = "cloudwatch" if age is not None else "none"
    if age is None and dead_letter and depth.visible:
        # No CloudWatch data (a new queue, or moto locally, which has no SQS metrics): read the messages'
        # SentTimestamp instead; only in a dead-letter queue, where a receive costs nothing.
        age = queues.oldest_age_from_messages(queues.peek(sqs, url, limit=AGE_SAMPLE))
        age_from = "sampled" if age is not None else "none"
    return QueueStatus(
        logical,
        queues.queue_name(url),
        depth.visible,
        depth.in_flight,
        depth.delayed,
        age,
        age_from,
        dead_letter,
    )


def alarms_in_alarm(cloudwatch: Any, names: tuple[str, ...]) -> list[dict[str, str]]:
    found = []
    for start in range(0, len(names), 100):  # DescribeAlarms takes at most 100 names
        answer = cloudwatch.describe_alarms(AlarmNames=list(names[start : start + 100]), StateValue="ALARM")
        for alarm in answer.get("MetricAlarms", []) + answer.get("CompositeAlarms", []):
            if alarm.get("StateValue") != "ALARM":  # moto ignores StateValue when AlarmNames are given
                continue
            found.append(
                {
                    "name": alarm["AlarmName"],
                    "reason": alarm.get("StateReason", ""),
                    "since": str(alarm.get("StateUpdatedTimestamp", "")),
                }
            )
    return found


def build_report(session: Session, now: datetime | None = None) -> StatusReport:
    stack = session.stack
    stack.require("table_name", "queue_url", "dead_letter_queue_url", "events_dead_letter_queue_url")
    now = now or datetime.now(UTC)
    dynamodb, sqs, cloudwatch = session.client("dynamodb"), session.client("sqs"), session.client("cloudwatch")
    snapshot = read_snapshot_status(dynamodb, stack.table_name)
    last = parse_time(str(snapshot.get("lastSuccessAt", ""))) if snapshot else None
    described = dynamodb.describe_table(TableName=stack.table_name)["Table"]
    item_count = described.get("ItemCount")
    report = StatusReport(
        snapshot=snapshot,
        snapshot_age_seconds=(now - last).total_seconds() if last else None,
        snapshot_stale_after_seconds=STALE_AFTER_INTERVALS * stack.snapshot_interval_minutes * 60,
        # DescribeTable's ItemCount, less the status item; AWS refreshes it about every six hours.
        table_items=max(0, int(item_count) - (1 if snapshot else 0)) if item_count is not None else None,
        queues=[
            queue_status(sqs, cloudwatch, logical, getattr(stack, attribute), dead_letter)
            for logical, attribute, dead_letter in QUEUES
            if getattr(stack, attribute)
        ],
        alarms_in_alarm=alarms_in_alarm(cloudwatch, stack.alarm_names) if stack.alarm_names else [],
        alarms_checked=len(stack.alarm_names),
    )
    report.problems = find_problems(report)
    return report


@click.command()
@json_option
@pass_session
def status(session: Session) -> None:
    """Snapshot, table size, queues and dead-letter queues, alarms. Exit 1 when something is wrong."""
    report = build_report(session)
    out = session.output
    if out.json_mode:
        out.document({**asdict(report), "ok": not report.problems, "stack": session.stack.label})
    else:
        render(report, session)
    if report.problems:
        raise click.exceptions.Exit(Exit.PROBLEM)


def render(report: StatusReport, session: Session) -> None:
    out = session.output
    out.echo(f"stop list: {session.stack.label}")
    out.echo("")
    snapshot = report.snapshot
    if snapshot is None:
        out.table(["snapshot"], [[Styled("none has succeeded yet", "bad")]])
    else:
        stale = report.snapshot_age_seconds is None or report.snapshot_age_seconds > report.snapshot_stale_after_seconds
        age = f"{human_age(report.snapshot_age_seconds)} ago"
        out.table(
            ["snapshot", ""],
            [
                ["last success", Styled(f"{snapshot.get('lastSuccessAt', '?')} ({age})", "bad" if stale else "good")],
                ["numbers", f"{snapshot.get('size', 0):,}"],
                [
                    "changes",
                    f"+{snapshot.get('added', 0)} added, {snapshot.get('updated', 0)} updated, "
                    f"-{snapshot.get('removed', 0)} removed",
                ],
                ["deletions held back", str(snapshot.get("deletionsSkipped", 0))],
                ["invalid in the list", str(snapshot.get("invalidNumbers", 0))],
                ["duration", f"{snapshot.get('durationMs', 0):,} ms"],
            ],
        )
    items = f"{report.table_items:,}" if report.table_items is not None else "?"
    out.echo(f"table items: {items} (DescribeTable's count, which AWS refreshes about every six hours)")
    out.echo("")
    rows: list[list[Cell]] = []
    sampled = False
    for queue in report.queues:
        count = queue.visible + queue.in_flight + queue.delayed
        tone = "bad" if queue.dead_letter and count else "good" if not count else "warn"
        age = human_age(queue.oldest_age_seconds)
        if queue.age_from == "sampled":
            age += " *"
            sampled = True
        rows.append([queue.queue, Styled(str(queue.visible), tone), str(queue.in_flight), str(queue.delayed), age])
    out.table(["queue", "visible", "in flight", "delayed", "oldest"], rows)
    if sampled:
        out.echo("* no CloudWatch data: age of the oldest message read from the queue (SentTimestamp)")
    out.echo("")
    if report.alarms_checked == 0:
        out.echo("alarms: none known (deployed stacks list them in the AlarmNames output)")
    elif report.alarms_in_alarm:
        out.table(
            ["alarm in ALARM", "since", "reason"],
            [[Styled(a["name"], "bad"), a["since"], a["reason"][:80]] for a in report.alarms_in_alarm],
        )
    else:
        out.echo(f"alarms: {report.alarms_checked} checked, " + click.style("none in ALARM", fg="green"))
    out.echo("")
    if report.problems:
        for problem in report.problems:
            out.echo(click.style("PROBLEM ", fg="red", bold=True) + problem)
    else:
        out.echo(click.style("OK", fg="green", bold=True) + ": no dead letters, snapshot fresh, no alarm")

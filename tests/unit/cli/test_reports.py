"""The pure parts of status, check and export: what counts as a problem, a verdict, a CSV row."""

from __future__ import annotations

import csv
import io

from stoplist.adapters.table import ITEM_ATTRIBUTES
from stoplist_cli.check import verdict_for
from stoplist_cli.export import OTHER_COLUMN, write_csv
from stoplist_cli.status import QueueStatus, StatusReport, find_problems


def report(age: float | None = 60, dead_letters: int = 0, alarms: int = 0, snapshot: bool = True) -> StatusReport:
    return StatusReport(
        snapshot={"lastSuccessAt": "x", "size": 3} if snapshot else None,
        snapshot_age_seconds=age,
        snapshot_stale_after_seconds=2700,
        table_items=3,
        queues=[
            QueueStatus("OptOutQueue", "q", 40, 2, 0, 12.0, "cloudwatch", dead_letter=False),
            QueueStatus("OptOutDeadLetterQueue", "d", dead_letters, 0, 0, None, "none", dead_letter=True),
        ],
        alarms_in_alarm=[{"name": f"alarm-{n}", "reason": "", "since": ""} for n in range(alarms)],
        alarms_checked=4,
    )


def test_a_healthy_stack_has_no_problem_even_with_a_busy_queue() -> None:
    assert find_problems(report()) == []


def test_problems() -> None:
    assert find_problems(report(snapshot=False)) == ["no snapshot has succeeded yet"]
    assert "stale after 45 min" in find_problems(report(age=2701))[0]
    assert find_problems(report(dead_letters=2)) == [
        "OptOutDeadLetterQueue holds 2 message(s): see `stoplist dlq list`"
    ]
    assert find_problems(report(alarms=1)) == ["alarm alarm-0 is in ALARM"]


def test_verdicts() -> None:
    assert verdict_for("06", None, "+33612345678").opted_out is False
    by_event = verdict_for(
        "06", {"optedOutAt": "2024-02-01", "source": "crm", "recordedBy": "optout", "eventId": "e"}, "+336"
    )
    assert (by_event.since, by_event.source, by_event.event_id) == ("2024-02-01", "crm", "e")
    by_snapshot = verdict_for("06", {"providerCreatedAt": "2015-07-20 10:19:45", "recordedBy": "snapshot"}, "+336")
    assert (by_snapshot.since, by_snapshot.source) == ("2015-07-20 10:19:45", "SMS Partner stop list")


def test_export_rows_have_every_documented_column_and_keep_unknown_attributes() -> None:
    out = io.StringIO()
    items = [
        {"phoneNumber": "+33700000001", "source": 'crm, "quoted"'},
        {"phoneNumber": "+33600000001", "recordedBy": "snapshot", "newAttribute": "v"},
    ]

    assert write_csv(iter(items), out, sort=True) == 2

    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert list(rows[0]) == [*ITEM_ATTRIBUTES, OTHER_COLUMN]
    assert [row["phoneNumber"] for row in rows] == ["+33600000001", "+33700000001"]
    assert rows[0][OTHER_COLUMN] == '{"newAttribute": "v"}'
    assert rows[1]["source"] == 'crm, "quoted"'

"""The period report (stoplist.report) and its renderings (stoplist_cli.report_render)."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

from hypothesis import given
from hypothesis import strategies as st
from stoplist.domain.changes import (
    CHANGE_OPT_IN,
    CHANGE_OPT_OUT,
    CHANGE_OPT_OUT_SUPERSEDED,
    CHANGE_SNAPSHOT_ADDITION,
)
from stoplist.domain.erasure import CHANGE_ERASURE
from stoplist.domain.records import HistoryEntry
from stoplist.report import FIELDS_READ, build_report, door_of, percentile
from stoplist_cli.report_render import duration, to_csv, to_html

from devkit.template import load_template


def entry(day: int, number: int, change: str = CHANGE_OPT_OUT, **extra: object) -> HistoryEntry:
    at = f"2026-03-{day:02d}T10:00:00.000000Z"
    return HistoryEntry(f"+336123456{number:02d}", at, f"e{day}-{number}", change, "optout", at, **extra)  # type: ignore[arg-type]


ENTRIES = [
    entry(1, 1, source="smspartner-reply", honour_seconds=1.5),
    entry(1, 2, source="unsubscribe-link", honour_seconds=2.0),
    entry(2, 3, source="crm", channel="bus", honour_seconds=900.0, receive_count=4),
    entry(2, 4, source="import", honour_seconds=3.0),
    entry(3, 5, source="crm"),  # recorded without a time to honour
    entry(3, 6, change=CHANGE_SNAPSHOT_ADDITION, source="smspartner"),
    entry(3, 7, change=CHANGE_OPT_IN, consent_source="web-form"),
    entry(3, 8, change=CHANGE_ERASURE),
    entry(3, 9, change=CHANGE_OPT_OUT_SUPERSEDED, source="crm"),
]


def test_opt_outs_are_counted_by_door_and_the_rest_by_kind() -> None:
    report = build_report(
        ENTRIES,
        ["consent_superseded", "provider_unavailable", "consent_superseded"],
        date(2026, 3, 1),
        date(2026, 3, 4),
    )
    assert report.opt_outs == 6
    assert report.opt_outs_by_door == {"queue": 1, "bus": 1, "sms-reply": 1, "link": 1, "import": 1, "provider": 1}
    assert report.opt_ins_by_consent_source == {"web-form": 1}
    assert report.erasures == 1
    assert report.superseded == {"opt-out-superseded": 1, "consent_superseded": 2}
    assert report.dead_letters_by_reason == {"consent_superseded": 2, "provider_unavailable": 1}
    assert [(day.day, day.opt_outs) for day in report.days] == [
        ("2026-03-01", 2),
        ("2026-03-02", 2),
        ("2026-03-03", 2),
        ("2026-03-04", 0),  # a day without anything is still on the chart
    ]


def test_time_to_honour_statistics_and_the_slowest_with_their_cause() -> None:
    report = build_report(ENTRIES, [], date(2026, 3, 1), date(2026, 3, 3))
    assert (report.honour.count, report.not_measured) == (4, 2)
    assert (report.honour.median, report.honour.max) == (2.0, 900.0)
    slowest = report.slowest[0]
    assert (slowest.phone, slowest.seconds, slowest.door) == ("+336****5603", 900.0, "bus")
    assert slowest.causes == [("retried", 4)]
    assert "+33612345603" not in repr(report.slowest)


def test_a_late_arrival_is_named_as_the_cause() -> None:
    late = entry(
        1,
        9,
        occurred_at="2026-03-01T10:00:00Z",
        received_at="2026-03-01T10:30:00Z",
        honour_seconds=1801.0,
    )
    [slow] = build_report([late], [], date(2026, 3, 1), date(2026, 3, 1)).slowest
    assert slow.causes == [("late_arrival", 1800)]


@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=300))
def test_nearest_rank_percentiles_are_values_of_the_list_in_order(values: list[float]) -> None:
    ordered = sorted(values)
    p50, p90, p99 = (percentile(ordered, rank) for rank in (50, 90, 99))
    assert None not in (p50, p90, p99)
    assert p50 is not None
    assert p90 is not None
    assert p99 is not None
    assert {p50, p90, p99} <= set(values)
    assert p50 <= p90 <= p99 <= ordered[-1]
    assert sum(value <= p99 for value in values) >= 0.99 * len(values)


def test_the_door_of_an_unknown_source_is_its_channel() -> None:
    assert door_of(entry(1, 1, source="crm")) == "queue"
    assert door_of(entry(1, 1, source="crm", channel="bus")) == "bus"


def test_the_report_reads_only_what_the_index_by_day_projects() -> None:
    from stoplist.adapters.history import _ATTRIBUTES

    [index] = load_template()["Resources"]["StopListHistoryTable"]["Properties"]["GlobalSecondaryIndexes"]
    projected = {*index["Projection"]["NonKeyAttributes"], "phoneNumber", "changeKey", "day"}
    assert {_ATTRIBUTES[name] for name in FIELDS_READ} <= projected


def test_the_page_is_self_contained_masked_and_in_both_languages() -> None:
    report = build_report(ENTRIES, ["provider_unavailable"], date(2026, 3, 1), date(2026, 3, 3))
    french = to_html(report, "2026-04-01 08:00 UTC", "fr")
    english = to_html(report, "2026-04-01 08:00 UTC", "en")
    for page in (french, english):
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
        assert "<script" not in page
        assert not re.search(r"(src|href)=\"?(https?:)?//", page)  # nothing fetched
        assert "<svg" in page
        assert "+336****5603" in page
        assert not re.search(r"\+336\d{8}", page)  # no number in clear
    assert '<html lang="fr">' in french
    assert "Oppositions par canal" in french
    assert "Opt-outs by door" in english
    assert "15 min 00 s" in french
    assert "reçue 4 fois" in french
    assert "received 4 times" in english


def test_durations_read_as_a_person_says_them() -> None:
    assert duration(1.25, "fr") == "1,2 s"
    assert duration(1.25, "en") == "1.2 s"
    assert duration(3725, "en") == "1 h 02 min"
    assert duration(None, "en") == "\u2013"


def test_csv_has_one_figure_a_row() -> None:
    rows = list(csv.reader(io.StringIO(to_csv(build_report(ENTRIES, [], date(2026, 3, 1), date(2026, 3, 3))))))
    assert rows[0] == ["section", "key", "value"]
    assert ["opt_outs_by_door", "bus", "1"] in rows
    assert ["honour_seconds", "max", "900.0"] in rows
    assert ["day_opt_outs", "2026-03-02", "2"] in rows

"""The history's index by day on DynamoDB Local (created from template.yaml): a day's entries come back from
one Query, in time order, with what the report counts and without the reasons and consent texts."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from stoplist.adapters.history import HistoryTable
from stoplist.domain.changes import CHANGE_OPT_IN, CHANGE_OPT_OUT
from stoplist.domain.records import HistoryEntry

from devkit.template import LocalResources

pytestmark = pytest.mark.integration


def entry(number: str, at: str, event_id: str, **extra: Any) -> HistoryEntry:
    return HistoryEntry(
        phone_number=number,
        at=at,
        event_id=event_id,
        change=extra.pop("change", CHANGE_OPT_OUT),
        recorded_by="optout",
        recorded_at=at,
        **extra,
    )


def test_a_day_is_one_query_of_the_index_in_time_order(resources: LocalResources) -> None:
    history = HistoryTable(resources.table_names["StopListHistoryTable"], boto3.client("dynamodb"), retention_days=30)
    history.append_all(
        [
            entry("+33612345678", "2026-03-01T23:59:59.999999Z", "late", source="crm", reason="angry customer"),
            entry("+33698765432", "2026-03-01T00:00:00.000000Z", "early", source="smspartner-reply"),
            entry("+33611111111", "2026-03-02T00:00:00.000000Z", "next-day"),
            entry(
                "+33622222222",
                "2026-03-01T12:00:00.000000Z",
                "consent",
                change=CHANGE_OPT_IN,
                consent_source="web-form",
                consent_text="Oui, je veux vos SMS",
            ),
        ]
    )

    day = list(history.entries_on("2026-03-01"))

    assert [found.event_id for found in day] == ["early", "consent", "late"]
    assert day[2].source == "crm"
    assert day[1].consent_source == "web-form"
    assert (day[2].reason, day[1].consent_text) == (None, None)  # not projected into the index
    assert [found.event_id for found in history.entries_on("2026-03-02")] == ["next-day"]
    assert list(history.entries_on("2026-03-03")) == []

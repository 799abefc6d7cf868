"""The history table's items (stoplist.adapters.history): what an entry becomes, and when it expires."""

from __future__ import annotations

from datetime import UTC, datetime

from stoplist.adapters.history import EXPIRES_AT, expires_at, history_entry, history_item
from stoplist.config import Settings
from stoplist.domain.changes import CHANGE_OPT_OUT
from stoplist.domain.records import HistoryEntry
from stoplist.wiring import build_history

ENTRY = HistoryEntry(
    phone_number="+33612345678",
    at="2026-01-10T08:00:00.000000Z",
    event_id="crm-1",
    change=CHANGE_OPT_OUT,
    recorded_by="optout",
    recorded_at="2026-01-10T08:00:02.500000Z",
    source="crm",
)


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def test_an_entry_expires_its_retention_after_it_was_recorded() -> None:
    assert expires_at(ENTRY, 1095) == epoch("2026-01-10T08:00:02") + 1095 * 86400
    item = history_item(ENTRY, 1095)
    assert item[EXPIRES_AT] == {"N": str(epoch("2026-01-10T08:00:02") + 1095 * 86400)}


def test_an_entry_that_takes_effect_after_its_recording_is_kept_from_then() -> None:
    ahead = HistoryEntry(**{**ENTRY.__dict__, "at": "2026-01-11T00:00:00.000000Z"})
    assert expires_at(ahead, 30) == epoch("2026-01-11T00:00:00") + 30 * 86400


def test_zero_days_keeps_entries_forever() -> None:
    assert expires_at(ENTRY, 0) is None
    assert EXPIRES_AT not in history_item(ENTRY, 0)


def test_the_expiry_is_not_part_of_the_entry_read_back() -> None:
    assert history_entry(history_item(ENTRY, 1095)) == ENTRY


def test_the_writers_get_the_retention_setting() -> None:
    settings = Settings.from_env({"HISTORY_TABLE": "history", "HISTORY_RETENTION_DAYS": "7"})
    history = build_history(settings, None)  # type: ignore[arg-type]
    assert history._retention_days == 7
    assert Settings().history_retention_days == 1095


def test_an_entry_is_filed_under_the_utc_day_it_took_effect() -> None:
    assert history_item(ENTRY)["day"] == {"S": "2026-01-10"}
    odd = HistoryEntry(**{**ENTRY.__dict__, "at": "10/01/2026"})  # never written by us: no day, no index entry
    assert "day" not in history_item(odd)

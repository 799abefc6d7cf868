"""Read helper for other Python services: "may I text this number?" against the stop-list table.

    from stoplist.lookup import StopListLookup
    lookup = StopListLookup("my-stack-StopListTable-XYZ")   # the StopListTableName output
    lookup.is_opted_out("06 12 34 56 78")                    # one GetItem
    result = lookup.filter_recipients(campaign_numbers)       # BatchGetItem, 100 keys a request
    result.reachable, result.opted_out, result.invalid
    lookup = StopListLookup(table_name, history_table_name="my-stack-StopListHistoryTable-XYZ")
    lookup.history("06 12 34 56 78")                          # every change of the number, oldest first
    for verdict in lookup.scrub(rows, at=send_time, number=lambda row: row["phone"]):   # a campaign, streamed
        verdict.row, verdict.reason                            # None (may be sent) or a stoplist.scrub.Reason

Inputs are normalised exactly like opt-out events. Needs only the StopListReadPolicy (GetItem, BatchGetItem,
Query on both tables).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import boto3

from stoplist.adapters.aws import MAX_ROUNDS, aws_errors, until_processed
from stoplist.adapters.history import HistoryTable
from stoplist.config import DEFAULT_PHONE_REGION
from stoplist.domain.phone import to_e164
from stoplist.domain.records import HistoryEntry
from stoplist.domain.sending_hours import SendingHours
from stoplist.errors import InvalidPhoneNumberError
from stoplist.scrub import BATCH_GET_LIMIT, IN_FLIGHT, Scrubbed, scrub

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

T = TypeVar("T")


@dataclass
class RecipientFilter:
    """``reachable`` and ``opted_out`` keep the caller's spelling of each number; ``invalid`` cannot be texted."""

    reachable: list[str] = field(default_factory=list)
    opted_out: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)


class StopListLookup:
    """A public helper for other services, so it keeps defaults of its own and builds its client when given none."""

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient | None = None,
        default_region: str = DEFAULT_PHONE_REGION,
        max_unprocessed_rounds: int = MAX_ROUNDS,
        sleep: Callable[[float], None] = time.sleep,
        history_table_name: str | None = None,
    ) -> None:
        """``history_table_name``: the StopListHistoryTableName output, for ``history``."""
        self._table = table_name
        self._client = client or boto3.client("dynamodb")
        self._region = default_region
        self._rounds = max_unprocessed_rounds
        self._sleep = sleep
        self._history = HistoryTable(history_table_name, self._client, sleep) if history_table_name else None

    def history(self, number: str, country: str | None = None) -> list[HistoryEntry]:
        """Every opt-out, re-opt-in (with its consent), snapshot addition and removal of the number, oldest
        first (one Query, paged); raises InvalidPhoneNumberError for a non-number."""
        if self._history is None:
            raise ValueError("StopListLookup needs history_table_name to read the history")
        return list(self._history.entries(to_e164(number, country, self._region)))

    def is_opted_out(self, number: str, country: str | None = None) -> bool:
        """True when the number is on the stop list; raises InvalidPhoneNumberError for a non-number."""
        key = to_e164(number, country, self._region)
        with aws_errors("read the stop-list table"):
            answer = self._client.get_item(
                TableName=self._table, Key={"phoneNumber": {"S": key}}, ProjectionExpression="phoneNumber"
            )
        return "Item" in answer

    def filter_recipients(self, numbers: Iterable[str], country: str | None = None) -> RecipientFilter:
        """Split a campaign's recipients into reachable, opted out and invalid numbers."""
        result = RecipientFilter()
        spellings: dict[str, list[str]] = {}
        for number in numbers:
            try:
                spellings.setdefault(to_e164(number, country, self._region), []).append(number)
            except InvalidPhoneNumberError:
                result.invalid.append(number)
        opted_out = self._present(list(spellings))
        for key, originals in spellings.items():
            (result.opted_out if key in opted_out else result.reachable).extend(originals)
        return result

    def scrub(
        self,
        rows: Iterable[T],
        at: datetime | None = None,
        number: Callable[[T], str] = str,
        country: str | None = None,
        hours: SendingHours | None = None,
        in_flight: int = IN_FLIGHT,
    ) -> Iterator[Scrubbed[T]]:
        """A campaign's rows, streamed: each row once, in order, kept (``reason`` None) or with the first reason
        that applies (``stoplist.scrub.Reason``): invalid number, opted out, repeat of an earlier row's number,
        outside the sending hours at ``at`` (timezone-aware; ``None``: hours not checked). ``number`` reads the
        phone number out of a row (default: the row is the number). Reads only; ``in_flight`` BatchGetItem
        requests of 100 keys at once; memory grows only with the set of numbers seen."""
        return scrub(
            rows,
            self._batch_get,
            self._region,
            number=number,
            country=country,
            at=at,
            hours=hours,
            in_flight=in_flight,
        )

    def _present(self, keys: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            found.update(self._batch_get(keys[start : start + BATCH_GET_LIMIT]))
        return found

    def _batch_get(self, keys: list[str]) -> set[str]:
        request: dict[str, Any] = {
            self._table: {"Keys": [{"phoneNumber": {"S": key}} for key in keys], "ProjectionExpression": "phoneNumber"}
        }

        def send(pending: dict[str, Any]) -> dict[str, Any]:
            return dict(self._client.batch_get_item(RequestItems=pending))

        answers = until_processed(
            send, request, "UnprocessedKeys", "batch-read the stop-list table", sleep=self._sleep, rounds=self._rounds
        )
        return {
            item["phoneNumber"]["S"] for answer in answers for item in answer.get("Responses", {}).get(self._table, [])
        }

"""Read helper for other Python services: "may I text this number?" against the stop-list table.

    from stoplist.lookup import StopListLookup
    lookup = StopListLookup("my-stack-StopListTable-XYZ")   # the StopListTableName output
    lookup.is_opted_out("06 12 34 56 78")                    # one GetItem
    result = lookup.filter_recipients(campaign_numbers)       # BatchGetItem, 100 keys a request
    result.reachable, result.opted_out, result.invalid

Inputs are normalised exactly like opt-out events. Needs only the StopListReadPolicy (GetItem, BatchGetItem).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from stoplist.domain.phone import to_e164
from stoplist.errors import AwsServiceError, InvalidPhoneNumberError, aws_error

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH_GET_LIMIT = 100


@dataclass
class RecipientFilter:
    """``reachable`` and ``opted_out`` keep the caller's spelling of each number; ``invalid`` cannot be texted."""

    reachable: list[str] = field(default_factory=list)
    opted_out: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)


class StopListLookup:
    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient | None = None,
        default_region: str = "FR",
        max_unprocessed_rounds: int = 8,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._table = table_name
        self._client = client or boto3.client("dynamodb")
        self._region = default_region
        self._rounds = max_unprocessed_rounds
        self._sleep = sleep

    def is_opted_out(self, number: str, country: str | None = None) -> bool:
        """True when the number is on the stop list; raises InvalidPhoneNumberError for a non-number."""
        key = to_e164(number, country, self._region)
        try:
            answer = self._client.get_item(
                TableName=self._table, Key={"phoneNumber": {"S": key}}, ProjectionExpression="phoneNumber"
            )
        except (ClientError, BotoCoreError) as exc:
            raise aws_error("read the stop-list table", exc) from None
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

    def _present(self, keys: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            found.update(self._batch_get(keys[start : start + BATCH_GET_LIMIT]))
        return found

    def _batch_get(self, keys: list[str]) -> set[str]:
        found: set[str] = set()
        request: dict[str, Any] = {
            self._table: {"Keys": [{"phoneNumber": {"S": key}} for key in keys], "ProjectionExpression": "phoneNumber"}
        }
        for round_ in range(self._rounds):
            try:
                answer = self._client.batch_get_item(RequestItems=request)
            except (ClientError, BotoCoreError) as exc:
                raise aws_error("batch-read the stop-list table", exc) from None
            found.update(item["phoneNumber"]["S"] for item in answer.get("Responses", {}).get(self._table, []))
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                return found
            self._sleep(random.uniform(0, min(1.0, 0.05 * 2**round_)))  # noqa: S311 - jitter, not crypto
        raise AwsServiceError("cannot batch-read the stop-list table: unprocessed keys left after retries")

"""The snapshot's lease: one item of the stop-list table, taken with a conditional write, with an expiry.

Two snapshots must never run at once (each would delete what the other is adding). Lambda's reserved
concurrency would guarantee it, but a new AWS account cannot reserve any (AWS refuses a reservation that
leaves less than its minimum unreserved), so the stack does not depend on it: a snapshot first puts the item
``#snapshot-lease`` unless it exists and has not expired, and a snapshot that finds it held does nothing.

The expiry is what a holder that dies relies on: the handler asks for the invocation's remaining time plus a
margin (``stoplist.domain.snapshot.LEASE_MARGIN_SECONDS``), so a lease always outlives the invocation that
holds it (Lambda ends it at its timeout) and is free at most that margin after it. The release is conditional
on the holder, so a run that outlived its lease (it cannot, short of a clock jump) never frees another's.

Times are epoch seconds of the instance's clock (Lambda's clocks are NTP-synchronised; a skew of seconds is
nothing against the margin). Item attributes: ``phoneNumber`` (the key, never an E.164 number), ``holder``
(a random id), ``expiresAt`` (N, epoch seconds), ``acquiredAt`` (S, ISO 8601 UTC).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from stoplist.adapters.aws import conditional_write
from stoplist.domain.keys import SNAPSHOT_LEASE_KEY
from stoplist.domain.ports import utc_now
from stoplist.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class TableLease:
    """Implements ``Lease`` (``stoplist.domain.ports``) on one item of the stop-list table."""

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient,
        key: str = SNAPSHOT_LEASE_KEY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._table = table_name
        self._client = client
        self._key = key
        self._clock = clock
        self._holder: str | None = None

    def acquire(self, seconds: float) -> bool:
        holder = uuid.uuid4().hex
        now = self._clock()
        taken = conditional_write(
            "take the snapshot lease",
            lambda: self._client.put_item(
                TableName=self._table,
                Item={
                    "phoneNumber": {"S": self._key},
                    "holder": {"S": holder},
                    "expiresAt": {"N": f"{now + seconds:.3f}"},
                    "acquiredAt": {"S": utc_now()},
                },
                ConditionExpression="attribute_not_exists(phoneNumber) OR expiresAt < :now",
                ExpressionAttributeValues={":now": {"N": f"{now:.3f}"}},
            ),
        )
        if taken:
            self._holder = holder
        return taken

    def release(self) -> None:
        holder, self._holder = self._holder, None
        if holder is None:
            return
        released = conditional_write(
            "release the snapshot lease",
            lambda: self._client.delete_item(
                TableName=self._table,
                Key={"phoneNumber": {"S": self._key}},
                ConditionExpression="holder = :holder",
                ExpressionAttributeValues={":holder": {"S": holder}},
            ),
        )
        if not released:
            logger.warning("snapshot lease had expired and was taken by another run before its release")

"""The provider's calls per second across every instance (``CallCounts`` of ``stoplist.adapters.pacing``): the
ProviderCallsTable (DynamoDB), one item per second.

One ``UpdateItem`` a call: ``ADD calls :n`` is atomic, so instances never overwrite each other's counts and need
no condition or retry; the answer (``UPDATED_NEW``) is the count after the add, from which the pacer decides.
Items are keyed by the epoch second, a new partition key each second: at the default budget a second takes at
most 33 places plus the probes of calls that found it full, far below a partition's 1,000 writes a second.
DynamoDB's TTL clears an item an hour after its second. A table of its own: counts are not leases, and the
functions that call the provider (queue, bus, snapshot) need ``UpdateItem`` on this table only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stoplist.adapters.aws import aws_errors

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# How long after its second a count stays before DynamoDB's TTL removes it.
EXPIRY_AFTER_SECONDS = 3600


class ProviderCallCounts:
    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self.name = table_name
        self._client = client

    def add(self, second: int, calls: int) -> int:
        with aws_errors("count the provider's calls"):
            answer = self._client.update_item(
                TableName=self.name,
                Key={"second": {"N": str(second)}},
                UpdateExpression="ADD calls :calls SET expiresAt = :expires",
                ExpressionAttributeValues={
                    ":calls": {"N": str(calls)},
                    ":expires": {"N": str(second + EXPIRY_AFTER_SECONDS)},
                },
                ReturnValues="UPDATED_NEW",
            )
        return int(answer["Attributes"]["calls"]["N"])

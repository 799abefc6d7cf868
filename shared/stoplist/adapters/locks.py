"""Numbers' leases (the ``NumberLocks`` port): the NumberLeaseTable (DynamoDB), one item per number held.

A table of its own rather than items of the stop-list table: a lease is no change of the stop list, so it must
not reach the table's stream (every lease would wake the change publisher twice), its scans or its exports. A
lease is one conditional ``PutItem`` (taken when absent or ended) and one conditional ``DeleteItem`` (given back by
its owner): two write units an event. A lease left behind by an instance that died ends at its ``leaseUntil``;
DynamoDB's TTL (``expiresAt``, a day later) then clears the item.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from stoplist.adapters.aws import CONDITION_FAILED, aws_error_code, aws_errors
from stoplist.domain.ordering import parse_time

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# After a lease ends, how long its item may stay before DynamoDB's TTL removes it.
EXPIRY_AFTER_SECONDS = 86_400


class NumberLeases:
    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self.name = table_name
        self._client = client

    def acquire(self, number: str, owner: str, until: str, now: str) -> str | None:
        key = {"phoneNumber": {"S": number}}
        expires = int(parse_time(until).timestamp()) + EXPIRY_AFTER_SECONDS
        try:
            with aws_errors("take the number's lease", expected=frozenset({CONDITION_FAILED})):
                self._client.put_item(
                    TableName=self.name,
                    Item={
                        **key,
                        "leaseOwner": {"S": owner},
                        "leaseUntil": {"S": until},
                        "expiresAt": {"N": str(expires)},
                    },
                    ConditionExpression="attribute_not_exists(phoneNumber) OR leaseUntil < :now",
                    ExpressionAttributeValues={":now": {"S": now}},
                )
        except ClientError as exc:
            if aws_error_code(exc) != CONDITION_FAILED:
                raise
            with aws_errors("read the number's lease"):
                held = self._client.get_item(TableName=self.name, Key=key, ConsistentRead=True).get("Item", {})
            return held.get("leaseUntil", {}).get("S") or now  # given back meanwhile: try again soon
        return None

    def release(self, number: str, owner: str) -> None:
        try:
            with aws_errors("give the number's lease back", expected=frozenset({CONDITION_FAILED})):
                self._client.delete_item(
                    TableName=self.name,
                    Key={"phoneNumber": {"S": number}},
                    ConditionExpression="leaseOwner = :owner",
                    ExpressionAttributeValues={":owner": {"S": owner}},
                )
        except ClientError as exc:
            if aws_error_code(exc) != CONDITION_FAILED:
                raise
            # Ours ended and another instance took it: nothing of ours to give back.

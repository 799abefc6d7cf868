"""Numbers' leases (the ``NumberLocks`` port), as items of the stop-list table keyed ``#lease#<number>``.

In the stop-list table rather than a table of their own: nothing to deploy, and the table's keys that start with
``#`` are already skipped by its scans and by the change publisher (``table.is_control_key``). A lease is one
conditional ``PutItem`` (taken when absent or ended) and one conditional ``DeleteItem`` (given back by its owner),
two write units an event; a lease left behind by an instance that died ends at its ``leaseUntil``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from stoplist.errors import CONDITION_FAILED, aws_error_code, aws_errors

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

LEASE_PREFIX = "#lease#"


class NumberLeases:
    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self.name = table_name
        self._client = client

    def acquire(self, number: str, owner: str, until: str, now: str) -> str | None:
        key = {"phoneNumber": {"S": LEASE_PREFIX + number}}
        try:
            with aws_errors("take the number's lease", expected=frozenset({CONDITION_FAILED})):
                self._client.put_item(
                    TableName=self.name,
                    Item={**key, "leaseOwner": {"S": owner}, "leaseUntil": {"S": until}},
                    ConditionExpression="attribute_not_exists(phoneNumber) OR leaseUntil < :now",
                    ExpressionAttributeValues={":now": {"S": now}},
                )
        except ClientError as exc:
            if aws_error_code(exc) != CONDITION_FAILED:
                raise
            with aws_errors("read the number's lease"):
                held = self._client.get_item(TableName=self.name, Key=key, ConsistentRead=True).get("Item", {})
            return held.get("leaseUntil", {}).get("S") or now  # gone meanwhile: try again soon
        return None

    def release(self, number: str, owner: str) -> None:
        try:
            with aws_errors("give the number's lease back", expected=frozenset({CONDITION_FAILED})):
                self._client.delete_item(
                    TableName=self.name,
                    Key={"phoneNumber": {"S": LEASE_PREFIX + number}},
                    ConditionExpression="leaseOwner = :owner",
                    ExpressionAttributeValues={":owner": {"S": owner}},
                )
        except ClientError as exc:
            if aws_error_code(exc) != CONDITION_FAILED:
                raise
            # Ours ended and another instance took it: nothing of ours to give back.

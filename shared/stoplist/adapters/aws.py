"""The AWS plumbing every adapter shares: botocore failures translated, conditional and batch writes.

- ``aws_errors``: the one translation of botocore failures into ``AwsServiceError`` (only the error code is
  kept; botocore's messages may quote request values).
- ``conditional_write``: a conditional DynamoDB write whose failed condition is an answer (False), not an error.
- ``until_processed`` / ``batch_write``: the one retry loop for DynamoDB batch calls that hand back what they did
  not process. ``BatchWriteItem`` answers ``UnprocessedItems`` and ``BatchGetItem`` ``UnprocessedKeys`` when a
  partition is throttled; AWS asks for the remainder to be sent again after an exponential backoff. The backoff
  has full jitter so that the snapshot's write threads, which meet the same throttled partition together, do not
  retry together.

The domain never imports this module (tests/unit/test_layers.py): it sees ``AwsServiceError`` only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from stoplist.domain.backoff import Backoff
from stoplist.errors import AwsServiceError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Largest number of requests in one BatchWriteItem.
BATCH_WRITE_LIMIT = 25

# A conditional write whose condition did not hold: an answer the caller expects and decides on.
CONDITION_FAILED = "ConditionalCheckFailedException"


def aws_error_code(exc: ClientError | BotoCoreError) -> str:
    """botocore's error code (``ConditionalCheckFailedException``, ...) or the exception's type name."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__


@contextmanager
def aws_errors(action: str, expected: frozenset[str] = frozenset()) -> Iterator[None]:
    """The one translation of botocore failures: ``with aws_errors("scan the table"): client.scan(...)``.

    Only the error code is kept (botocore's messages may quote request values, a phone number or a key), and the
    cause is dropped (``from None``). Codes in ``expected`` (e.g. ``ConditionalCheckFailedException``) are not
    translated: they propagate as botocore raised them, for the caller to catch.
    """
    try:
        yield
    except ClientError as exc:
        code = aws_error_code(exc)
        if code in expected:
            raise
        raise AwsServiceError(f"cannot {action}: {code}", code) from None
    except BotoCoreError as exc:
        code = aws_error_code(exc)
        raise AwsServiceError(f"cannot {action}: {code}", code) from None


def conditional_write(action: str, write: Callable[[], object]) -> bool:
    """Run a conditional DynamoDB write; False when its condition did not hold, other failures translated."""
    try:
        with aws_errors(action, expected=frozenset({CONDITION_FAILED})):
            write()
    except ClientError as exc:
        if aws_error_code(exc) == CONDITION_FAILED:
            return False
        raise
    return True


# Eight sends wait at most 0.05 + 0.1 + 0.2 + 0.4 + 0.8 + 1.0 + 1.0 = 3.45 s in all before giving up.
MAX_ROUNDS = 8
_BASE_DELAY_SECONDS = 0.05
_MAX_DELAY_SECONDS = 1.0
UNPROCESSED_BACKOFF = Backoff(_BASE_DELAY_SECONDS, _MAX_DELAY_SECONDS)


def until_processed(
    send: Callable[[dict[str, Any]], dict[str, Any]],
    request: dict[str, Any],
    unprocessed_key: str,
    action: str,
    sleep: Callable[[float], None],
    rounds: int = MAX_ROUNDS,
    backoff: Backoff = UNPROCESSED_BACKOFF,
) -> Iterator[dict[str, Any]]:
    """Send ``request``, then what each answer's ``unprocessed_key`` hands back, and yield every answer.

    Raises ``AwsServiceError`` when botocore fails or when items are still unprocessed after ``rounds`` sends.
    """
    for round_ in range(rounds):
        if round_:
            sleep(backoff.delay(round_))
        with aws_errors(action):
            answer = send(request)
        yield answer
        request = answer.get(unprocessed_key) or {}
        if not request:
            return
    raise AwsServiceError(f"cannot {action}: {unprocessed_key} left after {rounds} rounds")


def batch_write(
    client: DynamoDBClient, table_name: str, chunk: list[dict[str, Any]], sleep: Callable[[float], None]
) -> None:
    """One BatchWriteItem of at most 25 requests, what it leaves unprocessed sent again (``until_processed``)."""

    def send(request: dict[str, Any]) -> dict[str, Any]:
        return dict(client.batch_write_item(RequestItems=request))

    for _answer in until_processed(send, {table_name: chunk}, "UnprocessedItems", "batch-write items", sleep=sleep):
        pass

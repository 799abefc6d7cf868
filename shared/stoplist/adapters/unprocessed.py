"""The one retry loop for DynamoDB batch calls that hand back what they did not process.

``BatchWriteItem`` answers ``UnprocessedItems`` and ``BatchGetItem`` ``UnprocessedKeys`` when a partition is
throttled; AWS asks for the remainder to be sent again after an exponential backoff. The backoff has full jitter
so that the snapshot's write threads, which meet the same throttled partition together, do not retry together.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

from stoplist.errors import AwsServiceError, aws_errors

# Eight sends wait at most 0.05 + 0.1 + 0.2 + 0.4 + 0.8 + 1.0 + 1.0 = 3.45 s in all before giving up.
MAX_ROUNDS = 8
_BASE_DELAY_SECONDS = 0.05
_MAX_DELAY_SECONDS = 1.0


def until_processed(
    send: Callable[[dict[str, Any]], dict[str, Any]],
    request: dict[str, Any],
    unprocessed_key: str,
    action: str,
    sleep: Callable[[float], None],
    rounds: int = MAX_ROUNDS,
) -> Iterator[dict[str, Any]]:
    """Send ``request``, then what each answer's ``unprocessed_key`` hands back, and yield every answer.

    Raises ``AwsServiceError`` when botocore fails or when items are still unprocessed after ``rounds`` sends.
    """
    for round_ in range(rounds):
        if round_:
            sleep(random.uniform(0, min(_MAX_DELAY_SECONDS, _BASE_DELAY_SECONDS * 2 ** (round_ - 1))))  # noqa: S311
        with aws_errors(action):
            answer = send(request)
        yield answer
        request = answer.get(unprocessed_key) or {}
        if not request:
            return
    raise AwsServiceError(f"cannot {action}: {unprocessed_key} left after {rounds} rounds")

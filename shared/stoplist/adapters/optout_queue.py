"""Publishes opt-out events (the README's contract, as the JSON body) to OptOutQueue, as any producer does.

The HTTP doors end here: the queue's function does the provider call, its retries and its dead letters,
so a person's request never waits on SMS Partner.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from stoplist.errors import aws_errors

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class OptOutQueue:
    def __init__(self, *, queue_url: str, client: SQSClient) -> None:
        self._queue_url = queue_url
        self._client = client

    def publish(self, event: Mapping[str, str]) -> None:
        with aws_errors("send to the opt-out queue"):
            self._client.send_message(QueueUrl=self._queue_url, MessageBody=json.dumps(event))

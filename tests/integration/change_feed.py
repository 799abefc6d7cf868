"""What the integration tests of re-opt-ins and change events share: the publisher function fed by the stream
poller (as Lambda's event source mapping would), and what reached the bus, the history and the on-failure queue."""

from __future__ import annotations

import json
from typing import Any

import boto3
from stoplist.domain.records import HistoryEntry
from stoplist.lookup import StopListLookup

from devkit.lambda_runtime import LocalFunction
from devkit.stream_poller import DynamoDbStreamPoller, StreamPollStats, to_queue
from devkit.template import LocalResources
from tests.helpers import dead_letters, local_function


class ChangeFeed:
    def __init__(self, resources: LocalResources, max_retries: int = 3, **extra_env: str) -> None:
        self.resources = resources
        self.publisher: LocalFunction = local_function(
            resources, "ChangePublisherFunction", "handlers.change_publisher", **extra_env
        )
        sqs: Any = boto3.client("sqs")
        self.poller = DynamoDbStreamPoller(
            resources.stream_arns["StopListTable"],
            self.publisher.invoke,
            max_retries=max_retries,
            on_failure=to_queue(sqs, resources.queue_urls["ChangeEventsDeadLetterQueue"]),
        )
        self._sqs = sqs
        self.lookup = StopListLookup(
            resources.table_name, history_table_name=resources.table_names["StopListHistoryTable"]
        )

    def deliver(self) -> StreamPollStats:
        return self.poller.drain()

    def announcements(self, queue_url: str | None = None) -> list[dict[str, Any]]:
        """Everything the forwarding rule delivered (deleted as read), in the order received."""
        found: list[dict[str, Any]] = []
        url = queue_url or self.resources.announcements_queue_url
        while True:
            messages = self._sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
                "Messages", []
            )
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                self._sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def history(self, number: str) -> list[HistoryEntry]:
        return self.lookup.history(number)

    def on_failure_messages(self) -> list[dict[str, Any]]:
        return dead_letters(self.resources.queue_urls["ChangeEventsDeadLetterQueue"])

"""Reading a queue without consuming it, against a fake SQS that hides what it hands out."""

from __future__ import annotations

from typing import Any

from stoplist_cli.queues import oldest_age_from_messages, peek, queue_name, receive_all


class FakeQueue:
    def __init__(self, count: int) -> None:
        self.visible: list[dict[str, Any]] = [
            {
                "MessageId": f"m{i}",
                "ReceiptHandle": f"r{i}",
                "Body": "{}",
                "Attributes": {"SentTimestamp": str(1000 * i)},
            }
            for i in range(count)
        ]
        self.hidden: dict[str, dict[str, Any]] = {}
        self.receives = 0

    def receive_message(self, **request: Any) -> dict[str, Any]:
        self.receives += 1
        batch, self.visible = (
            self.visible[: request["MaxNumberOfMessages"]],
            self.visible[request["MaxNumberOfMessages"] :],
        )
        self.hidden.update({message["ReceiptHandle"]: message for message in batch})
        return {"Messages": batch}

    def change_message_visibility_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        for entry in Entries:
            assert entry["VisibilityTimeout"] == 0
            self.visible.append(self.hidden.pop(entry["ReceiptHandle"]))
        return {}


def test_peek_reads_each_message_once_and_gives_them_all_back() -> None:
    queue = FakeQueue(25)

    messages = peek(queue, "https://sqs/1/dlq")

    assert sorted(m["MessageId"] for m in messages) == sorted(f"m{i}" for i in range(25))
    assert len(queue.visible) == 25
    assert queue.hidden == {}


def test_receive_all_stops_at_its_limit() -> None:
    queue = FakeQueue(100)
    assert len(list(receive_all(queue, "u", limit=20))) == 20
    assert queue.receives == 2


def test_oldest_age_and_queue_name() -> None:
    messages = FakeQueue(3).visible
    assert oldest_age_from_messages(messages, now=10.0) == 10.0  # SentTimestamp 0 ms is the oldest
    assert oldest_age_from_messages([{"Attributes": {}}]) is None
    assert (
        queue_name("https://sqs.eu-west-3.amazonaws.com/123456789012/stack-OptOutQueue-AbC") == "stack-OptOutQueue-AbC"
    )

"""OptOutQueue (stoplist.adapters.opt_out_queue) with a recording SQS client: published events, requeued bodies
with their original id and first receipt, postponements, and the first receipt read back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, cast

from stoplist.adapters.opt_out_queue import ORIGINAL_MESSAGE_ID, RECEIVED_AT, OptOutQueue, received_at
from stoplist.domain.ports import OptOutPublisher, RetryQueue

RECEIVED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


class RecordingSqs:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def send_message(self, **request: Any) -> dict[str, Any]:
        self.calls.append(("send", request))
        return {"MessageId": "m"}

    def change_message_visibility(self, **request: Any) -> dict[str, Any]:
        self.calls.append(("visibility", request))
        return {}


def test_a_published_event_is_the_contracts_json_and_nothing_else() -> None:
    client = RecordingSqs()
    publisher: OptOutPublisher = OptOutQueue(queue_url="https://sqs/q", client=cast(Any, client))
    publisher.publish({"phoneNumber": "+33612345678", "source": "smspartner-reply"})
    [(kind, request)] = client.calls
    assert kind == "send"
    assert json.loads(request["MessageBody"]) == {"phoneNumber": "+33612345678", "source": "smspartner-reply"}
    assert (request["DelaySeconds"], request["MessageAttributes"]) == (0, {})


def test_a_requeued_body_keeps_its_original_id_and_first_receipt() -> None:
    client = RecordingSqs()
    queue: RetryQueue = OptOutQueue(queue_url="https://sqs/q", client=cast(Any, client))
    queue.requeue('{"phoneNumber": "0612345678"}', 7, "m-1", RECEIVED)
    queue.postpone("rh-1", 240)
    (_, sent), (kind, visibility) = client.calls
    assert sent["DelaySeconds"] == 7
    assert {name: value["StringValue"] for name, value in sent["MessageAttributes"].items()} == {
        ORIGINAL_MESSAGE_ID: "m-1",
        RECEIVED_AT: "2026-03-01T09:00:00.000000Z",
    }
    assert (kind, visibility["ReceiptHandle"], visibility["VisibilityTimeout"]) == ("visibility", "rh-1", 240)


def test_the_first_receipt_is_the_carried_one_else_the_queues_send_time() -> None:
    assert received_at("2026-03-01T09:00:00.000000Z", "1") == RECEIVED
    assert received_at(None, "1772355600000") == RECEIVED
    assert received_at("not a time", "1772355600000") == RECEIVED
    assert abs((received_at(None, None) - datetime.now(UTC)).total_seconds()) < 5

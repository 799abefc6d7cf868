"""Behaves like EventBridge delivering to a Lambda function, against a real (moto) bus: the twin of
``devkit/poller.py``'s SQS event-source poller.

- Matching: events put on the bus are matched by moto against the template's rule, which targets a local
  delivery queue (``devkit/template.py`` creates both); so the pattern that decides is the template's own.
- Delivery: what Lambda does with an asynchronous invocation. Invoke; on an error, retry up to the
  function's ``EventInvokeConfig.MaximumRetryAttempts``; when every attempt failed, send an OnFailure record
  (the document Lambda sends to an SQS destination) to ``DestinationConfig.OnFailure``. AWS waits about one
  and two minutes between attempts; locally the retries follow at once.
- Not emulated: ``MaximumEventAgeInSeconds`` and EventBridge's own target retries and dead-letter queue
  (delivery to the local queue cannot fail).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3

from devkit.poller import queue_depth
from devkit.template import LocalResources

PUT_EVENTS_LIMIT = 10  # entries per PutEvents call


def put_events(events_client: Any, bus_name: str, events: list[dict[str, Any]]) -> None:
    """Publish events (EventBridge shape: ``source``, ``detail-type``, ``detail``) the way a producer would."""
    for start in range(0, len(events), PUT_EVENTS_LIMIT):
        entries = [
            {
                "Source": event.get("source", "local"),
                "DetailType": event["detail-type"],
                "Detail": json.dumps(event["detail"]),
                "EventBusName": bus_name,
            }
            for event in events[start : start + PUT_EVENTS_LIMIT]
        ]
        failed = events_client.put_events(Entries=entries)["FailedEntryCount"]
        if failed:
            raise RuntimeError(f"EventBridge refused {failed} events")


def on_failure_record(event: dict[str, Any], error: Exception, attempts: int) -> dict[str, Any]:
    """What Lambda sends to the OnFailure destination when an asynchronous event ran out of retries."""
    return {
        "version": "1.0",
        "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": attempts},
        "requestPayload": event,
        "responsePayload": {"errorMessage": str(error), "errorType": type(error).__name__},
    }


def on_failure_reason(body: str) -> dict[str, str]:
    """The error of an OnFailure record, under the names the handlers' dead letters use for theirs."""
    response = json.loads(body).get("responsePayload", {})
    return {"errorType": response.get("errorType", "unknown"), "reason": response.get("errorMessage", "")}


@dataclass
class DeliveryStats:
    received: int = 0  # events taken from the rule's delivery queue
    invocations: int = 0
    failed: int = 0  # events that ran out of retries and went to the OnFailure destination


class AsyncInvokeDelivery:
    """Delivers the events the rule matched to a function, as Lambda's asynchronous invocation does."""

    def __init__(
        self,
        delivery_queue_url: str,
        invoke: Callable[[dict[str, Any]], Any],
        *,
        max_retries: int,
        on_failure_url: str,
        sqs: Any = None,
    ) -> None:
        self._url = delivery_queue_url
        self._invoke = invoke
        self._retries = max_retries
        self._on_failure_url = on_failure_url
        self._sqs: Any = sqs or boto3.client("sqs")
        self.stats = DeliveryStats()

    @classmethod
    def from_template(
        cls, resources: LocalResources, function_id: str, invoke: Callable[[dict[str, Any]], Any], sqs: Any = None
    ) -> AsyncInvokeDelivery:
        """Retries and OnFailure destination as the function's ``EventInvokeConfig`` in template.yaml sets them."""
        config = resources.template["Resources"][function_id]["Properties"]["EventInvokeConfig"]
        destination_id = config["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
        return cls(
            resources.rule_delivery_queue_url,
            invoke,
            max_retries=int(config["MaximumRetryAttempts"]),
            on_failure_url=resources.queue_urls[destination_id],
            sqs=sqs,
        )

    def deliver_once(self) -> int:
        """Deliver what one receive returns (up to 10 events); returns how many events were received."""
        messages = self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        for message in messages:
            self._deliver(json.loads(message["Body"]))
            self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
        self.stats.received += len(messages)
        return len(messages)

    def _deliver(self, event: dict[str, Any]) -> None:
        for attempt in range(1, self._retries + 2):
            self.stats.invocations += 1
            try:
                self._invoke(event)
                return
            except Exception as exc:  # noqa: BLE001 - Lambda's async invoke catches every error the same way
                if attempt == self._retries + 1:
                    record = on_failure_record(event, exc, attempt)
                    self._sqs.send_message(QueueUrl=self._on_failure_url, MessageBody=json.dumps(record))
                    self.stats.failed += 1

    def in_queue(self) -> int:
        return queue_depth(self._sqs, self._url)

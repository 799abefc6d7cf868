"""The HTTP doors served on loopback for tests: the local HTTP API over the template's routes, the link key
and webhook token the local secrets hold, and the queue's SQS function to follow an opt-out to the stop list."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import requests
from stoplist.domain.links import make_unsubscribe_url

from devkit.http_api import LocalHttpApi
from devkit.lambda_runtime import LocalFunction
from devkit.poller import SqsEventSourcePoller, queue_depth
from devkit.template import LocalResources, http_routes
from tests.helpers import local_function


class Doors:
    """The HTTP API on loopback, plus what a test needs to follow an opt-out to the stop list."""

    def __init__(self, resources: LocalResources, api: LocalHttpApi, sqs_function: LocalFunction) -> None:
        self.resources = resources
        self.api = api
        self.url = api.base_url
        self.webhook_token = resources.secret_values["WebhookTokenSecret"]
        self.link_key = resources.secret_values["LinkSigningKeySecret"]
        self.queue_url = resources.queue_urls["OptOutQueue"]
        self.sqs: Any = boto3.client("sqs")
        self.poller = SqsEventSourcePoller(self.queue_url, resources.queue_arns["OptOutQueue"], sqs_function.invoke)

    def link(self, number: str) -> str:
        return make_unsubscribe_url(self.url, number, self.link_key)

    def webhook(self, **kwargs: Any) -> requests.Response:
        params = kwargs.pop("params", {"token": self.webhook_token})
        return requests.post(f"{self.url}/webhooks/smspartner/replies", params=params, timeout=10, **kwargs)

    def queued(self) -> int:
        return queue_depth(self.sqs, self.queue_url)

    def drain(self) -> None:
        """What Lambda's event source mapping does: hand the queue's messages to the SQS function."""
        while self.poller.poll_once() or self.queued():
            pass


def start_doors(resources: LocalResources) -> Iterator[Doors]:
    functions = {
        route.function_id: local_function(resources, route.function_id, route.module)
        for route in http_routes(resources.template)
    }
    sqs_function = local_function(resources, "OptOutSqsFunction", "handlers.optout_sqs")
    with LocalHttpApi(http_routes(resources.template), functions) as api:
        yield Doors(resources, api, sqs_function)

"""The template's functions, driven the way their AWS triggers drive them: the queue's event source
(``devkit/poller.py``), the bus's asynchronous delivery (``devkit/bus.py``), the schedule, the table's
stream (``devkit/stream_poller.py``) for the change publisher, and the HTTP API (``devkit/http_api.py``) for
the replies webhook and the unsubscribe page.

Used by the local run (``devkit/pipeline.py``), which drains once, and by the served local stack
(``devkit/serve.py``), which keeps polling. Functions run one at a time (``lock``): each invocation sets the
process's environment to its function's, and the HTTP API answers from threads of its own.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import boto3

from devkit.bus import AsyncInvokeDelivery
from devkit.http_api import LocalHttpApi
from devkit.lambda_runtime import LocalFunction
from devkit.poller import SqsEventSourcePoller
from devkit.services import REPO_ROOT
from devkit.stream_poller import DynamoDbStreamPoller, to_queue
from devkit.template import LocalResources, http_routes

SCHEDULE_EVENT = REPO_ROOT / "events" / "schedule.json"


class LocalFunctions:
    def __init__(
        self,
        resources: LocalResources,
        extra_env: dict[str, str] | None = None,
        retry_delay_seconds: int = 1,
        sqs: Any = None,
    ) -> None:
        env = {name: {**values, **(extra_env or {})} for name, values in resources.function_env.items()}
        self.sqs_function = LocalFunction("OptOutSqsFunction", "handlers.optout_sqs", env["OptOutSqsFunction"])
        self.bus_function = LocalFunction(
            "OptOutEventBridgeFunction", "handlers.optout_eventbridge", env["OptOutEventBridgeFunction"]
        )
        self.snapshot_function = LocalFunction(
            "SnapshotFunction", "handlers.snapshot_scheduled", env["SnapshotFunction"]
        )
        self.publisher = LocalFunction(
            "ChangePublisherFunction", "handlers.change_publisher", env["ChangePublisherFunction"]
        )
        for function in (self.sqs_function, self.bus_function, self.snapshot_function, self.publisher):
            function.new_container()
        self.lock = threading.Lock()
        routes = http_routes(resources.template)
        http_functions = {
            route.function_id: LocalFunction(route.function_id, route.module, env[route.function_id])
            for route in routes
        }
        for function in http_functions.values():
            function.new_container()
        # Not started: the caller starts and stops it (``with functions.http_api:``).
        self.http_api = LocalHttpApi(routes, http_functions, lock=self.lock)
        sqs = sqs or boto3.client("sqs")
        self.poller = SqsEventSourcePoller(
            resources.queue_urls["OptOutQueue"],
            resources.queue_arns["OptOutQueue"],
            self._one_at_a_time(self.sqs_function),
            batch_size=int(resources.parameters["BatchSize"]),
            retry_delay_seconds=retry_delay_seconds,
            sqs=sqs,
        )
        self.delivery = AsyncInvokeDelivery.from_template(
            resources, "OptOutEventBridgeFunction", self._one_at_a_time(self.bus_function), sqs
        )
        self.stream = DynamoDbStreamPoller(
            resources.stream_arns["StopListTable"],
            self._one_at_a_time(self.publisher),
            on_failure=to_queue(sqs, resources.queue_urls["ChangeEventsDeadLetterQueue"]),
        )

    def snapshot(self) -> Any:
        """One scheduled invocation of the snapshot."""
        return self._one_at_a_time(self.snapshot_function)(json.loads(SCHEDULE_EVENT.read_text()))

    def _one_at_a_time(self, function: LocalFunction) -> Callable[[dict[str, Any]], Any]:
        def invoke(event: dict[str, Any]) -> Any:
            with self.lock:
                return function.invoke(event)

        return invoke

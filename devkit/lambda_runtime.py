"""Runs a handler in-process the way Lambda would: its own environment (as template.yaml resolves it),
a LambdaContext, and one "container" per function so that per-container caches behave as in AWS."""

from __future__ import annotations

import importlib
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

_ENVIRON_LOCK = threading.Lock()


@dataclass
class FakeLambdaContext:
    """Counts real time from its creation (the invocation's start), as Lambda's context does."""

    function_name: str
    memory_limit_in_mb: int = 256
    timeout_ms: int = 30_000
    aws_request_id: str = ""
    invoked_function_arn: str = ""
    log_group_name: str = ""
    log_stream_name: str = ""

    def __post_init__(self) -> None:
        self.aws_request_id = self.aws_request_id or str(uuid.uuid4())
        self.invoked_function_arn = (
            self.invoked_function_arn or f"arn:aws:lambda:eu-west-3:123456789012:function:{self.function_name}"
        )
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self._started = time.monotonic()

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.timeout_ms - int((time.monotonic() - self._started) * 1000))


@contextmanager
def environment(variables: dict[str, str]) -> Iterator[None]:
    """Set variables for the duration of an invocation, then restore the process environment."""
    with _ENVIRON_LOCK:
        saved = {name: os.environ.get(name) for name in variables}
        os.environ.update(variables)
    try:
        yield
    finally:
        with _ENVIRON_LOCK:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


class LocalFunction:
    """A function of template.yaml, e.g. LocalFunction("OptOutSqsFunction", "handlers.optout_sqs", env)."""

    def __init__(self, logical_id: str, module: str, env: dict[str, str], timeout_seconds: int = 30) -> None:
        self.logical_id = logical_id
        self.env = env
        self.module = importlib.import_module(module)
        self.timeout_ms = timeout_seconds * 1000  # the template's Globals Timeout
        self.invocations = 0

    def invoke(self, event: dict[str, Any]) -> Any:
        self.invocations += 1
        context = FakeLambdaContext(function_name=self.logical_id, timeout_ms=self.timeout_ms)
        with environment(self.env):
            return self.module.lambda_handler(event, context)

    def new_container(self) -> None:
        """Forget what the previous "container" built (clients, cached secret), as a cold start would."""
        self.module.dependencies.cache_clear()

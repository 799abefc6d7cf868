"""Runs a handler in-process the way Lambda would: its own environment (as template.yaml resolves it),
a LambdaContext, and one "container" per function so that per-container caches behave as in AWS.

The rule every handler module follows (``handlers/``), written here because this is where it is relied on:

- ``lambda_handler(event, context)`` is the entry point;
- ``dependencies()`` builds what the handler needs (settings, clients, the ``requests`` session, the cached
  secret) on the first invocation, not at import, and is cached (``functools.cache``) so that a container
  builds it once. Building at import would add to every cold start (see bench/README.md, "Cold start");
- nothing else in the module keeps per-container state, so ``LocalFunction.new_container()`` clearing
  ``dependencies``' cache is a cold start: new clients, the secret read again, settings read from the
  environment of the function being run.

``LocalFunction`` refuses a module that breaks the rule, rather than run it with state left over from another
function or test.
"""

from __future__ import annotations

import importlib
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, cast

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


class CachedDependencies(Protocol):
    """``dependencies`` of a handler module: a ``functools.cache``d function of no arguments."""

    def __call__(self) -> Any: ...
    def cache_clear(self) -> None: ...


class HandlerModule(Protocol):
    """What a handler module exposes (the rule in this module's docstring)."""

    dependencies: CachedDependencies

    def lambda_handler(self, event: dict[str, Any], context: Any) -> Any: ...


def handler_module(name: str) -> HandlerModule:
    """Import a handler module, checking that it follows the rule."""
    module = importlib.import_module(name)
    if not callable(getattr(module, "lambda_handler", None)):
        raise TypeError(f"{name} has no lambda_handler(event, context)")
    dependencies = getattr(module, "dependencies", None)
    if not callable(dependencies) or not callable(getattr(dependencies, "cache_clear", None)):
        raise TypeError(
            f"{name} has no cached dependencies(): build clients in a @functools.cache function named"
            " dependencies, so that each local container (and each Lambda container) builds them once"
            " (see devkit/lambda_runtime.py)"
        )
    return cast(HandlerModule, module)


class LocalFunction:
    """A function of template.yaml, e.g. LocalFunction("OptOutSqsFunction", "handlers.optout_sqs", env)."""

    def __init__(self, logical_id: str, module: str, env: dict[str, str], timeout_seconds: int = 30) -> None:
        self.logical_id = logical_id
        self.env = env
        self.module = handler_module(module)
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

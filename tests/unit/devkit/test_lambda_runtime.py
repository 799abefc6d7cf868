"""The local runtime holds handler modules to the rule of devkit/lambda_runtime.py."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest

from devkit.lambda_runtime import LocalFunction


@pytest.fixture
def module() -> Iterator[types.ModuleType]:
    fake = types.ModuleType("fake_handler")
    sys.modules[fake.__name__] = fake
    yield fake
    del sys.modules[fake.__name__]


def test_every_handler_follows_the_rule() -> None:
    for name in ("handlers.optout_sqs", "handlers.optout_eventbridge", "handlers.snapshot_scheduled"):
        LocalFunction("Function", name, {}).new_container()


def test_a_module_without_dependencies_is_refused(module: types.ModuleType) -> None:
    module.lambda_handler = lambda event, context: None  # type: ignore[attr-defined]

    with pytest.raises(TypeError, match=r"fake_handler has no cached dependencies\(\)"):
        LocalFunction("Function", module.__name__, {})


def test_an_uncached_dependencies_is_refused(module: types.ModuleType) -> None:
    module.lambda_handler = lambda event, context: None  # type: ignore[attr-defined]
    module.dependencies = lambda: object()  # type: ignore[attr-defined]

    with pytest.raises(TypeError, match="cached dependencies"):
        LocalFunction("Function", module.__name__, {})


def test_a_module_without_lambda_handler_is_refused(module: types.ModuleType) -> None:
    module.dependencies = cache(lambda: object())  # type: ignore[attr-defined]

    with pytest.raises(TypeError, match="no lambda_handler"):
        LocalFunction("Function", module.__name__, {})


def test_new_container_builds_the_dependencies_again(module: types.ModuleType) -> None:
    @cache
    def dependencies() -> object:
        return object()

    def lambda_handler(event: dict[str, Any], context: Any) -> object:
        return dependencies()

    module.dependencies = dependencies  # type: ignore[attr-defined]
    module.lambda_handler = lambda_handler  # type: ignore[attr-defined]
    function = LocalFunction("Function", module.__name__, {})

    first = function.invoke({})
    assert function.invoke({}) is first  # one container: built once
    function.new_container()
    assert function.invoke({}) is not first

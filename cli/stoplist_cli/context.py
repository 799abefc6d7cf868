"""What every command receives: the output, and the stack, resolved on first use (``--help`` calls nothing)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

import click

from stoplist_cli.output import Output
from stoplist_cli.stack import Stack


class Session:
    def __init__(self, output: Output, resolve: Callable[[], Stack]) -> None:
        self.output = output
        self._resolve = resolve

    @cached_property
    def stack(self) -> Stack:
        return self._resolve()

    def client(self, service: str) -> Any:
        return self.stack.client(service)


pass_session = click.make_pass_decorator(Session)

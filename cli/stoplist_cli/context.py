"""What every command receives: the output, and the stack, resolved on first use (``--help`` calls nothing)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any, TypeVar

import click

from stoplist_cli.output import Output
from stoplist_cli.stack import Stack

F = TypeVar("F", bound=Callable[..., Any])


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


def _json_mode(ctx: click.Context, _: click.Parameter, value: bool) -> None:
    session = ctx.find_object(Session)
    if value and session is not None:
        session.output.json_mode = True


def json_option(command: F) -> F:
    """``--json`` after the command too (``stoplist status --json``), the same as before it."""
    return click.option(
        "--json", is_flag=True, expose_value=False, callback=_json_mode, help="Print one JSON document."
    )(command)

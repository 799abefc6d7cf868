"""What the command prints: aligned tables and coloured verdicts for a person, JSON for a script, and exit codes.

Colours go through ``click.echo``, which drops them when the output is not a terminal (and ``NO_COLOR``
turns them off everywhere); ``--json`` prints one JSON document on stdout and nothing else there.
"""

from __future__ import annotations

import enum
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import click


class Exit(enum.IntEnum):
    """The command's exit codes (docs/operations.md, "The `stoplist` command")."""

    OK = 0
    PROBLEM = 1  # a check found something wrong: a DLQ holds messages, an invalid number, ...
    USAGE = 2  # click's own code for a bad option; also a resource the command needs and was not given
    UNREACHABLE = 3  # the stack or an AWS service could not be read


@dataclass(frozen=True)
class Styled:
    """A table cell with a colour: ``good`` (green), ``bad`` (red), ``warn`` (yellow), ``dim``."""

    text: str
    tone: str


_TONES: dict[str, dict[str, Any]] = {
    "good": {"fg": "green"},
    "bad": {"fg": "red", "bold": True},
    "warn": {"fg": "yellow"},
    "dim": {"dim": True},
}
Cell = str | Styled


def paint(text: str, tone: str) -> str:
    return click.style(text, **_TONES[tone])


def render_table(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> list[str]:
    """Columns padded to their widest cell (measured without colour codes); numbers aligned right."""
    plain = [[cell.text if isinstance(cell, Styled) else cell for cell in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in plain:
        for index, text in enumerate(row):
            widths[index] = max(widths[index], len(text))
    numeric = [
        bool(plain) and all(_is_number(row[index]) for row in plain if row[index]) for index in range(len(headers))
    ]

    def line(cells: Sequence[Cell]) -> str:
        parts = []
        for index, cell in enumerate(cells):
            text = cell.text if isinstance(cell, Styled) else cell
            padded = text.rjust(widths[index]) if numeric[index] else text.ljust(widths[index])
            parts.append(paint(padded, cell.tone) if isinstance(cell, Styled) else padded)
        return "  ".join(parts).rstrip()

    return [line(list(headers)), *(line(row) for row in rows)]


def _is_number(text: str) -> bool:
    return text.replace(",", "").replace(".", "", 1).lstrip("-").isdigit()


def human_age(seconds: float | None) -> str:
    """``42 s``, ``5 min``, ``3 h 12 min``, ``2 d 4 h``: the two largest units, for a person."""
    if seconds is None:
        return "-"
    left = max(0, int(seconds))
    if left < 60:
        return f"{left} s"
    days, left = divmod(left, 86400)
    hours, left = divmod(left, 3600)
    minutes = left // 60
    parts = [(days, "d"), (hours, "h"), (minutes, "min")]
    while parts and parts[0][0] == 0:
        parts.pop(0)
    return " ".join(f"{value} {unit}" for value, unit in parts[:2] if value)


class Output:
    def __init__(self, json_mode: bool) -> None:
        self.json_mode = json_mode
        self.color = None if not os.environ.get("NO_COLOR") else False

    def echo(self, text: str = "", err: bool = False) -> None:
        click.echo(text, err=err, color=self.color)

    def note(self, text: str) -> None:
        """A remark for the person (stderr), kept out of the JSON a script reads."""
        click.echo(text, err=True, color=self.color)

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
        for line in render_table(headers, rows):
            self.echo(line)

    def document(self, data: Any) -> None:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))

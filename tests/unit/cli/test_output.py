"""Formatting for people: aligned tables without colour codes off a terminal, ages, exit codes."""

from __future__ import annotations

import click
from click.testing import CliRunner
from stoplist_cli.output import Exit, Output, Styled, human_age, render_table


def test_table_columns_align_and_numbers_go_right() -> None:
    lines = render_table(["queue", "visible"], [["OptOutQueue", "0"], ["OptOutDeadLetterQueue", "12"]])

    assert lines == [
        "queue                  visible",
        "OptOutQueue                  0",
        "OptOutDeadLetterQueue       12",
    ]


def test_widths_ignore_colour_codes() -> None:
    coloured = render_table(["a", "b"], [[Styled("long value", "bad"), "x"]])
    plain = render_table(["a", "b"], [["long value", "x"]])

    assert click.unstyle(coloured[1]) == plain[1]
    assert "\x1b[" in coloured[1]


def test_colours_only_on_a_terminal() -> None:
    @click.command()
    def show() -> None:
        Output(json_mode=False).table(["verdict"], [[Styled("OPTED OUT", "bad")]])

    assert "\x1b[" not in CliRunner().invoke(show).output
    assert "\x1b[" in CliRunner().invoke(show, color=True).output
    assert "\x1b[" not in CliRunner(env={"NO_COLOR": "1"}).invoke(show, color=True).output


def test_human_age() -> None:
    assert [human_age(s) for s in (None, 5, 300, 3 * 3600 + 720, 2 * 86400 + 4 * 3600 + 5)] == [
        "-",
        "5 s",
        "5 min",
        "3 h 12 min",
        "2 d 4 h",
    ]


def test_exit_codes_are_distinct() -> None:
    assert len({code.value for code in Exit}) == len(Exit)
    assert Exit.USAGE.value == 2  # click's own code for a bad option

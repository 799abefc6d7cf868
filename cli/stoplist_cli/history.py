"""``stoplist history NUMBER``: the number's story, oldest first (issue 13's history table, through
``StopListLookup.history``): every opt-out, re-opt-in with its consent, snapshot addition and removal."""

from __future__ import annotations

from dataclasses import asdict

import click
from stoplist.config import DEFAULT_PHONE_REGION
from stoplist.errors import InvalidPhoneNumberError
from stoplist.lookup import StopListLookup

from stoplist_cli.context import Session, json_option, pass_session
from stoplist_cli.output import Exit


@click.command()
@click.argument("number")
@click.option("--country", default=DEFAULT_PHONE_REGION, show_default=True, help="Region of a national number.")
@json_option
@pass_session
def history(session: Session, number: str, country: str) -> None:
    """Every change of one number, oldest first. Exit 1 if it is not a valid number."""
    session.stack.require("table_name", "history_table_name")
    lookup = StopListLookup(
        session.stack.table_name,
        session.client("dynamodb"),
        default_region=country,
        history_table_name=session.stack.history_table_name,
    )
    try:
        entries = lookup.history(number)
    except InvalidPhoneNumberError as exc:
        session.output.note(f"{number}: {exc}")
        raise click.exceptions.Exit(Exit.PROBLEM) from None
    out = session.output
    if out.json_mode:
        out.document([asdict(entry) for entry in entries])
        return
    if not entries:
        out.echo(f"{number}: no history")
        return
    out.table(
        ["at", "change", "source", "recorded by", "event id", "reason / consent"],
        [
            [
                entry.at,
                entry.change,
                entry.source or "",
                entry.recorded_by,
                entry.event_id,
                entry.reason or entry.consent_text or entry.consent_source or "",
            ]
            for entry in entries
        ],
    )

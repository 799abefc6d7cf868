"""``stoplist link NUMBER...``: unsubscribe links minted with the stack's key (``stoplist.domain.links``), for a few
numbers on the terminal, or ``--csv FILE`` for every recipient of a campaign (``links_csv.mint_csv``).

The base URL is the stack's ``UnsubscribeLinkBaseUrl`` output (locally: the served HTTP API), the key the
current version of ``LinkSigningKeySecret``, read from Secrets Manager and never shown. Exit 1 when a number
is not valid (it gets no link).
"""

from __future__ import annotations

import sys
from typing import TextIO

import click
from stoplist.adapters.secrets import BareSecret
from stoplist.config import DEFAULT_PHONE_REGION

from stoplist_cli.context import Session, json_option, pass_session
from stoplist_cli.links_csv import mint, mint_csv
from stoplist_cli.output import Exit


@click.command()
@click.argument("numbers", nargs=-1)
@click.option(
    "--csv",
    "csv_file",
    type=click.File("r", encoding="utf-8-sig"),
    help="A recipients CSV: each row gets an unsubscribe_url column, written to standard output.",
)
@click.option("--column", help="Header of the CSV's phone column (default: found by name, else the first).")
@click.option("--base-url", help="Default: the stack's UnsubscribeLinkBaseUrl.")
@click.option("--country", default=DEFAULT_PHONE_REGION, show_default=True, help="Region of national numbers.")
@json_option
@pass_session
def link(
    session: Session,
    numbers: tuple[str, ...],
    csv_file: TextIO | None,
    column: str | None,
    base_url: str | None,
    country: str,
) -> None:
    """Unsubscribe links for NUMBERS (or a --csv file). Exit 1 if a number is not valid."""
    if not numbers and csv_file is None:
        raise click.UsageError("give NUMBERS or --csv FILE")
    session.stack.require("link_key_secret_arn", *(() if base_url else ("link_base_url",)))
    key = BareSecret(
        secret_id=session.stack.link_key_secret_arn, max_age_seconds=0, client=session.client("secretsmanager")
    ).current()
    base = base_url or session.stack.link_base_url
    out = session.output
    if csv_file is not None:
        report = mint_csv(csv_file, sys.stdout, base, key, column, country.upper())
        out.note(f"{report.minted} links minted, {report.invalid} invalid numbers of {report.rows} rows")
        if report.invalid:
            raise click.exceptions.Exit(Exit.PROBLEM)
        return
    minted = list(zip(numbers, mint(numbers, base, key, country.upper()), strict=True))
    if out.json_mode:
        out.document([{"number": number, "url": url, "error": error} for number, (url, error) in minted])
    else:
        out.table(
            ["number", "unsubscribe link"], [[number, url or f"invalid: {error}"] for number, (url, error) in minted]
        )
    if any(error for _, (_, error) in minted):
        raise click.exceptions.Exit(Exit.PROBLEM)

"""``stoplist subject NUMBER``: everything the stack holds about one number (GDPR art. 15, subject access).

The stop-list table's item, every history entry (oldest first), what the provider said of the number, and the
dead letters that mention it (read without consuming them). The command does not call SMS Partner (it holds no
API key): the item's ``providerStopId`` and ``providerCreatedAt`` are the provider's own answer, to the add or
at the last snapshot, which compares the whole list with the table every SnapshotIntervalMinutes.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import click
from stoplist.config import DEFAULT_PHONE_REGION
from stoplist.domain.phone import to_e164
from stoplist.errors import InvalidPhoneNumberError
from stoplist.lookup import StopListLookup

from stoplist_cli import queues
from stoplist_cli.check import plain_item
from stoplist_cli.context import Session, json_option, pass_session
from stoplist_cli.dead_letters import describe, number_in
from stoplist_cli.dlq import DEAD_LETTER_QUEUES
from stoplist_cli.output import Exit

NOT_CHECKED = (
    "not asked live: providerStopId/providerCreatedAt on the item are the provider's own answer (to the add, or "
    "the last snapshot, which compares its whole list with the table every SnapshotIntervalMinutes; "
    "`stoplist status` shows when it ran)"
)


def provider_view(item: dict[str, str] | None) -> dict[str, Any]:
    """What the stack knows of the provider's list for the number, and how it knows it."""
    return {
        "checked_live": False,
        "listed": bool(item and (item.get("providerStopId") or item.get("providerCreatedAt"))),
        "provider_stop_id": (item or {}).get("providerStopId"),
        "provider_created_at": (item or {}).get("providerCreatedAt"),
        "how": NOT_CHECKED,
    }


def subject_document(session: Session, e164: str) -> dict[str, Any]:
    stack = session.stack
    dynamodb = session.client("dynamodb")
    found = dynamodb.get_item(TableName=stack.table_name, Key={"phoneNumber": {"S": e164}}, ConsistentRead=True)
    item = plain_item(found["Item"]) if "Item" in found else None
    lookup = StopListLookup(stack.table_name, dynamodb, history_table_name=stack.history_table_name)
    sqs = session.client("sqs")
    letters = []
    for label, attribute in DEAD_LETTER_QUEUES:
        url = getattr(stack, attribute)
        if not url:
            continue
        for message in queues.peek(sqs, url):
            letter = describe(message, label)
            if number_in(letter.replay_body) == e164:
                letters.append(letter.summary())
    return {
        "number": e164,
        "opted_out": item is not None,
        "table_item": item,
        "history": [asdict(entry) for entry in lookup.history(e164)],
        "provider": provider_view(item),
        "dead_letters": letters,
    }


@click.command()
@click.argument("number")
@click.option("--country", default=DEFAULT_PHONE_REGION, show_default=True, help="Region of a national number.")
@json_option
@pass_session
def subject(session: Session, number: str, country: str) -> None:
    """Everything the stack holds about one number: item, history, provider's list, dead letters."""
    try:
        e164 = to_e164(number, None, country)
    except InvalidPhoneNumberError as exc:
        session.output.note(f"{number}: {exc}")
        raise click.exceptions.Exit(Exit.PROBLEM) from None
    session.stack.require("table_name", "history_table_name")
    document = subject_document(session, e164)
    out = session.output
    if out.json_mode:
        out.document(document)
        return
    out.echo(f"{e164}: {'OPTED OUT' if document['opted_out'] else 'not opted out'}")
    out.echo("\nstop-list table item:")
    for name, value in (document["table_item"] or {}).items():
        out.echo(f"  {name}: {value}")
    if not document["table_item"]:
        out.echo("  (none)")
    out.echo(f"\nhistory ({len(document['history'])} entries):")
    for entry in document["history"]:
        details = ", ".join(f"{k}={v}" for k, v in entry.items() if v not in (None, "") and k != "phone_number")
        out.echo(f"  {details}")
    provider = document["provider"]
    listed = f"listed, stop id {provider['provider_stop_id']}" if provider["listed"] else "not listed"
    out.echo(f"\nprovider: {listed} ({provider['how']})")
    out.echo(f"\ndead letters mentioning it: {len(document['dead_letters'])}")
    for letter in document["dead_letters"]:
        out.echo(f"  {letter['queue']}: {letter['error_type']}: {letter['reason']}")

"""``stoplist check NUMBER...``: is each number opted out, since when, by which source.

Numbers are normalised exactly like events (``stoplist.domain.phone``). Exit 0 when every number could be
answered (opted out or not: both are answers), 1 when at least one is not a valid number (no answer for it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import click
from stoplist.config import DEFAULT_PHONE_REGION
from stoplist.domain.phone import to_e164
from stoplist.errors import InvalidPhoneNumberError

from stoplist_cli.context import Session, json_option, pass_session
from stoplist_cli.output import Exit, Styled


@dataclass
class Verdict:
    number: str  # as given
    e164: str | None
    opted_out: bool | None  # None: not a valid number
    since: str = ""
    source: str = ""
    recorded_by: str = ""
    event_id: str = ""
    invalid_reason: str = ""


def plain_item(item: dict[str, Any]) -> dict[str, str]:
    """A DynamoDB item as text values (every attribute of the table is S or N)."""
    return {name: str(next(iter(value.values()))) for name, value in item.items()}


def verdict_for(number: str, item: dict[str, str] | None, e164: str) -> Verdict:
    if item is None:
        return Verdict(number, e164, opted_out=False)
    return Verdict(
        number,
        e164,
        opted_out=True,
        # The event's occurredAt (or when it was processed); for numbers only the snapshot knows, the provider's date.
        since=item.get("optedOutAt") or item.get("providerCreatedAt") or item.get("firstSeenAt", ""),
        source=item.get("source") or ("SMS Partner stop list" if item.get("recordedBy") == "snapshot" else ""),
        recorded_by=item.get("recordedBy", ""),
        event_id=item.get("eventId", ""),
    )


@click.command()
@click.argument("numbers", nargs=-1, required=True)
@click.option(
    "--country", default=DEFAULT_PHONE_REGION, show_default=True, help="Region of national numbers (ISO 3166 alpha-2)."
)
@json_option
@pass_session
def check(session: Session, numbers: tuple[str, ...], country: str) -> None:
    """Opted out or not, since when, by which source. Exit 1 if a number is not valid."""
    session.stack.require("table_name")
    dynamodb = session.client("dynamodb")
    verdicts = []
    for number in numbers:
        try:
            e164 = to_e164(number, None, country)
        except InvalidPhoneNumberError as exc:
            verdicts.append(Verdict(number, None, None, invalid_reason=str(exc)))
            continue
        found = dynamodb.get_item(
            TableName=session.stack.table_name, Key={"phoneNumber": {"S": e164}}, ConsistentRead=True
        ).get("Item")
        verdicts.append(verdict_for(number, plain_item(found) if found else None, e164))
    out = session.output
    if out.json_mode:
        out.document([asdict(verdict) for verdict in verdicts])
    else:
        out.table(
            ["number", "E.164", "verdict", "since", "source", "recorded by"],
            [
                [
                    verdict.number,
                    verdict.e164 or "-",
                    Styled(f"invalid: {verdict.invalid_reason}", "warn")
                    if verdict.opted_out is None
                    else Styled("OPTED OUT", "bad")
                    if verdict.opted_out
                    else Styled("not opted out", "good"),
                    verdict.since,
                    verdict.source,
                    verdict.recorded_by,
                ]
                for verdict in verdicts
            ],
        )
    if any(verdict.opted_out is None for verdict in verdicts):
        raise click.exceptions.Exit(Exit.PROBLEM)

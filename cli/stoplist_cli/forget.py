"""``stoplist forget NUMBER``: a person's request to erase their data, sent as an ``erase`` event to OptOutQueue.

The queue function does the erasure (``stoplist.domain.erasure``), with the stack's retention and rights, as it
would for an ``erase`` event from any other system; the command then waits for the erasure's history entry.
The number stays opted out: its details go, the objection stays (docs/privacy.md).
"""

from __future__ import annotations

import json
import time
import uuid

import click
from stoplist.config import DEFAULT_PHONE_REGION
from stoplist.domain.erasure import CHANGE_ERASURE, FORGET_SOURCE
from stoplist.domain.events import ERASE
from stoplist.domain.phone import to_e164
from stoplist.domain.ports import utc_now
from stoplist.errors import InvalidPhoneNumberError
from stoplist.lookup import StopListLookup

from stoplist_cli.context import Session, json_option, pass_session
from stoplist_cli.output import Exit

POLL_SECONDS = 1.0


@click.command()
@click.argument("number")
@click.option("--country", default=DEFAULT_PHONE_REGION, show_default=True, help="Region of a national number.")
@click.option(
    "--wait",
    "wait_seconds",
    type=float,
    default=60.0,
    show_default=True,
    help="Seconds to wait for the erasure to be recorded in the history (0: send and return).",
)
@json_option
@pass_session
def forget(session: Session, number: str, country: str, wait_seconds: float) -> None:
    """Erase a person's details (reason, consent text, sources naming a person); the number stays opted out.

    Exit 1 if the number is not valid, or if the erasure was not recorded within --wait.
    """
    try:
        e164 = to_e164(number, None, country)
    except InvalidPhoneNumberError as exc:
        session.output.note(f"{number}: {exc}")
        raise click.exceptions.Exit(Exit.PROBLEM) from None
    session.stack.require("queue_url", *(["history_table_name"] if wait_seconds > 0 else []))
    event_id = f"forget-{uuid.uuid4()}"
    event = {
        "action": ERASE,
        "phoneNumber": e164,
        "eventId": event_id,
        "source": FORGET_SOURCE,
        "occurredAt": utc_now(),  # the erasure's history entry keeps this time on a redelivery
    }
    session.client("sqs").send_message(QueueUrl=session.stack.queue_url, MessageBody=json.dumps(event))
    recorded = None
    if wait_seconds > 0:
        lookup = StopListLookup(
            session.stack.table_name or "-",
            session.client("dynamodb"),
            history_table_name=session.stack.history_table_name,
        )
        deadline = time.monotonic() + wait_seconds
        while recorded is None and time.monotonic() < deadline:
            found = [e for e in lookup.history(e164) if e.change == CHANGE_ERASURE and e.event_id == event_id]
            recorded = found[0].recorded_at if found else None
            if recorded is None:
                time.sleep(POLL_SECONDS)
    out = session.output
    if out.json_mode:
        out.document({"number": e164, "eventId": event_id, "queued": True, "recordedAt": recorded})
    elif recorded:
        out.echo(f"{e164}: details erased at {recorded} (event {event_id}); the number stays opted out")
    else:
        out.echo(f"{e164}: erasure queued (event {event_id}); `stoplist history {e164}` shows it once done")
    if wait_seconds > 0 and recorded is None:
        raise click.exceptions.Exit(Exit.PROBLEM)

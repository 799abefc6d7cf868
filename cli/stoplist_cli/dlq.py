"""``stoplist dlq list`` and ``stoplist dlq replay``: what is in both dead-letter queues, and sending it back.

Replay never loses a message: each one is sent to OptOutQueue first and deleted from its dead-letter queue
only once SQS accepted the send. If the command stops in between, a re-run sends the message again; the
pipeline takes that calmly (the provider answers "already listed", the table write is an upsert), so a
re-run is safe. Messages read but not replayed (another reason, or a body cut to size) are made visible
again at the end.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import click
from stoplist.adapters.opt_out_queue import RECEIVED_AT

from stoplist_cli import queues
from stoplist_cli.context import Session, json_option, pass_session
from stoplist_cli.dead_letters import PERMANENT, DeadLetter, describe, group
from stoplist_cli.output import Exit, Styled

DEAD_LETTER_QUEUES = (("queue", "dead_letter_queue_url"), ("events", "events_dead_letter_queue_url"))
_QUEUE_CHOICE = click.Choice(["both", "queue", "events"])


def _selected(session: Session, which: str) -> list[tuple[str, str]]:
    chosen = [(label, attribute) for label, attribute in DEAD_LETTER_QUEUES if which in ("both", label)]
    session.stack.require(*(attribute for _, attribute in chosen))
    return [(label, getattr(session.stack, attribute)) for label, attribute in chosen]


@click.group()
def dlq() -> None:
    """Dead-lettered opt-outs: list them by reason, replay them once the cause is fixed."""


@dlq.command("list")
@click.option("--queue", "which", type=_QUEUE_CHOICE, default="both", show_default=True)
@click.option("--examples", default=3, show_default=True, help="Reasons and masked numbers shown per group.")
@json_option
@pass_session
def list_(session: Session, which: str, examples: int) -> None:
    """Dead letters grouped by reason (errorType), with counts and examples. Exit 1 when there are any."""
    sqs = session.client("sqs")
    letters = [
        describe(message, label) for label, url in _selected(session, which) for message in queues.peek(sqs, url)
    ]
    groups = group(letters)
    out = session.output
    if out.json_mode:
        out.document({"total": len(letters), "groups": [entry.as_dict(examples) for entry in groups]})
    elif not letters:
        out.echo("no dead letters")
    else:
        out.table(
            ["queue", "errorType", "count", "example reason", "numbers (masked)"],
            [
                [
                    entry.queue,
                    Styled(entry.error_type, "bad"),
                    str(entry.count),
                    entry.reasons.most_common(1)[0][0][:70]
                    + (f" (+{len(entry.reasons) - 1} other)" if len(entry.reasons) > 1 else ""),
                    ", ".join(entry.phones[:examples]),
                ]
                for entry in groups
            ],
        )
        out.echo(f"{len(letters)} dead letter(s); `stoplist dlq replay --reason TYPE` sends them back to OptOutQueue")
    if letters:
        raise click.exceptions.Exit(Exit.PROBLEM)


@dlq.command()
@click.option("--reason", "reasons", multiple=True, metavar="ERROR_TYPE", help="Only this errorType (repeatable).")
@click.option("--queue", "which", type=_QUEUE_CHOICE, default="both", show_default=True)
@click.option("--dry-run", is_flag=True, help="Show what would be replayed; move nothing.")
@json_option
@pass_session
def replay(session: Session, reasons: tuple[str, ...], which: str, dry_run: bool) -> None:
    """Move dead letters back to OptOutQueue (invocation records unwrapped to their event).

    Without --reason, messages dead-lettered for a permanent reason (invalid event or number, provider
    rejection) stay where they are: replayed, they would be rejected again.
    """
    selected = _selected(session, which)
    if not dry_run:
        session.stack.require("queue_url")
    sqs = session.client("sqs")
    replayed: list[DeadLetter] = []
    kept_letters: list[DeadLetter] = []
    failed: list[DeadLetter] = []
    for label, url in selected:
        kept: list[dict[str, Any]] = []
        batch: list[tuple[dict[str, Any], DeadLetter]] = []
        for message in queues.receive_all(sqs, url):
            letter = describe(message, label)
            if reasons and letter.error_type not in reasons:
                kept.append(message)
                continue
            if not reasons and letter.error_type in PERMANENT:
                letter = replace(
                    letter,
                    replayable=False,
                    not_replayable_because=f"{letter.error_type} is the message's fault and would be rejected "
                    "again; name it with --reason to replay it anyway",
                )
            if not letter.replayable or dry_run:
                (replayed if dry_run and letter.replayable else kept_letters).append(letter)
                kept.append(message)
                continue
            batch.append((message, letter))
            if len(batch) == 10:
                move_back(sqs, session.stack.queue_url, url, batch, replayed, failed, kept)
                batch = []
        if batch:
            move_back(sqs, session.stack.queue_url, url, batch, replayed, failed, kept)
        queues.release(sqs, url, kept)
    out = session.output
    if out.json_mode:
        out.document(
            {
                "dry_run": dry_run,
                "replayed": [letter.summary() for letter in replayed],
                "kept": [letter.summary() for letter in kept_letters],
                "failed": [letter.summary() for letter in failed],
            }
        )
    else:
        verb = "would replay" if dry_run else "replayed"
        for entry in group(replayed):
            out.echo(f"{verb} {entry.count} {entry.error_type} from the {entry.queue} dead-letter queue")
        for letter in kept_letters:
            out.echo(f"kept {letter.message_id} ({letter.phone}): {letter.not_replayable_because}")
        for letter in failed:
            out.echo(click.style(f"not moved {letter.message_id}: SQS refused the send; still dead-lettered", fg="red"))
        out.echo(f"{len(replayed)} {verb}, {len(kept_letters)} kept, {len(failed)} failed")
    if failed:
        raise click.exceptions.Exit(Exit.PROBLEM)


def move_back(
    sqs: Any,
    target_url: str,
    source_url: str,
    batch: list[tuple[dict[str, Any], DeadLetter]],
    replayed: list[DeadLetter],
    failed: list[DeadLetter],
    kept: list[dict[str, Any]],
) -> None:
    """Send, then delete what was sent: a message is always in at least one of the two queues."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    answer = sqs.send_message_batch(
        QueueUrl=target_url,
        Entries=[
            {
                "Id": str(index),
                "MessageBody": letter.replay_body,
                "MessageAttributes": {
                    "replayOf": {"DataType": "String", "StringValue": letter.message_id},
                    "replayedErrorType": {"DataType": "String", "StringValue": letter.error_type[:256]},
                    "replayedAt": {"DataType": "String", "StringValue": now},
                    **(
                        {RECEIVED_AT: {"DataType": "String", "StringValue": letter.received_at}}
                        if letter.received_at
                        else {}
                    ),
                },
            }
            for index, (_, letter) in enumerate(batch)
        ],
    )
    sent = {int(entry["Id"]) for entry in answer.get("Successful", [])}
    to_delete = [(index, message) for index, (message, _) in enumerate(batch) if index in sent]
    if to_delete:
        sqs.delete_message_batch(
            QueueUrl=source_url,
            Entries=[{"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]} for index, message in to_delete],
        )
    for index, (message, letter) in enumerate(batch):
        if index in sent:
            replayed.append(letter)
        else:
            failed.append(letter)
            kept.append(message)

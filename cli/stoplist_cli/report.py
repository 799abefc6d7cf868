"""``stoplist report --from DATE --to DATE``: the period's opt-outs by door, re-opt-ins, erasures, dead letters and
time to honour, for a data-protection officer (``--html FILE``: one self-contained page; ``--csv FILE``;
``--json``). Reads the history's index by day, one Query a day, never a Scan (docs/privacy.md, read cost)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from stoplist.adapters.history import HistoryTable
from stoplist.report import build_report, days_between

from stoplist_cli import queues
from stoplist_cli.context import Session, json_option, pass_session
from stoplist_cli.dead_letters import describe
from stoplist_cli.dlq import DEAD_LETTER_QUEUES
from stoplist_cli.report_render import as_document, to_csv, to_html, to_text


@click.command()
@click.option("--from", "start", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First UTC day.")
@click.option("--to", "end", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last UTC day (included).")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path), help="Write the HTML page.")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False, path_type=Path), help="Write the figures as CSV.")
@click.option("--lang", type=click.Choice(["fr", "en"]), default="fr", show_default=True, help="The page's language.")
@json_option
@pass_session
def report(
    session: Session, start: datetime, end: datetime, html_file: Path | None, csv_file: Path | None, lang: str
) -> None:
    """Opt-outs by door, re-opt-ins, dead letters and time to honour over a period."""
    first, last = start.date(), end.date()
    if last < first:
        raise click.UsageError("--to is before --from")
    session.stack.require("history_table_name")
    history = HistoryTable(session.stack.history_table_name, session.client("dynamodb"))
    entries = [entry for day in days_between(first, last) for entry in history.entries_on(day.isoformat())]
    sqs = session.client("sqs")
    letters = [
        describe(message, label).error_type
        for label, attribute in DEAD_LETTER_QUEUES
        if (url := getattr(session.stack, attribute))
        for message in queues.peek(sqs, url)
    ]
    result = build_report(entries, letters, first, last)
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if html_file is not None:
        html_file.write_text(to_html(result, generated, lang), encoding="utf-8")
        session.output.note(f"wrote {html_file}")
    if csv_file is not None:
        csv_file.write_text(to_csv(result), encoding="utf-8")
        session.output.note(f"wrote {csv_file}")
    out = session.output
    if out.json_mode:
        out.document(as_document(result))
    else:
        for line in to_text(result, lang):
            out.echo(line)

"""``stoplist import FILE``: an existing opt-out list into the pipeline, through OptOutQueue.

Batches of 10 (``SendMessageBatch``), paced to ``--rate`` messages a second so that the import does not
starve live opt-outs (the provider takes 2,000 calls a minute per IP, about 33 a second, for everything),
with a progress bar on a terminal, and a checkpoint after each accepted batch: run the same command again
after an interruption and it goes on after the last accepted batch. Entries SQS refuses in a batch are
retried; a batch that stays refused stops the import there (the checkpoint is before it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from stoplist.config import DEFAULT_PHONE_REGION
from stoplist.lookup import StopListLookup
from tqdm import tqdm

from stoplist_cli.checkpoint import Checkpoint, Progress, default_state_dir
from stoplist_cli.context import Session, json_option, pass_session
from stoplist_cli.opt_out_file import FileFormatError, Line, file_sha256, read_lines
from stoplist_cli.output import Exit

BATCH = 10  # SendMessageBatch's limit
DEFAULT_RATE = 25.0  # messages a second: three quarters of the provider's 2,000 calls a minute
_SEND_ATTEMPTS = 5


class BatchRefused(Exception):
    """SQS kept refusing entries of a batch."""


class Pacer:
    """Holds the average since the first batch at ``rate`` messages a second (0: as fast as SQS takes them)."""

    def __init__(
        self, rate: float, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._rate = rate
        self._clock = clock
        self._sleep = sleep
        self._start: float | None = None
        self._released = 0

    def wait(self, count: int) -> None:
        """Call before sending ``count`` messages."""
        now = self._clock()
        if self._start is None:
            self._start = now
        if self._rate > 0:
            delay = self._start + self._released / self._rate - now
            if delay > 0:
                self._sleep(delay)
        self._released += count


@dataclass
class ImportResult:
    valid: int = 0
    sent: int = 0
    already_done: int = 0
    invalid: list[Line] = field(default_factory=list)
    seconds: float = 0.0
    interrupted_after_line: int | None = None

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0


def send_batch(sqs: Any, queue_url: str, batch: list[Line], sleep: Callable[[float], None] = time.sleep) -> None:
    pending = {str(line.number): line for line in batch}
    for attempt in range(_SEND_ATTEMPTS):
        answer = sqs.send_message_batch(
            QueueUrl=queue_url, Entries=[{"Id": key, "MessageBody": line.body} for key, line in pending.items()]
        )
        for entry in answer.get("Successful", []):
            pending.pop(entry["Id"], None)
        if not pending:
            return
        sleep(min(2.0, 0.1 * 2**attempt))
    raise BatchRefused(f"SQS refused lines {', '.join(sorted(pending, key=int))} {_SEND_ATTEMPTS} times")


def run_import(
    lines: Iterable[Line],
    sqs: Any,
    queue_url: str,
    checkpoint: Checkpoint,
    progress: Progress,
    pacer: Pacer,
    bar: Any = None,
) -> ImportResult:
    """Send the valid lines after ``progress.done_through``; the checkpoint follows each accepted batch."""
    result = ImportResult()
    started = time.monotonic()
    batch: list[Line] = []

    def flush() -> None:
        pacer.wait(len(batch))
        send_batch(sqs, queue_url, batch)
        progress.done_through = batch[-1].number
        progress.sent += len(batch)
        checkpoint.save(progress)
        result.sent += len(batch)
        if bar is not None:
            bar.update(len(batch))
        batch.clear()

    try:
        for line in lines:
            if not line.valid:
                result.invalid.append(line)
                continue
            result.valid += 1
            if line.number <= progress.done_through:
                result.already_done += 1
                continue
            batch.append(line)
            if len(batch) == BATCH:
                flush()
        if batch:
            flush()
    except (KeyboardInterrupt, BatchRefused):
        result.interrupted_after_line = progress.done_through
        raise
    finally:
        result.seconds = time.monotonic() - started
    progress.complete = True
    checkpoint.save(progress)
    return result


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--rate", type=float, default=DEFAULT_RATE, show_default=True, help="Messages a second (0: no pacing).")
@click.option(
    "--country",
    default=DEFAULT_PHONE_REGION,
    show_default=True,
    help="Region of national numbers without a country column.",
)
@click.option(
    "--skip-listed/--send-listed",
    default=True,
    show_default=True,
    help="Leave out numbers the table already holds (their audit fields stay as they are).",
)
@click.option("--dry-run", is_flag=True, help="Validate and count only; send nothing.")
@click.option("--restart", is_flag=True, help="Forget this file's checkpoint and send everything again.")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where checkpoints live [default: $XDG_STATE_HOME/stoplist/imports or ~/.local/state/stoplist/imports].",
)
@json_option
@pass_session
def import_file(
    session: Session,
    file: Path,
    rate: float,
    country: str,
    skip_listed: bool,
    dry_run: bool,
    restart: bool,
    state_dir: Path | None,
) -> None:
    """Load an opt-out list (CSV with a header, or one number per line) through the queue.

    Invalid lines are reported with their line numbers and never sent (exit 1 when there are any).
    """
    out = session.output
    file_hash = file_sha256(file)
    try:
        lines = list(read_lines(file, file_hash, country))
    except FileFormatError as exc:
        raise click.UsageError(f"{file}: {exc}") from None
    invalid = [line for line in lines if not line.valid]
    summary: dict[str, Any] = {"file": str(file), "lines": len(lines), "valid": len(lines) - len(invalid)}
    exit_code = Exit.PROBLEM if invalid else Exit.OK
    if dry_run:
        _report(out, {**summary, "dry_run": True}, invalid)
        raise click.exceptions.Exit(exit_code)

    session.stack.require("queue_url", *(["table_name"] if skip_listed else []))
    if skip_listed:
        listed = already_listed(session, [line.phone for line in lines if line.valid])
        lines = [line for line in lines if line.phone not in listed]
        summary["already_listed"] = len(listed)
    queue_url = session.stack.queue_url
    checkpoint = Checkpoint(state_dir or default_state_dir(), file_hash, queue_url)
    if restart:
        checkpoint.clear()
    progress = checkpoint.load() or Progress(str(file.resolve()), file_hash, queue_url)
    if progress.complete:
        out.note(f"{file} was already imported into this queue ({progress.sent} sent); --restart sends it again")
        _report(out, {**summary, "sent": 0}, invalid)
        raise click.exceptions.Exit(exit_code)
    if progress.done_through:
        out.note(f"resuming after line {progress.done_through} ({progress.sent} already sent)")
    to_send = sum(1 for line in lines if line.valid)
    done = sum(1 for line in lines if line.valid and line.number <= progress.done_through)
    bar = tqdm(total=to_send, initial=done, unit="opt-out", disable=True if out.json_mode else None)
    try:
        result = run_import(lines, session.client("sqs"), queue_url, checkpoint, progress, Pacer(rate), bar)
    except KeyboardInterrupt:
        out.note(f"interrupted after line {progress.done_through}; run the same command again to resume")
        raise click.exceptions.Exit(130) from None
    except BatchRefused as exc:
        out.note(f"stopped: {exc}; checkpoint after line {progress.done_through}, run again to resume")
        raise click.exceptions.Exit(Exit.UNREACHABLE) from None
    finally:
        bar.close()
    summary |= {
        "sent": result.sent,
        "already_sent": result.already_done,
        "seconds": round(result.seconds, 2),
        "messages_per_second": round(result.rate, 1),
        "checkpoint": str(checkpoint.path),
    }
    _report(out, summary, invalid)
    raise click.exceptions.Exit(exit_code)


def already_listed(session: Session, numbers: list[str]) -> set[str]:
    """Which of these E.164 numbers the table holds (BatchGetItem, 100 a request)."""
    lookup = StopListLookup(session.stack.table_name, session.client("dynamodb"))
    return set(lookup.filter_recipients(numbers).opted_out)


def _report(out: Any, summary: dict[str, Any], invalid: list[Line], shown: int = 20) -> None:
    if out.json_mode:
        out.document({**summary, "invalid_lines": [{"line": line.number, "error": line.error} for line in invalid]})
        return
    for line in invalid[:shown]:
        out.echo(click.style(f"line {line.number}: ", fg="yellow") + line.error)
    if len(invalid) > shown:
        out.echo(f"... and {len(invalid) - shown} more invalid lines (--json lists them all)")
    text = f"{summary['file']}: {summary['lines']} lines, {summary['valid']} valid, {len(invalid)} invalid (never sent)"
    if "already_listed" in summary:
        text += f", {summary['already_listed']} already in the stop list (left out)"
    if summary.get("dry_run"):
        text += "; dry run: nothing sent"
    elif "seconds" in summary:
        text += f"; sent {summary['sent']} in {summary['seconds']:.1f} s ({summary['messages_per_second']:.1f}/s)"
        if summary["already_sent"]:
            text += f", {summary['already_sent']} sent by an earlier run"
    out.echo(text)

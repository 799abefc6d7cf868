"""The ``stoplist`` command: global options (where the stack is, ``--json``) and its subcommands.

stoplist --stack my-stack status
stoplist --local dlq list                      # the local stack of `run-local.sh --serve`
stoplist --table T --queue-url U check 06...   # explicit resources (AWS_ENDPOINT_URL* honoured)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from botocore.exceptions import BotoCoreError, ClientError
from stoplist.errors import AwsServiceError

from stoplist_cli import (
    check,
    dlq,
    export,
    forget,
    history,
    import_command,
    link,
    report,
    scrub_command,
    status,
    subject,
)
from stoplist_cli.context import Session
from stoplist_cli.output import Exit, Output
from stoplist_cli.stack import (
    DEFAULT_LOCAL_FILE,
    MissingResourceError,
    Stack,
    StackError,
    explicit,
    from_cloudformation,
    from_local_file,
)


class _Group(click.Group):
    """Turns an unreachable stack or AWS error into one line on stderr and exit code 3, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MissingResourceError as exc:
            click.echo(f"stoplist: {exc}", err=True)
            ctx.exit(Exit.USAGE)
        except StackError as exc:
            click.echo(f"stoplist: {exc}", err=True)
            ctx.exit(Exit.UNREACHABLE)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            click.echo(f"stoplist: AWS refused {exc.operation_name}: {error.get('Code')}", err=True)
            ctx.exit(Exit.UNREACHABLE)
        except BotoCoreError as exc:
            click.echo(f"stoplist: cannot reach AWS: {type(exc).__name__}", err=True)
            ctx.exit(Exit.UNREACHABLE)
        except AwsServiceError as exc:  # what the library's adapters make of the two above
            click.echo(f"stoplist: {exc}", err=True)
            ctx.exit(Exit.UNREACHABLE)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "STOPLIST"})
@click.option("--stack", "stack_name", metavar="NAME", help="A deployed stack: resources from its outputs.")
@click.option("--local", is_flag=True, help="The local stack of `bash scripts/run-local.sh --serve`.")
@click.option(
    "--local-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_LOCAL_FILE,
    show_default=True,
    help="Where --local reads the local stack's description.",
)
@click.option("--region", help="AWS region (default: the usual AWS configuration).")
@click.option("--table", "table_name", metavar="NAME", help="Explicit: the stop-list table.")
@click.option("--queue-url", metavar="URL", help="Explicit: OptOutQueue.")
@click.option("--dlq-url", "dead_letter_queue_url", metavar="URL", help="Explicit: OptOutDeadLetterQueue.")
@click.option(
    "--events-dlq-url", "events_dead_letter_queue_url", metavar="URL", help="Explicit: OptOutEventsDeadLetterQueue."
)
@click.option(
    "--change-dlq-url",
    "change_events_dead_letter_queue_url",
    metavar="URL",
    help="Explicit: ChangeEventsDeadLetterQueue.",
)
@click.option("--history-table", "history_table_name", metavar="NAME", help="Explicit: the history table.")
@click.option("--alarm", "alarm_names", multiple=True, metavar="NAME", help="Explicit: an alarm to report on.")
@click.option("--link-secret", "link_key_secret_arn", metavar="ARN", help="Explicit: LinkSigningKeySecret.")
@click.option("--link-base-url", "link_base_url", metavar="URL", help="Explicit: the unsubscribe links' base URL.")
@click.option("--json", "json_mode", is_flag=True, help="Print one JSON document (for scripts).")
@click.pass_context
def main(
    ctx: click.Context,
    /,
    stack_name: str | None,
    local: bool,
    local_file: Path,
    region: str | None,
    json_mode: bool,
    **explicit_values: Any,
) -> None:
    """Operate the SMS Partner stop-list stack: health, lookups, dead letters, bulk import, audit export, links,
    campaign scrub.

    Exit codes: 0 all good, 1 a check found a problem, 2 bad usage (or a resource not given), 3 the stack or
    AWS could not be read.
    """
    if stack_name and local:
        raise click.UsageError("--stack and --local exclude each other")

    def resolve() -> Stack:
        if local:
            return from_local_file(local_file)
        if stack_name:
            return from_cloudformation(stack_name, region)
        values = {name: value for name, value in explicit_values.items() if value}
        return explicit(region=region, **values)

    ctx.obj = Session(Output(json_mode), resolve)


for _command in (
    status.status,
    check.check,
    history.history,
    dlq.dlq,
    import_command.import_file,
    export.export,
    link.link,
    scrub_command.scrub,
    forget.forget,
    subject.subject,
    report.report,
):
    main.add_command(_command)

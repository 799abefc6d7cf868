"""Where the stack's resources are, and how to reach them: a deployed stack, the local run, or explicit names.

The three ways end in the same ``Stack``:

- ``--stack NAME``: the stack's outputs (``describe_stacks``), the names the template exports;
- ``--local``: ``.local/stack.json``, written by ``bash scripts/run-local.sh --serve`` with the same output
  names plus the loopback endpoints of moto server and DynamoDB Local;
- explicit ``--table``/``--queue-url``/... options (or ``STOPLIST_*`` variables), with boto3's own endpoint
  resolution, so the standard ``AWS_ENDPOINT_URL``/``AWS_ENDPOINT_URL_DYNAMODB`` variables work as usual.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

# The template's outputs, by the field of Stack they fill.
OUTPUTS = {
    "table_name": "StopListTableName",
    "queue_url": "OptOutQueueUrl",
    "dead_letter_queue_url": "OptOutDeadLetterQueueUrl",
    "events_dead_letter_queue_url": "OptOutEventsDeadLetterQueueUrl",
    "change_events_dead_letter_queue_url": "ChangeEventsDeadLetterQueueUrl",
    "history_table_name": "StopListHistoryTableName",
    "alarm_names": "AlarmNames",
    "snapshot_interval_minutes": "SnapshotIntervalMinutes",
    "link_base_url": "UnsubscribeLinkBaseUrl",
    "link_key_secret_arn": "LinkSigningKeySecretArn",
}
DEFAULT_LOCAL_FILE = Path(".local/stack.json")
DEFAULT_SNAPSHOT_INTERVAL_MINUTES = 15  # the template's SnapshotIntervalMinutes default


class StackError(Exception):
    """The stack cannot be read."""


class MissingResourceError(StackError):
    """The stack, as given, lacks what a command needs (a usage error)."""


@dataclass(frozen=True)
class Stack:
    label: str
    table_name: str = ""
    queue_url: str = ""
    dead_letter_queue_url: str = ""
    events_dead_letter_queue_url: str = ""
    change_events_dead_letter_queue_url: str = ""
    history_table_name: str = ""
    alarm_names: tuple[str, ...] = ()
    snapshot_interval_minutes: int = DEFAULT_SNAPSHOT_INTERVAL_MINUTES
    link_base_url: str = ""
    link_key_secret_arn: str = ""
    region: str | None = None
    # service -> endpoint URL ("default" for every service not named); empty: boto3 resolves as usual.
    endpoints: Mapping[str, str] = field(default_factory=dict)
    credentials: Mapping[str, str] = field(default_factory=dict)

    def require(self, *names: str) -> None:
        missing = [OUTPUTS.get(name, name) for name in names if not getattr(self, name)]
        if missing:
            raise MissingResourceError(
                f"{self.label}: no {', '.join(missing)}; "
                "give --stack NAME, --local, or the explicit option (see stoplist --help)"
            )

    def client(self, service: str) -> Any:
        session = boto3.session.Session(
            region_name=self.region,
            aws_access_key_id=self.credentials.get("aws_access_key_id"),
            aws_secret_access_key=self.credentials.get("aws_secret_access_key"),
        )
        endpoint = self.endpoints.get(service) or self.endpoints.get("default")
        config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)
        return session.client(service, endpoint_url=endpoint, config=config)  # type: ignore[call-overload]


def from_outputs(label: str, outputs: Mapping[str, str], **extra: Any) -> Stack:
    """A Stack from output values keyed by the template's output names."""
    values: dict[str, Any] = {}
    for name, output in OUTPUTS.items():
        value = outputs.get(output, "")
        if not value:
            continue
        if name == "alarm_names":
            values[name] = tuple(part.strip() for part in value.split(",") if part.strip())
        elif name == "snapshot_interval_minutes":
            values[name] = int(value)
        else:
            values[name] = value
    return Stack(label=label, **values, **extra)


def from_cloudformation(stack_name: str, region: str | None = None, cloudformation: Any = None) -> Stack:
    client = cloudformation or Stack(label="", region=region).client("cloudformation")
    try:
        described = client.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        raise StackError(f"cannot read stack {stack_name}: {exc.response.get('Error', {}).get('Code')}") from None
    outputs = {item["OutputKey"]: item.get("OutputValue", "") for item in described[0].get("Outputs", [])}
    return from_outputs(f"stack {stack_name}", outputs, region=region)


def from_local_file(path: Path) -> Stack:
    """The local run's description (``run-local.sh --serve``): outputs, endpoints, region, dummy credentials."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StackError(
            f"{path} not found: start the local stack with `bash scripts/run-local.sh --serve` first"
        ) from None
    return from_outputs(
        "the local run",
        document["outputs"],
        region=document["region"],
        endpoints=document["endpoints"],
        credentials=document.get("credentials", {}),
    )


def explicit(region: str | None = None, **values: Any) -> Stack:
    known = {item.name for item in fields(Stack)}
    given = {name: value for name, value in values.items() if name in known and value}
    return Stack(label="the explicit options", region=region, **given)

"""Stack resolution: outputs to resources, the local file, explicit options, what is missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from stoplist_cli.stack import OUTPUTS, StackError, explicit, from_local_file, from_outputs

from devkit.template import load_template


def test_every_output_the_command_reads_is_in_the_template() -> None:
    assert set(OUTPUTS.values()) <= set(load_template()["Outputs"])


def test_from_outputs() -> None:
    stack = from_outputs(
        "stack s",
        {
            "StopListTableName": "t",
            "OptOutQueueUrl": "https://sqs/q",
            "AlarmNames": "a1, a2,",
            "SnapshotIntervalMinutes": "5",
            "Unrelated": "x",
        },
    )

    assert (stack.table_name, stack.queue_url, stack.alarm_names) == ("t", "https://sqs/q", ("a1", "a2"))
    assert stack.snapshot_interval_minutes == 5
    with pytest.raises(StackError, match="OptOutDeadLetterQueueUrl"):
        stack.require("table_name", "dead_letter_queue_url")


def test_local_file(tmp_path: Path) -> None:
    path = tmp_path / "stack.json"
    with pytest.raises(StackError, match=r"run-local\.sh --serve"):
        from_local_file(path)
    path.write_text(
        json.dumps(
            {
                "outputs": {"StopListTableName": "serve-T"},
                "region": "eu-west-3",
                "endpoints": {"default": "http://127.0.0.1:1", "dynamodb": "http://127.0.0.1:2"},
                "credentials": {"aws_access_key_id": "local", "aws_secret_access_key": "local"},
            }
        )
    )

    stack = from_local_file(path)

    assert stack.table_name == "serve-T"
    assert stack.client("dynamodb").meta.endpoint_url == "http://127.0.0.1:2"
    assert stack.client("sqs").meta.endpoint_url == "http://127.0.0.1:1"


def test_explicit_keeps_only_given_values() -> None:
    stack = explicit(region="eu-west-3", table_name="t", queue_url=None, alarm_names=("a",))

    assert (stack.table_name, stack.queue_url, stack.alarm_names, stack.region) == ("t", "", ("a",), "eu-west-3")

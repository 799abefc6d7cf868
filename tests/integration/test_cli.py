"""The `stoplist` command against moto server, DynamoDB Local and the stand-in, with the real handlers.

The command finds the resources through its explicit options and reaches the local services through the
standard AWS_ENDPOINT_URL variables (set by the local_aws fixture), as an operator would against LocalStack
or a tunnel; `--stack` is tested against a CloudFormation stack on moto.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from stoplist.adapters.table import StopListTable
from stoplist.domain.ports import OptOutRecord
from stoplist_cli.app import main
from stoplist_cli.checkpoint import Checkpoint, Progress
from stoplist_cli.opt_out_file import file_sha256

from devkit.bus import AsyncInvokeDelivery
from devkit.lambda_runtime import LocalFunction
from devkit.poller import SqsEventSourcePoller
from devkit.standin import SmsPartnerStandIn
from devkit.template import LocalResources
from tests.integration.change_feed import ChangeFeed

pytestmark = pytest.mark.integration


def stoplist(resources: LocalResources, *args: str) -> Result:
    options = [
        "--table",
        resources.table_name,
        "--queue-url",
        resources.queue_urls["OptOutQueue"],
        "--dlq-url",
        resources.queue_urls["OptOutDeadLetterQueue"],
        "--events-dlq-url",
        resources.queue_urls["OptOutEventsDeadLetterQueue"],
        "--change-dlq-url",
        resources.queue_urls["ChangeEventsDeadLetterQueue"],
        "--history-table",
        resources.table_names["StopListHistoryTable"],
    ]
    for alarm in resources.alarm_names:
        options += ["--alarm", alarm]
    return CliRunner().invoke(main, [*options, *args], catch_exceptions=False)


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)


def drain(resources: LocalResources, function: LocalFunction) -> None:
    """What the queue's event source does, until the queue is empty."""
    SqsEventSourcePoller(
        resources.queue_urls["OptOutQueue"], resources.queue_arns["OptOutQueue"], function.invoke
    ).drain()


def publish(resources: LocalResources, *bodies: dict[str, Any]) -> None:
    sqs: Any = boto3.client("sqs")
    for body in bodies:
        sqs.send_message(QueueUrl=resources.queue_urls["OptOutQueue"], MessageBody=json.dumps(body))


def bus_failure(resources: LocalResources, function: LocalFunction, standin: SmsPartnerStandIn, phone: str) -> None:
    """An event whose invocations all fail: the OnFailure destination's invocation record ends in the DLQ. (A
    transient failure alone is handed over to OptOutQueue and the invocation succeeds; here the hand-over
    fails too, the one way a bus event still reaches the OnFailure destination.)"""
    boto3.client("events").put_events(
        Entries=[
            {
                "Source": "com.example.crm",
                "DetailType": "SmsOptOutRequested",
                "Detail": json.dumps({"phoneNumber": phone, "source": "crm"}),
                "EventBusName": resources.event_bus,
            }
        ]
    )
    standin.faults.rates = {"http_503": 1.0}
    queue_url = function.env["OPT_OUT_QUEUE_URL"]
    function.env["OPT_OUT_QUEUE_URL"] = queue_url + "-missing"
    function.new_container()
    try:
        AsyncInvokeDelivery.from_template(resources, "OptOutEventBridgeFunction", function.invoke).deliver_once()
    finally:
        standin.faults.rates = {}
        function.env["OPT_OUT_QUEUE_URL"] = queue_url
        function.new_container()


# --- status --------------------------------------------------------------------------------------------------
def test_status_healthy_then_each_problem(
    resources: LocalResources,
    standin: SmsPartnerStandIn,
    sqs_function: LocalFunction,
    snapshot_function: LocalFunction,
) -> None:
    standin.seed_stop_list(["+33612345678", "+33755443322"])
    snapshot_function.invoke({})

    healthy = stoplist(resources, "--json", "status")

    assert healthy.exit_code == 0, healthy.output
    report = as_json(healthy)
    assert report["snapshot"]["size"] == 2
    assert report["table_items"] == 2
    assert [queue["visible"] for queue in report["queues"]] == [0, 0, 0, 0]
    template_alarms = [
        spec for spec in resources.template["Resources"].values() if spec["Type"] == "AWS::CloudWatch::Alarm"
    ]
    assert report["alarms_checked"] == len(resources.alarm_names) == len(template_alarms) >= 9
    assert report["problems"] == []

    publish(resources, {"phoneNumber": "3639"})
    drain(resources, sqs_function)
    alarm = resources.alarm_names[0]
    boto3.client("cloudwatch").set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="test")

    troubled = stoplist(resources, "--json", "status")

    assert troubled.exit_code == 1
    report = as_json(troubled)
    dead_letter_queue = report["queues"][1]
    assert (dead_letter_queue["visible"], dead_letter_queue["age_from"]) == (1, "sampled")  # moto: no SQS metrics
    assert 0 <= dead_letter_queue["oldest_age_seconds"] < 120
    assert [a["name"] for a in report["alarms_in_alarm"]] == [alarm]
    assert len(report["problems"]) == 2
    human = stoplist(resources, "status")
    assert "PROBLEM OptOutDeadLetterQueue holds 1 message(s)" in human.stdout
    assert "no CloudWatch data" in human.stdout


def test_status_stale_or_missing_snapshot(resources: LocalResources) -> None:
    missing = stoplist(resources, "--json", "status")
    assert missing.exit_code == 1
    assert as_json(missing)["problems"] == ["no snapshot has succeeded yet"]

    boto3.client("dynamodb").put_item(
        TableName=resources.table_name,
        Item={"phoneNumber": {"S": "#snapshot-status"}, "lastSuccessAt": {"S": "2020-01-01T00:00:00.000000Z"}},
    )
    stale = stoplist(resources, "--json", "status")
    assert stale.exit_code == 1
    assert "stale after 45 min" in as_json(stale)["problems"][0]


# --- check ---------------------------------------------------------------------------------------------------
def test_check_says_opted_out_since_when_and_by_whom(
    resources: LocalResources, standin: SmsPartnerStandIn, sqs_function: LocalFunction, snapshot_function: LocalFunction
) -> None:
    standin.seed_stop_list(["+33755443322"], created_at="2015-07-20 10:19:45")
    snapshot_function.invoke({})
    publish(resources, {"phoneNumber": "06 12 34 56 78", "source": "web", "occurredAt": "2024-03-01T10:00:00Z"})
    drain(resources, sqs_function)

    result = stoplist(resources, "check", "--json", "0033 6 12 34 56 78", "07 55 44 33 22", "06 98 76 54 32")

    assert result.exit_code == 0
    by_web, by_provider, unknown = as_json(result)
    assert (by_web["e164"], by_web["opted_out"], by_web["since"], by_web["source"]) == (
        "+33612345678",
        True,
        "2024-03-01T10:00:00.000000Z",
        "web",
    )
    assert (by_provider["since"], by_provider["recorded_by"]) == ("2015-07-20 10:19:45", "snapshot")
    assert unknown["opted_out"] is False

    invalid = stoplist(resources, "check", "3639", "06 12 34 56 78")
    assert invalid.exit_code == 1
    assert "invalid: not a valid phone number" in invalid.stdout
    assert "OPTED OUT" in invalid.stdout


# --- history -------------------------------------------------------------------------------------------------
def test_history_tells_a_number_s_story(resources: LocalResources, sqs_function: LocalFunction) -> None:
    feed = ChangeFeed(resources)
    publish(resources, {"phoneNumber": "06 12 34 56 78", "source": "web", "eventId": "web-1", "reason": "form"})
    drain(resources, sqs_function)
    feed.deliver()

    result = stoplist(resources, "history", "--json", "0033 6 12 34 56 78")

    assert result.exit_code == 0
    assert [(e["change"], e["event_id"], e["source"]) for e in as_json(result)] == [("opt-out", "web-1", "web")]
    human = stoplist(resources, "history", "06 12 34 56 78").stdout
    assert re.search(r"opt-out\s+web\s+optout\s+web-1\s+form", human)
    assert stoplist(resources, "history", "06 98 76 54 32").stdout.strip() == "06 98 76 54 32: no history"
    invalid = stoplist(resources, "history", "3639")
    assert invalid.exit_code == 1
    assert "not a valid phone number" in invalid.stderr


def test_link_mints_links_the_page_can_open(resources: LocalResources) -> None:
    from stoplist.domain.links import open_token

    secret = resources.secret_arns["LinkSigningKeySecret"]
    base = "https://stop.example.fr"
    result = stoplist(
        resources, "--link-secret", secret, "--link-base-url", base, "link", "--json", "06 12 34 56 78", "3639"
    )

    assert result.exit_code == 1  # 3639 is not a number that can be texted: no link for it
    [minted, refused] = as_json(result)
    assert minted["url"].startswith(f"{base}/u/")
    token = minted["url"].rsplit("/", 1)[1]
    opened = open_token(token, [resources.secret_values["LinkSigningKeySecret"]])
    assert opened is not None
    assert opened.number == "+33612345678"
    assert (refused["url"], bool(refused["error"])) == ("", True)
    assert secret not in result.stdout + result.stderr
    assert resources.secret_values["LinkSigningKeySecret"] not in result.stdout + result.stderr


# --- dlq -----------------------------------------------------------------------------------------------------
def test_dlq_list_groups_and_replay_moves_back_unwrapped(
    resources: LocalResources,
    standin: SmsPartnerStandIn,
    sqs_function: LocalFunction,
    eventbridge_function: LocalFunction,
) -> None:
    publish(resources, {"phoneNumber": "3639"}, {"phoneNumber": "12"})
    drain(resources, sqs_function)
    bus_failure(resources, eventbridge_function, standin, "06 55 44 33 22")

    listed = stoplist(resources, "--json", "dlq", "list")

    assert listed.exit_code == 1
    document = as_json(listed)
    assert document["total"] == 3
    groups = {(group["queue"], group["error_type"]): group for group in document["groups"]}
    assert groups["queue", "invalid_phone_number"]["count"] == 2
    (bus_group,) = [group for (queue, _), group in groups.items() if queue == "events"]
    assert bus_group["numbers"] == ["+336****3322"]
    assert "0655443322" not in listed.stdout
    human = stoplist(resources, "dlq", "list")
    assert re.search(r"^queue\s+invalid_phone_number\s+2\s+rejected: ", human.stdout, re.MULTILINE)

    dry = stoplist(resources, "--json", "dlq", "replay", "--dry-run")
    assert [letter["queue"] for letter in as_json(dry)["replayed"]] == ["events"]
    assert len(as_json(dry)["kept"]) == 2  # permanent reasons stay unless named
    assert "3639" not in dry.stdout  # numbers appear masked only

    replayed = stoplist(resources, "--json", "dlq", "replay")

    assert replayed.exit_code == 0
    assert len(as_json(replayed)["replayed"]) == 1
    assert as_json(stoplist(resources, "--json", "dlq", "list"))["total"] == 2  # the invalid ones stayed
    again = stoplist(resources, "--json", "dlq", "replay")
    assert as_json(again)["replayed"] == []  # a re-run finds nothing more to move
    drain(resources, sqs_function)  # the provider is back: the replayed event goes through the queue
    assert "+33655443322" in standin.stop_list()

    named = stoplist(resources, "--json", "dlq", "replay", "--reason", "invalid_phone_number")
    assert len(as_json(named)["replayed"]) == 2
    assert as_json(stoplist(resources, "--json", "dlq", "list"))["total"] == 0
    drain(resources, sqs_function)
    assert as_json(stoplist(resources, "--json", "dlq", "list"))["total"] == 2  # rejected again, as foretold


# --- import --------------------------------------------------------------------------------------------------
def opt_out_list(tmp_path: Path, valid: int) -> Path:
    path = tmp_path / "crm-export.csv"
    rows = ["telephone;source;date"]
    rows += [f"06 20 {i // 10000:02d} {i // 100 % 100:02d} {i % 100:02d};crm;01/02/2024" for i in range(valid)]
    rows.insert(4, "not a number;crm;")
    rows.insert(9, "06 12 34 56 78;crm;2024-13-45")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_import_sends_valid_lines_paced_and_reports_invalid_ones(
    resources: LocalResources, sqs_function: LocalFunction, tmp_path: Path
) -> None:
    path = opt_out_list(tmp_path, valid=60)
    StopListTable(resources.table_name, boto3.client("dynamodb")).record_opt_out(
        OptOutRecord("+33620000000", "earlier-event", "2023-05-01T00:00:00.000000Z", source="web")
    )

    dry = stoplist(resources, "--json", "import", "--dry-run", str(path))
    assert dry.exit_code == 1
    assert (as_json(dry)["valid"], [line["line"] for line in as_json(dry)["invalid_lines"]]) == (60, [5, 10])
    assert (
        boto3.client("sqs").get_queue_attributes(
            QueueUrl=resources.queue_urls["OptOutQueue"], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
        == "0"
    )

    result = stoplist(resources, "--json", "import", "--rate", "100", "--state-dir", str(tmp_path), str(path))

    assert result.exit_code == 1  # invalid lines were found
    summary = as_json(result)
    assert (summary["sent"], summary["already_sent"], summary["already_listed"]) == (59, 0, 1)
    assert summary["seconds"] >= (59 - 10) / 100  # paced: the first batch leaves at once, each next one on time
    drain(resources, sqs_function)
    verdicts = as_json(stoplist(resources, "--json", "check", "06 20 00 00 00", "06 20 00 00 01", "06 20 00 00 60"))
    assert [v["opted_out"] for v in verdicts] == [True, True, False]
    assert (verdicts[0]["source"], verdicts[0]["since"]) == ("web", "2023-05-01T00:00:00.000000Z")  # left as it was
    assert (verdicts[1]["source"], verdicts[1]["since"]) == (
        "crm",
        "2024-01-31T23:00:00.000000Z",
    )  # the file's 2024-02-01: midnight in Paris

    again = stoplist(resources, "--json", "import", "--state-dir", str(tmp_path), str(path))
    assert as_json(again)["sent"] == 0
    assert "already imported" in again.stderr


def test_import_resumes_from_its_checkpoint(resources: LocalResources, tmp_path: Path) -> None:
    path = opt_out_list(tmp_path, valid=30)
    checkpoint = Checkpoint(tmp_path, file_sha256(path), resources.queue_urls["OptOutQueue"])
    # As if interrupted after the first batch of ten valid lines (file lines 2-13; lines 5 and 10 are invalid).
    checkpoint.save(Progress(str(path), file_sha256(path), resources.queue_urls["OptOutQueue"], 13, 10))

    result = stoplist(resources, "--json", "import", "--rate", "0", "--state-dir", str(tmp_path), str(path))

    assert (as_json(result)["sent"], as_json(result)["already_sent"]) == (20, 10)
    sqs: Any = boto3.client("sqs")
    event_ids: set[str] = set()
    while messages := sqs.receive_message(
        QueueUrl=resources.queue_urls["OptOutQueue"], MaxNumberOfMessages=10, VisibilityTimeout=60
    ).get("Messages", []):
        event_ids.update(json.loads(message["Body"])["eventId"] for message in messages)
    assert len(event_ids) == 20
    assert min(int(event_id.rsplit("-", 1)[1]) for event_id in event_ids) == 14


# --- export --------------------------------------------------------------------------------------------------
def test_export_writes_every_number_with_its_audit_fields(
    resources: LocalResources, standin: SmsPartnerStandIn, sqs_function: LocalFunction, snapshot_function: LocalFunction
) -> None:
    standin.seed_stop_list([f"+3361000{i:04d}" for i in range(250)])
    publish(resources, {"phoneNumber": "07 55 44 33 22", "source": "support", "reason": 'called, "angry"'})
    drain(resources, sqs_function)
    snapshot_function.invoke({})
    target = Path(resources.table_name + ".csv")
    try:
        result = stoplist(resources, "--json", "export", "--sort", str(target))
        rows = list(csv.DictReader(target.open(encoding="utf-8")))
    finally:
        target.unlink(missing_ok=True)

    assert as_json(result)["rows"] == 251
    assert len(rows) == 251
    assert [row["phoneNumber"] for row in rows] == sorted(row["phoneNumber"] for row in rows)
    (support,) = [row for row in rows if row["phoneNumber"] == "+33755443322"]
    assert (support["source"], support["optOutReason"], support["recordedBy"]) == (
        "support",
        'called, "angry"',
        "optout",
    )
    assert support["providerStopId"]
    assert all(row["recordedBy"] == "snapshot" and row["providerCreatedAt"] for row in rows if row is not support)


# --- resolution by stack -------------------------------------------------------------------------------------
def test_stack_option_reads_the_stack_outputs(resources: LocalResources) -> None:
    name = f"stoplist-{resources.table_name}"
    outputs = {
        "StopListTableName": resources.table_name,
        "OptOutQueueUrl": resources.queue_urls["OptOutQueue"],
        "OptOutDeadLetterQueueUrl": resources.queue_urls["OptOutDeadLetterQueue"],
        "OptOutEventsDeadLetterQueueUrl": resources.queue_urls["OptOutEventsDeadLetterQueue"],
        "AlarmNames": ",".join(resources.alarm_names),
        "SnapshotIntervalMinutes": "5",
    }
    boto3.client("cloudformation").create_stack(
        StackName=name,
        TemplateBody=json.dumps(
            {
                "Resources": {"Placeholder": {"Type": "AWS::SQS::Queue"}},
                "Outputs": {key: {"Value": value} for key, value in outputs.items()},
            }
        ),
    )

    result = CliRunner().invoke(main, ["--stack", name, "--json", "status"])

    report = as_json(result)
    assert report["stack"] == f"stack {name}"
    assert report["alarms_checked"] == len(resources.alarm_names)
    assert report["snapshot_stale_after_seconds"] == 3 * 5 * 60
    missing = CliRunner().invoke(main, ["--stack", "no-such-stack", "status"])
    assert missing.exit_code == 3
    assert "cannot read stack no-such-stack" in missing.stderr


def test_missing_resources_are_named(local_aws: Any) -> None:
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code == 2
    assert "StopListTableName" in result.stderr


def test_unreachable_service_is_one_line(resources: LocalResources) -> None:
    result = CliRunner(env={"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:9"}).invoke(
        main, ["--table", resources.table_name, "check", "0612345678"]
    )
    assert result.exit_code == 3
    assert result.stderr.startswith("stoplist: cannot reach AWS")


def test_status_takes_the_age_from_cloudwatch_when_it_has_data(resources: LocalResources) -> None:
    boto3.client("cloudwatch").put_metric_data(
        Namespace="AWS/SQS",
        MetricData=[
            {
                "MetricName": "ApproximateAgeOfOldestMessage",
                "Dimensions": [{"Name": "QueueName", "Value": resources.queue_urls["OptOutQueue"].rsplit("/", 1)[1]}],
                "Value": 754.0,
                "Unit": "Seconds",
            }
        ],
    )

    queue = as_json(stoplist(resources, "--json", "status"))["queues"][0]

    assert (queue["oldest_age_seconds"], queue["age_from"]) == (754.0, "cloudwatch")


# --- forget --------------------------------------------------------------------------------------------------
def test_forget_queues_an_erasure_that_leaves_the_number_opted_out(
    resources: LocalResources, sqs_function: LocalFunction, standin: SmsPartnerStandIn
) -> None:
    publish(resources, {"phoneNumber": "0612345678", "eventId": "crm-7", "reason": "m'appelle sans cesse"})
    drain(resources, sqs_function)
    ChangeFeed(resources).deliver()

    sent = stoplist(resources, "forget", "06 12 34 56 78", "--wait", "0", "--json")
    drain(resources, sqs_function)

    assert sent.exit_code == 0
    event_id = as_json(sent)["eventId"]
    history = as_json(stoplist(resources, "history", "0612345678", "--json"))
    assert [(entry["change"], entry["reason"]) for entry in history] == [("opt-out", None), ("erasure", None)]
    assert history[1]["event_id"] == event_id
    verdict = as_json(stoplist(resources, "check", "0612345678", "--json"))
    assert verdict[0]["opted_out"] is True
    assert "+33612345678" in standin.stop_list()
    waited = stoplist(resources, "forget", "0612345678", "--wait", "0.2")
    assert waited.exit_code == 1  # nobody drains the queue here: the erasure is not recorded in time
    assert "erasure queued" in waited.stdout


# --- subject -------------------------------------------------------------------------------------------------
def test_subject_shows_the_item_the_history_the_provider_and_the_dead_letters_of_one_number(
    resources: LocalResources, sqs_function: LocalFunction, snapshot_function: LocalFunction
) -> None:
    publish(
        resources,
        {"phoneNumber": "0612345678", "eventId": "crm-8", "source": "crm"},
        {"phoneNumber": "0612345678", "action": "opt-in", "eventId": "bad-optin"},  # no consent: dead-lettered
        {"phoneNumber": "0698765432", "action": "opt-in", "eventId": "other"},  # another number's dead letter
    )
    drain(resources, sqs_function)
    snapshot_function.invoke({})
    ChangeFeed(resources).deliver()

    result = stoplist(resources, "subject", "06 12 34 56 78", "--json")

    assert result.exit_code == 0
    document = as_json(result)
    assert document["number"] == "+33612345678"
    assert document["opted_out"] is True
    assert document["table_item"]["eventId"] == "crm-8"
    assert [entry["event_id"] for entry in document["history"]] == ["crm-8"]
    assert document["provider"]["checked_live"] is False
    assert document["provider"]["listed"] is True
    [letter] = document["dead_letters"]  # the other number's is not shown
    assert letter["error_type"] == "invalid_consent"
    assert letter["phone"] == "+336****5678"
    text = stoplist(resources, "subject", "0612345678").stdout
    assert "OPTED OUT" in text
    assert "provider: listed, stop id" in text

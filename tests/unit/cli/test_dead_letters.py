"""Reading dead letters: the three shapes, masking, what a replay sends, grouping."""

from __future__ import annotations

import json
from typing import Any

from stoplist_cli.dead_letters import PERMANENT, REDRIVE, describe, group, replay_body

EVENT = {
    "version": "0",
    "id": "evt-1",
    "detail-type": "SmsOptOutRequested",
    "source": "com.example.web",
    "detail": {"phoneNumber": "06 12 34 56 78"},
}


def message(body: str, **attributes: str) -> dict[str, Any]:
    return {
        "MessageId": f"m-{len(body)}-{len(attributes)}",
        "Body": body,
        "MessageAttributes": {name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()},
    }


def test_handler_dead_letter_reads_its_attributes_and_masks_the_number() -> None:
    letter = describe(
        message(
            json.dumps({"phoneNumber": "06 12 34 56 78"}),
            errorType="invalid_event",
            reason="rejected: country is not an ISO 3166 alpha-2 code",
            eventId="e-1",
        ),
        "queue",
    )

    assert (letter.error_type, letter.event_id, letter.phone) == ("invalid_event", "e-1", "+336****5678")
    assert letter.replayable
    assert "12345678" not in letter.phone


def test_invocation_record_is_unwrapped_to_its_event() -> None:
    record = {
        "version": "1.0",
        "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": EVENT,
        "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": "cannot reach SMS Partner", "errorType": "ProviderUnavailableError"},
    }

    letter = describe(message(json.dumps(record)), "events")

    assert letter.error_type == "ProviderUnavailableError"
    assert letter.reason == "cannot reach SMS Partner"
    assert json.loads(letter.replay_body) == EVENT
    assert letter.phone == "+336****5678"


def test_eventbridge_target_dead_letter_and_bare_redrive() -> None:
    target = describe(message(json.dumps(EVENT), ERROR_CODE="SDK_CLIENT_ERROR", ERROR_MESSAGE="denied"), "events")
    bare = describe(message("not json"), "queue")

    assert (target.error_type, target.reason) == ("SDK_CLIENT_ERROR", "denied")
    assert target.replay_body == json.dumps(EVENT)
    assert bare.error_type == REDRIVE
    assert bare.phone == "-"
    assert bare.replay_body == "not json"


def test_truncated_body_is_not_replayable() -> None:
    letter = describe(message('{"phoneNumber": "06', errorType="invalid_event", bodyTruncated="true"), "queue")

    assert not letter.replayable
    assert "cut" in letter.not_replayable_because


def test_replay_body_leaves_other_json_alone() -> None:
    body = json.dumps({"requestPayload": EVENT})  # not a whole invocation record
    assert replay_body(body) == body


def test_permanent_reasons_come_from_the_error_classes() -> None:
    assert {"invalid_event", "invalid_phone_number", "provider_rejected"} <= PERMANENT
    assert "provider_unavailable" not in PERMANENT


def test_group_counts_by_queue_and_type_largest_first() -> None:
    letters = [
        describe(message(json.dumps({"phoneNumber": f"06123456{i:02d}"}), errorType="provider_unavailable"), "queue")
        for i in range(3)
    ]
    letters.append(describe(message("{}", errorType="invalid_event", reason="phoneNumber is missing"), "queue"))

    groups = group(letters)

    assert [(entry.error_type, entry.count) for entry in groups] == [("provider_unavailable", 3), ("invalid_event", 1)]
    assert groups[0].as_dict(2)["numbers"] == ["+336****5600", "+336****5601"]
    assert groups[1].as_dict(2)["reasons"] == ["phoneNumber is missing"]


class RecordingSqs:
    """Refuses the sends whose body is in ``refuse``; records sends and deletes in order."""

    def __init__(self, refuse: set[str]) -> None:
        self.refuse = refuse
        self.log: list[tuple[str, str]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        ok = [entry for entry in Entries if entry["MessageBody"] not in self.refuse]
        self.log += [("send", entry["MessageBody"]) for entry in ok]
        failed = [{"Id": e["Id"], "Code": "x", "SenderFault": False} for e in Entries if e not in ok]
        return {"Successful": [{"Id": entry["Id"]} for entry in ok], "Failed": failed}

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        self.log += [("delete", entry["ReceiptHandle"]) for entry in Entries]
        return {"Successful": [{"Id": entry["Id"]} for entry in Entries]}


def test_replay_deletes_only_what_was_sent_and_after_the_send() -> None:
    from stoplist_cli.dlq import move_back

    batch = []
    for index in range(3):
        received = {**message(f'{{"phoneNumber": "061234567{index}"}}', errorType="provider_unavailable")}
        received["ReceiptHandle"] = f"rh-{index}"
        batch.append((received, describe(received, "queue")))
    sqs = RecordingSqs(refuse={batch[1][1].replay_body})
    replayed: list[Any] = []
    failed: list[Any] = []
    kept: list[dict[str, Any]] = []

    move_back(sqs, "target", "source", batch, replayed, failed, kept)

    assert sqs.log == [
        ("send", batch[0][1].replay_body),
        ("send", batch[2][1].replay_body),
        ("delete", "rh-0"),
        ("delete", "rh-2"),
    ]
    assert failed == [batch[1][1]]
    assert kept == [batch[1][0]]  # made visible again, still dead-lettered
    assert len(replayed) == 2


def test_a_replay_keeps_when_the_event_first_reached_the_stack() -> None:
    """Written by the functions as ``receivedAt``; for a message the queue's redrive moved, its own send time."""
    written = describe(message('{"phoneNumber": "0612345678"}', receivedAt="2026-03-01T09:00:00.000000Z"), "queue")
    assert written.received_at == "2026-03-01T09:00:00.000000Z"
    redriven = {**message('{"phoneNumber": "0612345678"}'), "Attributes": {"SentTimestamp": "1772355600000"}}
    assert describe(redriven, "queue").received_at == "2026-03-01T09:00:00.000000Z"
    assert describe(message('{"phoneNumber": "0612345678"}'), "queue").received_at == ""

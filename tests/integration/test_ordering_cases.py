"""The ordering rule end to end: each way a STOP could be lost to a re-opt-in, through the handlers over HTTP to
moto server, DynamoDB Local and the stand-in (docs/ordering.md has the same cases as worked examples)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest
from stoplist.adapters.locks import NumberLeases
from stoplist.adapters.opt_out_queue import RECEIVED_AT
from stoplist.domain.ordering import utc_text

from devkit.lambda_runtime import LocalFunction
from devkit.standin import SmsPartnerStandIn
from devkit.template import LocalResources
from tests.helpers import dead_letters, table_items
from tests.integration.change_feed import ChangeFeed
from tests.integration.test_cli import as_json, drain, publish, stoplist
from tests.integration.test_optout_sqs import sqs_event

pytestmark = pytest.mark.integration

NUMBER = "+33611223344"
NOW = datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def stop(event_id: str, occurred_at: str | None = None, phone: str = "06 11 22 33 44") -> dict[str, Any]:
    body = {"phoneNumber": phone, "source": "crm", "eventId": event_id}
    return body | ({"occurredAt": occurred_at} if occurred_at else {})


def consent(event_id: str, consent_at: datetime, phone: str = "06 11 22 33 44") -> dict[str, Any]:
    return {
        "phoneNumber": phone,
        "action": "opt-in",
        "eventId": event_id,
        "consentSource": "web-form:/preferences",
        "consentAt": iso(consent_at),
    }


def deliver(function: LocalFunction, *bodies: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = function.invoke(sqs_event(*(json.dumps(body) for body in bodies)))
    return result


def error_types(resources: LocalResources) -> list[str | None]:
    return [letter.get("errorType") for letter in dead_letters(resources.queue_urls["OptOutDeadLetterQueue"])]


def test_1_a_replayed_old_opt_out_does_not_move_the_opt_out_back_and_a_consent_between_loses(
    sqs_function: LocalFunction, resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    """STOP ten days ago; an opt-out of seven months ago replayed; a consent from twenty days ago then loses."""
    deliver(sqs_function, stop("january", iso(NOW - timedelta(days=10))))
    deliver(sqs_function, stop("may", iso(NOW - timedelta(days=210))))
    item = table_items(resources.table_name)[NUMBER]
    assert item["optedOutAt"].startswith((NOW - timedelta(days=10)).strftime("%Y-%m-%d"))
    assert item["eventId"] == "may"  # the replay is in the number's story, at its own time

    deliver(sqs_function, consent("december", NOW - timedelta(days=20)))

    assert error_types(resources) == ["consent_superseded"]
    assert NUMBER in standin.stop_list()
    assert NUMBER in table_items(resources.table_name)


def test_2_an_opt_out_crossing_an_opt_in_waits_for_it_then_blocks_the_number_again(
    sqs_function: LocalFunction, resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    """The STOP arrives while the opt-in deletes the provider's entry: it finds the number held, goes back to the
    queue (no receive spent), and once delivered again, later than the consent, it wins."""
    deliver(sqs_function, stop("old", iso(NOW - timedelta(hours=3))))
    crossing: list[dict[str, Any]] = []

    def cross() -> None:
        standin.before_delete = None
        crossing.append(deliver(sqs_function, stop("crossing")))

    standin.before_delete = cross
    assert deliver(sqs_function, consent("in", NOW - timedelta(minutes=1))) == {"batchItemFailures": []}

    assert crossing == [{"batchItemFailures": []}]  # requeued as a new message, the received one done
    assert NUMBER not in standin.stop_list()  # the opt-in finished first
    sqs: Any = boto3.client("sqs")
    [requeued] = sqs.receive_message(
        QueueUrl=resources.queue_urls["OptOutQueue"], MessageAttributeNames=["All"], WaitTimeSeconds=15
    )["Messages"]
    assert RECEIVED_AT in requeued["MessageAttributes"]  # it counts from its first receipt
    record = sqs_event(requeued["Body"])["Records"][0]
    record["messageAttributes"] = {
        name: {"stringValue": value["StringValue"], "dataType": "String"}
        for name, value in requeued["MessageAttributes"].items()
    }
    assert sqs_function.invoke({"Records": [record]}) == {"batchItemFailures": []}

    assert NUMBER in standin.stop_list()
    assert NUMBER in table_items(resources.table_name)
    assert error_types(resources) == []


def test_2_an_opt_out_while_another_instance_holds_the_number_calls_nothing(
    sqs_function: LocalFunction, resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    leases = NumberLeases(resources.table_names["NumberLeaseTable"], boto3.client("dynamodb"))
    now = datetime.now(UTC)  # not the module's NOW: the lease must still be held when the opt-out comes
    until = utc_text(now + timedelta(minutes=1))
    assert leases.acquire(NUMBER, "another-instance", until, utc_text(now)) is None

    assert deliver(sqs_function, stop("held")) == {"batchItemFailures": []}
    assert standin.counters["calls_add"] == 0
    leases.release(NUMBER, "another-instance")
    assert deliver(sqs_function, stop("held")) == {"batchItemFailures": []}
    assert NUMBER in standin.stop_list()


def test_3_a_consent_stamped_by_a_fast_clock_does_not_void_a_later_stop(
    sqs_function: LocalFunction, resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    """A CRM clock 4 minutes fast: its consent counts from its receipt, so a STOP a moment later wins."""
    deliver(sqs_function, stop("before", iso(NOW - timedelta(days=1))))
    deliver(sqs_function, consent("fast-clock", datetime.now(UTC) + timedelta(minutes=4)))
    assert NUMBER not in standin.stop_list()

    deliver(sqs_function, stop("reply"))  # no occurredAt: as of its receipt, after the consent's

    assert NUMBER in standin.stop_list()
    assert error_types(resources) == []


def test_4_a_stop_the_provider_received_itself_counts_at_its_created_at(
    sqs_function: LocalFunction, resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    """Not yet seen by a snapshot: its createdAt (an hour ago, Paris time) beats a consent of two hours ago."""
    created = (NOW - timedelta(hours=1)).astimezone(ZoneInfo("Europe/Paris")).strftime("%Y-%m-%d %H:%M:%S")
    standin.seed_stop_list([NUMBER], created_at=created)

    deliver(sqs_function, consent("older", NOW - timedelta(hours=2)))
    assert error_types(resources) == ["consent_superseded"]
    assert NUMBER in standin.stop_list()

    deliver(sqs_function, consent("later", NOW - timedelta(minutes=30)))
    assert NUMBER not in standin.stop_list()


def test_5_a_time_without_offset_is_read_in_the_numbers_own_zone(
    sqs_function: LocalFunction, resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    """A Martinique STOP at 10:00 local (14:00 UTC) yesterday: a consent at 12:30 UTC that day loses."""
    martinique = "+596696123456"
    day = (NOW - timedelta(days=1)).date()
    deliver(sqs_function, stop("martinique", f"{day}T10:00:00", phone="0696 12 34 56"))
    consent_at = datetime(day.year, day.month, day.day, 12, 30, tzinfo=UTC)

    deliver(sqs_function, consent("crm", consent_at, phone="0696 12 34 56"))

    assert error_types(resources) == ["consent_superseded"]
    assert martinique in standin.stop_list()


@pytest.mark.parametrize("occurred_at", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"])
def test_6_extreme_dates_are_opt_outs_like_any_other(
    occurred_at: str, sqs_function: LocalFunction, resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    """Year 9999 counts as its receipt, year 1 as the earliest instant: no OverflowError, no bare redrive."""
    assert deliver(sqs_function, stop("extreme", occurred_at)) == {"batchItemFailures": []}
    assert NUMBER in standin.stop_list()
    assert table_items(resources.table_name)[NUMBER]["eventOptedOutAt"] <= datetime.now(UTC).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ"
    )
    assert error_types(resources) == []


def test_6_a_year_one_opt_out_after_a_consent_is_superseded_not_dead_lettered(
    sqs_function: LocalFunction, resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    deliver(sqs_function, consent("in", NOW - timedelta(days=1)))
    assert deliver(sqs_function, stop("ancient", "0001-01-01T00:00:00+01:00")) == {"batchItemFailures": []}
    assert NUMBER not in standin.stop_list()
    assert error_types(resources) == []


def test_7_and_9_every_spelling_of_a_number_is_one_item_and_a_re_opt_in_deletes_them_all(
    sqs_function: LocalFunction,
    snapshot_function: LocalFunction,
    resources: LocalResources,
    standin: SmsPartnerStandIn,
) -> None:
    """The provider lists +33692… and +262692… (and writes international numbers without "+" too)."""
    reunion = "+262692123456"
    standin.seed_stop_list(["+33692123456", reunion], created_at="2026-01-01 10:00:00")
    standin.seed_raw_entries([{"id": 900, "phoneNumber": "33612345678", "createdAt": "2026-01-01 10:00:00"}])
    standin.seed_raw_entries([{"id": 901, "phoneNumber": 33699887766, "createdAt": "2026-01-01 10:00:00"}])
    snapshot_function.invoke({})
    items = table_items(resources.table_name)
    assert len(items[reunion]["providerEntries"]) == 2
    assert {"+33612345678", "+33699887766"} <= set(items)  # entries without "+" are kept, not counted invalid

    deliver(sqs_function, consent("in", NOW - timedelta(minutes=5), phone="0692 12 34 56"))

    assert not {"+33692123456", reunion} & set(standin.stop_list())
    snapshot_function.invoke({})
    assert reunion not in table_items(resources.table_name)  # the next snapshot does not bring it back


def test_an_opt_out_older_than_an_applied_consent_is_kept_in_the_history_and_not_dead_lettered(
    sqs_function: LocalFunction, resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    feed = ChangeFeed(resources)
    deliver(sqs_function, stop("first", iso(NOW - timedelta(days=30))))
    deliver(sqs_function, consent("in", NOW - timedelta(days=2)))
    deliver(sqs_function, stop("replayed", iso(NOW - timedelta(days=30))))

    assert NUMBER not in standin.stop_list()
    assert error_types(resources) == []
    feed.deliver()
    changes = [(entry.change, entry.event_id) for entry in feed.history(NUMBER)]
    assert changes == [("opt-out", "first"), ("opt-out-superseded", "replayed"), ("opt-in", "in")]


def test_a_replayed_dead_letter_counts_from_its_first_receipt_not_from_the_replay(
    sqs_function: LocalFunction, resources: LocalResources, standin: SmsPartnerStandIn
) -> None:
    """A STOP without occurredAt, dead-lettered; the person then subscribes again; the STOP replayed afterwards
    counts from when it first arrived (the dead letter keeps it), so the later consent stands."""
    publish(resources, {"phoneNumber": "06 11 22 33 44", "eventId": "stop-refused"})
    standin.queue_codes(2)  # refused: dead-lettered with its reason
    drain(resources, sqs_function)
    # Stamped a little ahead (consentAt has whole seconds): it counts from its own receipt, after the STOP's.
    deliver(sqs_function, consent("in", datetime.now(UTC) + timedelta(seconds=2)))

    replayed = stoplist(resources, "--json", "dlq", "replay", "--reason", "provider_rejected")
    assert len(as_json(replayed)["replayed"]) == 1
    drain(resources, sqs_function)

    assert NUMBER not in standin.stop_list()  # superseded by the consent, not blocked again
    changes = [(entry.change, entry.event_id) for entry in ChangeFeed(resources).history(NUMBER)]
    assert ("opt-out-superseded", "stop-refused") in changes

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from stoplist.domain.dispatch import Delivery, EventDispatcher, process
from stoplist.domain.events import OptOutRequest, RawEvent, Request, read_sqs_message
from stoplist.domain.optout import OptOutService
from stoplist.domain.outcomes import Disposition
from stoplist.domain.ports import OptOutRecord
from stoplist.domain.redelivery import SQS_MAX_DELAY_SECONDS, RedeliverySchedule
from stoplist.errors import (
    AwsServiceError,
    ConfigurationError,
    ProviderAuthError,
    ProviderThrottledError,
    ProviderUnavailableError,
    RetryableError,
)

from tests.helpers import metrics_counted
from tests.unit.fakes import FakeDeadLetters, FakeHistory, FakeLocks, FakeProvider, FakeQueue, FakeTable


def service(
    provider: FakeProvider | None = None,
    table: FakeTable | None = None,
    max_receives: int = 5,
    queue: FakeQueue | None = None,
    delivery: Delivery = Delivery.QUEUE,
) -> tuple[EventDispatcher, FakeDeadLetters]:
    """The dispatcher with fakes (no opt-in: a function without a history table); failed records are postponed
    or requeued on ``queue``."""
    dead = FakeDeadLetters()
    svc = EventDispatcher(
        opt_out=OptOutService(
            provider=provider or FakeProvider(),
            table=table or FakeTable(),
            locks=FakeLocks(),
            history=FakeHistory(),
            default_region="FR",
        ),
        opt_in=None,
        erasure=None,
        dead_letters=dead,
        queue=queue or FakeQueue(),
        delivery=delivery,
        max_receive_count=max_receives,
        schedule=RedeliverySchedule(base_seconds=120, min_jitter=0.75),
        deadline_margin_seconds=3.0,
        erasure_recheck_seconds=SQS_MAX_DELAY_SECONDS,
    )
    return svc, dead


def handle(svc: EventDispatcher, body: str, receive_count: int = 1) -> Disposition:
    return svc.handle(RawEvent(body, "msg-1", receive_count), read_sqs_message)


def test_added_number_is_written_through() -> None:
    table = FakeTable()
    svc, dead = service(table=table)
    assert handle(svc, '{"phoneNumber": "06 12 34 56 78", "source": "crm"}') is Disposition.ADDED
    assert table.items["+33612345678"]["source"] == "crm"
    assert dead.sent == []


def test_already_listed_is_written_through_too() -> None:
    table = FakeTable()
    svc, _ = service(FakeProvider(already={"+33612345678"}), table)
    assert handle(svc, '{"phoneNumber": "+33612345678"}') is Disposition.ALREADY_LISTED
    assert "+33612345678" in table.items


def test_invalid_number_never_reaches_the_provider() -> None:
    provider = FakeProvider()
    svc, dead = service(provider)
    assert handle(svc, '{"phoneNumber": "3639", "eventId": "e-1"}') is Disposition.REJECTED
    assert provider.added == []
    [message] = dead.sent
    assert message["body"] == '{"phoneNumber": "3639", "eventId": "e-1"}'
    assert message["error_type"] == "invalid_phone_number"
    assert message["event_id"] == "e-1"


def test_retryable_error_raises_before_the_last_receive() -> None:
    provider = FakeProvider(errors={"+33612345678": ProviderUnavailableError("stop-sms/add: HTTP 503")})
    svc, dead = service(provider)
    with pytest.raises(ProviderUnavailableError):
        handle(svc, '{"phoneNumber": "0612345678"}', receive_count=4)
    assert dead.sent == []


def test_retryable_error_on_the_last_receive_is_dead_lettered_with_the_reason() -> None:
    provider = FakeProvider(errors={"+33612345678": ProviderAuthError("stop-sms/add: code 10 (Invalid API key)")})
    svc, dead = service(provider)
    assert handle(svc, '{"phoneNumber": "0612345678"}', receive_count=5) is Disposition.DEAD_LETTERED
    [message] = dead.sent
    assert message["reason"] == "gave up after 5 receives, last error: stop-sms/add: code 10 (Invalid API key)"
    assert message["receive_count"] == 5


def test_table_failure_after_provider_success_retries_the_event() -> None:
    class BrokenTable(FakeTable):
        def record_opt_out(self, record: OptOutRecord, now: str | None = None) -> None:
            raise AwsServiceError("cannot write the opt-out to the table: ProvisionedThroughputExceededException")

    provider = FakeProvider()
    svc, _ = service(provider, BrokenTable())
    with pytest.raises(AwsServiceError):
        handle(svc, '{"phoneNumber": "0612345678"}')
    assert provider.added == ["+33612345678"]  # the retry will see code 3: idempotent


@pytest.mark.parametrize("error", [ProviderAuthError("x"), ProviderUnavailableError("x"), AwsServiceError("x")])
def test_process_counts_a_failure_in_its_error_metric(error: RetryableError) -> None:
    svc, _ = service(FakeProvider(errors={"+33612345678": error}))
    with metrics_counted() as counted, pytest.raises(RetryableError):
        process(lambda: svc, RawEvent('{"phoneNumber": "0612345678"}', "m"), read_sqs_message)
    assert counted == {error.metric: 1.0}  # test_errors.py pins each class's metric name


@pytest.mark.parametrize(
    ("provider", "disposition"),
    [
        (FakeProvider(), Disposition.ADDED),
        (FakeProvider(already={"+33612345678"}), Disposition.ALREADY_LISTED),
    ],
)
def test_process_counts_a_final_outcome_in_its_disposition(provider: FakeProvider, disposition: Disposition) -> None:
    svc, _ = service(provider)
    with metrics_counted() as counted:
        assert process(lambda: svc, RawEvent('{"phoneNumber": "0612345678"}', "m"), read_sqs_message) is disposition
    assert set(counted) == {disposition.value, "OptOutHonourSeconds"}  # the outcome, and how long it took
    assert counted[disposition.value] == 1.0


def test_process_counts_a_service_that_cannot_be_built_as_a_configuration_error() -> None:
    def missing_setting() -> EventDispatcher:
        raise ConfigurationError("missing settings: dead_letter_queue_url")

    with metrics_counted() as counted, pytest.raises(ConfigurationError):
        process(missing_setting, RawEvent("{}", "m"), read_sqs_message)
    assert counted == {"ConfigurationError": 1.0}


def test_request_country_is_used() -> None:
    provider = FakeProvider()
    svc, _ = service(provider)
    request = OptOutRequest(phone_number="01512 3456789", event_id="e", country="DE")

    def parse(raw: RawEvent) -> Request:
        return request

    assert svc.handle(RawEvent("{}", "m"), parse) is Disposition.ADDED
    assert provider.added == ["+4915123456789"]


# --- coming back later: backoff, throttling, the bus's hand-over ----------------------------------------------
def queue_service(
    provider: FakeProvider, delivery: Delivery = Delivery.QUEUE
) -> tuple[EventDispatcher, FakeDeadLetters, FakeQueue]:
    queue = FakeQueue()
    svc, dead = service(provider, max_receives=12, queue=queue, delivery=delivery)
    return svc, dead, queue


def sqs_raw(receive_count: int, body: str = '{"phoneNumber": "0612345678"}') -> RawEvent:
    return RawEvent(body, "msg-1", receive_count, receipt_handle="rh-1")


def test_a_dead_letter_keeps_when_its_event_first_reached_the_stack() -> None:
    svc, dead = service()
    received = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    svc.handle(RawEvent('{"phoneNumber": "3639"}', "m", received_at=received), read_sqs_message)
    assert [letter["received_at"] for letter in dead.sent] == [received]


def test_a_failed_record_is_postponed_by_its_backoff_and_raised() -> None:
    down = ProviderUnavailableError("stop-sms/add: HTTP 503")
    svc, dead, queue = queue_service(FakeProvider(errors={"+33612345678": down}))
    raw = sqs_raw(receive_count=3)
    with pytest.raises(ProviderUnavailableError):
        svc.handle(raw, read_sqs_message)
    [(handle, seconds)] = queue.postponed
    assert handle == "rh-1"
    assert 0.75 * 480 - 1 <= seconds <= 480  # the third wait: 120 s x 2^2, jittered
    assert dead.sent == []
    assert queue.requeued == []


def test_a_throttled_record_is_requeued_without_spending_a_receive_even_on_its_last() -> None:
    throttled = ProviderThrottledError("stop-sms/add: HTTP 429", retry_after=4.0)
    svc, dead, queue = queue_service(FakeProvider(errors={"+33612345678": throttled}))
    for receive in (1, 12):
        raw = sqs_raw(receive_count=receive)
        assert svc.handle(raw, read_sqs_message) is Disposition.THROTTLED
    assert [message["original_message_id"] for message in queue.requeued] == ["msg-1", "msg-1"]
    assert all(4 <= message["delay"] <= 6 for message in queue.requeued)
    assert queue.postponed == []
    assert dead.sent == []


def test_a_throttled_record_that_cannot_be_requeued_falls_back_to_a_short_postponement() -> None:
    throttled = ProviderThrottledError("no slot", retry_after=2.0, attempted=False)
    svc, _, queue = queue_service(FakeProvider(errors={"+33612345678": throttled}))
    queue.fail_with = AwsServiceError("cannot send to the opt-out queue: ThrottlingException")
    raw = sqs_raw(receive_count=1)
    with pytest.raises(ProviderThrottledError):
        svc.handle(raw, read_sqs_message)
    assert [seconds for _, seconds in queue.postponed] == [pytest.approx(2, abs=1)]


def test_a_bus_event_is_handed_over_to_the_queue_on_a_transient_failure() -> None:
    down = ProviderUnavailableError("stop-sms/add: ReadTimeout")
    svc, dead, queue = queue_service(FakeProvider(errors={"+33612345678": down}), Delivery.BUS)
    raw = RawEvent('{"id": "e-1", "detail-type": "SmsOptOutRequested", "detail": {"phoneNumber": "0612345678"}}', "e-1")
    assert svc.handle(raw, read_sqs_message) is Disposition.HANDED_OVER
    [message] = queue.requeued
    assert message["body"] == raw.body  # the whole event: the queue handler unwraps it
    assert message["original_message_id"] is None
    assert 90 <= message["delay"] <= 120  # the first step of the backoff
    assert dead.sent == []


def test_a_bus_event_whose_hand_over_fails_raises_for_lambdas_retries() -> None:
    svc, _, queue = queue_service(
        FakeProvider(errors={"+33612345678": ProviderUnavailableError("HTTP 500")}), Delivery.BUS
    )
    queue.fail_with = AwsServiceError("cannot send to the opt-out queue: AccessDenied")
    raw = RawEvent('{"phoneNumber": "0612345678"}', "e-1")
    with pytest.raises(AwsServiceError):
        svc.handle(raw, read_sqs_message)


def test_a_record_skipped_by_an_open_circuit_does_not_come_back_before_the_next_probe() -> None:
    skipped = ProviderUnavailableError("stop-sms/add: provider known unavailable", retry_after=599.2, circuit_open=True)
    svc, _, queue = queue_service(FakeProvider(errors={"+33612345678": skipped}))
    raw = sqs_raw(receive_count=1)
    with pytest.raises(ProviderUnavailableError):
        svc.handle(raw, read_sqs_message)
    assert queue.postponed == [("rh-1", 600)]  # not the first backoff step (90-120 s)

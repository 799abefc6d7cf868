"""Builds the application's objects from Settings, once per container; tests pass their own clients.

The one place where adapters are built and joined to the domain: every value a constructor takes comes from
``Settings`` here (the constructors declare no business defaults), and every AWS client gets the retry, pool
and timeout settings of ``aws_client``.

boto3 clients use the standard retry mode and honour AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE>, so
the same code talks to AWS, to moto server or to DynamoDB Local without a special case.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import boto3
import requests
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from botocore.config import Config

from stoplist.adapters.bus import EventBus
from stoplist.adapters.call_counts import ProviderCallCounts
from stoplist.adapters.circuit import CircuitBreaker
from stoplist.adapters.dead_letters import DeadLetterQueue
from stoplist.adapters.history import HistoryTable
from stoplist.adapters.lease import TableLease
from stoplist.adapters.locks import NumberLeases
from stoplist.adapters.opt_out_queue import OptOutQueue
from stoplist.adapters.pacing import CallCounts, LocalCallCounts, Pacer
from stoplist.adapters.provider import RetryPolicy, SmsPartnerClient, new_session
from stoplist.adapters.secrets import ApiKeySource, BareSecret
from stoplist.adapters.table import SnapshotTable, StopListTable
from stoplist.config import Settings
from stoplist.domain.changes import ChangePublisher
from stoplist.domain.dispatch import Delivery, EventDispatcher
from stoplist.domain.erasure import ErasureService
from stoplist.domain.optin import OptInService
from stoplist.domain.optout import OptOutService
from stoplist.domain.redelivery import RedeliverySchedule
from stoplist.domain.replies import ReplyWebhook, StopKeywords
from stoplist.domain.snapshot import ScheduledSnapshot, SnapshotSync, thread_pool
from stoplist.domain.unsubscribe import UnsubscribeLinks
from stoplist.observability import start_tracing, traced

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient


def aws_client(service: str, pool_size: int = 10) -> Any:
    """A boto3 client with the standard retry mode (5 attempts) and a connection pool for ``pool_size`` threads.

    Client-side parameter validation is off: it was a third of a DynamoDB call's CPU in the instance (profiled
    on the write-through's transaction), the requests are built by our adapters and type-checked against
    boto3's stubs, and the services validate them again and answer ``ValidationException``.
    """
    config = Config(
        parameter_validation=False,
        retries={"mode": "standard", "max_attempts": 5},
        max_pool_connections=max(10, pool_size),
        connect_timeout=5,
        read_timeout=30,
    )
    start_tracing()
    return boto3.client(service, config=config)  # type: ignore[call-overload]


def build_provider(
    settings: Settings,
    secrets: SecretsManagerClient | None = None,
    session: requests.Session | None = None,
    pool_size: int = 8,
) -> SmsPartnerClient:
    settings.require("api_url", "api_key_secret_id")
    start_tracing()
    counts: CallCounts = (
        ProviderCallCounts(settings.provider_calls_table_name, aws_client("dynamodb", pool_size))
        if settings.provider_calls_table_name
        else LocalCallCounts()  # one process (the command line, tests): its own budget
    )
    api_key = ApiKeySource(
        settings.api_key_secret_id,
        settings.secret_max_age_seconds,
        SecretsProvider(boto3_client=secrets or aws_client("secretsmanager")),
    )
    client = SmsPartnerClient(
        base_url=settings.api_url,
        api_key=api_key,
        session=session or new_session(pool_size, settings.api_url),
        connect_timeout=settings.connect_timeout_seconds,
        read_timeout=settings.read_timeout_seconds,
        retry=RetryPolicy(
            max_attempts=settings.provider_max_attempts,
            base_delay=settings.provider_retry_base_seconds,
            max_delay=settings.provider_retry_max_seconds,
        ),
        pacer=Pacer(calls_per_minute=settings.provider_requests_per_minute, counts=counts),
        circuit=CircuitBreaker(
            threshold=settings.circuit_failure_threshold,
            cooldown_seconds=settings.circuit_cooldown_seconds,
            max_cooldown_seconds=settings.circuit_max_cooldown_seconds,
        ),
    )
    return traced(client, "smspartner")


def build_history(settings: Settings, dynamodb: DynamoDBClient) -> HistoryTable:
    """The history table as the writers use it: every entry they write expires after the retention."""
    return HistoryTable(settings.history_table_name, dynamodb, retention_days=settings.history_retention_days)


def build_dispatcher(
    settings: Settings,
    delivery: Delivery,
    sqs: SQSClient | None = None,
    secrets: SecretsManagerClient | None = None,
    dynamodb: DynamoDBClient | None = None,
    session: requests.Session | None = None,
) -> EventDispatcher:
    """The opt-out functions' one object: the opt-out, opt-in and erasure services behind the dispatcher, one
    number lease (``locks``) shared by the three."""
    settings.require(
        "dead_letter_queue_url", "opt_out_queue_url", "table_name", "history_table_name", "lease_table_name"
    )
    pool = settings.record_concurrency
    dynamodb = dynamodb or aws_client("dynamodb", pool)
    table = StopListTable(settings.table_name, dynamodb)
    history = build_history(settings, dynamodb)
    locks = NumberLeases(settings.lease_table_name, dynamodb)
    provider = build_provider(settings, secrets, session, pool_size=pool)
    sqs = sqs or aws_client("sqs", pool)
    return EventDispatcher(
        opt_out=OptOutService(
            provider=provider,
            table=table,
            locks=locks,
            history=history,
            default_region=settings.default_phone_region,
        ),
        opt_in=OptInService(
            provider=provider,
            table=table,
            locks=locks,
            history=history,
            default_region=settings.default_phone_region,
            clock_skew_seconds=settings.consent_clock_skew_seconds,
        ),
        erasure=ErasureService(table=table, locks=locks, history=history, default_region=settings.default_phone_region),
        dead_letters=DeadLetterQueue(settings.dead_letter_queue_url, sqs),
        queue=OptOutQueue(queue_url=settings.opt_out_queue_url, client=sqs),
        delivery=delivery,
        max_receive_count=settings.max_receive_count,
        schedule=RedeliverySchedule(
            base_seconds=settings.redelivery_base_seconds, min_jitter=settings.redelivery_min_jitter
        ),
        deadline_margin_seconds=settings.deadline_margin_seconds,
        erasure_recheck_seconds=settings.erasure_recheck_seconds,
    )


def build_change_publisher(
    settings: Settings,
    dynamodb: DynamoDBClient | None = None,
    events: EventBridgeClient | None = None,
) -> ChangePublisher:
    settings.require("history_table_name", "event_bus_name")
    return ChangePublisher(
        history=build_history(settings, dynamodb or aws_client("dynamodb")),
        bus=EventBus(
            settings.event_bus_name,
            events or aws_client("events"),
            max_attempts=settings.publish_max_attempts,
            base_delay=settings.publish_retry_base_seconds,
            sleep=time.sleep,
        ),
    )


def build_snapshot_sync(
    settings: Settings,
    secrets: SecretsManagerClient | None = None,
    dynamodb: DynamoDBClient | None = None,
    session: requests.Session | None = None,
) -> SnapshotSync:
    settings.require("table_name")
    threads = settings.snapshot_write_threads
    return SnapshotSync(
        provider=build_provider(settings, secrets, session, pool_size=1),
        table=SnapshotTable(settings.table_name, dynamodb or aws_client("dynamodb", threads + 2)),
        default_region=settings.default_phone_region,
        max_delete_percent=settings.snapshot_max_delete_percent,
        write_threads=threads,
        scan_segments=settings.snapshot_scan_segments,
        pool=thread_pool,
    )


def build_scheduled_snapshot(settings: Settings, dynamodb: DynamoDBClient | None = None) -> ScheduledSnapshot:
    """The scheduled snapshot: the sync and its lease, on the same table and client."""
    settings.require("table_name")
    dynamodb = dynamodb or aws_client("dynamodb", settings.snapshot_write_threads + 2)
    return ScheduledSnapshot(
        sync=build_snapshot_sync(settings, dynamodb=dynamodb), lease=TableLease(settings.table_name, dynamodb)
    )


def build_reply_webhook(
    settings: Settings, sqs: SQSClient | None = None, secrets: SecretsManagerClient | None = None
) -> ReplyWebhook:
    settings.require("opt_out_queue_url", "dead_letter_queue_url", "webhook_token_secret_id")
    sqs = sqs or aws_client("sqs")
    return ReplyWebhook(
        publisher=OptOutQueue(queue_url=settings.opt_out_queue_url, client=sqs),
        dead_letters=DeadLetterQueue(settings.dead_letter_queue_url, sqs),
        keywords=StopKeywords(settings.stop_keywords),
        token=BareSecret(
            secret_id=settings.webhook_token_secret_id,
            max_age_seconds=settings.secret_max_age_seconds,
            client=secrets or aws_client("secretsmanager"),
        ),
        token_grace=timedelta(hours=settings.webhook_token_grace_hours),
        default_region=settings.default_phone_region,
    )


def build_unsubscribe_links(
    settings: Settings, sqs: SQSClient | None = None, secrets: SecretsManagerClient | None = None
) -> UnsubscribeLinks:
    settings.require("opt_out_queue_url", "link_key_secret_id")
    return UnsubscribeLinks(
        publisher=OptOutQueue(queue_url=settings.opt_out_queue_url, client=sqs or aws_client("sqs")),
        signing_keys=BareSecret(
            secret_id=settings.link_key_secret_id,
            max_age_seconds=settings.secret_max_age_seconds,
            client=secrets or aws_client("secretsmanager"),
        ),
        lifetime=timedelta(days=settings.link_lifetime_days),
    )

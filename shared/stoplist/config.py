"""Settings, read once from the environment the template sets (see template.yaml, Globals and each function)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from stoplist.errors import ConfigurationError

DEFAULT_API_URL = "https://api.smspartner.fr/v1"
# The bus function's part of the provider budget (see Settings.provider_calls_per_minute).
BUS_SHARE = 0.10


@dataclass(frozen=True)
class Settings:
    api_url: str = DEFAULT_API_URL
    api_key_secret_id: str = ""
    default_phone_region: str = "FR"
    table_name: str = ""
    dead_letter_queue_url: str = ""
    # OptOutQueue: failed records are postponed there, throttled ones and bus events requeued there.
    opt_out_queue_url: str = ""
    # Records of one SQS batch in flight at once (per function instance): at least the batch size, so that
    # a batch goes out in one wave (BatchSize 10 with 8 gave two waves: 3.4x the sequential client, not 10x).
    record_concurrency: int = 10
    batch_size: int = 10
    # The provider's limit is 2,000 a minute per IP; every caller shares this budget (see provider_calls_per_minute).
    provider_requests_per_minute: float = 1800.0
    provider_caller: str = "queue"  # queue | bus | snapshot: whose share this function spends
    maximum_concurrency: int = 5
    eventbridge_reserved_concurrency: int = 5
    # Failed records come back after 120 s, 240 s, ... (capped under 12 h), times a jitter in [0.75, 1].
    retry_backoff_base_seconds: float = 120.0
    retry_backoff_min_jitter: float = 0.75
    # Kept from the invocation's time for what follows the calls (dead-lettering, visibility, the response).
    deadline_margin_seconds: float = 3.0
    circuit_failure_threshold: int = 5
    circuit_cooldown_seconds: float = 30.0
    circuit_max_cooldown_seconds: float = 600.0
    secret_max_age_seconds: int = 300
    connect_timeout_seconds: float = 3.05
    read_timeout_seconds: float = 10.0
    # Attempts per provider call inside one invocation (the SQS redelivery is the outer retry).
    provider_max_attempts: int = 3
    retry_base_delay_seconds: float = 0.2
    retry_max_delay_seconds: float = 2.0
    # Same value as the queue's redrive policy: on the last receive we dead-letter with a reason ourselves.
    max_receive_count: int = 12
    snapshot_max_delete_percent: float = 10.0
    snapshot_write_threads: int = 8
    # Parallel-scan segments; more than threads: a segment's cost grows faster than its size (measured:
    # 1,000,000 items in 8 segments 93 s, in 16 segments 43 s, on DynamoDB Local).
    snapshot_scan_segments: int = 32

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        try:
            return cls(
                api_url=env.get("SMSPARTNER_API_URL", DEFAULT_API_URL).rstrip("/"),
                api_key_secret_id=env.get("API_KEY_SECRET_ID", ""),
                default_phone_region=env.get("DEFAULT_PHONE_REGION", "FR").upper(),
                table_name=env.get("STOP_LIST_TABLE", ""),
                dead_letter_queue_url=env.get("DEAD_LETTER_QUEUE_URL", ""),
                opt_out_queue_url=env.get("OPT_OUT_QUEUE_URL", ""),
                record_concurrency=int(env.get("RECORD_CONCURRENCY", "10")),
                batch_size=int(env.get("BATCH_SIZE", "10")),
                provider_requests_per_minute=float(env.get("PROVIDER_REQUESTS_PER_MINUTE", "1800")),
                provider_caller=env.get("PROVIDER_CALLER", "queue"),
                maximum_concurrency=int(env.get("MAXIMUM_CONCURRENCY", "5")),
                eventbridge_reserved_concurrency=int(env.get("EVENTBRIDGE_RESERVED_CONCURRENCY", "5")),
                retry_backoff_base_seconds=float(env.get("RETRY_BACKOFF_BASE_SECONDS", "120")),
                retry_backoff_min_jitter=float(env.get("RETRY_BACKOFF_MIN_JITTER", "0.75")),
                deadline_margin_seconds=float(env.get("DEADLINE_MARGIN_SECONDS", "3")),
                circuit_failure_threshold=int(env.get("CIRCUIT_FAILURE_THRESHOLD", "5")),
                circuit_cooldown_seconds=float(env.get("CIRCUIT_COOLDOWN_SECONDS", "30")),
                circuit_max_cooldown_seconds=float(env.get("CIRCUIT_MAX_COOLDOWN_SECONDS", "600")),
                secret_max_age_seconds=int(env.get("SECRET_MAX_AGE_SECONDS", "300")),
                connect_timeout_seconds=float(env.get("PROVIDER_CONNECT_TIMEOUT_SECONDS", "3.05")),
                read_timeout_seconds=float(env.get("PROVIDER_READ_TIMEOUT_SECONDS", "10")),
                provider_max_attempts=int(env.get("PROVIDER_MAX_ATTEMPTS", "3")),
                retry_base_delay_seconds=float(env.get("PROVIDER_RETRY_BASE_DELAY_SECONDS", "0.2")),
                retry_max_delay_seconds=float(env.get("PROVIDER_RETRY_MAX_DELAY_SECONDS", "2")),
                max_receive_count=int(env.get("MAX_RECEIVE_COUNT", "12")),
                snapshot_max_delete_percent=float(env.get("SNAPSHOT_MAX_DELETE_PERCENT", "10")),
                snapshot_write_threads=int(env.get("SNAPSHOT_WRITE_THREADS", "8")),
                snapshot_scan_segments=int(env.get("SNAPSHOT_SCAN_SEGMENTS", "32")),
            )
        except ValueError as exc:
            raise ConfigurationError(f"a numeric setting is not a number: {exc}") from None

    @property
    def provider_calls_per_minute(self) -> float:
        """This instance's share of ``provider_requests_per_minute``.

        CloudFormation cannot divide, so every function gets the budget and the instance counts, and divides
        here. The snapshot makes at most ``provider_max_attempts`` calls a run: it keeps that many a minute.
        Of the rest the bus function's reserved instances share 10 % (live opt-outs, one per invocation;
        beyond their share they hand events over to the queue) and the queue's MaximumConcurrency instances
        90 %, so that a backlog, which is always in the queue, drains at 90 % of the budget. Without a
        reservation (0) the bus share is divided as if 10 instances ran (a new account's whole quota).
        """
        snapshot = float(self.provider_max_attempts)
        rest = max(0.0, self.provider_requests_per_minute - snapshot)
        if self.provider_caller == "snapshot":
            return snapshot
        if self.provider_caller == "bus":
            return rest * BUS_SHARE / (self.eventbridge_reserved_concurrency or 10)
        return rest * (1 - BUS_SHARE) / max(1, self.maximum_concurrency)

    @property
    def provider_burst(self) -> int:
        """Calls an instance may make at once from a full bucket: a batch for the queue (one wave), one event
        for the bus, a run's attempts for the snapshot."""
        if self.provider_caller == "queue":
            return self.batch_size
        return self.provider_max_attempts if self.provider_caller == "snapshot" else 1

    def require(self, *names: str) -> None:
        """Fail early, with the missing names, instead of on the first record."""
        missing = [name for name in names if not getattr(self, name)]
        if missing:
            raise ConfigurationError(f"missing settings: {', '.join(missing)}")

"""Settings, read once from the environment the template sets (see template.yaml, Globals and each function).

Each setting is declared once, with its default and its environment variable side by side (``_setting``); the
domain and adapter constructors take their values from ``stoplist.wiring`` and declare no defaults of their own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from stoplist.errors import ConfigurationError

DEFAULT_API_URL = "https://api.smspartner.fr/v1"
# Region of a national number that comes without ``country``; also the lookup helper's default.
DEFAULT_PHONE_REGION = "FR"
# French and English opt-out words for SMS replies (the template's StopKeywords default, kept equal by a
# test). Matched on normalised text, so accents and case do not matter.
DEFAULT_STOP_KEYWORDS = (
    "STOP,STOP SMS,STOPSMS,STOP PUB,ARRET,ARRÊT,ARRETER,ARRÊTER,DESABONNER,DÉSABONNER,DESABONNEMENT,"
    "DÉSABONNEMENT,DESINSCRIRE,DÉSINSCRIRE,DESINSCRIPTION,DÉSINSCRIPTION,UNSUBSCRIBE,STOP ALL,STOPALL,OPT OUT,OPTOUT"
)


def _setting(default: Any, env: str) -> Any:
    """A field with its default and the environment variable it is read from."""
    return field(default=default, metadata={"env": env})


@dataclass(frozen=True)
class Settings:
    api_url: str = _setting(DEFAULT_API_URL, "SMSPARTNER_API_URL")
    api_key_secret_id: str = _setting("", "API_KEY_SECRET_ID")
    default_phone_region: str = _setting(DEFAULT_PHONE_REGION, "DEFAULT_PHONE_REGION")
    table_name: str = _setting("", "STOP_LIST_TABLE")
    dead_letter_queue_url: str = _setting("", "DEAD_LETTER_QUEUE_URL")
    # OptOutQueue: failed records are postponed there, throttled ones and bus events requeued there.
    opt_out_queue_url: str = _setting("", "OPT_OUT_QUEUE_URL")
    # Records of one SQS batch in flight at once (per function instance): at least the batch size, so that
    # a batch goes out in one wave (BatchSize 10 with 8 gave two waves: 3.4x the sequential client, not 10x).
    record_concurrency: int = _setting(10, "RECORD_CONCURRENCY")
    batch_size: int = _setting(10, "BATCH_SIZE")
    # SMS Partner allows 2,000 a minute per IP. Every caller spends this one budget, counted per second in
    # provider_calls_table_name (stoplist.adapters.pacing): at most 1,983 calls in any 60 s at 1,950.
    provider_requests_per_minute: float = _setting(1950.0, "PROVIDER_REQUESTS_PER_MINUTE")
    provider_calls_table_name: str = _setting("", "PROVIDER_CALLS_TABLE")
    # Failed records come back after 120 s, 240 s, ... (capped under 12 h), times a jitter in [0.75, 1].
    redelivery_base_seconds: float = _setting(120.0, "RETRY_BACKOFF_BASE_SECONDS")
    redelivery_min_jitter: float = _setting(0.75, "RETRY_BACKOFF_MIN_JITTER")
    # Kept from the invocation's time for what follows the calls (dead-lettering, visibility, the response).
    deadline_margin_seconds: float = _setting(3.0, "DEADLINE_MARGIN_SECONDS")
    # An erasure runs a second time this long after its first (SQS's longest delay): a change of the number still
    # in the table's stream then has reached the history (stoplist.domain.dispatch).
    erasure_recheck_seconds: int = _setting(900, "ERASURE_RECHECK_SECONDS")
    circuit_failure_threshold: int = _setting(5, "CIRCUIT_FAILURE_THRESHOLD")
    # Shorter than a call's patience (its connect and read timeouts, 13 s): a record waits for the next probe rather
    # than failing while the provider may be back (stoplist.adapters.circuit); 6 probes a minute per instance.
    circuit_cooldown_seconds: float = _setting(10.0, "CIRCUIT_COOLDOWN_SECONDS")
    # The cooldown does not double by default: a longer one keeps the provider's return unseen for longer. At 10
    # minutes the last STOP of an outage was honoured 140 s after the return instead of within the 48 s backoff
    # step (bench/honour.py, scaled by a tenth: 60 s ceiling vs 6 s).
    circuit_max_cooldown_seconds: float = _setting(10.0, "CIRCUIT_MAX_COOLDOWN_SECONDS")
    secret_max_age_seconds: int = _setting(300, "SECRET_MAX_AGE_SECONDS")
    connect_timeout_seconds: float = _setting(3.05, "PROVIDER_CONNECT_TIMEOUT_SECONDS")
    read_timeout_seconds: float = _setting(10.0, "PROVIDER_READ_TIMEOUT_SECONDS")
    # Attempts per provider call inside one invocation (the SQS redelivery is the outer retry).
    provider_max_attempts: int = _setting(3, "PROVIDER_MAX_ATTEMPTS")
    # Their waits: 0.2 s, 0.4 s, ... capped at 2 s, full jitter (``stoplist.domain.backoff``).
    provider_retry_base_seconds: float = _setting(0.2, "PROVIDER_RETRY_BASE_DELAY_SECONDS")
    provider_retry_max_seconds: float = _setting(2.0, "PROVIDER_RETRY_MAX_DELAY_SECONDS")
    # Same value as the queue's redrive policy: on the last receive we dead-letter with a reason ourselves.
    max_receive_count: int = _setting(12, "MAX_RECEIVE_COUNT")
    snapshot_max_delete_percent: float = _setting(10.0, "SNAPSHOT_MAX_DELETE_PERCENT")
    snapshot_write_threads: int = _setting(8, "SNAPSHOT_WRITE_THREADS")
    # Parallel-scan segments; more than threads: a segment's cost grows faster than its size (measured:
    # 1,000,000 items in 8 segments 93 s, in 16 segments 43 s, on DynamoDB Local).
    snapshot_scan_segments: int = _setting(32, "SNAPSHOT_SCAN_SEGMENTS")
    # HTTP doors (reply webhook, unsubscribe links): they publish to the queue (opt_out_queue_url above), never
    # call the provider.
    webhook_token_secret_id: str = _setting("", "WEBHOOK_TOKEN_SECRET_ID")
    # After a rotation of the webhook token, its previous version is accepted this long (from the new version's
    # CreatedDate): the time to change the URL in SMS Partner's console.
    webhook_token_grace_hours: float = _setting(72.0, "WEBHOOK_TOKEN_GRACE_HOURS")
    link_key_secret_id: str = _setting("", "LINK_KEY_SECRET_ID")
    # An unsubscribe link works this long after the day it was issued, across key rotations (LinkLifetimeDays).
    link_lifetime_days: float = _setting(365.0, "LINK_LIFETIME_DAYS")
    stop_keywords: str = _setting(DEFAULT_STOP_KEYWORDS, "STOP_KEYWORDS")
    history_table_name: str = _setting("", "HISTORY_TABLE")
    lease_table_name: str = _setting("", "LEASE_TABLE")
    # Days a history entry is kept after it is recorded (DynamoDB TTL, ``expiresAt``); 0 keeps it forever.
    # Three years: the CNIL's usual horizon for the record of an objection (docs/privacy.md).
    history_retention_days: int = _setting(1095, "HISTORY_RETENTION_DAYS")
    event_bus_name: str = _setting("", "EVENT_BUS_NAME")
    # How far in the future a consentAt may lie (clocks of the systems that collect consent drift).
    consent_clock_skew_seconds: int = _setting(300, "CONSENT_CLOCK_SKEW_SECONDS")
    # PutEvents attempts for the entries it refused, inside one publisher invocation (the stream retries after).
    publish_max_attempts: int = _setting(3, "PUBLISH_MAX_ATTEMPTS")
    # Their waits: 0.2 s, then 0.4 s, full jitter (uncapped: the attempts bound them).
    publish_retry_base_seconds: float = _setting(0.2, "PUBLISH_RETRY_BASE_SECONDS")

    def __post_init__(self) -> None:
        object.__setattr__(self, "api_url", self.api_url.rstrip("/"))
        object.__setattr__(self, "default_phone_region", self.default_phone_region.upper())

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Every field from its variable when set, else its default; a number that is not one is refused here,
        at the first invocation, rather than on the first record that needs it."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for setting in fields(cls):
            raw = env.get(setting.metadata["env"])
            if raw is None:
                continue
            kind = type(setting.default)
            try:
                values[setting.name] = kind(raw) if kind in (int, float) else raw
            except ValueError:
                raise ConfigurationError(f"{setting.metadata['env']} is not a number: {raw[:40]!r}") from None
        return cls(**values)

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Field name -> environment variable: what the template and the local runtime must set."""
        return {setting.name: setting.metadata["env"] for setting in fields(cls)}

    def require(self, *names: str) -> None:
        """Fail early, with the missing names, instead of on the first record."""
        missing = [name for name in names if not getattr(self, name)]
        if missing:
            raise ConfigurationError(f"missing settings: {', '.join(missing)}")

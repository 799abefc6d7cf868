"""Settings, read once from the environment the template sets (see template.yaml, Globals and each function)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from stoplist.errors import ConfigurationError

DEFAULT_API_URL = "https://api.smspartner.fr/v1"
# French and English opt-out words (the template's StopKeywords default, kept equal by a test). Matched on
# normalised text, so accents and case do not matter; "STOP SMS" is listed for the README's sake.
DEFAULT_STOP_KEYWORDS = (
    "STOP,STOP SMS,STOPSMS,STOP PUB,ARRET,ARRÊT,ARRETER,ARRÊTER,DESABONNER,DÉSABONNER,DESABONNEMENT,"
    "DÉSABONNEMENT,DESINSCRIRE,DÉSINSCRIRE,DESINSCRIPTION,DÉSINSCRIPTION,UNSUBSCRIBE,STOP ALL,STOPALL,OPT OUT,OPTOUT"
)


@dataclass(frozen=True)
class Settings:
    api_url: str = DEFAULT_API_URL
    api_key_secret_id: str = ""
    default_phone_region: str = "FR"
    table_name: str = ""
    dead_letter_queue_url: str = ""
    # Records of one SQS batch in flight at once (per function instance).
    record_concurrency: int = 8
    secret_max_age_seconds: int = 300
    connect_timeout_seconds: float = 3.05
    read_timeout_seconds: float = 10.0
    # Attempts per provider call inside one invocation (the SQS redelivery is the outer retry).
    provider_max_attempts: int = 3
    retry_base_delay_seconds: float = 0.2
    retry_max_delay_seconds: float = 2.0
    # Same value as the queue's redrive policy: on the last receive we dead-letter with a reason ourselves.
    max_receive_count: int = 5
    snapshot_max_delete_percent: float = 10.0
    snapshot_write_threads: int = 8
    # Parallel-scan segments; more than threads: a segment's cost grows faster than its size (measured:
    # 1,000,000 items in 8 segments 93 s, in 16 segments 43 s, on DynamoDB Local).
    snapshot_scan_segments: int = 32
    # HTTP doors (webhook, unsubscribe links): they publish to the queue, they never call the provider.
    opt_out_queue_url: str = ""
    webhook_token_secret_id: str = ""
    link_key_secret_id: str = ""
    stop_keywords: str = DEFAULT_STOP_KEYWORDS

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
                record_concurrency=int(env.get("RECORD_CONCURRENCY", "8")),
                secret_max_age_seconds=int(env.get("SECRET_MAX_AGE_SECONDS", "300")),
                connect_timeout_seconds=float(env.get("PROVIDER_CONNECT_TIMEOUT_SECONDS", "3.05")),
                read_timeout_seconds=float(env.get("PROVIDER_READ_TIMEOUT_SECONDS", "10")),
                provider_max_attempts=int(env.get("PROVIDER_MAX_ATTEMPTS", "3")),
                retry_base_delay_seconds=float(env.get("PROVIDER_RETRY_BASE_DELAY_SECONDS", "0.2")),
                retry_max_delay_seconds=float(env.get("PROVIDER_RETRY_MAX_DELAY_SECONDS", "2")),
                max_receive_count=int(env.get("MAX_RECEIVE_COUNT", "5")),
                snapshot_max_delete_percent=float(env.get("SNAPSHOT_MAX_DELETE_PERCENT", "10")),
                snapshot_write_threads=int(env.get("SNAPSHOT_WRITE_THREADS", "8")),
                snapshot_scan_segments=int(env.get("SNAPSHOT_SCAN_SEGMENTS", "32")),
                opt_out_queue_url=env.get("OPT_OUT_QUEUE_URL", ""),
                webhook_token_secret_id=env.get("WEBHOOK_TOKEN_SECRET_ID", ""),
                link_key_secret_id=env.get("LINK_KEY_SECRET_ID", ""),
                stop_keywords=env.get("STOP_KEYWORDS", DEFAULT_STOP_KEYWORDS),
            )
        except ValueError as exc:
            raise ConfigurationError(f"a numeric setting is not a number: {exc}") from None

    def require(self, *names: str) -> None:
        """Fail early, with the missing names, instead of on the first record."""
        missing = [name for name in names if not getattr(self, name)]
        if missing:
            raise ConfigurationError(f"missing settings: {', '.join(missing)}")

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
    # Records of one SQS batch in flight at once (per function instance).
    record_concurrency: int = _setting(8, "RECORD_CONCURRENCY")
    secret_max_age_seconds: int = _setting(300, "SECRET_MAX_AGE_SECONDS")
    connect_timeout_seconds: float = _setting(3.05, "PROVIDER_CONNECT_TIMEOUT_SECONDS")
    read_timeout_seconds: float = _setting(10.0, "PROVIDER_READ_TIMEOUT_SECONDS")
    # Attempts per provider call inside one invocation (the SQS redelivery is the outer retry).
    provider_max_attempts: int = _setting(3, "PROVIDER_MAX_ATTEMPTS")
    retry_base_delay_seconds: float = _setting(0.2, "PROVIDER_RETRY_BASE_DELAY_SECONDS")
    retry_max_delay_seconds: float = _setting(2.0, "PROVIDER_RETRY_MAX_DELAY_SECONDS")
    # Same value as the queue's redrive policy: on the last receive we dead-letter with a reason ourselves.
    max_receive_count: int = _setting(5, "MAX_RECEIVE_COUNT")
    snapshot_max_delete_percent: float = _setting(10.0, "SNAPSHOT_MAX_DELETE_PERCENT")
    snapshot_write_threads: int = _setting(8, "SNAPSHOT_WRITE_THREADS")
    # Parallel-scan segments; more than threads: a segment's cost grows faster than its size (measured:
    # 1,000,000 items in 8 segments 93 s, in 16 segments 43 s, on DynamoDB Local).
    snapshot_scan_segments: int = _setting(32, "SNAPSHOT_SCAN_SEGMENTS")
    history_table_name: str = _setting("", "HISTORY_TABLE")
    event_bus_name: str = _setting("", "EVENT_BUS_NAME")
    # How far in the future a consentAt may lie (clocks of the systems that collect consent drift).
    consent_clock_skew_seconds: int = _setting(300, "CONSENT_CLOCK_SKEW_SECONDS")
    # PutEvents attempts for the entries it refused, inside one publisher invocation (the stream retries after).
    publish_max_attempts: int = _setting(3, "PUBLISH_MAX_ATTEMPTS")

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

"""Announcements onto EventBridge (PutEvents), 10 entries a request, failed entries retried in the call.

PutEvents answers HTTP 200 even when some entries failed: ``FailedEntryCount`` and each entry's
``ErrorCode`` say which. Only those are sent again (with full-jitter backoff); what still fails after the
attempts is left to the stream, which retries the batch from the first announcement not published.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from stoplist.adapters.aws import aws_errors
from stoplist.domain.backoff import Backoff, Uniform
from stoplist.domain.changes import ANNOUNCEMENT_SOURCE
from stoplist.domain.records import Announcement
from stoplist.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

PUT_EVENTS_LIMIT = 10


class EventBus:
    def __init__(
        self,
        bus_name: str,
        client: EventBridgeClient,
        *,
        max_attempts: int,
        base_delay: float,
        sleep: Callable[[float], None],
        uniform: Uniform = random.uniform,
    ) -> None:
        self.name = bus_name
        self._client = client
        self._attempts = max(1, max_attempts)
        # Uncapped: ``max_attempts`` bounds the waits (3 attempts: two waits, of at most base and 2 x base).
        self._backoff = Backoff(base_delay, uniform=uniform)
        self._sleep = sleep
        self.requests = 0  # PutEvents calls made, for the cost figures

    def publish(self, announcements: Sequence[Announcement]) -> int:
        """Publish in order; returns how many from the first were published (stops at the first chunk that
        still has a failure after the attempts, so that nothing after it is announced before it)."""
        published = 0
        for start in range(0, len(announcements), PUT_EVENTS_LIMIT):
            chunk = announcements[start : start + PUT_EVENTS_LIMIT]
            first_failed = self._put_chunk(chunk)
            if first_failed is not None:
                return published + first_failed
            published += len(chunk)
        return published

    def _put_chunk(self, chunk: Sequence[Announcement]) -> int | None:
        """None when all went; else the index (in ``chunk``) of the first entry still failing."""
        pending = list(range(len(chunk)))
        for attempt in range(1, self._attempts + 1):
            entries = [self._entry(chunk[index]) for index in pending]
            self.requests += 1
            with aws_errors("publish the announcements"):
                answer = self._client.put_events(Entries=entries)  # type: ignore[arg-type]
            results: list[Any] = answer.get("Entries", [])
            failed = [index for index, result in zip(pending, results, strict=False) if result.get("ErrorCode")]
            # An answer with fewer results than entries is read as the missing ones having failed.
            failed += pending[len(results) :]
            if not failed:
                return None
            codes = sorted({str(result.get("ErrorCode")) for result in results if result.get("ErrorCode")})
            logger.warning("putevents refused entries", failed=len(failed), attempt=attempt, error_codes=codes)
            pending = failed
            if attempt < self._attempts:
                self._sleep(self._backoff.delay(attempt))
        return pending[0]

    def _entry(self, announcement: Announcement) -> dict[str, str]:
        return {
            "Source": ANNOUNCEMENT_SOURCE,
            "DetailType": announcement.detail_type,
            "Detail": json.dumps(announcement.detail, separators=(",", ":")),
            "EventBusName": self.name,
        }

"""The checker starts no server (its fakes are in-process) and runs thousands of schedules: the services' log
lines are silenced for its tests (they would be most of its run time)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from stoplist.observability import logger


@pytest.fixture(autouse=True)
def quiet_services() -> Iterator[None]:
    level = logger.log_level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)

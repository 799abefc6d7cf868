"""Fixtures for every suite. Those that start servers are in tests/integration/conftest.py; plain helpers in
tests/helpers.py."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from stoplist.observability import logger


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The application's log lines, formatted by Powertools exactly as CloudWatch would receive them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    standard_logger = logging.getLogger(logger.name)  # the logging.Logger that Powertools' Logger wraps
    standard_logger.addHandler(handler)
    yield stream
    standard_logger.removeHandler(handler)

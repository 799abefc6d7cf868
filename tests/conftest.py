"""Fixtures for every suite. Those that start servers are in tests/integration/conftest.py; plain helpers in
tests/helpers.py."""

from __future__ import annotations

import io
import logging
import zoneinfo
from collections.abc import Iterator

import pytest
from hypothesis import settings
from stoplist.observability import logger

# Time zones come from the layer's tzdata package, never from the machine: the Lambda base image has no zoneinfo
# database, so a zone that would only be found in /usr/share/zoneinfo must fail here first (scripts/test.sh also
# runs pytest with PYTHONTZPATH empty, for the processes the tests start).
zoneinfo.reset_tzpath(to=[])

# No per-example deadline: on a loaded 2-core machine a property's slow example is noise, not a failure (the
# properties check results; the benchmarks measure time).
settings.register_profile("noisy-machine", deadline=None)
settings.load_profile("noisy-machine")


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

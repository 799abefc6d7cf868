from __future__ import annotations

import io
import logging

import pytest
from stoplist.observability import mask_phone


@pytest.mark.parametrize(
    ("number", "masked"),
    [("+33612345678", "+336****5678"), ("+4915123456789", "+491****6789"), ("+3361", "****")],
)
def test_mask_phone(number: str, masked: str) -> None:
    assert mask_phone(number) == masked


def test_urllib3_request_lines_lose_the_key() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    urllib3_logger = logging.getLogger("urllib3.connectionpool")
    urllib3_logger.addHandler(handler)
    urllib3_logger.setLevel(logging.DEBUG)
    try:
        urllib3_logger.debug(
            '%s://%s:%s "%s %s %s" %s %s',
            "https",
            "api",
            443,
            "GET",
            "/v1/stop-sms/list?apiKey=abc123&_format=json",
            "HTTP/1.1",
            200,
            10,
        )
    finally:
        urllib3_logger.removeHandler(handler)
        urllib3_logger.setLevel(logging.NOTSET)
    assert "abc123" not in stream.getvalue()
    assert "apiKey=***&_format=json" in stream.getvalue()

"""The unit conftest's guard holds: each kind of server the integration suites start is refused here."""

from __future__ import annotations

import socket
import subprocess

import pytest

from devkit.services import DynamoDbLocal
from devkit.standin import SmsPartnerStandIn


def test_the_stand_in_cannot_start() -> None:
    with pytest.raises(AssertionError, match="belongs in tests/integration"):
        SmsPartnerStandIn(api_keys=("key",))


def test_no_listening_socket() -> None:  # how moto server (werkzeug) and the stand-in serve
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        with pytest.raises(AssertionError, match="belongs in tests/integration"):
            sock.listen()


def test_dynamodb_local_cannot_start() -> None:
    with pytest.raises(AssertionError, match="belongs in tests/integration"):
        DynamoDbLocal().start()


def test_no_child_process() -> None:
    with pytest.raises(AssertionError, match="belongs in tests/integration"):
        subprocess.run(["true"], check=False)  # noqa: S607

"""Unit tests start no server. Every server this project runs listens on a socket (moto server, the stand-in) or
is a child process (DynamoDB Local's java): during a unit test both refuse, so a unit test that starts one
fails at once, naming the move to tests/integration. The server fixtures are in tests/integration/conftest.py,
out of the unit tests' reach."""

from __future__ import annotations

import socket
import subprocess
from typing import NoReturn

import pytest


def _refuse(*_args: object, **_kwargs: object) -> NoReturn:
    raise AssertionError("a unit test started a server or a process: it belongs in tests/integration")


@pytest.fixture(autouse=True)
def no_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "listen", _refuse)
    monkeypatch.setattr(subprocess.Popen, "__init__", _refuse)

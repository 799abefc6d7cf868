"""The loopback servers answer a keep-alive call as fast as a new connection, as a production server does.

Before ``TCP_NODELAY`` on their sockets, the body of each answer waited for the client's delayed ACK: a
keep-alive call to the stand-in took 44 ms at zero latency where a new connection took 1.7 ms, which billed
40 ms a call to every client that reuses its connections. Compared in one run, never as absolute times.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable

import requests

from devkit.standin import SmsPartnerStandIn
from tests.helpers import API_KEY

CALLS = 25


def median_seconds(call: Callable[[int], object]) -> float:
    call(-1)  # the first call opens the session's connection
    durations = []
    for index in range(CALLS):
        started = time.perf_counter()
        call(index)
        durations.append(time.perf_counter() - started)
    return statistics.median(durations)


def test_a_keep_alive_call_is_not_slower_than_a_new_connection(standin: SmsPartnerStandIn) -> None:
    url = standin.base_url + "/stop-sms/add"
    session = requests.Session()

    def kept_alive(index: int) -> object:
        body = {"apiKey": API_KEY, "phoneNumber": f"+336110{index + 10:05d}"}
        return session.post(url, json=body, timeout=5).json()

    def new_connection(index: int) -> object:
        body = json.dumps({"apiKey": API_KEY, "phoneNumber": f"+336120{index + 10:05d}"})
        return requests.post(url, data=body, timeout=5).json()

    reused = median_seconds(kept_alive)
    fresh = median_seconds(new_connection)

    assert standin.counters["connections"] == 1 + CALLS + 1  # one kept alive, one per fresh call
    assert reused < fresh * 2, f"keep-alive {reused * 1000:.1f} ms, new connection {fresh * 1000:.1f} ms"

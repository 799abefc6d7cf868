"""What the two loopback servers (the SMS Partner stand-in, the local HTTP API) share: keep-alive HTTP/1.1
that answers as promptly as a production server, and never logs a request line.

``http.server`` writes the status line and headers, then the body, in two ``send()`` calls. With Nagle's
algorithm on, the second waits on a keep-alive connection for the client's delayed ACK (40 ms on Linux): a
keep-alive call to the stand-in took 44 ms at zero latency where a new connection took 1.7 ms, which billed
every client that reuses its connections (ours) 40 ms a call that no real server charges. ``TCP_NODELAY`` on
the accepted socket sends the body at once.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from typing import Any


class LoopbackRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real services over HTTPS
    disable_nagle_algorithm = True  # TCP_NODELAY: see the module's docstring

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines carry API keys (GET), link tokens and the webhook token."""

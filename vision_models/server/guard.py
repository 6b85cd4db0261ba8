"""Slow and greedy clients against waitress: a deadline for headers, a cap per client, JSON errors.

waitress closes idle connections only (``channel_timeout``): a client that
sends one header line every few seconds is never idle, and a thousand of them
fill its ``connection_limit`` (slowloris). Here each connection gets
``header_timeout`` seconds from the first byte of a request to the end of its
headers, and one client address may hold ``max_client_connections``
connections; both are enforced by waitress's own maintenance pass. The errors
waitress answers by itself (400, 431, 501...) become JSON with the app's CORS
header, like every other error of the server. Each wake of the loop accepts
every connection waiting (up to :data:`ACCEPT_BATCH`), not one: clients that
open a connection per request otherwise queue in the kernel's accept queue.

Behind a reverse proxy (nginx, Caddy) the proxy buffers slow clients and every
connection comes from its address: raise ``max_client_connections`` there.
"""

from __future__ import annotations

import json
import time
from typing import Any

from waitress.channel import HTTPChannel
from waitress.task import ErrorTask


class JsonErrorTask(ErrorTask):
    """waitress's error answer (a malformed request, headers too large...) as JSON, with CORS."""

    def execute(self) -> None:
        error = self.request.error
        self.status = f"{error.code} {error.reason}"
        body = json.dumps({"error": f"{error.reason}: {error.body}".strip(": ")}).encode()
        self.response_headers.extend([("Content-Type", "application/json"), ("Cache-Control", "no-store")])
        origin = getattr(self.channel.server, "cors_origin", None)
        if origin:
            self.response_headers.extend([("Access-Control-Allow-Origin", origin), ("Vary", "Origin")])
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class GuardedChannel(HTTPChannel):
    """An HTTP connection that remembers when its current request's headers began, and who its client is."""

    error_task_class = JsonErrorTask

    def __init__(self, server, sock, addr, adj, map=None) -> None:
        self.client_host = addr[0] if isinstance(addr, tuple) else str(addr)
        self.headers_started: float | None = None
        self._counted = False
        limit = getattr(server, "max_client_connections", None)
        same = _client_counts(server).get(self.client_host, 0)
        super().__init__(server, sock, addr, adj, map)
        if limit is not None and same >= limit:
            self.will_close = True  # closed on the next pass of the loop, before reading anything

    def add_channel(self, map=None) -> None:
        """Count the connection under its client (a count kept as channels come and go, not a scan per accept)."""
        super().add_channel(map)
        if not self._counted:
            self._counted = True
            counts = _client_counts(self.server)
            counts[self.client_host] = counts.get(self.client_host, 0) + 1

    def del_channel(self, map=None) -> None:
        super().del_channel(map)
        if self._counted:
            self._counted = False
            counts = _client_counts(self.server)
            left = counts.get(self.client_host, 1) - 1
            if left > 0:
                counts[self.client_host] = left
            else:
                counts.pop(self.client_host, None)

    def received(self, data: bytes) -> bool:
        if self.request is None and data:
            self.headers_started = time.monotonic()
        result = super().received(data)
        if self.request is None or self.request.headers_finished:
            self.headers_started = None
        return result


def _client_counts(server: Any) -> dict[str, int]:
    """Open connections per client address on ``server``, kept by :class:`GuardedChannel` (loop thread only).

    Counting them by scanning every open channel at each accept cost the loop
    thread time per connection that grew with the connections held.
    """
    counts = getattr(server, "client_counts", None)
    if counts is None:
        counts = server.client_counts = {}
    return counts


#: Connections accepted per wake of the loop when several wait: enough to drain a burst, few enough to stay fair.
ACCEPT_BATCH = 64


def _accept_waiting(server: Any, batch: int = ACCEPT_BATCH) -> None:
    """Accept every connection waiting (up to ``batch`` and the connection limit), not one per pass of the loop.

    waitress accepts one connection each time its loop finds the listening
    socket readable; between two accepts the loop polls and services every
    other connection. With clients that open a connection per request the
    accept queue grew: measured on loopback (50 clients, a 72 KB answer),
    25 of a request's 35 ms passed between the client's connect and the
    server's accept.
    """
    for _ in range(batch):
        if len(server._map) >= server.adj.connection_limit:
            return
        try:
            accepted = server.accept()
            if accepted is None:  # nobody else waiting
                return
            conn, addr = accepted
            server.set_socket_options(conn)
        except OSError:  # as waitress: a socket gone before it was set up is logged and skipped
            if server.adj.log_socket_errors:
                server.logger.warning("server accept() threw an exception", exc_info=True)
            return
        server.channel_class(server, conn, server.fix_addr(addr), server.adj, map=server._map)


def harden(server: Any, *, header_timeout: float, max_client_connections: int, cors_origin: str | None = None) -> Any:
    """Install the guarded channel and the header deadline on a waitress server (or each of a multi-socket one)."""
    servers = [s for s in getattr(server, "map", {}).values() if hasattr(s, "active_channels")] or [server]
    for one in servers:
        one.channel_class = GuardedChannel
        one.max_client_connections = max_client_connections
        one.client_counts = {}
        one.handle_accept = lambda one=one: _accept_waiting(one)
        one.cors_origin = cors_origin
        _add_header_deadline(one, header_timeout)
    return server


def _add_header_deadline(server: Any, header_timeout: float) -> None:
    original = server.maintenance

    def maintenance(now: float) -> None:
        original(now)
        cutoff = time.monotonic() - header_timeout
        for channel in list(server.active_channels.values()):
            started = getattr(channel, "headers_started", None)
            if started is not None and started < cutoff and not channel.requests:
                channel.will_close = True

    server.maintenance = maintenance

"""One deadline for a whole fetch: connecting, every read, retries and their waits.

A watchdog shuts the socket when the deadline passes, so a server that trickles a byte every few seconds
cannot hold a fetch past it; :class:`DeadlineAdapter` gives a session connections that obey it.
"""

from __future__ import annotations

import socket
import threading
import time

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class FetchTimedOut(requests.Timeout):
    """The whole fetch (connect, reads, retries, pages) ran past its deadline."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"Network request timed out: no complete answer within {seconds:g} s")
        self.seconds = seconds


def timed_out_error(seconds: float) -> str:
    """The error text of a fetch cut off by its deadline."""
    return f"Network request timed out: no complete answer within {seconds:g} s"


# ---------------------------------------------------------------- the deadline


_active = threading.local()


class _Deadline:
    """One fetch's deadline: a watchdog timer shuts the fetch's sockets down when it passes."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def remaining(self) -> float:
        return self.ends - time.monotonic()

    def timeouts(self, timeout: tuple[float, float] | float) -> tuple[float, float]:
        """(connect, read) time-outs, neither beyond the deadline."""
        connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        left = max(0.001, self.remaining())
        return min(connect, left), min(read, left)

    def check(self) -> None:
        if self.expired or self.remaining() <= 0:
            raise FetchTimedOut(self.seconds)

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            if self.expired:
                _shut(sock)
            else:
                self._sockets.append(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)

    def __enter__(self) -> _Deadline:
        self._outer = getattr(_active, "deadline", None)
        _active.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._timer.cancel()
        _active.deadline = self._outer


def _deadline(seconds: float) -> _Deadline:
    return _Deadline(seconds)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _WatchedConnection:
    """Mixin for urllib3 connections: each socket a fetch uses is handed to its deadline."""

    def _new_conn(self):
        deadline = getattr(_active, "deadline", None)
        if deadline is not None:
            deadline.check()
        sock = super()._new_conn()
        if deadline is not None:
            deadline.watch(sock)
        return sock

    def request(self, *args, **kwargs):
        deadline = getattr(_active, "deadline", None)
        if deadline is not None:
            deadline.check()
            deadline.watch(getattr(self, "sock", None))  # a kept-alive connection
        return super().request(*args, **kwargs)


class _WatchedHTTPConnection(_WatchedConnection, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedConnection, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter whose connections obey the calling fetch's deadline (see :func:`fetch_json`)."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}

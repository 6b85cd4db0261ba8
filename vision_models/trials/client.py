"""One POST whose fate is known: never sent, sent without a whole answer, or answered.

A trial pays per request, and what a failure costs depends on when it struck.
Until the request's first byte is handed to the socket (DNS, a refused
connection, the TLS handshake, a proxy's CONNECT) the provider cannot have
seen it: such a failure is ``not-sent`` and may be retried freely. From then
on, whatever happens (a reset, a close before any answer, a body that stalls,
is cut or never ends, the run being stopped) the provider may have served and
billed it: the outcome is ``unknown``, and the trial keeps its reserve as spent
and never resends it on its own. Only a whole answer is ``answered``.

requests cannot tell these apart (a read time-out and a reset after sending are
both ``ConnectionError``), so this module speaks HTTP/1.1 through
:mod:`http.client` with the phases explicit: one fresh connection per request
(``Connection: close``: a reused connection the server dropped would fail in
the ambiguous phase), proxies from the environment as requests finds them, and
certificates from ``REQUESTS_CA_BUNDLE`` / ``SSL_CERT_FILE`` or certifi.

Bounds: one wall-clock deadline covers connect, send and every read, and a
watchdog thread shuts the socket when it passes, even while bytes keep
trickling in; the answer is capped (:data:`MAX_ANSWER_BYTES`, raw and decoded:
gzip and deflate are decoded while streaming, so a small bomb is refused at
the cap, never a ``MemoryError``). :meth:`Watchdog.abort` ends every request in
flight at once (a stopped run does not wait out the time-outs).
"""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import threading
import time
import urllib.request
import zlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit

#: The largest answer read, raw or decoded (bytes): a transcript is a few KB.
MAX_ANSWER_BYTES = 16 * 1024 * 1024
_CHUNK = 64 * 1024

NOT_SENT = "not-sent"
UNKNOWN = "unknown"
ANSWERED = "answered"


@dataclass(frozen=True)
class Outcome:
    """What one POST came to: its phase, and for an answer its status, headers and (decoded) body."""

    phase: str  # not-sent | unknown | answered
    reason: str = ""  # why it was not sent / not answered, for a person
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    latency_s: float = 0.0


class _Watch:
    """One request the watchdog keeps an eye on."""

    __slots__ = ("sock", "deadline", "expired", "aborted")

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock, self.deadline = sock, deadline
        self.expired = self.aborted = False


class Watchdog:
    """Shuts the socket of a request past its deadline, or of every request on :meth:`abort`.

    A socket timeout bounds each read, not the sum of them: a server sending a
    byte a second would never time out. Shutting the socket from this thread
    wakes the blocked read at once, whatever the server does.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._watches: set[_Watch] = set()
        self._thread: threading.Thread | None = None
        self.aborted = False

    def watch(self, sock: socket.socket, deadline: float) -> _Watch:
        watch = _Watch(sock, deadline)
        with self._cond:
            if self.aborted:
                watch.aborted = True
                _shut(sock)
            self._watches.add(watch)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="vision-models-watchdog", daemon=True)
                self._thread.start()
            self._cond.notify()
        return watch

    def release(self, watch: _Watch) -> None:
        with self._cond:
            self._watches.discard(watch)

    def abort(self) -> None:
        """End every request in flight now, and any started later (a stopped run)."""
        with self._cond:
            self.aborted = True
            for watch in self._watches:
                watch.aborted = True
                _shut(watch.sock)
            self._cond.notify()

    def _loop(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for watch in [w for w in self._watches if w.deadline <= now and not w.expired]:
                    watch.expired = True
                    _shut(watch.sock)
                pending = [w.deadline for w in self._watches if not w.expired]
                self._cond.wait(timeout=max(0.01, min(pending) - now) if pending else 5.0)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float,
    connect_timeout: float,
    watchdog: Watchdog,
    max_bytes: int = MAX_ANSWER_BYTES,
) -> Outcome:
    """POST ``body`` to ``url`` once, within ``timeout`` seconds in all; never raises for the network's faults."""
    start = time.monotonic()
    deadline = start + timeout
    if watchdog.aborted:
        return Outcome(NOT_SENT, "not sent: the run was stopped")
    parts = urlsplit(url)
    try:
        conn, path = _connection(parts, min(connect_timeout, timeout))
        conn.connect()  # TCP, the proxy's CONNECT and the TLS handshake: nothing of the request has gone out
    except (OSError, ssl.SSLError, http.client.HTTPException, ValueError) as exc:
        return Outcome(NOT_SENT, f"network error, not sent: {_describe(exc)}", latency_s=time.monotonic() - start)
    watch = watchdog.watch(conn.sock, deadline)
    try:
        conn.sock.settimeout(max(0.001, deadline - time.monotonic()))
        return _exchange(conn, path, body, headers, watch, start, max_bytes)
    finally:
        watchdog.release(watch)
        conn.close()


def _exchange(conn: http.client.HTTPConnection, path: str, body: bytes, headers: dict[str, str], watch: _Watch,
              start: float, max_bytes: int) -> Outcome:  # fmt: skip
    """Send, then read the whole answer; every failure from here on is ``unknown``."""
    if watch.aborted:
        return Outcome(NOT_SENT, "not sent: the run was stopped", latency_s=time.monotonic() - start)
    try:
        conn.request(
            "POST", path, body=body, headers={**headers, "Connection": "close", "Accept-Encoding": "gzip, deflate"}
        )
        response = conn.getresponse()
        status, answer_headers = response.status, {k.lower(): v for k, v in response.getheaders()}
        data = _read_body(response, answer_headers.get("content-encoding", ""), watch, max_bytes)
    except _TooLarge:
        return Outcome(UNKNOWN, f"answer larger than {max_bytes // (1024 * 1024)} MB: refused unread (may have been billed)",
                       latency_s=time.monotonic() - start)  # fmt: skip
    except (OSError, http.client.HTTPException, zlib.error, ValueError) as exc:
        return Outcome(UNKNOWN, _unknown_reason(watch, exc), latency_s=time.monotonic() - start)
    if watch.expired or watch.aborted:  # the socket was shut under a read that then looked complete
        return Outcome(UNKNOWN, _unknown_reason(watch, None), latency_s=time.monotonic() - start)
    return Outcome(ANSWERED, status=status, headers=answer_headers, body=data, latency_s=time.monotonic() - start)


class _TooLarge(Exception):
    pass


def _read_body(response: http.client.HTTPResponse, encoding: str, watch: _Watch, max_bytes: int) -> bytes:
    """The body, read a chunk at a time (each read bounded by the watchdog), decoded and capped."""
    decoder = _decoder(encoding)
    parts: list[bytes] = []
    raw = size = 0
    while True:
        chunk = response.read1(_CHUNK)
        if not chunk:
            break
        raw += len(chunk)
        if raw > max_bytes:
            raise _TooLarge
        if decoder is not None:
            chunk = decoder.decompress(chunk, max_bytes - size + 1)
            if decoder.unconsumed_tail:
                raise _TooLarge
        size += len(chunk)
        if size > max_bytes:
            raise _TooLarge
        parts.append(chunk)
    if response.length:  # the connection closed before Content-Length bytes came
        raise http.client.IncompleteRead(b"".join(parts), response.length)
    if decoder is not None:
        tail = decoder.flush()
        size += len(tail)
        if size > max_bytes:
            raise _TooLarge
        parts.append(tail)
        if not decoder.eof:
            raise ValueError("the compressed answer ends early")
    return b"".join(parts)


def _decoder(encoding: str) -> zlib._Decompress | _DeflateDecoder | None:
    """What undoes the answer's ``Content-Encoding`` (None: sent as it is)."""
    encoding = encoding.strip().lower()
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(wbits=31)
    return _DeflateDecoder() if encoding == "deflate" else None


class _DeflateDecoder:
    """``deflate`` as servers send it: zlib-wrapped, or raw (some send the bare stream)."""

    def __init__(self) -> None:
        self._inner: zlib._Decompress | None = None
        self.unconsumed_tail = b""

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if self._inner is None:
            self._inner = zlib.decompressobj(15 if data[:1] and (data[0] & 0x0F) == 8 else -15)
        out = self._inner.decompress(data, max_length)
        self.unconsumed_tail = self._inner.unconsumed_tail
        return out

    def flush(self) -> bytes:
        return self._inner.flush() if self._inner is not None else b""

    @property
    def eof(self) -> bool:
        return self._inner is not None and self._inner.eof


def _unknown_reason(watch: _Watch, exc: BaseException | None) -> str:
    if watch.aborted:
        return "abandoned in flight when the run was stopped (may have been billed)"
    if watch.expired:
        return "no whole answer within the time-out (timed out; may have been billed)"
    what = _describe(exc) if exc is not None else "the answer was cut"
    return f"sent, but no whole answer: {what} (may have been billed)"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, http.client.IncompleteRead):
        return f"the answer was cut after {len(exc.partial)} bytes"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if isinstance(exc, ConnectionResetError):
        return "the connection was reset"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "the host name did not resolve"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed ({exc.reason or type(exc).__name__})"
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


# ---------------------------------------------------------------- connections


def _connection(parts, connect_timeout: float) -> tuple[http.client.HTTPConnection, str]:
    """A connection to the URL's host (or its proxy) and the request target to send."""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {parts.scheme}://{parts.hostname or ''}")
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    proxy = _proxy_for(parts)
    if https:
        context = _tls_context()
        if proxy is not None:
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                proxy.hostname, proxy.port or 8080, timeout=connect_timeout, context=context
            )
            conn.set_tunnel(parts.hostname, port, headers=_proxy_auth(proxy))
            return conn, path
        return http.client.HTTPSConnection(parts.hostname, port, timeout=connect_timeout, context=context), path
    if proxy is not None:  # plain HTTP through a proxy: the absolute URL is the target
        conn = http.client.HTTPConnection(proxy.hostname, proxy.port or 8080, timeout=connect_timeout)
        return conn, f"http://{parts.hostname}:{port}{path}"
    return http.client.HTTPConnection(parts.hostname, port, timeout=connect_timeout), path


def _proxy_for(parts):
    """The proxy requests would use for this URL (``HTTPS_PROXY`` / ``HTTP_PROXY``, minus ``NO_PROXY``)."""
    proxies = urllib.request.getproxies()
    chosen = proxies.get(parts.scheme)
    if not chosen or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    proxy = urlsplit(chosen if "://" in chosen else f"http://{chosen}")
    return proxy if proxy.hostname else None


def _proxy_auth(proxy) -> dict[str, str] | None:
    if not proxy.username:
        return None
    import base64
    from urllib.parse import unquote

    token = base64.b64encode(f"{unquote(proxy.username)}:{unquote(proxy.password or '')}".encode()).decode("ascii")
    return {"Proxy-Authorization": f"Basic {token}"}


_CONTEXT: ssl.SSLContext | None = None


def _tls_context() -> ssl.SSLContext:
    """Certificates as requests finds them: ``REQUESTS_CA_BUNDLE``, ``SSL_CERT_FILE``, else certifi's."""
    global _CONTEXT
    if _CONTEXT is None:
        bundle = (
            os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE")
        )
        if not bundle:
            try:
                import certifi

                bundle = certifi.where()
            except ImportError:
                bundle = None
        _CONTEXT = (
            ssl.create_default_context(cafile=bundle)
            if bundle and os.path.isfile(bundle)
            else ssl.create_default_context()
        )
    return _CONTEXT

"""``vision-models serve``: the seed's ``GET /api/models`` from Python, one shared cache.

A plain WSGI application served by waitress (a multi-threaded production WSGI
server). The catalog lives in memory as one immutable ``Snapshot``, shared by
every request: the first request after start or expiry loads it (through the
SQLite HTTP cache, so a restart within the hour does not refetch), everyone
else reads it. Replacing it is one reference assignment under a lock, with a
second check inside the lock, so a burst of requests at expiry causes one
upstream fetch and nobody sees a half-built answer. The models are encoded to
JSON once per snapshot; a request only wraps them in its own envelope (its
``cacheAge``).

Nothing waits on upstream longer than it must: when a snapshot expires, one
background thread refreshes it and requests wait at most
:data:`REFRESH_GRACE_SECONDS` for it, then get the copy in memory (a late or
trickling upstream never holds them; ``/healthz`` never waits at all). Filters
run on arrays precomputed per snapshot, each model's JSON encoded once.

In front of the app, the waitress server is hardened against slow clients: a
request's headers must arrive within :data:`HEADER_TIMEOUT_SECONDS`, one client
address may hold at most :data:`MAX_CONNECTIONS_PER_CLIENT` connections, and
the errors waitress itself answers (400, 431, 501...) are JSON with the CORS
header like the app's own.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from ..catalog.api import CatalogResult, fetch_catalog
from ..catalog.filters import check_max_price, check_min_context, check_providers
from ..catalog.vision import DEFAULT_RULES, RULES
from ..http.cache import DEFAULT_EXPIRE_SECONDS  # noqa: F401 (importable from here, as before)
from ..present.payload import payload_envelope
from ..settings import FIELDS, Settings, resolve
from ..text import terminal_safe
from .shared import (  # noqa: F401 (the names vision_models.server has always had)
    FILTERED_MEMO_BYTES,
    REFRESH_GRACE_SECONDS,
    RETRY_AFTER_FAILURE_SECONDS,
    ByteMemo,
    SharedCatalog,
    Snapshot,
    build_snapshot,
)

API_PATH = "/api/models"
HEALTH_PATH = "/healthz"
JSON = "application/json"
#: Seconds a client has to send a request's headers (slowloris); then the connection is closed.
HEADER_TIMEOUT_SECONDS = 10.0
#: Connections one client address may hold at once; more are closed as they arrive.
MAX_CONNECTIONS_PER_CLIENT = 300
#: Query parameters /api/models accepts, as the CLI's filters.
QUERY_PARAMETERS = ("provider", "minContext", "maxPromptPrice", "rules")
StartResponse = Callable[..., Any]


class BadQuery(ValueError):
    """A query string /api/models cannot honour; answered with 400."""


def parse_query(query_string: str) -> tuple[tuple, list[str], int | None, float | None, str]:
    """The filters of ``?provider=...&minContext=...&maxPromptPrice=...&rules=...``."""
    try:
        params = parse_qs(query_string, keep_blank_values=True, strict_parsing=False, max_num_fields=50)
    except ValueError as exc:
        raise BadQuery(f"bad query string: {exc}") from None
    unknown = sorted(set(params) - set(QUERY_PARAMETERS))
    if unknown:
        raise BadQuery(f"unknown query parameter {unknown[0]!r}: expected {', '.join(QUERY_PARAMETERS)}")
    try:
        providers = check_providers([p for value in params.get("provider", []) for p in value.split(",")])
        min_context = check_min_context(_one(params, "minContext"), "minContext") if "minContext" in params else None
        max_price = (
            check_max_price(_one(params, "maxPromptPrice"), "maxPromptPrice") if "maxPromptPrice" in params else None
        )
    except ValueError as exc:
        raise BadQuery(str(exc)) from None
    rules = _one(params, "rules") if "rules" in params else DEFAULT_RULES
    if rules not in RULES:
        raise BadQuery(f"bad rules {rules!r}: expected one of {', '.join(RULES)}")
    key = (tuple(sorted(set(providers))), min_context, max_price, rules)
    return key, providers, min_context, max_price, rules


def _one(params: dict[str, list[str]], name: str) -> str:
    values = params[name]
    if len(values) != 1:
        raise BadQuery(f"{name} given {len(values)} times: give it once")
    return values[0]


#: A host of an origin: DNS labels (letters, digits, hyphens, dots) or a bracketed IPv6 address.
_ORIGIN_HOST = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\]")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def check_cors_origin(origin: str | None) -> str | None:
    """``origin`` as a browser sends it (``scheme://host[:port]``, lower case, no default port), or ``*``.

    A value with a path, query, credentials, a non-ASCII or control character
    (a CR/LF would forge response headers) can never match a browser's
    ``Origin`` header; it is refused with a ``ValueError`` naming it.
    """
    if origin is None or origin == "*":
        return origin
    expected = "expected scheme://host[:port] with scheme http or https (or *), such as https://app.example:8443"
    if not isinstance(origin, str) or not origin.isascii() or not origin.isprintable() or " " in origin:
        raise ValueError(f"bad CORS origin {origin!r}: {expected}, in printable ASCII")
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        raise ValueError(f"bad CORS origin {origin!r}: {expected}") from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in _DEFAULT_PORTS or not parts.netloc:
        raise ValueError(f"bad CORS origin {origin!r}: {expected}")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"bad CORS origin {origin!r}: credentials are not part of an origin; {expected}")
    if parts.path or parts.query or parts.fragment or "?" in origin or "#" in origin:
        raise ValueError(f"bad CORS origin {origin!r}: a path, query or fragment is not part of an origin; {expected}")
    if not _ORIGIN_HOST.fullmatch(host if ":" not in host else f"[{host}]"):
        raise ValueError(f"bad CORS origin {origin!r}: {expected}")
    if port == 0:
        raise ValueError(f"bad CORS origin {origin!r}: port 0 is not a port a page is served from; {expected}")
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}" + ("" if port is None or port == _DEFAULT_PORTS[scheme] else f":{port}")


class ModelsApp:
    """The WSGI application: /api/models, /healthz, and JSON errors for the rest."""

    def __init__(
        self, catalog: SharedCatalog, *, cors_origin: str | None = None, log: Callable[[str], None] | None = None
    ) -> None:
        self.catalog = catalog
        self.cors_origin = check_cors_origin(cors_origin)
        self.log = log

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        status, headers, body = self.respond(environ)
        headers = self._cors(headers)
        headers.append(("Content-Length", str(len(body))))
        if environ["REQUEST_METHOD"] == "HEAD":
            body = b""
        start_response(status, headers)
        if self.log is not None:
            self.log(_log_line(environ, status, len(body), time.perf_counter() - started))
        return [body]

    def respond(self, environ: dict) -> tuple[str, list[tuple[str, str]], bytes]:
        """(status, headers, body) for one request (CORS headers are added by the caller)."""
        path, method = environ.get("PATH_INFO", ""), environ["REQUEST_METHOD"]
        if path not in (HEALTH_PATH, API_PATH):
            return _json_response("404 Not Found", {"error": f"not found: {path}"})
        if method == "OPTIONS" and self.cors_origin:
            return "204 No Content", [("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")], b""
        if method not in ("GET", "HEAD"):
            status, headers, body = _json_response("405 Method Not Allowed", {"error": f"method {method} not allowed"})
            return status, [*headers, ("Allow", "GET, HEAD")], body
        if path == HEALTH_PATH:
            return self._health()
        try:
            query = parse_query(environ.get("QUERY_STRING", ""))
        except BadQuery as exc:
            return _json_response("400 Bad Request", {"error": str(exc), "models": []})
        return self._models(query)

    def _models(self, query: tuple) -> tuple[str, list[tuple[str, str]], bytes]:
        snapshot, loaded_now = self.catalog.current()
        key, providers, min_context, max_price, rules = query
        if key == ((), None, None, DEFAULT_RULES):
            count, models_json = len(snapshot.vision), snapshot.models_json
        else:
            count, models_json = snapshot.filtered(key, providers, min_context, max_price, rules)
        fresh = loaded_now and not snapshot.result.cached  # the request that fetched answers as a fresh fetch
        failed = bool(snapshot.error) and snapshot.result.models.empty
        envelope = payload_envelope(
            0 if failed else max(count, 1),  # a stale copy that a filter empties keeps the stale shape
            cached=not fresh,
            cache_age=snapshot.cache_age(),
            error=snapshot.error,
        )
        if "count" in envelope:
            envelope["count"] = count
        body = json.dumps(envelope).encode() if failed else encode_answer(envelope, models_json)
        status = "502 Bad Gateway" if failed else "200 OK"
        return status, [("Content-Type", JSON), ("Cache-Control", "no-store")], body

    def _health(self) -> tuple[str, list[tuple[str, str]], bytes]:
        """200 while models are in memory; 503 saying why while none are (not loaded yet, or every load failed).

        Never loads: a health check must not cost an upstream request.
        """
        snapshot = self.catalog.peek()
        if snapshot is None:
            state: dict[str, Any] = {"status": "unavailable", "loaded": False, "reason": "no catalog loaded yet"}
            return _json_response("503 Service Unavailable", state)
        loaded = not snapshot.result.models.empty
        state = {"status": "ok" if loaded else "unavailable", "loaded": loaded, "models": len(snapshot.vision)}
        state.update(cacheAge=snapshot.cache_age(), error=snapshot.error)
        if not loaded:
            state["reason"] = snapshot.error or "the catalog holds no models"
        if self.catalog.refreshing:
            state["refreshing"] = True
        return _json_response("200 OK" if loaded else "503 Service Unavailable", state)

    def _cors(self, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        if self.cors_origin:
            headers = [*headers, ("Access-Control-Allow-Origin", self.cors_origin), ("Vary", "Origin")]
        return list(headers)


def encode_answer(envelope: dict[str, Any], models_json: bytes) -> bytes:
    """:func:`vision_models.present.payload.encode_api_payload` as UTF-8 bytes, around models already encoded to bytes.

    Profiled under load, splicing the models into a str and encoding the
    whole answer per request took ~140 us of a worker's GIL for a 73 KB
    answer (the text is not ASCII, so every character is re-encoded); joining
    bytes takes ~9 us, and the GIL goes back to the loop thread sooner.
    """
    pieces: list[bytes] = []
    for key, value in envelope.items():
        pieces += [b", " if pieces else b"{", json.dumps(key).encode(), b": "]
        pieces.append(models_json if key == "models" and value is None else json.dumps(value).encode())
    pieces.append(b"}")
    return b"".join(pieces)


def _json_response(status: str, payload: dict) -> tuple[str, list[tuple[str, str]], bytes]:
    return status, [("Content-Type", JSON), ("Cache-Control", "no-store")], json.dumps(payload).encode()


#: Characters of a path or query kept as they are in the log; everything else is percent-encoded.
_LOG_SAFE = "/:@!$&'()*+,;=-._~?"


def _log_line(environ: dict, status: str, size: int, seconds: float) -> str:
    """One line per request; the client's path, query and method escaped (no forged lines, escapes or NULs)."""
    target = log_safe(environ.get("PATH_INFO", ""))
    if environ.get("QUERY_STRING"):
        target += "?" + log_safe(environ["QUERY_STRING"], keep="%=")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    return (
        f'{environ.get("REMOTE_ADDR", "-")} [{stamp}Z] "{terminal_safe(environ["REQUEST_METHOD"])} {target}" '
        f"{status.split()[0]} {size} {seconds * 1000:.1f}ms"
    )


def log_safe(text: str, keep: str = "") -> str:
    """``text`` (a WSGI string: bytes as latin-1) percent-encoded except for plain URL characters."""
    return quote(text.encode("latin-1", "replace"), safe=_LOG_SAFE + keep)


def make_app(
    *,
    source: str | None = None,
    cache_path: str | None = None,
    expire_after: float | None = None,
    cors_origin: str | None = None,
    log: Callable[[str], None] | None = None,
    settings: Settings | None = None,
    **fetch_options: Any,
) -> ModelsApp:
    """The WSGI app over :func:`fetch_catalog` (every model; vision by the default, strict, rules).

    ``settings`` (default: the environment, read now) with the keywords as overrides, those of
    :class:`vision_models.Settings` among ``fetch_options`` too, is resolved once and used for every fetch.
    """
    given = {name: fetch_options.pop(name) for name in FIELDS if name in fetch_options}
    chosen = resolve(settings, source=source, cache_path=cache_path, expire_after=expire_after, **given)

    def load() -> CatalogResult:
        return fetch_catalog(settings=chosen, **fetch_options)

    return ModelsApp(SharedCatalog(load, chosen.expire_after), cors_origin=cors_origin, log=log)


def create_server(
    app: ModelsApp,
    host: str = "127.0.0.1",
    port: int = 3000,
    *,
    threads: int = 8,
    header_timeout: float = HEADER_TIMEOUT_SECONDS,
    max_client_connections: int = MAX_CONNECTIONS_PER_CLIENT,
    connection_limit: int = 1000,
):
    """A waitress server for ``app`` (not yet running); ``port=0`` picks a free port.

    Hardened against slow clients (see the module notes): ``header_timeout``
    seconds for a request's headers, ``max_client_connections`` per client
    address, and JSON errors from waitress itself. Behind a reverse proxy
    every client shares the proxy's address: raise ``max_client_connections``
    to the proxy's own connection limit there.
    """
    from waitress.server import create_server as waitress_server

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth is N", once per queued request
    server = waitress_server(
        app,
        host=host,
        port=port,
        threads=threads,
        connection_limit=connection_limit,
        backlog=2048,
        channel_timeout=30,
        cleanup_interval=min(30, max(1, int(header_timeout / 2))),
        ident="vision-models",
        clear_untrusted_proxy_headers=True,
    )
    from .guard import harden

    harden(
        server,
        header_timeout=header_timeout,
        max_client_connections=max_client_connections,
        cors_origin=app.cors_origin,
    )
    return server


class RequestLog:
    """One line per request on a stream, written by one thread of its own, never by the request's.

    A request thread only queues its line: writing (and flushing) while
    holding a lock, with eight threads and the GIL, turned every write into a
    wait for the next thread switch. At most ``limit`` lines wait; past that
    they are counted, not kept, and the count is written when there is room.
    """

    def __init__(self, stream=None, limit: int = 10_000) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self._lines: queue.Queue[str | None] = queue.Queue(maxsize=limit)
        self._dropped = 0
        self._writer = threading.Thread(target=self._write, name="vision-models-log", daemon=True)
        self._writer.start()

    def __call__(self, line: str) -> None:
        try:
            self._lines.put_nowait(line)
        except queue.Full:
            self._dropped += 1

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued, then stop the writer (waiting at most ``timeout`` seconds)."""
        try:
            self._lines.put(None, timeout=timeout)
        except queue.Full:
            return
        self._writer.join(timeout)

    def _write(self) -> None:
        while True:
            line = self._lines.get()
            if line is None:
                self.stream.flush()
                return
            if self._dropped:
                dropped, self._dropped = self._dropped, 0
                self.stream.write(f"vision-models: {dropped} log lines dropped (the log could not keep up)\n")
            self.stream.write(line + "\n")
            if self._lines.empty():
                self.stream.flush()


def serve(host: str = "127.0.0.1", port: int = 3000, *, threads: int = 8, **app_options: Any) -> None:
    """Run until Ctrl-C or SIGTERM, logging one line per request to stderr."""
    log = RequestLog()
    server = create_server(make_app(log=log, **app_options), host, port, threads=threads)

    def stop(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    log(f"vision-models: serving {API_PATH} on http://{server.effective_host}:{server.effective_port} (Ctrl-C to stop)")
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        signal.signal(signal.SIGTERM, previous)
        log("vision-models: stopped")
        log.close()

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
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs

import pandas as pd

from .cache import DEFAULT_EXPIRE_SECONDS
from .catalog import CatalogResult, fetch_catalog
from .filters import check_max_price, check_min_context, filter_models
from .payload import api_models, encode_api_payload, payload_envelope
from .vision import DEFAULT_RULES, RULES, get_supports_images

API_PATH = "/api/models"
HEALTH_PATH = "/healthz"
JSON = "application/json"
#: After a failed refresh, keep serving what we have this long before asking again.
RETRY_AFTER_FAILURE_SECONDS = 30
#: Query parameters /api/models accepts, as the CLI's filters.
QUERY_PARAMETERS = ("provider", "minContext", "maxPromptPrice", "rules")
_FILTERED_CACHE_SIZE = 64

Loader = Callable[[], CatalogResult]
StartResponse = Callable[..., Any]


@dataclass
class Snapshot:
    """One loaded catalog and everything a request needs from it, encoded once."""

    result: CatalogResult  # every model, vision decided by the default (strict) rules
    vision: pd.DataFrame
    models_json: str
    data_time: datetime  # when this catalog was downloaded (or read)
    refresh_at: float  # time.monotonic() after which the next request reloads
    _filtered: dict[tuple, tuple[int, str]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def error(self) -> str | None:
        return self.result.error

    def cache_age(self) -> int:
        return max(0, int((datetime.now(timezone.utc) - self.data_time).total_seconds()))

    def filtered(self, key: tuple, providers: list[str], min_context: int | None, max_price: float | None, rules: str) -> tuple[int, str]:
        """(count, models JSON) for a filtered view, kept per snapshot (a small, bounded memo)."""
        with self._lock:
            hit = self._filtered.get(key)
        if hit is not None:
            return hit
        models = self.result.models
        base = self.vision if rules == DEFAULT_RULES else models[get_supports_images(models, rules).to_numpy()]
        chosen = filter_models(base, providers=providers or None, min_context=min_context, max_prompt_price=max_price)
        value = (len(chosen), json.dumps(api_models(chosen), ensure_ascii=False))
        with self._lock:
            if len(self._filtered) >= _FILTERED_CACHE_SIZE:
                self._filtered.clear()
            self._filtered[key] = value
        return value


def build_snapshot(result: CatalogResult, expire_after: float) -> Snapshot:
    """Encode a loaded catalog once and decide when to reload it."""
    vision = result.models[result.models["is_vision"].to_numpy()]
    now = datetime.now(timezone.utc)
    age = result.cache_age if result.cached and result.cache_age is not None else 0
    if result.error:
        fresh_for = RETRY_AFTER_FAILURE_SECONDS
    else:
        fresh_for = max(0.0, expire_after - age)
    return Snapshot(
        result=result,
        vision=vision,
        models_json=json.dumps(api_models(vision), ensure_ascii=False),
        data_time=now - timedelta(seconds=age),
        refresh_at=time.monotonic() + fresh_for,
    )


class SharedCatalog:
    """The server-side cache: one snapshot for all requests, reloaded once per expiry."""

    def __init__(self, loader: Loader, expire_after: float = DEFAULT_EXPIRE_SECONDS) -> None:
        self.loader = loader
        self.expire_after = expire_after
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()
        self.loads = 0

    def current(self) -> tuple[Snapshot, bool]:
        """The snapshot to answer with, and whether this call loaded it.

        Fast path: no lock. At expiry the first caller reloads while the others
        wait for it on the lock, then find the new snapshot and answer from it.
        """
        snapshot = self._snapshot
        if snapshot is not None and time.monotonic() < snapshot.refresh_at:
            return snapshot, False
        with self._lock:
            if self._snapshot is not snapshot and self._snapshot is not None:
                return self._snapshot, False  # another request reloaded while we waited
            self.loads += 1
            fresh = build_snapshot(self.loader(), self.expire_after)
            self._snapshot = fresh
            return fresh, True

    def peek(self) -> Snapshot | None:
        """The snapshot as it is, without loading (for health checks)."""
        return self._snapshot


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
    providers = [p.strip().lower() for value in params.get("provider", []) for p in value.split(",")]
    if any(not p for p in providers):
        raise BadQuery("bad provider '': expected a provider name such as 'openai'")
    try:
        min_context = check_min_context(_one(params, "minContext")) if "minContext" in params else None
        max_price = check_max_price(_one(params, "maxPromptPrice")) if "maxPromptPrice" in params else None
    except ValueError as exc:
        raise BadQuery(str(exc).replace("min_context", "minContext").replace("max_prompt_price", "maxPromptPrice")) from None
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


class ModelsApp:
    """The WSGI application: /api/models, /healthz, and JSON errors for the rest."""

    def __init__(self, catalog: SharedCatalog, *, cors_origin: str | None = None, log: Callable[[str], None] | None = None) -> None:
        self.catalog = catalog
        self.cors_origin = cors_origin
        self.log = log

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        status, headers, body = self.respond(environ)
        if environ["REQUEST_METHOD"] == "HEAD":
            headers.append(("Content-Length", str(len(body))))
            body = b""
        else:
            headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        if self.log is not None:
            self.log(_log_line(environ, status, len(body), time.perf_counter() - started))
        return [body]

    def respond(self, environ: dict) -> tuple[str, list[tuple[str, str]], bytes]:
        """(status, headers, body) for one request."""
        path, method = environ.get("PATH_INFO", ""), environ["REQUEST_METHOD"]
        if path == HEALTH_PATH:
            return self._health()
        if path != API_PATH:
            return _json_response("404 Not Found", {"error": f"not found: {path}"})
        if method == "OPTIONS" and self.cors_origin:
            return "204 No Content", self._cors([("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")]), b""
        if method not in ("GET", "HEAD"):
            status, headers, body = _json_response("405 Method Not Allowed", {"error": f"method {method} not allowed"})
            return status, [*headers, ("Allow", "GET, HEAD")], body
        try:
            query = parse_query(environ.get("QUERY_STRING", ""))
        except BadQuery as exc:
            status, headers, body = _json_response("400 Bad Request", {"error": str(exc), "models": []})
            return status, self._cors(headers), body
        return self._models(query)

    def _models(self, query: tuple) -> tuple[str, list[tuple[str, str]], bytes]:
        snapshot, loaded_now = self.catalog.current()
        key, providers, min_context, max_price, rules = query
        if key == ((), None, None, DEFAULT_RULES):
            count, models_json = len(snapshot.vision), snapshot.models_json
        else:
            count, models_json = snapshot.filtered(key, providers, min_context, max_price, rules)
        fresh = loaded_now and not snapshot.result.cached  # the request that fetched answers as a fresh fetch
        failed = bool(snapshot.error) and snapshot.vision.empty
        envelope = payload_envelope(
            0 if failed else count,
            cached=not fresh,
            cache_age=snapshot.cache_age(),
            error=snapshot.error,
        )
        text = json.dumps(envelope) if failed else encode_api_payload(envelope, models_json)
        status = "502 Bad Gateway" if failed else "200 OK"
        return status, self._cors([("Content-Type", JSON), ("Cache-Control", "no-store")]), text.encode()

    def _health(self) -> tuple[str, list[tuple[str, str]], bytes]:
        snapshot = self.catalog.peek()
        state = {"status": "ok", "loaded": snapshot is not None}
        if snapshot is not None:
            state.update(models=len(snapshot.vision), cacheAge=snapshot.cache_age(), error=snapshot.error)
        return _json_response("200 OK", state)

    def _cors(self, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        if self.cors_origin:
            headers = [*headers, ("Access-Control-Allow-Origin", self.cors_origin), ("Vary", "Origin")]
        return headers


def _json_response(status: str, payload: dict) -> tuple[str, list[tuple[str, str]], bytes]:
    return status, [("Content-Type", JSON), ("Cache-Control", "no-store")], json.dumps(payload).encode()


def _log_line(environ: dict, status: str, size: int, seconds: float) -> str:
    target = environ.get("PATH_INFO", "") + (f"?{environ['QUERY_STRING']}" if environ.get("QUERY_STRING") else "")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    return (
        f'{environ.get("REMOTE_ADDR", "-")} [{stamp}Z] "{environ["REQUEST_METHOD"]} {target}" '
        f"{status.split()[0]} {size} {seconds * 1000:.1f}ms"
    )


def make_app(
    *,
    source: str | None = None,
    cache_path: str | None = None,
    expire_after: float = DEFAULT_EXPIRE_SECONDS,
    cors_origin: str | None = None,
    log: Callable[[str], None] | None = None,
    **fetch_options: Any,
) -> ModelsApp:
    """The WSGI app over :func:`fetch_catalog` (every model; vision by the default, strict, rules)."""

    def load() -> CatalogResult:
        return fetch_catalog(source, cache_path=cache_path, expire_after=expire_after, **fetch_options)

    return ModelsApp(SharedCatalog(load, expire_after), cors_origin=cors_origin, log=log)


def create_server(app: ModelsApp, host: str = "127.0.0.1", port: int = 3000, *, threads: int = 8):
    """A waitress server for ``app`` (not yet running); ``port=0`` picks a free port."""
    from waitress.server import create_server as waitress_server

    return waitress_server(
        app,
        host=host,
        port=port,
        threads=threads,
        connection_limit=1000,
        backlog=2048,
        channel_timeout=30,
        ident="vision-models",
        clear_untrusted_proxy_headers=True,
    )


def serve(host: str = "127.0.0.1", port: int = 3000, *, threads: int = 8, **app_options: Any) -> None:
    """Run until Ctrl-C or SIGTERM, logging one line per request to stderr."""
    lock = threading.Lock()

    def log(line: str) -> None:
        with lock:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()

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

"""Getting a catalog response: OpenRouter through the cache, a URL, a local file or the sample.

Network failures never raise from here: they come back as a ``RawCatalog``
with ``error`` set, carrying the cached copy (marked stale) when one exists.
A bad ``source`` value is the caller's mistake and raises ``ValueError``.
"""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests_cache import CachedSession
from urllib3.util.retry import Retry

from .cache import DEFAULT_EXPIRE_SECONDS, get_cache_path, open_session, recover_session

BASE_URL_ENV = "OPENROUTER_BASE_URL"
API_KEY_ENV = "OPENROUTER_API_KEY"
SOURCE_ENV = "VISION_MODELS_SOURCE"
DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
SAMPLE_FILE = "sample_catalog.json"

#: (connect, read) seconds. Reads are not retried, so a server that accepts
#: the connection and never answers costs one read time-out.
DEFAULT_TIMEOUT = (5.0, 10.0)

#: 429 and 5xx are retried twice with back-off; Retry-After is honoured up to
#: 8 s a wait, so a throttling server costs at most about 20 s in all.
RETRY = Retry(
    total=6,
    connect=2,
    read=0,
    status=2,
    redirect=4,
    other=0,
    backoff_factor=0.5,
    backoff_max=4,
    status_forcelist=(429, 500, 502, 503, 504),
    allowed_methods=("GET", "HEAD"),
    respect_retry_after_header=True,
    retry_after_max=8,
    raise_on_status=False,
)

NETWORK_ERROR = "Network request failed"
_ENTRIES = "_vision_models_entries"


class NotACatalog(ValueError):
    """A body that is not an OpenRouter catalog response (``{"data": [...]}``)."""


@dataclass(frozen=True)
class RawCatalog:
    """The catalog entries of one answer and where they came from."""

    entries: list[Any]
    source: str
    cached: bool = False
    fetched_at: datetime | None = None
    error: str | None = None
    stale: bool = False
    #: True when this answer was downloaded now (not a cache hit, a file or the sample).
    downloaded: bool = False
    body: bytes | None = field(default=None, repr=False, compare=False)

    def age_seconds(self, now: datetime | None = None) -> int | None:
        """Whole seconds since the body was downloaded, for cached answers."""
        if not self.cached or self.fetched_at is None:
            return None
        now = now or datetime.now(timezone.utc)
        return max(0, int((now - self.fetched_at).total_seconds()))


def get_base_url(base_url: str | None = None) -> str:
    """``base_url``, else ``$OPENROUTER_BASE_URL``, else OpenRouter's API root."""
    return (base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")


def get_api_key(api_key: str | None = None) -> str | None:
    """``api_key``, else ``$OPENROUTER_API_KEY``, else None (the catalog is public)."""
    return api_key or os.environ.get(API_KEY_ENV) or None


def get_source(source: str | os.PathLike | None = None) -> str:
    """``source``, else ``$VISION_MODELS_SOURCE``, else ``"openrouter"``."""
    return str(source or os.environ.get(SOURCE_ENV) or "openrouter")


def check_source(source: str | os.PathLike | None = None) -> str:
    """The source, checked without any network work: a local file must be a readable catalog."""
    chosen = get_source(source)
    if chosen not in ("sample", "openrouter") and not chosen.startswith(("http://", "https://")):
        read_file(chosen)
    return chosen


def catalog_entries(body: bytes | str) -> list[Any]:
    """The ``data`` list of a catalog response body, or ``NotACatalog`` saying why not."""
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        start = body[:40] if isinstance(body, str) else body[:40].decode("utf-8", "replace")
        raise NotACatalog(f"the body is not JSON ({exc.__class__.__name__}; starts {start!r})") from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("data"), list):
        kind = type(parsed).__name__ if not isinstance(parsed, dict) else "an object without a 'data' list"
        raise NotACatalog(f"the body is {kind}, not a catalog")
    return parsed["data"]


def load_raw(
    source: str | os.PathLike | None = None,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    cache_path: str | os.PathLike | None = None,
    expire_after: float = DEFAULT_EXPIRE_SECONDS,
    refresh: bool = False,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> RawCatalog:
    """Read the catalog from ``source`` (see :func:`get_source`)."""
    chosen = get_source(source)
    if chosen == "sample":
        return read_sample()
    if chosen == "openrouter":
        url, key = f"{get_base_url(base_url)}/models", get_api_key(api_key)
        label = "openrouter"
    elif chosen.startswith(("http://", "https://")):
        url, key, label = chosen, None, chosen  # never send the OpenRouter key elsewhere
    else:
        return read_file(chosen)
    options = dict(api_key=key, refresh=refresh, timeout=timeout, label=label)
    try:
        return fetch_remote(url, session=get_session(cache_path, expire_after), **options)
    except sqlite3.DatabaseError:  # the file broke after it was opened: start a new one
        return fetch_remote(url, session=reset_session(cache_path, expire_after), **options)


def fetch_remote(
    url: str,
    *,
    session: CachedSession,
    api_key: str | None = None,
    refresh: bool = False,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    label: str | None = None,
) -> RawCatalog:
    """GET ``url`` through the cached session; on failure serve the cached copy, stale."""
    label = label or url
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = session.get(
            url, headers=headers, timeout=timeout, force_refresh=refresh, hooks={"response": _refuse_non_catalog}
        )
    except NotACatalog as exc:
        error = f"Failed to fetch models: {exc}"
    except requests.RequestException:
        error = NETWORK_ERROR
    else:
        if response.ok and not response.is_redirect:
            entries = getattr(response, _ENTRIES, None)
            try:
                entries = entries if entries is not None else catalog_entries(response.content)
            except NotACatalog as exc:
                error = f"Failed to fetch models: {exc}"
            else:
                from_cache = bool(getattr(response, "from_cache", False))
                return RawCatalog(
                    entries,
                    label,
                    cached=from_cache,
                    fetched_at=_utc(getattr(response, "created_at", None)),
                    downloaded=not from_cache,
                    body=response.content,
                )
        else:
            error = f"Failed to fetch models: {response.status_code} {_reason(response)}"
    return _cached_fallback(session, url, headers, label, error)


def _reason(response: requests.Response) -> str:
    """The standard reason phrase ("Unauthorized"); servers vary its case, HTTP/2 sends none."""
    try:
        return HTTPStatus(response.status_code).phrase
    except ValueError:
        return response.reason or ""


def _refuse_non_catalog(response: requests.Response, *args, **kwargs) -> requests.Response:
    """Response hook: a 2xx that is not a catalog raises *before* requests-cache stores it.

    Hooks run inside ``requests.Session.send``, ahead of the cache write, so a
    bad body never replaces a good entry. (A ``filter_fn`` returning False
    would instead delete the good entry.)
    """
    if 200 <= response.status_code < 300 and not getattr(response, "from_cache", False):
        if getattr(response, _ENTRIES, None) is None:
            setattr(response, _ENTRIES, catalog_entries(response.content))
    return response


def _cached_fallback(session: CachedSession, url: str, headers: dict, label: str, error: str) -> RawCatalog:
    """The cached copy, even expired, marked stale with ``error``; or nothing with ``error``."""
    request = session.prepare_request(requests.Request("GET", url, headers=headers))
    entry = session.cache.get_response(session.cache.create_key(request))
    if entry is not None:
        try:
            entries = catalog_entries(entry.content)
        except NotACatalog:
            entry = None
        else:
            return RawCatalog(
                entries, label, cached=True, fetched_at=_utc(entry.created_at), error=error, stale=True, body=entry.content
            )
    return RawCatalog([], label, error=error)


def read_file(path: str | os.PathLike) -> RawCatalog:
    """A catalog response saved in a file (``.json`` or gzip-compressed ``.json.gz``)."""
    file = Path(path).expanduser()
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ValueError(
            f"unknown source {str(path)!r}: not openrouter, sample, an http(s) URL or a readable file ({exc.strerror})"
        ) from None
    try:
        body = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
        entries = catalog_entries(body)
    except (OSError, EOFError, NotACatalog) as exc:
        raise ValueError(f"{file} is not an OpenRouter catalog: {exc}") from None
    return RawCatalog(entries, str(file), body=body)


def read_sample() -> RawCatalog:
    """The small catalog bundled with the package, labelled with its date."""
    body = resources.files(__package__).joinpath("data", SAMPLE_FILE).read_bytes()
    parsed = json.loads(body)
    return RawCatalog(parsed["data"], f"sample (as of {parsed['as_of']})", body=body)


_sessions: dict[tuple[str, float], CachedSession] = {}
_sessions_lock = threading.Lock()


def get_session(cache_path: str | os.PathLike | None = None, expire_after: float = DEFAULT_EXPIRE_SECONDS) -> CachedSession:
    """The process's cached session for this cache file, with time-outs' retry policy mounted.

    Kept per (file, expiry) so repeated calls in a notebook reuse one SQLite connection.
    """
    key = (str(get_cache_path(cache_path)), float(expire_after))
    with _sessions_lock:
        session = _sessions.get(key)
        if session is None or not Path(key[0]).exists():
            session = _sessions[key] = _with_retries(open_session(key[0], expire_after))
        return session


def reset_session(cache_path: str | os.PathLike | None = None, expire_after: float = DEFAULT_EXPIRE_SECONDS) -> CachedSession:
    """Move a corrupt cache file aside and return a fresh session on a new one."""
    key = (str(get_cache_path(cache_path)), float(expire_after))
    with _sessions_lock:
        old = _sessions.pop(key, None) or open_session(key[0], expire_after)
        session = _sessions[key] = _with_retries(recover_session(old))
        return session


def close_sessions() -> None:
    """Close every cached session this process opened (tests, long-lived servers)."""
    with _sessions_lock:
        for session in _sessions.values():
            session.close()
        _sessions.clear()


def _with_retries(session: CachedSession) -> CachedSession:
    adapter = HTTPAdapter(max_retries=RETRY)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)

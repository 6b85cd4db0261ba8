"""Getting a catalog response: OpenRouter through the cache, a URL, a local file or the sample.

Network failures never raise from here: they come back as a :class:`RawCatalog` with ``error`` set, carrying
the cached copy (marked stale) when one exists. A bad ``source`` value is the caller's mistake and raises
``ValueError``. The fetch itself is :func:`vision_models.http.client.fetch_json`, bounded in time and size; a
body that is not a catalog, an empty catalog or one without a single model is refused before the cache
stores it.
"""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
import warnings
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypedDict

import requests
from requests_cache import CachedSession

from ..http.cache import is_corrupt_error, memory_session
from ..http.client import (
    _ACCEPT_ENCODING,
    DEFAULT_DEADLINE,
    DEFAULT_TIMEOUT,
    MAX_BODY_BYTES,
    NotACatalog,
    age_seconds,
    fetch_json,
    parse_json,
)
from ..http.sessions import _with_retries, get_session, reset_session
from ..settings import (  # noqa: F401 (the names' old home: still importable here)
    API_KEY_ENV,
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    SOURCE_ENV,
    Settings,
    check_api_key,
    check_base_url,
    env_value,
    resolve,
    shown_url,
)

SAMPLE_FILE = "sample_catalog.json"


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
        return age_seconds(self.fetched_at, now) if self.cached else None


def get_base_url(base_url: str | None = None) -> str:
    """``base_url``, else ``$OPENROUTER_BASE_URL``, else OpenRouter's API root.

    A value that is not an http(s) URL is a ``ValueError`` that names it and
    where it came from (with any credentials in it masked), not a network failure.
    """
    where = "base_url" if base_url else f"${BASE_URL_ENV}"
    return check_base_url(base_url or env_value("base_url") or DEFAULT_BASE_URL, where)


def get_api_key(api_key: str | None = None) -> str | None:
    """``api_key``, else ``$OPENROUTER_API_KEY``, else None (the catalog is public).

    Surrounding whitespace is stripped (a ``.env`` file with Windows line ends
    leaves a CR). A key that still holds a space or control character is a
    ``ValueError`` that says where it came from, never what it is.
    """
    where = "api_key" if api_key else f"${API_KEY_ENV}"
    return check_api_key(api_key or env_value("api_key"), where)


def get_source(source: str | os.PathLike | None = None) -> str:
    """``source``, else ``$VISION_MODELS_SOURCE``, else ``"openrouter"``."""
    return str(source or env_value("source") or "openrouter")


def check_source(source: str | os.PathLike | None = None, *, settings: Settings | None = None) -> str:
    """The source, checked without any network work: a local file must be a readable catalog."""
    chosen = resolve(settings, source=source)
    if chosen.source not in ("sample", "openrouter") and not chosen.source.startswith(("http://", "https://")):
        _read_source_file(chosen)
    return chosen.source


def _read_source_file(settings: Settings) -> RawCatalog:
    """``read_file``, its error saying when the file was named by ``$VISION_MODELS_SOURCE``."""
    try:
        return read_file(settings.source)
    except ValueError as exc:
        if not settings.origin("source").startswith("$"):
            raise
        raise ValueError(f"{exc} (set by ${SOURCE_ENV})") from None


def catalog_entries(body: bytes | str) -> list[Any]:
    """The ``data`` list of a catalog response body, or ``NotACatalog`` saying why not.

    Text that UTF-8 cannot hold (a lone surrogate escape such as ``"\\ud800"``)
    is replaced with U+FFFD, with one warning per process: one bad string never
    costs the other rows.
    """
    parsed = parse_json(body)
    if not isinstance(parsed, dict) or not isinstance(parsed.get("data"), list):
        kind = type(parsed).__name__ if not isinstance(parsed, dict) else "an object without a 'data' list"
        raise NotACatalog(f"the body is {kind}, not a catalog")
    return parsed["data"]


def nonempty_catalog_entries(body: bytes | str) -> list[Any]:
    """:func:`catalog_entries`, refusing a catalog with no models: an empty answer is an outage.

    Entries none of which is a model (an object with a string ``id``) count as
    empty too: ``{"data": [{}, 1]}`` would otherwise replace the good copy with nothing.
    """
    entries = catalog_entries(body)
    if not entries:
        raise NotACatalog("the catalog lists no models (an empty answer is treated as an outage)")
    if not any(isinstance(entry, dict) and isinstance(entry.get("id"), str) for entry in entries):
        raise NotACatalog(
            f"the catalog's {len(entries):,} entries hold no model (none has a string 'id'; treated as an outage)"
        )
    return entries


def load_raw(
    source: str | os.PathLike | None = None,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    cache_path: str | os.PathLike | None = None,
    expire_after: float | None = None,
    refresh: bool = False,
    timeout: tuple[float, float] | float | None = None,
    deadline: float | None = None,
    session: CachedSession | None = None,
    settings: Settings | None = None,
) -> RawCatalog:
    """Read the catalog from ``source`` (see :func:`get_source`); remote sources through ``session`` when given.

    The keywords override ``settings`` (default: :meth:`Settings.from_env`). (A caller
    that has opened the cache's session passes it on, so that a cache file that
    cannot be used is tried, and warned about, once per call.)
    """
    chosen = resolve(
        settings,
        source=source,
        base_url=base_url,
        api_key=api_key,
        cache_path=cache_path,
        expire_after=expire_after,
        timeout=timeout,
        deadline=deadline,
    )
    return load_with(chosen, refresh=refresh, session=session)


def load_with(settings: Settings, *, refresh: bool = False, session: CachedSession | None = None) -> RawCatalog:
    """:func:`load_raw` with its settings resolved: the sample, a file, or a remote source through the cache."""
    if settings.source == "sample":
        return read_sample()
    target = _remote_target(settings)
    if target is None:
        return _read_source_file(settings)
    url, key, label = target
    options = _FetchOptions(
        api_key=key, refresh=refresh, timeout=settings.timeout, label=label, deadline=settings.deadline
    )
    cache_path, expire_after = settings.cache_path, settings.expire_after
    try:
        return fetch_remote(url, session=session or get_session(cache_path, expire_after), **options)
    except sqlite3.DatabaseError as exc:
        if is_corrupt_error(exc):  # the file broke after it was opened: start a new one
            return fetch_remote(url, session=reset_session(cache_path, expire_after), **options)
        # any other trouble with the file (I/O, permissions): this call goes on without the cache
        warnings.warn(f"cannot use the cache file ({exc}); fetching without it", stacklevel=3)
        return fetch_remote(url, session=_with_retries(memory_session(expire_after)), **options)


class _FetchOptions(TypedDict):
    """The keyword arguments :func:`load_raw` passes on to :func:`fetch_remote`, besides the session."""

    api_key: str | None
    refresh: bool
    timeout: tuple[float, float]
    label: str | None
    deadline: float


def _remote_target(settings: Settings) -> tuple[str, str | None, str] | None:
    """(URL, API key, label) of a remote source; None for a file or the sample."""
    if settings.source == "openrouter":
        return f"{settings.base_url}/models", settings.api_key, "openrouter"
    if settings.source.startswith(("http://", "https://")):
        return settings.source, None, settings.source  # never send the OpenRouter key elsewhere
    return None


@dataclass(frozen=True)
class FreshCopy:
    """What the cache holds for a remote source while it is fresh: the body's SHA-256 and download time."""

    digest: str
    source: str
    fetched_at: datetime
    session: CachedSession = field(repr=False)


def is_remote(source: str | os.PathLike | None = None) -> bool:
    """True when ``source`` is fetched over HTTP through the cache (OpenRouter or a URL), not a file or the sample."""
    chosen = get_source(source)
    return chosen == "openrouter" or chosen.startswith(("http://", "https://"))


def peek_fresh(
    source: str | os.PathLike | None = None,
    *,
    session: CachedSession,
    base_url: str | None = None,
    api_key: str | None = None,
    settings: Settings | None = None,
) -> FreshCopy | None:
    """What a fetch through ``session`` would serve from its cache without asking, when fresh; never any network work.

    Only the body's fingerprint is read (not the body), for callers that can
    answer from something derived from it, such as a frame built before.
    Anything unusual (a file or the sample, a cache in memory, an expired copy,
    an entry without a fingerprint, an unreadable cache) is None: the caller
    then goes the whole way through :func:`load_raw`, which says what is wrong.
    """
    try:
        target = _remote_target(resolve(settings, source=source, base_url=base_url, api_key=api_key))
    except (ValueError, TypeError):
        return None
    if target is None:
        return None
    url, key, label = target
    headers = {"Accept-Encoding": _ACCEPT_ENCODING, **({"Authorization": f"Bearer {key}"} if key else {})}
    try:
        fresh_body = getattr(session.cache, "fresh_body", None)
        if fresh_body is None:  # a cache in memory
            return None
        request = session.prepare_request(requests.Request("GET", url, headers=headers))
        found = fresh_body(session.cache.create_key(request))
    except (requests.RequestException, ValueError, sqlite3.Error, OSError):
        return None
    if found is None:
        return None
    digest, fetched_at = found
    return FreshCopy(digest, label, fetched_at, session)


def fetch_remote(
    url: str,
    *,
    session: CachedSession,
    api_key: str | None = None,
    refresh: bool = False,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    label: str | None = None,
    deadline: float = DEFAULT_DEADLINE,
) -> RawCatalog:
    """GET the catalog at ``url`` through the cached session; on failure serve the cached copy, stale.

    Pages (``links.next``) are followed and stored as one catalog; an empty
    catalog counts as a failure (an outage, never "every model removed").
    """
    answer = fetch_json(
        url,
        session=session,
        read=nonempty_catalog_entries,
        api_key=api_key,
        refresh=refresh,
        timeout=timeout,
        deadline=deadline,
        follow_pages=True,
        what="models",
    )
    return RawCatalog(
        answer.value if answer.value is not None else [],
        label or url,
        cached=answer.cached,
        fetched_at=answer.fetched_at,
        error=answer.error,
        stale=answer.stale,
        downloaded=answer.downloaded,
        body=answer.body,
    )


def read_file(path: str | os.PathLike, *, max_bytes: int = MAX_BODY_BYTES) -> RawCatalog:
    """A catalog response saved in a file (``.json`` or gzip-compressed ``.json.gz``), up to ``max_bytes`` decoded."""
    file = Path(path).expanduser()
    try:
        with open(file, "rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        raise ValueError(
            f"unknown source {str(path)!r}: not openrouter, sample, an http(s) URL or a readable file ({exc.strerror})"
        ) from None
    try:
        if raw[:2] == b"\x1f\x8b":
            with gzip.open(file, "rb") as handle:
                body = handle.read(max_bytes + 1)
        else:
            body = raw
        if len(body) > max_bytes:
            raise NotACatalog(f"it is larger than the {max_bytes:,}-byte cap")
        entries = catalog_entries(body)
    except (OSError, EOFError, zlib.error, NotACatalog) as exc:
        raise ValueError(f"{file} is not an OpenRouter catalog: {exc}") from None
    if not any(isinstance(entry, dict) and isinstance(entry.get("id"), str) for entry in entries):
        # An empty catalog is no data, as an empty answer from OpenRouter is: said in ``error``, not a bad source.
        held = (
            f"its {len(entries):,} entries hold no model: none has a string 'id'" if entries else "it lists no models"
        )
        return RawCatalog(entries, str(file), error=f"{file}: the catalog is empty ({held})", body=body)
    return RawCatalog(entries, str(file), body=body)


def read_sample() -> RawCatalog:
    """The small catalog bundled with the package, labelled with its date."""
    body = resources.files("vision_models").joinpath("data", SAMPLE_FILE).read_bytes()
    parsed = json.loads(body)
    return RawCatalog(parsed["data"], f"sample (as of {parsed['as_of']})", body=body)

"""The session per cache file, with the retry policy and the deadline adapter mounted.

One :class:`~requests_cache.CachedSession` per (cache file, expiry) per process, so repeated calls in a
notebook reuse one SQLite connection; :data:`RETRY` is the retry policy every session mounts.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from requests_cache import CachedSession
from urllib3.util.retry import Retry

from .cache import DEFAULT_EXPIRE_SECONDS, get_cache_path, memory_session, open_session, recover_session, warn_once
from .deadline import DeadlineAdapter, FetchTimedOut, _active


class _Retry(Retry):
    """urllib3's retry policy, but a wait that would pass the fetch's deadline ends the fetch instead."""

    def sleep(self, response=None) -> None:
        deadline = getattr(_active, "deadline", None)
        if deadline is not None:
            wait = (
                self.get_retry_after(response) if (response is not None and self.respect_retry_after_header) else None
            )
            wait = self.get_backoff_time() if wait is None else wait
            if wait >= deadline.remaining():
                raise FetchTimedOut(deadline.seconds)
        super().sleep(response)


#: 429 and 5xx are retried twice with back-off; Retry-After is honoured up to
#: 8 s a wait, and never past the deadline.
RETRY = _Retry(
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


_sessions: dict[tuple[str, float], CachedSession] = {}
_sessions_lock = threading.Lock()


def get_session(
    cache_path: str | os.PathLike | None = None, expire_after: float = DEFAULT_EXPIRE_SECONDS
) -> CachedSession:
    """The process's cached session for this cache file, with time-outs' retry policy mounted.

    Kept per (file, expiry) so repeated calls in a notebook reuse one SQLite
    connection. When no cache folder can be found (no home directory), the
    session caches in memory, with a warning.
    """
    try:
        path = str(get_cache_path(cache_path))
    except ValueError as exc:
        path = ":memory:"
        warn_once("no-cache-folder", f"{exc}; caching in memory for this process only")
    key = (path, float(expire_after))
    with _sessions_lock:
        session = _sessions.get(key)
        if path == ":memory:":
            if session is None:
                session = _sessions[key] = _with_retries(memory_session(expire_after))
            return session
        if session is None or not Path(path).exists():
            session = _with_retries(open_session(path, expire_after))
            if not getattr(session, "in_memory", False):  # a stand-in for an unusable file is not kept
                _sessions[key] = session
        return session


def reset_session(
    cache_path: str | os.PathLike | None = None, expire_after: float = DEFAULT_EXPIRE_SECONDS
) -> CachedSession:
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
    adapter = DeadlineAdapter(max_retries=RETRY)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session

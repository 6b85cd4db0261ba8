"""The HTTP cache: one requests-cache ``CachedSession`` on a SQLite file.

Where the file lives (``cache_path`` argument, ``VISION_MODELS_CACHE``, else
the user's cache folder), how a corrupt file is moved aside instead of
stopping the user, and how the API key is kept out of the file, also in the
requests of a redirect chain, which requests-cache itself leaves as they were.
"""

from __future__ import annotations

import os
import sqlite3
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from requests_cache import CachedSession, SQLiteCache
from requests_cache.cache_keys import redact_response
from requests_cache.policy.settings import DEFAULT_IGNORED_PARAMS

CACHE_ENV = "VISION_MODELS_CACHE"
APP_NAME = "vision-models"
CACHE_FILE = "http_cache.sqlite"
DEFAULT_EXPIRE_SECONDS = 3600

#: Request headers and parameters never written to the cache. requests-cache
#: *replaces* its defaults with whatever list it is given, so extend them.
SECRET_PARAMS = tuple(dict.fromkeys([*DEFAULT_IGNORED_PARAMS, "Authorization", "Cookie", "X-Api-Key"]))


def get_cache_path(cache_path: str | os.PathLike | None = None) -> Path:
    """The SQLite file: ``cache_path``, else ``$VISION_MODELS_CACHE``, else the user cache folder."""
    chosen = cache_path or os.environ.get(CACHE_ENV)
    if not chosen:
        from platformdirs import user_cache_dir

        return Path(user_cache_dir(APP_NAME, appauthor=False)) / CACHE_FILE
    path = Path(chosen).expanduser()
    # requests-cache adds ".sqlite" to a name without a suffix; say the same path.
    return path if path.suffix else path.with_name(path.name + ".sqlite")


class RedactingSQLiteCache(SQLiteCache):
    """SQLite backend that also redacts the requests inside ``response.history``.

    requests-cache redacts secrets from the final request only; after a
    same-host redirect the first request, with its ``Authorization`` header,
    would be pickled into the file as part of the history.
    """

    def save_response(self, response, cache_key=None, expires=None):
        for hop in response.history:
            redact_response(hop, self._settings.ignored_parameters)
        super().save_response(response, cache_key, expires)


def open_session(
    cache_path: str | os.PathLike | None = None,
    expire_after: float = DEFAULT_EXPIRE_SECONDS,
) -> CachedSession:
    """A ``CachedSession`` on the SQLite cache; a corrupt file is moved aside and rebuilt.

    If the file cannot be used even then (an unwritable folder), the session
    falls back to an in-memory cache with a warning: a cache problem never
    stops the user from getting the catalog.
    """
    path = get_cache_path(cache_path)
    try:
        return _sqlite_session(path, expire_after)
    except (sqlite3.DatabaseError, OSError) as exc:
        moved = _move_aside(path)
        if moved is not None:
            warnings.warn(f"cache file {path} was unreadable ({exc}); moved it to {moved.name} and started a new one")
            try:
                return _sqlite_session(path, expire_after)
            except (sqlite3.DatabaseError, OSError) as again:
                exc = again
        warnings.warn(f"cannot use cache file {path} ({exc}); caching in memory for this session only")
        return _session(None, expire_after)


def recover_session(session: CachedSession) -> CachedSession:
    """Replace a session whose SQLite file turned out corrupt while reading it."""
    path = Path(session.cache.responses.db_path)
    expire_after = session.settings.expire_after
    session.close()
    moved = _move_aside(path)
    warnings.warn(f"cache file {path} was corrupt; moved it to {moved.name if moved else '(could not move)'}")
    return open_session(path, expire_after)


def _sqlite_session(path: Path, expire_after: float) -> CachedSession:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Creating the tables is the first query, so a corrupt file fails here.
    return _session(RedactingSQLiteCache(str(path), timeout=10), expire_after)


def _session(backend: SQLiteCache | None, expire_after: float) -> CachedSession:
    return CachedSession(
        backend=backend if backend is not None else "memory",
        expire_after=expire_after,
        allowable_codes=(200,),
        allowable_methods=("GET", "HEAD"),
        ignored_parameters=SECRET_PARAMS,
        match_headers=False,
        stale_if_error=False,
    )


def _move_aside(path: Path) -> Path | None:
    if not path.exists():
        return None
    target = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        path.replace(target)
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    except OSError:
        return None
    return target


@dataclass(frozen=True)
class CacheInfo:
    """What ``vision-models cache info`` reports."""

    path: Path
    exists: bool
    size_bytes: int
    responses: int
    newest: datetime | None

    def lines(self) -> list[str]:
        newest = self.newest.isoformat(timespec="seconds") if self.newest else "-"
        return [
            f"path: {self.path}",
            f"exists: {'yes' if self.exists else 'no'}",
            f"size_bytes: {self.size_bytes}",
            f"responses: {self.responses}",
            f"newest_fetch_utc: {newest}",
        ]


def get_cache_info(cache_path: str | os.PathLike | None = None) -> CacheInfo:
    """Where the cache is, how big, and when its newest response was fetched."""
    path = get_cache_path(cache_path)
    if not path.exists():
        return CacheInfo(path, False, 0, 0, None)
    session = open_session(path)
    try:
        created = [r.created_at for r in session.cache.responses.values() if r is not None]
    finally:
        session.close()
    newest = max(created).astimezone(timezone.utc) if created else None
    return CacheInfo(path, True, path.stat().st_size, len(created), newest)


def clear_cache(cache_path: str | os.PathLike | None = None) -> Path:
    """Delete every cached response; returns the file's path."""
    path = get_cache_path(cache_path)
    if path.exists():
        session = open_session(path)
        try:
            session.cache.clear()
        finally:
            session.close()
    return path

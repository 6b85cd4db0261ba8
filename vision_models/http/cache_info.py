"""What the HTTP cache file holds (``vision-models cache info``), and emptying it (``cache clear``).

Read without opening a session: an unusable file is reported, never repaired, from here.
"""

from __future__ import annotations

import os
import sqlite3
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..common import as_utc
from .cache import LOCK_WAIT_SECONDS, _is_locked, _unusable, get_cache_path, open_session


@dataclass(frozen=True)
class CacheInfo:
    """What ``vision-models cache info`` reports; ``problem`` says why a file there is not a usable cache."""

    path: Path
    exists: bool
    size_bytes: int
    responses: int
    newest: datetime | None
    problem: str | None = None

    def lines(self) -> list[str]:
        newest = self.newest.isoformat(timespec="seconds") if self.newest else "-"
        lines = [
            f"path: {self.path}",
            f"exists: {'yes' if self.exists else 'no'}",
            f"size_bytes: {self.size_bytes}",
            f"responses: {'-' if self.problem else self.responses}",
            f"newest_fetch_utc: {newest}",
        ]
        return lines + ([f"problem: {self.problem}"] if self.problem else [])


def get_cache_info(cache_path: str | os.PathLike | None = None) -> CacheInfo:
    """Where the cache is, how big, and when its newest response was fetched: read only, nothing is changed.

    The file is opened read-only. One that is not a cache (damaged, not SQLite,
    another database) is reported in ``problem`` and left as it is: moving a
    damaged file aside is for :func:`clear_cache` or the next fetch. An entry
    that cannot be read back is not counted (one warning) and stays too.
    """
    path = get_cache_path(cache_path)
    if path.is_dir():
        raise ValueError(f"the cache path {path} is a directory, not a cache file")
    if not path.exists():
        return CacheInfo(path, False, 0, 0, None)
    size = path.stat().st_size
    try:
        rows = _stored_responses(path) if size else []
    except sqlite3.DatabaseError as exc:
        if _is_locked(exc):
            raise
        problem = (f"not a valid cache file ({exc}); `vision-models cache clear` or the next fetch moves it aside "
                   "and starts a new one")  # fmt: skip
        return CacheInfo(path, True, size, 0, None, problem=problem)
    if rows is None:
        return CacheInfo(
            path, True, size, 0, None, problem="not a cache file: an SQLite database without a responses table"
        )
    created, unreadable = [], []
    for value in rows:
        response = _read_back(value)
        why = response if isinstance(response, str) else _unusable(response)
        if why:
            unreadable.append(why)
        else:
            created.append(as_utc(response.created_at))
    if unreadable:
        entries = "an entry" if len(unreadable) == 1 else f"{len(unreadable):,} entries"
        warnings.warn(
            f"{entries} of the cache file {path} could not be read ({unreadable[0]}); not counted", stacklevel=2
        )
    return CacheInfo(path, True, size, len(created), max(created) if created else None)


def _stored_responses(path: Path) -> list[bytes] | None:
    """The stored values of the ``responses`` table, read through a read-only connection; None without that table."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=LOCK_WAIT_SECONDS)
    try:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "responses" not in tables:
            return None
        return [value for (value,) in conn.execute("SELECT value FROM responses")]
    finally:
        conn.close()


def _read_back(value: object):
    """A stored response as requests-cache reads it back, or why it cannot be."""
    from requests_cache.serializers import pickle_serializer

    try:
        return pickle_serializer.loads(value)
    except Exception as exc:  # noqa: BLE001 -- a row that does not unpickle: EOFError, UnpicklingError, cattrs...
        return f"{type(exc).__name__}: {exc}"


def clear_cache(cache_path: str | os.PathLike | None = None) -> Path:
    """Delete every cached response; returns the file's path."""
    path = get_cache_path(cache_path)
    if path.is_dir():
        raise ValueError(f"the cache path {path} is a directory, not a cache file")
    if path.exists():
        session = open_session(path)
        try:
            session.cache.clear()
        finally:
            session.close()
    return path

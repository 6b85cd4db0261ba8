"""The HTTP cache: one requests-cache ``CachedSession`` on a SQLite file.

Where the file lives (``cache_path`` argument, ``VISION_MODELS_CACHE``, else
the user's cache folder), how a corrupt file is moved aside instead of
stopping the user, and how the API key is kept out of the file, also in the
requests of a redirect chain, which requests-cache itself leaves as they were.

What requests-cache leaves unbounded or silent is bounded and said here: a
write waits at most :data:`LOCK_WAIT_SECONDS` for another process's lock, then
goes on without storing (a warning); a write that fails (a full disk) is said
once per process instead of swallowed; an entry that cannot be read back (a
bad row) is a cache miss with a warning, and is deleted. After a 304 the entry
counts as downloaded at that moment: its age restarts with its freshness.
:func:`vision_models.http.cache_info.get_cache_info` only reads: a damaged file or row is reported, and left.

Beside requests-cache's tables the file holds two of ours: ``bodies``, each
stored body's SHA-256 and times, written in the same transaction as the
response (so it can be trusted without reading the body), and ``frames``,
the frames built from those bodies (see :mod:`vision_models.catalog.memo`).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
import time
import warnings
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from requests_cache import CachedResponse, CachedSession, SQLiteCache
from requests_cache.backends.base import BaseCache
from requests_cache.backends.sqlite import SQLiteDict
from requests_cache.cache_keys import redact_response
from requests_cache.policy.settings import DEFAULT_IGNORED_PARAMS

from ..common import as_utc
from ..notices import warn_once  # noqa: F401 (also importable from here)
from ..settings import CACHE_ENV, DEFAULT_EXPIRE_SECONDS, env_value  # noqa: F401 (their old home: still importable here)

APP_NAME = "vision-models"
CACHE_FILE = "http_cache.sqlite"
#: Seconds a cache read or write waits for another process's lock before going on without the cache.
LOCK_WAIT_SECONDS = 3.0
#: Built frames kept in the cache file (a few sources and rule sets; each about 1 MB at 4,000 models).
FRAMES_KEPT = 8

#: Request headers and parameters never written to the cache. requests-cache
#: *replaces* its defaults with whatever list it is given, so extend them.
SECRET_PARAMS = tuple(dict.fromkeys([*DEFAULT_IGNORED_PARAMS, "Authorization", "Cookie", "X-Api-Key"]))


def get_cache_path(cache_path: str | os.PathLike | None = None) -> Path:
    """The SQLite file: ``cache_path``, else ``$VISION_MODELS_CACHE``, else the user cache folder.

    A ``ValueError`` says so when there is no user cache folder (no ``HOME``
    and no home directory for this user) rather than using a relative ``~``.
    """
    chosen = cache_path or env_value("cache_path")
    if not chosen:
        from platformdirs import user_cache_dir

        try:
            folder = Path(user_cache_dir(APP_NAME, appauthor=False))
        except (RuntimeError, KeyError, OSError) as exc:
            folder = Path("~") / str(exc)
        if not folder.is_absolute() or str(folder).startswith("~"):
            raise ValueError(
                f"cannot find a cache folder: HOME is not set and this user has no home directory "
                f"(got {str(folder)!r}); set {CACHE_ENV} or XDG_CACHE_HOME"
            )
        return folder / CACHE_FILE
    path = Path(chosen).expanduser()
    if str(path).startswith("~"):
        raise ValueError(f"cannot expand {str(chosen)!r}: no home directory for this user; give an absolute path")
    # requests-cache adds ".sqlite" to a name without a suffix; say the same path. A directory is named as it
    # is, whatever its name, so that it is refused (or cached around, in memory) as a directory, never written beside.
    return path if path.suffix or path.is_dir() else path.with_name(path.name + ".sqlite")


class CacheLocked(sqlite3.OperationalError):
    """Another process held the cache file's lock for longer than :data:`LOCK_WAIT_SECONDS`."""


def is_corrupt_error(exc: BaseException) -> bool:
    """True for SQLite errors that mean the file itself is damaged (not locked, not unwritable)."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.DatabaseError) and (
        "not a database" in text or "malformed" in text or "corrupt" in text or "file is encrypted" in text
    )


def _is_locked(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


class _BoundedSQLiteDict(SQLiteDict):
    """requests-cache's SQLite table, but the write lock is waited for a bounded time and failed writes are said.

    requests-cache retries ``BEGIN IMMEDIATE`` forever while another process
    holds the file, and rolls back a failed write (a full disk) without a word.
    """

    @contextmanager
    def _acquire_sqlite_lock(self):
        with self._lock:
            give_up = time.monotonic() + LOCK_WAIT_SECONDS
            while True:
                try:
                    self._connection.execute("BEGIN IMMEDIATE")
                    break
                except sqlite3.OperationalError as exc:
                    if not _is_locked(exc):
                        raise
                    if time.monotonic() >= give_up:
                        raise CacheLocked(f"{self.db_path} is locked by another process") from None
                    time.sleep(0.01)
            self._active_transaction = True
            try:
                yield
                self._connection.commit()
            except sqlite3.OperationalError as exc:
                self._connection.rollback()
                warn_once(
                    f"write:{self.db_path}",
                    f"could not write to the cache file {self.db_path} ({exc}); "
                    "every call downloads again until this is fixed",
                )
            finally:
                self._active_transaction = False


class RedactingSQLiteCache(SQLiteCache):
    """SQLite backend that also redacts the requests inside ``response.history``, and never stops a fetch.

    requests-cache redacts secrets from the final request only; after a
    same-host redirect the first request, with its ``Authorization`` header,
    would be pickled into the file as part of the history. A locked file or a
    row that cannot be read back is a miss (with a warning), never an error.
    """

    def __init__(self, db_path: str, **kwargs) -> None:
        # SQLiteCache.__init__, with the bounded table class (its constructor already writes).
        BaseCache.__init__(self, cache_name=str(db_path), **kwargs)
        self.responses = _BoundedSQLiteDict(db_path, table_name="responses", **kwargs)
        self.redirects = _BoundedSQLiteDict(
            db_path, table_name="redirects", lock=self.responses._lock, serializer=None, **kwargs
        )
        self.identity = _identity(Path(self.responses.db_path))
        self._create_side_tables()

    def _create_side_tables(self) -> None:
        """``bodies``: what each stored body is (SHA-256, times); ``frames``: frames built from bodies (vision_models.catalog.memo)."""
        with self.responses.connection(commit=True) as con:
            con.execute(
                "CREATE TABLE IF NOT EXISTS bodies (key TEXT PRIMARY KEY, sha256 TEXT NOT NULL, "
                "created_at REAL NOT NULL, expires REAL, expires_unix INTEGER)"
            )
            con.execute("CREATE TABLE IF NOT EXISTS frames (key TEXT PRIMARY KEY, value BLOB NOT NULL)")
            # Lets fresh_body read a response's expiry without walking the pages of its body.
            con.execute("CREATE INDEX IF NOT EXISTS responses_key_expires ON responses (key, expires)")

    def save_response(self, response, cache_key=None, expires=None):
        if getattr(response, "revalidated", False):
            # Confirmed by a 304 now: the copy is as good as one downloaded now, and its age restarts.
            created = response.created_at
            now = datetime.now(UTC)
            response.created_at = now if getattr(created, "tzinfo", None) else now.replace(tzinfo=None)
        for hop in response.history:
            redact_response(hop, self._settings.ignored_parameters)
        # requests-cache's save_response, with the body's fingerprint written in the same transaction.
        cache_key = cache_key or self.create_key(response.request)
        cached = redact_response(
            CachedResponse.from_response(response, expires=expires), self._settings.ignored_parameters
        )
        try:
            with self.responses.connection(commit=True) as con:
                self.responses[cache_key] = cached
                con.execute(
                    "INSERT OR REPLACE INTO bodies (key, sha256, created_at, expires, expires_unix) VALUES (?, ?, ?, ?, ?)",
                    (
                        cache_key,
                        body_digest(cached.content),
                        _timestamp(cached.created_at),
                        _timestamp(cached.expires),
                        cached.expires_unix,
                    ),
                )
            if response.history and not cached.revalidated:
                for hop in response.history:
                    self.redirects[self.create_key(hop.request)] = cache_key
        except CacheLocked as exc:
            warnings.warn(f"{exc}; this answer was not stored in the cache")

    def fresh_body(self, key: str) -> tuple[str, datetime] | None:
        """(SHA-256, download time) of the body stored under ``key`` while it is fresh; None otherwise.

        Read without loading the body: the fingerprint is written with the
        response, and counts only while the response row is the one it was written with.
        """
        try:
            with self.responses.connection() as con:
                row = con.execute(
                    "SELECT b.sha256, b.created_at, b.expires FROM bodies b JOIN responses r ON r.key = b.key "
                    "WHERE b.key = ? AND r.expires IS b.expires_unix",
                    (key,),
                ).fetchone()
        except sqlite3.Error:
            return None
        if row is None or (row[2] is not None and time.time() >= row[2]):
            return None
        return row[0], datetime.fromtimestamp(row[1], UTC)

    def get_frame(self, key: str) -> bytes | None:
        """The stored bytes of a built frame, or None (also when the file cannot be read now)."""
        try:
            with self.responses.connection() as con:
                row = con.execute("SELECT value FROM frames WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:
            return None
        return bytes(row[0]) if row is not None and isinstance(row[0], (bytes, bytearray, memoryview)) else None

    def save_frame(self, key: str, value: bytes) -> None:
        """Store a built frame's bytes, keeping the newest :data:`FRAMES_KEPT`; a locked or full file skips it quietly."""
        self._write_frames(
            ("INSERT OR REPLACE INTO frames (key, value) VALUES (?, ?)", (key, value)),
            (
                "DELETE FROM frames WHERE rowid NOT IN (SELECT rowid FROM frames ORDER BY rowid DESC LIMIT ?)",
                (FRAMES_KEPT,),
            ),
        )

    def delete_frame(self, key: str) -> None:
        self._write_frames(("DELETE FROM frames WHERE key = ?", (key,)))

    def _write_frames(self, *statements: tuple[str, tuple]) -> None:
        try:
            with self.responses.connection(commit=True) as con:
                for sql, values in statements:
                    con.execute(sql, values)
        except sqlite3.Error:
            pass

    def clear(self) -> None:
        super().clear()  # may replace a broken file with a new one
        self._create_side_tables()
        with self.responses.connection(commit=True) as con:
            con.execute("DELETE FROM bodies")
            con.execute("DELETE FROM frames")

    def get_response(self, key: str, default=None):
        try:
            response = super().get_response(key, default)
        except sqlite3.OperationalError as exc:
            if not _is_locked(exc):
                raise
            warnings.warn(f"{self.responses.db_path} is locked by another process ({exc}); going on without the cache")
            return default
        except sqlite3.DatabaseError:
            raise
        except Exception as exc:  # a row that does not unpickle: EOFError, UnpicklingError, ...
            self._drop_bad_row(key, f"{type(exc).__name__}: {exc}")
            return default
        if response is not None and response is not default:
            problem = _unusable(response)
            if problem:
                self._drop_bad_row(key, problem)
                return default
        return response

    def _drop_bad_row(self, key: str, problem: str) -> None:
        warnings.warn(
            f"an entry of the cache file {self.responses.db_path} could not be read ({problem}); treated as a miss"
        )
        try:
            del self.responses[key]  # deletes by key; no unpickling
        except (sqlite3.Error, KeyError):
            pass


def body_digest(body: bytes | None) -> str:
    """The SHA-256 of a response body, as hex: what a frame built from it is remembered by."""
    return hashlib.sha256(body or b"").hexdigest()


def _timestamp(moment: datetime | None) -> float | None:
    """Unix seconds of a requests-cache time (naive means UTC), or None."""
    return None if moment is None else as_utc(moment).timestamp()


def _unusable(response) -> str | None:
    """Why a cached entry cannot serve an answer, or None when it can."""
    if not isinstance(response, CachedResponse):
        return f"a {type(response).__name__}, not a response"
    if not isinstance(getattr(response, "created_at", None), datetime):
        return "its download time is not a date"
    if response.expires is not None and not isinstance(response.expires, datetime):
        return "its expiry is not a date"
    if not isinstance(getattr(response, "_content", None), (bytes, bytearray)):
        return "it has no body"
    if not isinstance(response.status_code, int):
        return "its status is not a number"
    return None


def _identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file, to tell it from a file that replaced it."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


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
    if path.is_dir():
        warnings.warn(f"cannot use cache file {path}: it is a directory; caching in memory for this session only")
        return memory_session(expire_after)
    before = _identity(path)
    try:
        return _sqlite_session(path, expire_after)
    except (sqlite3.DatabaseError, OSError) as exc:
        if isinstance(exc, sqlite3.DatabaseError) and not is_corrupt_error(exc):
            warnings.warn(f"cannot use cache file {path} ({exc}); caching in memory for this session only")
            return memory_session(expire_after)
        moved = _move_aside(path, before) if isinstance(exc, sqlite3.DatabaseError) else None
        if moved is not None or (isinstance(exc, sqlite3.DatabaseError) and _identity(path) != before):
            if moved is not None:
                warnings.warn(
                    f"cache file {path} was unreadable ({exc}); moved it to {moved.name} and started a new one"
                )
            try:
                return _sqlite_session(path, expire_after)
            except (sqlite3.DatabaseError, OSError) as again:
                exc = again
        warnings.warn(f"cannot use cache file {path} ({exc}); caching in memory for this session only")
        return memory_session(expire_after)


def memory_session(expire_after: float = DEFAULT_EXPIRE_SECONDS) -> CachedSession:
    """A session caching in memory only: for a call that cannot use the file."""
    session = _session(None, expire_after)
    session.in_memory = True  # type: ignore[attr-defined]  # a marker on the session: the next call tries the file again
    return session


def recover_session(session: CachedSession) -> CachedSession:
    """Replace a session whose SQLite file turned out corrupt while reading it.

    The file is moved aside only if it is still the file this session opened:
    another process may already have replaced it with a new, valid one.
    """
    path = Path(cast(SQLiteDict, session.cache.responses).db_path)  # a file session's table
    identity = getattr(session.cache, "identity", None)
    expire_after = cast(float, session.settings.expire_after)  # as open_session set it
    session.close()
    moved = _move_aside(path, identity)
    if moved is not None:
        warnings.warn(f"cache file {path} was corrupt; moved it to {moved.name}")
    else:
        warnings.warn(f"cache file {path} was corrupt; another process has already replaced it")
    return open_session(path, expire_after)


def _sqlite_session(path: Path, expire_after: float) -> CachedSession:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Creating the tables is the first query, so a corrupt file fails here.
    return _session(RedactingSQLiteCache(str(path), timeout=LOCK_WAIT_SECONDS), expire_after)


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


def _move_aside(path: Path, identity: tuple[int, int] | None) -> Path | None:
    """Rename a corrupt file to a name of its own; never a directory, never a file another process just rebuilt.

    ``identity`` is the (device, inode) the caller found corrupt: a different
    file at ``path`` now means someone else recovered first, and it stays.
    """
    if not path.is_file() or identity is None or _identity(path) != identity:
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}-{os.getpid()}-{secrets.token_hex(3)}")
    try:
        os.rename(path, target)
    except OSError:
        return None
    if _identity(target) != identity:  # lost a race after the check: put the newer file back
        try:
            os.rename(target, path)
        except OSError:
            pass
        return None
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return target

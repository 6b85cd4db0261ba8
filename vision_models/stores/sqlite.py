"""What every SQLite store of the project shares: connections, transactions, schema versions.

Each store is a file of its own (history, trials). Writers take ``BEGIN
IMMEDIATE`` on a WAL database with a busy timeout, so two notebooks writing at
once wait for each other instead of failing, and an interrupted write leaves no
trace. A file that is not the store's database says so by name.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

#: Seconds a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT = 60.0


class StoreUnavailable(ValueError):
    """A store's file cannot be opened, read or written where it is; the message names the path and why."""


def unavailable(path: Path, action: str, exc: BaseException) -> StoreUnavailable:
    """The one-line error for a store location that does not work."""
    reason = getattr(exc, "strerror", None) or str(exc)
    if path.is_dir():
        reason = "it is a directory"
    elif _read_only(path):
        reason = f"read-only file system ({reason})"
    return StoreUnavailable(f"cannot {action} {path}: {reason}")


@dataclass(frozen=True)
class Store:
    """One kind of store: its name (for messages), schema version and ``CREATE`` statements."""

    kind: str
    version: int
    schema: Sequence[str]
    #: Statements that bring a file of version N to N + 1, by N.
    migrations: dict[int, Sequence[str]] = field(default_factory=dict)


@contextmanager
def writer(path: Path, store: Store) -> Iterator[sqlite3.Connection]:
    """A connection that may write: WAL, busy timeout, schema in place.

    A location that cannot be written raises :class:`StoreUnavailable`, also
    when it fails half-way (a full disk): the transaction in progress is rolled back.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = connect(path)
    except (OSError, sqlite3.Error) as exc:
        raise unavailable(path, f"create the {store.kind} database", exc) from None
    try:
        try:
            schema_version(conn, path, store)  # a file that is not a database says so before anything else
            use_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
            ensure_schema(conn, path, store)
        except sqlite3.OperationalError as exc:
            raise unavailable(path, f"write the {store.kind} database", exc) from None
        try:
            yield conn
        except sqlite3.OperationalError as exc:
            raise unavailable(path, f"write the {store.kind} database", exc) from None
    finally:
        conn.close()


@contextmanager
def reader(path: Path, store: Store) -> Iterator[sqlite3.Connection | None]:
    """A connection reading one consistent state of the store; None when there is none yet."""
    if not path.exists():
        yield None
        return
    if path.is_dir():
        raise unavailable(path, f"read the {store.kind} database", IsADirectoryError())
    conn = _readable(path, store)
    try:
        if schema_version(conn, path, store) == 0:
            yield None
            return
        conn.execute("BEGIN")  # one snapshot of the file across the queries, even while others write
        try:
            yield conn
        finally:
            conn.execute("ROLLBACK")
    finally:
        conn.close()


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``; any exception rolls everything back and goes on."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        # SQLite may have rolled back already (a full disk, an I/O error): the first error is the one to tell.
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
        raise


def use_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL (persistent, so once per file), retrying while another process holds it.

    Changing the journal mode answers "database is locked" at once instead of
    waiting out the busy timeout, which two processes creating the file at the
    same moment would hit. A file system without WAL keeps its rollback journal:
    ``BEGIN IMMEDIATE`` still serialises the writers.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                raise
        time.sleep(0.01)


def _read_only(path: Path) -> bool:
    """True when the folder of ``path`` is on a file system mounted read-only."""
    for folder in (path, *path.parents):
        try:
            return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
        except OSError:
            continue
    return False


def _readable(path: Path, store: Store) -> sqlite3.Connection:
    """A connection that can read ``path``; on read-only media a WAL file is opened as immutable."""
    try:
        conn = connect(path)
        conn.execute("PRAGMA user_version").fetchone()
        return conn
    except sqlite3.OperationalError:  # e.g. a WAL file on a read-only mount: no -shm can be made
        pass
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True, timeout=BUSY_TIMEOUT, isolation_level=None)
        conn.execute("PRAGMA user_version").fetchone()
        return conn
    except sqlite3.OperationalError as exc:
        raise unavailable(path, f"read the {store.kind} database", exc) from None
    except sqlite3.DatabaseError:
        return connect(path)  # not a database: schema_version says so by name


def connect(path: Path) -> sqlite3.Connection:
    """An autocommit connection (transactions are explicit) with the busy timeout."""
    return sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)


def schema_version(conn: sqlite3.Connection, path: Path, store: Store) -> int:
    """The file's schema version: 0 for a new file; a ``ValueError`` naming a file that is not this store."""
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.OperationalError as exc:  # cannot open or read it: not a statement about its content
        raise unavailable(path, f"read the {store.kind} database", exc) from None
    except sqlite3.DatabaseError as exc:
        raise ValueError(f"{path} is not a {store.kind} database ({exc})") from None
    if version > store.version:
        raise ValueError(f"{path} was written by a newer vision_models (schema {version}); upgrade to read it")
    return version


def ensure_schema(conn: sqlite3.Connection, path: Path, store: Store) -> None:
    """Create the tables once, or bring an older file up to date; racing creators serialise on ``BEGIN IMMEDIATE``."""
    if schema_version(conn, path, store) == store.version:
        return
    with transaction(conn):
        version = conn.execute("PRAGMA user_version").fetchone()[0]  # again, now that the file is ours
        if version == 0:
            for statement in store.schema:
                conn.execute(statement)
        else:
            for step in range(version, store.version):
                for statement in store.migrations.get(step, ()):
                    conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {store.version}")

"""What every SQLite store of the project shares: connections, transactions, schema versions.

Each store is a file of its own (history, trials). Writers take ``BEGIN
IMMEDIATE`` on a WAL database with a busy timeout, so two notebooks writing at
once wait for each other instead of failing, and an interrupted write leaves no
trace. A file that is not the store's database says so by name: each store
marks the files it creates with its own ``PRAGMA application_id`` and checks
it before reading or writing, so no store ever writes its tables into another
store, the HTTP cache or someone else's database.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..http.cache import get_cache_path
from ..settings import Settings, env_value

#: Seconds a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT = 60.0


def store_path(path: str | os.PathLike | None, settings: Settings | None, field: str, filename: str) -> Path:
    """A store's file: ``path``, else ``settings.<field>`` (no settings: that field's environment variable
    only, so a bad ``$OPENROUTER_BASE_URL`` is no concern of a file's), else ``filename`` beside the HTTP cache."""
    if settings is None:
        chosen, cache = path or env_value(field), None
    else:
        chosen, cache = path or getattr(settings, field), settings.cache_path
    if chosen:
        return Path(chosen).expanduser()
    return get_cache_path(cache).with_name(filename)


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
class FileKind:
    """A kind of SQLite file the project writes, as the file shows it: its ``application_id`` and its tables."""

    description: str
    application_id: int  # 0: the file sets none (requests-cache does not)
    tables: frozenset[str]


#: The project's SQLite files, so a store given another one names it instead of writing into it.
#: The ids read "VMtr" and "VMhi" in ASCII.
FILE_KINDS = {
    "trials": FileKind("a trials database", 0x564D7472, frozenset({"rows", "runs", "run_rows"})),
    "history": FileKind("a history database", 0x564D6869, frozenset({"snapshots", "versions"})),
    "cache": FileKind("an HTTP cache", 0, frozenset({"responses", "redirects"})),
}


@dataclass(frozen=True)
class Store:
    """One kind of store: its name (for messages and its entry in ``FILE_KINDS``), schema version and ``CREATE`` statements."""

    kind: str
    version: int
    schema: Sequence[str]
    #: Statements that bring a file of version N to N + 1, by N.
    migrations: Mapping[int, Sequence[str]] = field(default_factory=dict)

    @property
    def application_id(self) -> int:
        """The ``PRAGMA application_id`` this store writes into the files it creates."""
        return FILE_KINDS[self.kind].application_id


@contextmanager
def writer(path: Path, store: Store) -> Iterator[sqlite3.Connection]:
    """A connection that may write: WAL, busy timeout, schema in place.

    A location that cannot be written raises :class:`StoreUnavailable`, also
    when it fails half-way (a full disk): the transaction in progress is rolled back.
    """
    conn = open_writer(path, store)
    try:
        try:
            yield conn
        except sqlite3.OperationalError as exc:
            raise unavailable(path, f"write the {store.kind} database", exc) from None
    finally:
        conn.close()


def open_writer(path: Path, store: Store, *, shared: bool = False) -> sqlite3.Connection:
    """An open connection that may write (see :func:`writer`); ``shared``: usable by other threads under a lock.

    The file is checked to be this store's (or new) before anything is
    written to it, the journal mode included.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        check_file(path, store, "create")
        conn = connect(path, shared=shared)
    except (OSError, sqlite3.Error) as exc:
        raise unavailable(path, f"create the {store.kind} database", exc) from None
    try:
        schema_version(conn, path, store)  # a file that is not this store's says so before anything else
        use_wal(conn)
        conn.execute("PRAGMA synchronous = NORMAL")
        ensure_schema(conn, path, store)
    except sqlite3.OperationalError as exc:
        conn.close()
        raise unavailable(path, f"write the {store.kind} database", exc) from None
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def reader(path: Path, store: Store) -> Iterator[sqlite3.Connection | None]:
    """A connection reading one consistent state of the store; None when there is none yet."""
    if not path.exists():
        yield None
        return
    check_file(path, store, "read")
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
    except sqlite3.OperationalError:
        conn = None
    if conn is not None:
        try:
            conn.execute("PRAGMA user_version").fetchone()
            return conn
        except sqlite3.OperationalError:  # e.g. a WAL file on a read-only mount: no -shm can be made
            conn.close()
        except sqlite3.DatabaseError:
            return conn  # not a database: schema_version says so by name
    try:
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?immutable=1", uri=True, timeout=BUSY_TIMEOUT, isolation_level=None
        )
        conn.execute("PRAGMA user_version").fetchone()
        return conn
    except sqlite3.OperationalError as exc:
        raise unavailable(path, f"read the {store.kind} database", exc) from None
    except sqlite3.DatabaseError:
        return connect(path)  # not a database: schema_version says so by name


def connect(path: Path, *, shared: bool = False) -> sqlite3.Connection:
    """An autocommit connection (transactions are explicit) with the busy timeout."""
    return sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=not shared)


def check_file(path: Path, store: Store, action: str) -> None:
    """Refuse, by name, a location that is there but is no regular file: SQLite would block on a FIFO or write beside a device."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise unavailable(path, f"{action} the {store.kind} database", exc) from None
    if stat.S_ISDIR(mode):
        raise unavailable(path, f"{action} the {store.kind} database", IsADirectoryError())
    if not stat.S_ISREG(mode):
        raise ValueError(f"{path} is not a {store.kind} database (it is {_file_type(mode)}, not a file)")


def _file_type(mode: int) -> str:
    for test, name in ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket")):  # fmt: skip
        if test(mode):
            return name
    return "a special file"


@dataclass(frozen=True)
class _Header:
    """What a file says it is: ``application_id``, ``user_version`` and its tables."""

    application_id: int
    version: int
    tables: frozenset[str]


def _header(conn: sqlite3.Connection, path: Path, store: Store) -> _Header:
    """The id, version and tables read in one snapshot: read one by one, a creator committing in between would
    show tables without their id and version, which reads as another program's file."""
    snapshot = not conn.in_transaction
    try:
        if snapshot:
            conn.execute("BEGIN")
        try:
            application_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            names = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        finally:
            if snapshot and conn.in_transaction:
                conn.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:  # cannot open or read it: not a statement about its content
        raise unavailable(path, f"read the {store.kind} database", exc) from None
    except sqlite3.DatabaseError as exc:
        raise ValueError(f"{path} is not a {store.kind} database ({exc})") from None
    tables = frozenset(name for (name,) in names if not name.startswith("sqlite_"))
    return _Header(application_id, version, tables)


def _is_own(header: _Header, store: Store) -> bool:
    """True for a file of this store: marked with its id, or written before stores had ids (its own tables, a version)."""
    if header.application_id == store.application_id:
        return True
    own = FILE_KINDS[store.kind].tables
    return header.application_id == 0 and header.version >= 1 and bool(header.tables) and header.tables <= own


def _is_new(header: _Header) -> bool:
    return header.application_id == 0 and header.version == 0 and not header.tables


def _holds(header: _Header, store: Store) -> str:
    """What a file that is not ``store``'s holds, in words: another store of the project, or whose data."""
    for kind, known in FILE_KINDS.items():
        if kind == store.kind:
            continue
        if header.application_id == known.application_id != 0:
            return known.description
        if header.application_id == 0 and known.tables <= header.tables:
            return known.description
    if header.application_id:
        return f"another program's data, application_id {header.application_id:#010x}"
    names = sorted(header.tables)
    return "other tables: " + ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def schema_version(conn: sqlite3.Connection, path: Path, store: Store) -> int:
    """The file's schema version: 0 for a new file; a ``ValueError`` naming a file that is not this store.

    A file is this store's when it carries its ``application_id``, or has
    none yet but only this store's tables and a schema version (written
    before the ids); anything else holding tables is someone else's.
    """
    header = _header(conn, path, store)
    if _is_new(header):
        return 0
    if not _is_own(header, store):
        raise ValueError(f"{path} is not a {store.kind} database (it holds {_holds(header, store)})")
    if header.version > store.version:
        raise ValueError(f"{path} was written by a newer vision_models (schema {header.version}); upgrade to read it")
    return header.version


def ensure_schema(conn: sqlite3.Connection, path: Path, store: Store) -> None:
    """Create the tables once (or bring an older file up to date) and mark the file as this store's.

    Racing creators serialise on ``BEGIN IMMEDIATE``. A file written before
    stores had ids is adopted: it gets the id.
    """
    if schema_version(conn, path, store) == store.version and _marked(conn, store):
        return
    with transaction(conn):
        version = schema_version(
            conn, path, store
        )  # again under the lock: another process may have written it meanwhile
        if version == 0:
            for statement in store.schema:
                conn.execute(statement)
        else:
            for step in range(version, store.version):
                for statement in store.migrations.get(step, ()):
                    conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {store.version}")
        conn.execute(f"PRAGMA application_id = {store.application_id}")


def _marked(conn: sqlite3.Connection, store: Store) -> bool:
    return conn.execute("PRAGMA application_id").fetchone()[0] == store.application_id

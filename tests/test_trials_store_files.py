"""Each store writes only its own file: a trials or history path naming anything else is refused by name.

The other files are made without the store under test: requests-cache writes
the HTTP cache, plain ``sqlite3`` writes the rest. What a file holds is read
back with ``sqlite3`` too. The ids are the ASCII of "VMtr" and "VMhi".
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from pathlib import Path

import pytest
from factories import model
from requests_cache import SQLiteCache

from vision_models.catalog import history
from vision_models.stores import sqlite, trials, versions

TRIALS_ID = int.from_bytes(b"VMtr", "big")
HISTORY_ID = int.from_bytes(b"VMhi", "big")
ENTRY = model("a/b", inputs=("text", "image"))


def _contents(path: Path) -> tuple:
    """What a file holds as SQLite sees it: its tables, schema version and application id."""
    conn = sqlite3.connect(path)
    try:
        tables = sorted(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
        return (
            tables,
            conn.execute("PRAGMA user_version").fetchone()[0],
            conn.execute("PRAGMA application_id").fetchone()[0],
        )
    finally:
        conn.close()


def _http_cache(path: Path) -> Path:
    SQLiteCache(str(path)).responses.close()
    return path


def _history(path: Path) -> Path:
    history.record_fetch([ENTRY], fetched_at="2026-01-01", source="test", body=None, path=path)
    return path


def _trials(path: Path) -> Path:
    trials.TrialStore(path).close()
    return path


def _sqlite(path: Path, *statements: str) -> Path:
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()
    return path


FOREIGN_TO_TRIALS = {
    "http cache": (_http_cache, "it holds an HTTP cache"),
    "history": (_history, "it holds a history database"),
    "other tables": (
        lambda p: _sqlite(p, "CREATE TABLE notes (x)", "PRAGMA user_version = 1"),
        "it holds other tables: notes",
    ),
    "other program": (lambda p: _sqlite(p, "PRAGMA application_id = 305419896"), "application_id 0x12345678"),
}
FOREIGN_TO_HISTORY = {
    "http cache": (_http_cache, "it holds an HTTP cache"),
    "trials": (_trials, "it holds a trials database"),
    "other tables": (lambda p: _sqlite(p, "CREATE TABLE snapshots (x)"), "it holds other tables: snapshots"),
}


def _trials_users(path: Path):
    """Every way in to the trials store: the writer and each reader."""
    return {
        "TrialStore": lambda: trials.TrialStore(path).close(),
        "list_runs": lambda: trials.list_runs(path),
        "run_rows": lambda: trials.run_rows("r1", path),
        "run_prompt": lambda: trials.run_prompt("r1", path),
        "done_keys": lambda: trials.done_keys(["k"], path),
        "controls_for_run": lambda: trials.controls_for_run("r1", path),
        "measurements": lambda: trials.measurements(path),
    }


def _history_users(path: Path):
    return {
        "record_fetch": lambda: history.record_fetch(
            [ENTRY], fetched_at="2026-02-01", source="t", body=None, path=path
        ),
        "history_info": lambda: history.history_info(path),
        "catalog_changes": lambda: history.catalog_changes(since="2026-01-01", path=path),
        "price_history": lambda: history.price_history("a/b", path=path),
    }


FOREIGN = [("trials", kind, *case) for kind, case in FOREIGN_TO_TRIALS.items()] + [
    ("history", kind, *case) for kind, case in FOREIGN_TO_HISTORY.items()
]


@pytest.mark.parametrize(("store", "kind", "make", "reason"), FOREIGN, ids=[f"{s}-{k}" for s, k, *_ in FOREIGN])
def test_a_store_refuses_another_file_by_name_and_writes_nothing_into_it(tmp_path, store, kind, make, reason):
    path = make(tmp_path / "other.sqlite")
    before = _contents(path)
    users = _trials_users(path) if store == "trials" else _history_users(path)
    for name, use in users.items():
        with pytest.raises(ValueError) as caught:
            use()
        message = str(caught.value)
        assert message.startswith(f"{path} is not a {store} database (") and reason in message, (name, message)
        assert "\n" not in message
    assert _contents(path) == before  # no tables, no id, no version added: untouched


def test_a_file_that_is_not_sqlite_is_refused_by_name(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not a database at all, but long enough to have a header " * 10)
    for use in (*_trials_users(path).values(), *_history_users(path).values()):
        with pytest.raises(ValueError, match=f"^{path} is not a (trials|history) database"):
            use()
    assert path.read_text().startswith("not a database")


def _finishes(call, seconds: float = 20.0) -> BaseException | None:
    """The exception ``call`` raised; fails the test if it is still blocked (SQLite reading a FIFO) after ``seconds``."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert outcome, f"{call} still blocked after {seconds} s"
    return outcome[0]


def _special_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    fifo = tmp_path / "fifo.sqlite"
    os.mkfifo(fifo)
    files = {"fifo": (fifo, "it is a FIFO")}
    device = tmp_path / "null.sqlite"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # /dev/null's numbers, in a folder of the test
        files["device"] = (device, "it is a character device")
    except (PermissionError, OSError):
        pass
    return files


def test_a_fifo_or_a_device_is_refused_by_name_and_nothing_is_made_beside_it(tmp_path):
    special = _special_files(tmp_path)
    for path, reason in special.values():
        for use in (*_trials_users(path).values(), *_history_users(path).values()):
            error = _finishes(use)
            assert isinstance(error, ValueError), (path, use, error)
            assert str(error).startswith(f"{path} is not a ") and reason in str(error)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p, _ in special.values()
    )  # no -wal, no -journal


def test_dev_null_is_not_a_trials_or_history_store():
    null = Path("/dev/null")
    for use in (*_trials_users(null).values(), *_history_users(null).values()):
        with pytest.raises(ValueError, match="^/dev/null is not a (trials|history) database .it is a character device"):
            use()


def test_a_directory_is_refused_by_name(tmp_path):
    folder = tmp_path / "trials.sqlite"
    folder.mkdir()
    for use in (*_trials_users(folder).values(), *_history_users(folder).values()):
        with pytest.raises(sqlite.StoreUnavailable, match=f"{folder}: it is a directory"):
            use()
    assert list(folder.iterdir()) == []


def test_new_stores_carry_their_own_application_id(tmp_path):
    assert _contents(_trials(tmp_path / "t.sqlite"))[1:] == (trials.SCHEMA_VERSION, TRIALS_ID)
    assert _contents(_history(tmp_path / "h.sqlite"))[1:] == (history.SCHEMA_VERSION, HISTORY_ID)
    assert _contents(tmp_path / "t.sqlite")[0] == ["rows", "run_rows", "runs"]
    assert _contents(tmp_path / "h.sqlite")[0] == ["snapshots", "versions"]


def test_an_empty_file_becomes_the_store(tmp_path):
    for name, make in (("t.sqlite", _trials), ("h.sqlite", _history)):
        path = tmp_path / name
        path.touch()
        assert _contents(make(path))[2] in (TRIALS_ID, HISTORY_ID)


def _unmarked(path: Path, store: sqlite.Store) -> Path:
    """A store file as written before stores had ids: the tables and version, application_id 0."""
    return _sqlite(path, *store.schema, f"PRAGMA user_version = {store.version}")


def test_a_trials_file_of_an_older_version_is_read_then_adopted(tmp_path):
    path = _unmarked(tmp_path / "old.sqlite", trials._STORE)
    _sqlite(path, "INSERT INTO runs (run_id, started_at, state, host, pid, prompt, params, models, pages)"
                  " VALUES ('r1', 1.0, 'finished', 'h', 1, 'p', '{}', '[\"a/b\"]', 1)")  # fmt: skip
    assert trials.list_runs(path)["run_id"].tolist() == ["r1"]
    assert _contents(path)[2] == 0  # reading writes nothing
    _trials(path)
    assert _contents(path)[1:] == (trials.SCHEMA_VERSION, TRIALS_ID)
    assert trials.list_runs(path)["run_id"].tolist() == ["r1"]


def test_a_history_file_of_an_older_version_is_read_then_adopted(tmp_path):
    path = _unmarked(tmp_path / "old.sqlite", versions._STORE)
    assert history.history_info(path).snapshots == 0
    assert _contents(path)[2] == 0
    _history(path)
    assert _contents(path)[1:] == (history.SCHEMA_VERSION, HISTORY_ID)
    assert history.history_info(path).snapshots == 1


def test_a_trials_file_marked_as_another_store_is_refused_even_with_trials_tables(tmp_path):
    path = _unmarked(tmp_path / "t.sqlite", trials._STORE)
    _sqlite(path, f"PRAGMA application_id = {HISTORY_ID}")
    with pytest.raises(ValueError, match="is not a trials database .it holds a history database"):
        trials.TrialStore(path)


def test_the_file_kinds_name_the_tables_each_store_creates(tmp_path):
    """The table list used to recognise a store's files is the one its schema creates."""
    assert set(_contents(_trials(tmp_path / "t.sqlite"))[0]) == sqlite.FILE_KINDS["trials"].tables
    assert set(_contents(_history(tmp_path / "h.sqlite"))[0]) == sqlite.FILE_KINDS["history"].tables
    assert sqlite.FILE_KINDS["cache"].tables <= set(_contents(_http_cache(tmp_path / "c.sqlite"))[0])


def test_a_file_created_while_its_header_is_read_is_never_taken_for_another_programs(tmp_path):
    """Two processes recording at once: one reads the new file's id, version and tables while the other creates the
    tables and commits. Read one by one, the reader would see the tables without their id and version (another
    program's file); read in one snapshot it sees the file before or after, either of which is the store's."""
    path = tmp_path / "history.sqlite"
    reader = sqlite.connect(path)
    sqlite.use_wal(reader)  # the file exists, empty, as the first process leaves it before creating the tables
    store = versions._STORE
    created = []

    def create_in_between(statement: str) -> None:
        if statement.startswith("SELECT name FROM sqlite_master") and not created:
            created.append(True)
            other = sqlite.connect(path)
            sqlite.ensure_schema(other, path, store)
            other.close()

    reader.set_trace_callback(create_in_between)
    assert sqlite.schema_version(reader, path, store) in (0, store.version)
    assert created  # the other process did commit between the reads
    reader.set_trace_callback(None)
    assert sqlite.schema_version(reader, path, store) == store.version
    reader.close()

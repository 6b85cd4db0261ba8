"""Contracts with the libraries whose internals the package overrides or relies on: one test per override.

Each override is listed in docs/overrides.md (what, where, why, the upstream
version it was checked on). A test here fails when an upgrade moves or changes
what the override depends on: then re-read the upstream code, adjust the
override, and update the fingerprint and the version in docs/overrides.md.
Behaviour that needs a network stand-in is tested where the feature is
(the docs name those tests).
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import socket
import sqlite3
import textwrap
import threading
import time
from datetime import datetime

import pytest
import requests
from requests_cache import CachedResponse, CachedSession
from requests_cache.backends.base import BaseCache
from requests_cache.backends.sqlite import SQLiteCache, SQLiteDict
from requests_cache.policy.actions import CacheActions
from urllib3.connection import HTTPConnection
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.exceptions import MaxRetryError, NewConnectionError
from urllib3.poolmanager import PoolManager
from urllib3.util.retry import Retry

import vision_models.notices as notices
from vision_models.http import cache
from vision_models.http.deadline import DeadlineAdapter, _WatchedHTTPConnection, _WatchedHTTPPool
from vision_models.http.sessions import RETRY, _Retry
from vision_models.server.guard import GuardedChannel, JsonErrorTask


def fingerprint(function) -> str:
    """SHA-256 (first 12 hex digits) of a function's code without its docstring and comments: a change of code only."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    node = tree.body[0]
    body = node.body  # type: ignore[attr-defined]
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return hashlib.sha256("\n".join(ast.unparse(s) for s in body).encode()).hexdigest()[:12]


#: The upstream code each override copies or wraps, as checked on requests-cache 1.3.3 (docs/overrides.md).
COPIED = {
    "SQLiteDict._acquire_sqlite_lock": (SQLiteDict._acquire_sqlite_lock, "c162c5628a07"),
    "SQLiteDict.connection": (SQLiteDict.connection, "ffce0a189c7f"),
    "SQLiteCache.__init__": (SQLiteCache.__init__, "a8d82443721f"),
    "BaseCache.save_response": (BaseCache.save_response, "2c2ef50026f7"),
}


@pytest.mark.parametrize("name", sorted(COPIED))
def test_the_requests_cache_code_our_overrides_copy_is_unchanged(name):
    function, expected = COPIED[name]
    assert fingerprint(function) == expected, (
        f"requests-cache's {name} changed: re-check the override listed for it in docs/overrides.md"
    )


# ---------------------------------------------------------------- requests-cache


@pytest.fixture
def backend(tmp_path):
    made = cache.RedactingSQLiteCache(str(tmp_path / "c.sqlite"), timeout=0.1)
    yield made
    made.close()


def test_writes_take_the_bounded_lock(backend, monkeypatch):
    """SQLiteDict.connection(commit=True) enters our _acquire_sqlite_lock: a held file is CacheLocked, in bounded time."""
    monkeypatch.setattr(cache, "LOCK_WAIT_SECONDS", 0.3)
    other = sqlite3.connect(backend.responses.db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    began = time.monotonic()
    try:
        with pytest.raises(cache.CacheLocked), backend.responses.connection(commit=True):
            pass
    finally:
        other.rollback()
        other.close()
    assert time.monotonic() - began < 3


def test_a_response_and_its_side_rows_are_one_transaction(backend):
    """Inside connection(commit=True), SQLiteDict.__setitem__ joins the open transaction: a failure undoes both."""
    with pytest.warns(UserWarning, match="could not write to the cache file"):
        with backend.responses.connection(commit=True) as con:
            backend.responses["k"] = CachedResponse(status_code=200)
            con.execute("INSERT INTO frames (key, value) VALUES ('k', x'00')")
            raise sqlite3.OperationalError("database or disk is full")
    assert "k" not in backend.responses
    with backend.responses.connection() as con:
        assert con.execute("SELECT COUNT(*) FROM frames").fetchone()[0] == 0
    notices._said.discard(f"write:{backend.responses.db_path}")


def test_our_init_sets_what_sqlite_cache_init_sets(tmp_path, backend):
    upstream = SQLiteCache(str(tmp_path / "plain.sqlite"))
    try:
        assert set(vars(upstream)) <= set(vars(backend))
        assert backend.redirects._lock is backend.responses._lock
        assert isinstance(backend.responses, cache._BoundedSQLiteDict)
        assert isinstance(backend.redirects, cache._BoundedSQLiteDict)
    finally:
        upstream.close()


def test_a_304_marks_the_saved_response_revalidated_and_created_at_is_a_datetime():
    assert CachedResponse(status_code=200).revalidated is False
    assert isinstance(CachedResponse(status_code=200).created_at, datetime)
    assert "cached_response.revalidated = True" in inspect.getsource(CacheActions.update_revalidated_response)


def test_the_settings_hold_the_ignored_parameters_redaction_reads(tmp_path):
    session = CachedSession(backend="memory", ignored_parameters=cache.SECRET_PARAMS)
    try:
        assert set(cache.SECRET_PARAMS) <= set(session.cache._settings.ignored_parameters)
    finally:
        session.close()


# ---------------------------------------------------------------- requests and urllib3


def test_a_body_set_on_a_response_is_what_content_and_json_answer():
    response = requests.Response()
    response.status_code = 200
    response._content = b'{"data": []}'
    response._content_consumed = True
    assert response.content == b'{"data": []}' and response.json() == {"data": []}


def test_a_refused_connection_is_a_max_retry_error_whose_reason_is_new_connection_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nobody listens there
    with pytest.raises(requests.ConnectionError) as caught:
        requests.get(f"http://127.0.0.1:{port}/", timeout=2)
    wrapped = caught.value.args[0]
    assert isinstance(wrapped, MaxRetryError) and isinstance(wrapped.reason, NewConnectionError)


def test_the_deadline_adapter_builds_watched_pools_and_connections():
    assert callable(getattr(HTTPConnection, "_new_conn", None)) and "pool_classes_by_scheme" in vars(PoolManager())
    adapter = DeadlineAdapter()
    try:
        pool = adapter.poolmanager.connection_from_url("http://127.0.0.1:9/")
        assert isinstance(pool, _WatchedHTTPPool)
        assert isinstance(pool._new_conn(), _WatchedHTTPConnection)
    finally:
        adapter.close()


def test_the_retry_subclass_survives_each_increment_and_its_wait_is_ours():
    assert type(RETRY.new(total=1)) is _Retry
    assert "retries.sleep(" in inspect.getsource(HTTPConnectionPool.urlopen)
    for name in ("get_backoff_time", "get_retry_after", "respect_retry_after_header"):
        assert hasattr(Retry, name) or hasattr(RETRY, name), name


# ---------------------------------------------------------------- waitress


@pytest.fixture
def waitress_server():
    from vision_models.server.app import create_server, make_app

    server = create_server(make_app(source="sample"), "127.0.0.1", 0, header_timeout=2.0, max_client_connections=4)
    yield server
    server.close()


def test_the_server_parts_the_guard_replaces_are_where_it_expects(waitress_server):
    from waitress.channel import HTTPChannel
    from waitress.parser import HTTPRequestParser
    from waitress.task import ErrorTask

    assert "self.error_task_class" in inspect.getsource(HTTPChannel)
    assert issubclass(GuardedChannel, HTTPChannel) and issubclass(JsonErrorTask, ErrorTask)
    assert HTTPRequestParser(waitress_server.adj).headers_finished is False
    assert list(inspect.signature(waitress_server.maintenance).parameters) == ["now"]
    for name in ("_map", "active_channels", "accept", "set_socket_options", "fix_addr", "channel_class"):
        assert hasattr(waitress_server, name), name
    assert waitress_server.adj.connection_limit > 0 and hasattr(waitress_server.adj, "log_socket_errors")


def test_an_error_waitress_answers_itself_is_json(waitress_server):
    port = int(waitress_server.effective_port)
    thread = threading.Thread(target=waitress_server.run, daemon=True)
    thread.start()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /api/models HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"Content-Type: application/json" in head
    assert body.startswith(b'{"error": "Bad Request')

"""Fetching when the network, the body or the cache file misbehaves: bounded time and memory, no traceback.

Every fault is played by a real server on loopback (pytest-httpserver, or a raw
socket server for what HTTP libraries refuse to send), bounded in time.
"""

from __future__ import annotations

import gzip
import json
import pickle
import sqlite3
import time
import tracemalloc
import warnings

import pytest
from factories import SMALL_CATALOG, catalog_body, expire_cached_copies, model
from slow_servers import Trickler
from werkzeug import Request, Response

import vision_models.notices as notices
from vision_models import fetch_vision_models
from vision_models.http.cache_info import get_cache_info
from vision_models.http.client import MAX_BODY_BYTES, close_sessions, fetch_json, get_session, parse_json

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

KEY = "sk-or-v1-test-secret-0123456789abcdef"
GOOD_COUNT = 2  # SMALL_CATALOG's vision models


def _fetch(base, **options):
    return fetch_vision_models(base_url=base, **options)


def _models_requests(httpserver) -> int:
    return sum(1 for request, _ in httpserver.log if request.path == "/models")


@pytest.fixture
def trickler():
    servers = []

    def start(*args, **kwargs):
        server = Trickler(*args, **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


TRICKLE_BODY = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"data": ['
TRICKLE_HEADERS = b"HTTP/1.1 200 OK\r\n"


@pytest.mark.parametrize(
    "head, drip", [(TRICKLE_BODY, b" "), (TRICKLE_HEADERS, b"X-Slow: 1\r\n")], ids=["body", "headers"]
)
def test_a_server_that_trickles_is_cut_off_at_the_overall_deadline(trickler, head, drip):
    slow = trickler(head, drip, every=0.5)
    started = time.monotonic()
    result = _fetch(slow.base, deadline=2.0)
    elapsed = time.monotonic() - started
    assert elapsed < 4.0, f"took {elapsed:.1f} s for a 2 s deadline"
    assert result.error == "Network request timed out: no complete answer within 2 s"
    assert result.models.empty


def test_a_trickle_after_a_good_fetch_serves_the_stale_copy_with_the_time_out(trickler):
    good = SMALL_CATALOG.encode()
    first = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
        % (len(good), good)
    )
    slow = trickler(TRICKLE_BODY, first=first)
    url = f"{slow.base}/catalog.json"
    fresh = fetch_vision_models(url, expire_after=1)
    assert fresh.error is None and fresh.count == GOOD_COUNT
    expire_cached_copies()
    started = time.monotonic()
    late = fetch_vision_models(url, expire_after=1, deadline=1.5)
    assert time.monotonic() - started < 3.5
    assert late.stale is True and late.models.equals(fresh.models)
    assert late.error == "Network request timed out: no complete answer within 1.5 s"


# ---------------------------------------------------------------- revalidation


def test_a_304_makes_the_copy_fresh_again_and_restarts_its_age(httpserver):
    def handler(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304, headers={"ETag": '"v1"'})
        return Response(SMALL_CATALOG, content_type="application/json", headers={"ETag": '"v1"'})

    httpserver.expect_request("/models").respond_with_handler(handler)
    base = httpserver.url_for("/")
    _fetch(base, expire_after=2)
    time.sleep(2.3)
    confirmed = _fetch(base, expire_after=2)
    assert confirmed.cached is True and confirmed.error is None
    assert confirmed.cache_age is not None and confirmed.cache_age <= 1  # counted from the 304, not the first download
    time.sleep(1.0)
    again = _fetch(base, expire_after=2)
    assert again.cached is True and 1 <= again.cache_age <= 2
    assert _models_requests(httpserver) == 2  # the third call was a plain hit: fresh for the whole period


# ---------------------------------------------------------------- hostile bodies


def _good_then(httpserver, body, headers=None, content_type="application/json"):
    httpserver.expect_request("/models").respond_with_data(SMALL_CATALOG, content_type="application/json")
    base = httpserver.url_for("/")
    good = _fetch(base, expire_after=1)
    httpserver.clear()
    httpserver.expect_request("/models").respond_with_data(body, headers=headers, content_type=content_type)
    expire_cached_copies()
    return good, _fetch(base, expire_after=1)


def test_deeply_nested_json_is_a_body_that_is_not_a_catalog(httpserver):
    good, bad = _good_then(httpserver, "[" * 200_000 + "]" * 200_000)
    assert bad.stale is True and bad.models.equals(good.models)
    assert bad.error == "Failed to fetch models: the body is JSON nested too deeply to be a catalog"


def test_deeply_nested_json_in_a_file_is_a_value_error(tmp_path):
    path = tmp_path / "nested.json"
    path.write_text('{"data": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(ValueError, match="nested too deeply"):
        fetch_vision_models(path)


def test_an_empty_catalog_is_an_outage_and_never_replaces_the_good_copy(httpserver):
    good, empty = _good_then(httpserver, catalog_body())
    assert empty.stale is True and empty.models.equals(good.models)
    assert (
        empty.error == "Failed to fetch models: the catalog lists no models (an empty answer is treated as an outage)"
    )
    httpserver.clear()
    httpserver.expect_request("/models").respond_with_data("down", status=500)
    later = _fetch(httpserver.url_for("/"), expire_after=1)
    assert later.stale is True and later.count == good.count  # the fallback is still the good copy


def test_an_empty_catalog_without_a_copy_is_an_error_not_zero_models(httpserver):
    httpserver.expect_request("/models").respond_with_data(catalog_body(), content_type="application/json")
    result = _fetch(httpserver.url_for("/"))
    assert result.error.endswith("(an empty answer is treated as an outage)") and result.models.empty
    assert result.to_api_payload()["error"] == result.error


@pytest.mark.parametrize("entries", [[{}], [1, "x", None], [{"id": 7}, {"name": "no id"}], [[{"id": "a/b"}]]])
def test_entries_without_a_single_model_are_an_outage_and_never_replace_the_good_copy(httpserver, entries):
    good, bad = _good_then(httpserver, json.dumps({"data": entries}))
    assert bad.stale is True and bad.models.equals(good.models)
    assert bad.error == (
        f"Failed to fetch models: the catalog's {len(entries)} entries hold no model "
        "(none has a string 'id'; treated as an outage)"
    )
    httpserver.clear()
    httpserver.expect_request("/models").respond_with_data("down", status=500)
    later = _fetch(httpserver.url_for("/"), expire_after=1)
    assert later.stale is True and later.count == good.count  # the cached copy is still the good one


def test_one_model_among_junk_entries_is_still_a_catalog(httpserver):
    body = json.dumps({"data": [{}, 3, model("openai/gpt-4o", inputs=("text", "image"))]})
    httpserver.expect_request("/models").respond_with_data(body, content_type="application/json")
    result = _fetch(httpserver.url_for("/"))
    assert result.error is None and list(result.models["id"]) == ["openai/gpt-4o"]


def test_a_gzip_bomb_is_refused_at_the_stated_cap_without_inflating_it(httpserver):
    bomb = gzip.compress(b"\0" * (MAX_BODY_BYTES + 16 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 200_000  # small on the wire
    good, bad = _good_then(httpserver, bomb, headers={"Content-Encoding": "gzip"})
    assert MAX_BODY_BYTES == 64 * 1024 * 1024  # the limit the README states
    assert bad.stale is True and bad.models.equals(good.models)
    assert bad.error == "Failed to fetch models: the body decodes to more than the 67,108,864-byte cap"


def test_the_cap_is_enforced_while_streaming_so_memory_stays_near_it(httpserver):
    bomb = gzip.compress(b"\0" * (50 * 1024 * 1024), compresslevel=9)
    httpserver.expect_request("/bomb").respond_with_data(
        bomb, headers={"Content-Encoding": "gzip"}, content_type="application/json"
    )
    session = get_session()
    tracemalloc.start()
    try:
        answer = fetch_json(httpserver.url_for("/bomb"), session=session, max_bytes=1_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert answer.error == "Failed to fetch models: the body decodes to more than the 1,000,000-byte cap"
    # The old code inflated all 50 MB; what remains is the cap plus this process's fixed costs (the test server's thread).
    assert peak < 20_000_000, f"peak {peak / 1e6:.1f} MB for a 1 MB cap"


def test_a_plain_body_above_the_cap_is_refused_from_its_length(httpserver):
    httpserver.expect_request("/big").respond_with_data(b" " * 2_000_001, content_type="application/json")
    answer = fetch_json(httpserver.url_for("/big"), session=get_session(), max_bytes=2_000_000)
    assert answer.error == "Failed to fetch models: the body is 2,000,001 bytes, above the 2,000,000-byte cap"


def test_a_lone_surrogate_costs_one_string_not_the_catalog(httpserver):
    body = catalog_body(
        model("a/bad", name="bad \\ud800 name", inputs=("text", "image")),
        model("a/good", name="fine \U0001f600", inputs=("text", "image")),
    ).replace("\\\\ud800", "\\ud800")
    assert '"bad \\ud800 name"' in body  # a JSON escape of a lone surrogate, as sent
    httpserver.expect_request("/models").respond_with_data(body, content_type="application/json")

    notices._said.discard("surrogates")  # said once per process: start this test's process afresh
    with pytest.warns(UserWarning, match="lone surrogate"):
        result = _fetch(httpserver.url_for("/"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = _fetch(httpserver.url_for("/"), refresh=True)  # said once: no second warning
    assert again.count == 2
    names = dict(zip(result.models["id"], result.models["name"]))
    assert names == {"a/bad": "bad \ufffd name", "a/good": "fine \U0001f600"}
    json.dumps(result.to_api_payload(), ensure_ascii=False).encode("utf-8")  # encodes: no exception


def test_parse_json_replaces_lone_surrogates_in_keys_and_deep_values():
    parsed = parse_json(b'{"data": [{"\\udc80k": [[["x\\ud800"]]]}], "ok": "\\ud83d\\ude00"}')
    assert parsed == {"data": [{"\ufffdk": [[["x\ufffd"]]]}], "ok": "\U0001f600"}


# ---------------------------------------------------------------- pages


def _paged(httpserver, pages: list[list[dict]], fail_page: int | None = None, total: int | None = None):
    """Serve ``pages`` as OpenRouter documents: links.next with offset/limit, and a total count."""
    size = len(pages[0])

    def handler(request: Request) -> Response:
        offset = int(request.args.get("offset", 0))
        index = offset // size
        if fail_page is not None and index == fail_page:
            return Response("boom", status=500)
        payload = {"data": pages[index], "total_count": total if total is not None else sum(map(len, pages))}
        if index + 1 < len(pages):
            payload["links"] = {"next": f"/models?offset={offset + size}&limit={size}"}
        return Response(json.dumps(payload), content_type="application/json")

    httpserver.expect_request("/models").respond_with_handler(handler)


def _pages_of(n_pages: int, per_page: int) -> list[list[dict]]:
    return [[model(f"p{page}/m{i}", inputs=("text", "image")) for i in range(per_page)] for page in range(n_pages)]


def test_a_catalog_of_three_pages_is_read_whole_and_cached_as_one(httpserver):
    _paged(httpserver, _pages_of(3, 4))
    result = _fetch(httpserver.url_for("/"))
    assert result.error is None and result.count == 12
    assert sorted(result.models["provider"].unique()) == ["p0", "p1", "p2"]
    assert _models_requests(httpserver) == 3
    again = _fetch(httpserver.url_for("/"))
    assert again.cached is True and again.count == 12 and _models_requests(httpserver) == 3


def test_a_failing_page_fails_the_whole_fetch_and_nothing_partial_is_cached(httpserver):
    _paged(httpserver, _pages_of(3, 4), fail_page=2)
    result = _fetch(httpserver.url_for("/"))
    assert result.models.empty
    assert result.error == "Failed to fetch models: page 3 of the catalog: 500 Internal Server Error"
    httpserver.clear()
    _paged(httpserver, _pages_of(3, 4))
    whole = _fetch(httpserver.url_for("/"))
    assert whole.cached is False and whole.count == 12  # the failed attempt stored nothing


def test_a_failing_page_after_a_good_fetch_serves_the_whole_stale_copy(httpserver):
    _paged(httpserver, _pages_of(3, 4))
    _fetch(httpserver.url_for("/"), expire_after=1)
    httpserver.clear()
    _paged(httpserver, _pages_of(3, 4), fail_page=1)
    expire_cached_copies()
    result = _fetch(httpserver.url_for("/"), expire_after=1)
    assert result.stale is True and result.count == 12 and "page 2 of the catalog" in result.error


def test_next_links_to_another_host_are_refused(httpserver):
    httpserver.expect_request("/models").respond_with_json(
        {"data": [model("a/b", inputs=("text", "image"))], "links": {"next": "http://evil.example/models?offset=1"}}
    )
    result = _fetch(httpserver.url_for("/"), api_key=KEY)
    assert result.error == "Failed to fetch models: page 2 of the catalog points to another host ('evil.example')"


# ---------------------------------------------------------------- the key


def test_a_key_with_a_windows_line_end_is_stripped_and_sent(httpserver, monkeypatch):
    monkeypatch.setenv("OPENROUTER_API_KEY", KEY + "\r\n")
    httpserver.expect_request("/models").respond_with_data(SMALL_CATALOG, content_type="application/json")
    result = _fetch(httpserver.url_for("/"))
    assert result.error is None
    assert httpserver.log[0][0].headers.get("Authorization") == f"Bearer {KEY}"


def test_a_key_with_a_line_break_inside_is_refused_without_showing_it(httpserver, monkeypatch):
    monkeypatch.setenv("OPENROUTER_API_KEY", KEY[:10] + "\n" + KEY[10:])
    with pytest.raises(ValueError) as caught:
        _fetch(httpserver.url_for("/"))
    assert "OPENROUTER_API_KEY" in str(caught.value)
    assert KEY[:10] not in str(caught.value) and KEY[10:] not in str(caught.value)


# ---------------------------------------------------------------- the cache file


def _fill_cache(httpserver, cache_file):
    httpserver.expect_request("/models").respond_with_data(SMALL_CATALOG, content_type="application/json")
    _fetch(httpserver.url_for("/"))
    close_sessions()
    return sqlite3.connect(cache_file, isolation_level=None)


def _unpickled_row(conn):
    key, value = conn.execute("SELECT key, value FROM responses").fetchone()
    return key, pickle.loads(value)


@pytest.mark.parametrize("damage", ["empty", "wrong-type", "no-body", "bad-date"])
def test_a_bad_row_in_the_cache_file_is_a_miss_with_a_warning(httpserver, cache_file, damage):
    conn = _fill_cache(httpserver, cache_file)
    key, row = _unpickled_row(conn)
    if damage == "empty":
        value = b""
    elif damage == "wrong-type":
        value = pickle.dumps(["not", "a", "response"])
    elif damage == "no-body":
        row.pop("_content", None)
        value = pickle.dumps(row)
    else:
        row["created_at"] = "yesterday"
        value = pickle.dumps(row)
    conn.execute("UPDATE responses SET value = ? WHERE key = ?", (value, key))
    conn.execute("DELETE FROM frames")  # no frame remembered from the good body: the fetch must read the row
    conn.close()
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        info = get_cache_info()  # reports only: the bad row is not counted, and stays for the fetch to drop
    assert info.exists and info.responses == 0 and info.problem is None
    assert any("could not be read" in str(w.message) and "not counted" in str(w.message) for w in said), [
        str(w.message) for w in said
    ]
    check = sqlite3.connect(cache_file)
    try:
        assert check.execute("SELECT value FROM responses WHERE key = ?", (key,)).fetchone()[0] == value
    finally:
        check.close()
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        result = _fetch(httpserver.url_for("/"))
    assert result.error is None and result.count == GOOD_COUNT and result.cached is False  # downloaded again
    if damage != "wrong-type":  # requests-cache itself drops a row it cannot rebuild, quietly
        assert any("could not be read" in str(w.message) for w in said), [str(w.message) for w in said]
    assert _fetch(httpserver.url_for("/")).cached is True  # and stored again, well


def test_a_full_disk_is_said_once_per_process_and_the_catalog_still_arrives(httpserver, cache_file, monkeypatch):
    import vision_models.http.cache as cache

    class FullDisk(sqlite3.Connection):
        """SQLite with a file that may not grow: writes fail with SQLITE_FULL, as on a full disk."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            pages = self.execute("PRAGMA page_count").fetchone()[0]
            self.execute(f"PRAGMA max_page_count = {max(pages, 1)}")

    cache.open_session(cache_file).close()  # the file and its tables exist; it may not grow any more
    real = cache.RedactingSQLiteCache

    def full(path, **kwargs):
        return real(path, factory=FullDisk, **kwargs)

    monkeypatch.setattr(cache, "RedactingSQLiteCache", full)
    big = catalog_body(*[model(f"a/m{i}", inputs=("text", "image")) for i in range(40)])  # needs new pages
    httpserver.expect_request("/models").respond_with_data(big, content_type="application/json")
    notices._said.clear()
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        first = _fetch(httpserver.url_for("/"))
        second = _fetch(httpserver.url_for("/"))
    assert first.count == 40 and second.count == 40 and second.cached is False  # nothing could be stored
    full_disk = [w for w in said if "could not write to the cache file" in str(w.message)]
    assert len(full_disk) == 1 and "full" in str(full_disk[0].message)


def test_a_cache_locked_by_another_process_costs_a_bounded_wait(httpserver, cache_file, monkeypatch):
    from vision_models.http import cache

    LOCK_WAIT_SECONDS = 1.0  # the bound under test, shorter than the shipped 3 s
    monkeypatch.setattr(cache, "LOCK_WAIT_SECONDS", LOCK_WAIT_SECONDS)
    _fill_cache(httpserver, cache_file).close()
    holder = sqlite3.connect(cache_file, isolation_level=None, timeout=0)
    holder.execute("BEGIN EXCLUSIVE")  # a writer stopped mid-transaction: nobody may read or write
    try:
        started = time.monotonic()
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            result = _fetch(httpserver.url_for("/"), refresh=True)
        elapsed = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()
    assert result.error is None and result.count == GOOD_COUNT
    assert elapsed < 2 * LOCK_WAIT_SECONDS + 2, f"took {elapsed:.1f} s"
    assert any("locked" in str(w.message) for w in said)


def test_a_cache_path_that_is_a_directory_is_left_alone(httpserver, tmp_path):
    folder = tmp_path / "cache.sqlite"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    httpserver.expect_request("/models").respond_with_data(SMALL_CATALOG, content_type="application/json")
    with pytest.warns(UserWarning, match="is a directory"):
        result = _fetch(httpserver.url_for("/"), cache_path=folder)
    assert result.error is None and result.count == GOOD_COUNT
    assert (folder / "keep.txt").read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("cache.sqlite")] == ["cache.sqlite"]


def test_recovery_never_moves_a_cache_another_process_just_rebuilt(httpserver, cache_file):
    from vision_models.http.cache import recover_session

    httpserver.expect_request("/models").respond_with_data(SMALL_CATALOG, content_type="application/json")
    _fetch(httpserver.url_for("/"))
    session = get_session()  # this process found its file corrupt while reading ...
    rebuilt = cache_file.with_name("rebuilt.sqlite")
    sqlite3.connect(rebuilt).execute("CREATE TABLE responses (key TEXT)").connection.close()
    rebuilt.replace(cache_file)  # ... but another process already moved it aside and rebuilt it
    with pytest.warns(UserWarning, match="already replaced"):
        recover_session(session).close()
    assert not [p for p in cache_file.parent.iterdir() if ".corrupt-" in p.name]


def test_two_recoveries_in_one_second_keep_both_corrupt_files(tmp_path):
    from vision_models.http.cache import open_session

    names = set()
    for _ in range(2):
        path = tmp_path / "c.sqlite"
        path.write_bytes(b"not a database " * 200)
        with pytest.warns(UserWarning, match="moved it to"):
            open_session(path).close()
        path.unlink()
    names = {p.name for p in tmp_path.iterdir() if ".corrupt-" in p.name}
    assert len(names) == 2

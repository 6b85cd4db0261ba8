"""Fetching through the SQLite cache, against a real HTTP server on loopback."""

from __future__ import annotations

import json
import logging
import socket
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
from factories import SMALL_CATALOG, catalog_body, expire_cached_copies, model
from werkzeug import Request, Response

from vision_models import fetch_catalog, fetch_vision_models
from vision_models.http.client import close_sessions

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

KEY = "sk-or-v1-test-secret-0123456789abcdef"


def _requests_to(httpserver, path="/models") -> list:
    return [request for request, _ in httpserver.log if request.path == path]


def _serve(httpserver, body=SMALL_CATALOG, status=200, headers=None, content_type="application/json"):
    httpserver.expect_request("/models").respond_with_data(
        body, status=status, headers=headers, content_type=content_type
    )


def _fetch(httpserver, **options):
    return fetch_vision_models(base_url=httpserver.url_for("/"), **options)


def test_two_calls_one_upstream_request_second_is_cached(httpserver, cache_file):
    _serve(httpserver)
    first = _fetch(httpserver)
    second = _fetch(httpserver)
    assert len(_requests_to(httpserver)) == 1
    assert (first.cached, first.cache_age, first.count, first.error, first.stale) == (False, None, 2, None, False)
    assert first.source == "openrouter"
    assert second.cached is True and second.cache_age is not None and 0 <= second.cache_age <= 2
    assert second.models.equals(first.models)
    assert cache_file.exists()


def test_cache_age_comes_from_the_cache_entry_so_a_new_process_sees_it(httpserver, cache_file):
    _serve(httpserver)
    _fetch(httpserver)
    time.sleep(2.1)
    close_sessions()
    out = subprocess.run(
        [sys.executable, "-m", "vision_models.cli", "list", "--format", "api"],
        env={"PATH": "", "VISION_MODELS_CACHE": str(cache_file), "OPENROUTER_BASE_URL": httpserver.url_for("/")},
        capture_output=True,
        text=True,
        check=True,
    )
    payload = json.loads(out.stdout)
    assert payload["cached"] is True and payload["cacheAge"] >= 2
    assert len(_requests_to(httpserver)) == 1


def test_expiry_refetches(httpserver):
    _serve(httpserver)
    _fetch(httpserver, expire_after=1)
    time.sleep(1.2)
    again = _fetch(httpserver, expire_after=1)
    assert len(_requests_to(httpserver)) == 2
    assert again.cached is False


def test_refresh_asks_upstream_while_fresh(httpserver):
    _serve(httpserver)
    _fetch(httpserver)
    refreshed = _fetch(httpserver, refresh=True)
    assert len(_requests_to(httpserver)) == 2
    assert refreshed.cached is False and refreshed.error is None


def test_revalidates_with_etag_and_serves_the_cached_body_on_304(httpserver):
    seen_conditions = []

    def handler(request: Request) -> Response:
        seen_conditions.append(request.headers.get("If-None-Match"))
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304, headers={"ETag": '"v1"'})
        return Response(SMALL_CATALOG, content_type="application/json", headers={"ETag": '"v1"'})

    httpserver.expect_request("/models").respond_with_handler(handler)
    first = _fetch(httpserver, expire_after=1)
    expire_cached_copies()
    second = _fetch(httpserver, expire_after=1)
    third = _fetch(httpserver, expire_after=1)
    assert seen_conditions == [None, '"v1"']  # the third call is a plain hit: the 304 renewed the expiry
    assert second.cached is True and second.error is None and second.count == first.count
    assert third.cached is True


def test_revalidates_with_last_modified(httpserver):
    stamp = "Wed, 01 Apr 2026 10:00:00 GMT"
    seen = []

    def handler(request: Request) -> Response:
        seen.append(request.headers.get("If-Modified-Since"))
        if request.headers.get("If-Modified-Since") == stamp:
            return Response(status=304)
        return Response(SMALL_CATALOG, content_type="application/json", headers={"Last-Modified": stamp})

    httpserver.expect_request("/models").respond_with_handler(handler)
    _fetch(httpserver, expire_after=1)
    expire_cached_copies()
    assert _fetch(httpserver, expire_after=1).cached is True
    assert seen == [None, stamp]


def test_401_is_the_seed_error_and_nothing_is_cached(httpserver):
    _serve(httpserver, body='{"error": {"message": "No auth credentials found", "code": 401}}', status=401)
    result = _fetch(httpserver, api_key="wrong")
    assert result.error == "Failed to fetch models: 401 Unauthorized"
    assert result.models.empty and result.count == 0 and result.stale is False
    assert result.to_api_payload() == {"error": "Failed to fetch models: 401 Unauthorized", "models": []}
    assert len(_requests_to(httpserver)) == 1  # a 4xx other than 429 is not retried


def test_500_after_a_good_fetch_serves_the_stale_copy_with_the_error(httpserver):
    _serve(httpserver)
    good = _fetch(httpserver, expire_after=1)
    httpserver.clear()
    _serve(httpserver, body="upstream exploded", status=500, content_type="text/plain")
    expire_cached_copies()
    result = _fetch(httpserver, expire_after=1)
    assert result.stale is True and result.cached is True
    assert result.error == "Failed to fetch models: 500 Internal Server Error"
    assert result.models.equals(good.models)
    assert len(_requests_to(httpserver)) == 3  # one try and two retries with back-off
    payload = result.to_api_payload()
    assert payload["error"] == result.error and payload["cached"] is True and "cacheAge" in payload
    assert len(payload["models"]) == good.count


def test_retry_after_is_honoured_on_429(httpserver):
    httpserver.expect_ordered_request("/models").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "1"}
    )
    httpserver.expect_ordered_request("/models").respond_with_data(SMALL_CATALOG, content_type="application/json")
    started = time.monotonic()
    result = _fetch(httpserver)
    assert result.error is None and result.count == 2
    assert time.monotonic() - started >= 1.0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_refused_connection_is_network_request_failed():
    started = time.monotonic()
    result = fetch_vision_models(base_url=f"http://127.0.0.1:{_closed_port()}/api/v1")
    assert result.error == "Network request failed"
    assert result.models.empty and result.stale is False
    assert result.to_api_payload() == {"error": "Network request failed", "models": []}
    assert time.monotonic() - started < 10


def test_refused_connection_after_a_good_fetch_is_stale(httpserver):
    _serve(httpserver)
    base = httpserver.url_for("/")
    fetch_vision_models(base_url=base, expire_after=1)
    httpserver.stop()
    expire_cached_copies()
    result = fetch_vision_models(base_url=base, expire_after=1)
    assert (result.stale, result.cached, result.error, result.count) == (True, True, "Network request failed", 2)
    httpserver.start()


@pytest.fixture
def silent_server():
    """A server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/api/v1"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


def test_a_server_that_never_answers_costs_bounded_time_with_default_timeouts(silent_server):
    started = time.monotonic()
    result = fetch_vision_models(base_url=silent_server)
    elapsed = time.monotonic() - started
    # The README's 10 s read time-out, named as a time-out (a hung server is not a missing network).
    assert result.error == "Network request timed out: no answer within 10 s"
    assert elapsed < 30, f"took {elapsed:.1f} s"


@pytest.mark.parametrize(
    "body, content_type",
    [
        ("<html><body>Maintenance</body></html>", "text/html"),
        ('{"models": []}', "application/json"),
        ('{"data": "nope"}', "application/json"),
        ("[1, 2, 3]", "application/json"),
        ("", "application/json"),
    ],
)
def test_a_200_that_is_not_a_catalog_never_replaces_the_good_copy(httpserver, cache_file, body, content_type):
    _serve(httpserver)
    good = _fetch(httpserver, expire_after=1)
    httpserver.clear()
    _serve(httpserver, body=body, content_type=content_type)
    expire_cached_copies()
    bad = _fetch(httpserver, expire_after=1)
    assert bad.stale is True and bad.error.startswith("Failed to fetch models: the body is")
    assert bad.models.equals(good.models)
    # The good entry is still on disk: a new process, offline, still gets it.
    close_sessions()
    httpserver.clear()
    httpserver.stop()
    offline = _fetch(httpserver, expire_after=1)
    httpserver.start()
    assert offline.stale is True and offline.count == good.count


def test_a_non_catalog_200_on_refresh_keeps_the_fresh_copy(httpserver):
    _serve(httpserver)
    good = _fetch(httpserver)
    httpserver.clear()
    _serve(httpserver, body="<html>oops</html>", content_type="text/html")
    refreshed = _fetch(httpserver, refresh=True)
    assert refreshed.stale is True and refreshed.models.equals(good.models)
    again = _fetch(httpserver)
    assert again.cached is True and again.error is None and again.models.equals(good.models)


def test_a_non_catalog_200_without_a_cached_copy_is_an_error_and_is_not_cached(httpserver):
    _serve(httpserver, body="<html>login</html>", content_type="text/html")
    result = _fetch(httpserver)
    assert result.models.empty and result.stale is False
    assert result.error.startswith("Failed to fetch models: the body is not JSON")
    assert "'<html>login</html>'" in result.error  # names what came back
    httpserver.clear()
    _serve(httpserver)
    assert _fetch(httpserver).cached is False  # nothing bad was stored


def test_the_key_never_reaches_the_cache_file_even_after_a_redirect(httpserver, cache_file, caplog):
    caplog.set_level(logging.DEBUG)
    httpserver.expect_request("/api/v1/models").respond_with_data(
        "", status=302, headers={"Location": httpserver.url_for("/api/v2/models")}
    )
    httpserver.expect_request("/api/v2/models").respond_with_data(SMALL_CATALOG, content_type="application/json")
    result = fetch_vision_models(base_url=httpserver.url_for("/api/v1"), api_key=KEY)
    assert result.error is None and result.count == 2
    # The key did travel (same host keeps Authorization), so its absence below means something.
    sent = [r.headers.get("Authorization") for r, _ in httpserver.log]
    assert sent == [f"Bearer {KEY}", f"Bearer {KEY}"]
    assert fetch_vision_models(base_url=httpserver.url_for("/api/v1"), api_key=KEY).cached is True
    close_sessions()
    stored = b"".join(p.read_bytes() for p in cache_file.parent.iterdir() if p.name.startswith(cache_file.name))
    assert len(stored) > 1000  # the catalog is in there
    assert KEY.encode() not in stored
    assert KEY not in caplog.text
    assert KEY not in repr(result)


def test_the_key_comes_from_the_environment(httpserver, monkeypatch):
    monkeypatch.setenv("OPENROUTER_API_KEY", KEY)
    _serve(httpserver)
    _fetch(httpserver)
    assert httpserver.log[0][0].headers.get("Authorization") == f"Bearer {KEY}"


def test_the_key_is_never_sent_to_a_catalog_url_source(httpserver, monkeypatch):
    monkeypatch.setenv("OPENROUTER_API_KEY", KEY)
    httpserver.expect_request("/mirror.json").respond_with_data(SMALL_CATALOG, content_type="application/json")
    result = fetch_vision_models(httpserver.url_for("/mirror.json"))
    assert result.count == 2 and result.source == httpserver.url_for("/mirror.json")
    assert httpserver.log[0][0].headers.get("Authorization") is None


def test_a_corrupt_cache_file_is_moved_aside_and_rebuilt(httpserver, cache_file):
    cache_file.parent.mkdir(parents=True)
    cache_file.write_bytes(b"this is not a database, just bytes " * 100)
    _serve(httpserver)
    with pytest.warns(UserWarning, match="moved it to"):
        result = _fetch(httpserver)
    assert result.error is None and result.count == 2
    assert [p for p in cache_file.parent.iterdir() if ".corrupt-" in p.name]
    assert sqlite3.connect(cache_file).execute("select count(*) from responses").fetchone() == (1,)
    assert _fetch(httpserver).cached is True


def test_an_unusable_cache_location_falls_back_to_memory(httpserver, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should be")
    _serve(httpserver)
    with pytest.warns(UserWarning, match="caching in memory"):
        result = _fetch(httpserver, cache_path=blocker / "cache.sqlite")
    assert result.error is None and result.count == 2


def test_cache_path_argument_and_suffixless_names(httpserver, tmp_path):
    _serve(httpserver)
    _fetch(httpserver, cache_path=tmp_path / "mine")
    assert (tmp_path / "mine.sqlite").exists()


def test_fetch_catalog_keeps_text_models(httpserver):
    _serve(httpserver, body=catalog_body(model("a/text-only"), model("b/sees", inputs=("text", "image"))))
    everything = fetch_catalog(base_url=httpserver.url_for("/"))
    assert everything.models["id"].tolist() == ["a/text-only", "b/sees"]
    assert everything.models["is_vision"].tolist() == [False, True]


def test_base_url_from_the_environment(httpserver, monkeypatch):
    monkeypatch.setenv("OPENROUTER_BASE_URL", httpserver.url_for("/"))
    _serve(httpserver)
    assert fetch_vision_models().count == 2


def test_every_download_from_openrouter_is_recorded_in_the_history_cache_hits_are_not(httpserver, tmp_path):
    from vision_models.catalog.history import catalog_changes, history_info

    _serve(httpserver)
    _fetch(httpserver)
    _fetch(httpserver)  # a cache hit: nothing new reached OpenRouter
    assert history_info().snapshots == 1
    httpserver.clear()
    _serve(
        httpserver,
        body=catalog_body(model("openai/gpt-4o", prompt="0.000002", completion="0.00001", inputs=("text", "image"))),
    )
    _fetch(httpserver, refresh=True)
    assert history_info().snapshots == 2
    changes = catalog_changes()
    # gpt-4o's prompt price went from $2.50 to $2.00 per M; gemini and deepseek left the catalog.
    price = changes[changes["kind"] == "price"].iloc[0]
    assert (price["id"], price["old"], price["new"]) == ("openai/gpt-4o", 2.5, 2.0)
    assert set(changes.loc[changes["kind"] == "removed", "id"]) == {"google/gemini-2.5-flash", "deepseek/deepseek-chat"}


def test_a_broken_history_warns_and_never_costs_the_catalog(httpserver, tmp_path, monkeypatch):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the history folder should be")
    monkeypatch.setenv("VISION_MODELS_HISTORY", str(blocker / "history.sqlite"))
    _serve(httpserver)
    with pytest.warns(UserWarning, match="could not record this catalog in the history"):
        result = _fetch(httpserver)
    assert result.error is None and result.count == 2


def test_a_cache_file_that_breaks_while_reading_is_moved_aside_too(httpserver, cache_file):
    _serve(httpserver)
    _fetch(httpserver)
    close_sessions()
    # Keep the header page (the file still opens) and overwrite every page after it.
    data = bytearray(cache_file.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    data[page_size:] = b"\xab" * (len(data) - page_size)
    cache_file.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match="was corrupt; moved it to"):
        result = _fetch(httpserver)
    assert result.error is None and result.count == 2
    assert len(_requests_to(httpserver)) == 2
    assert [p for p in cache_file.parent.iterdir() if ".corrupt-" in p.name]

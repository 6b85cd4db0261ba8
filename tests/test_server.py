"""`vision-models serve`: the /api/models contract over real HTTP, one shared cache, bursts at expiry."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from factories import SMALL_CATALOG, Running, catalog_body, model, run_cli_process, upstream_requests

from vision_models.server.app import make_app


@pytest.fixture
def upstream(httpserver):
    httpserver.expect_request("/models").respond_with_data(SMALL_CATALOG, content_type="application/json")
    return httpserver


@pytest.fixture
def running(upstream):
    servers = []

    def start(**options):
        options.setdefault("base_url", upstream.url_for("/"))
        server = Running(**options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def test_first_request_fetches_then_everyone_reads_the_shared_copy(running, upstream):
    server = running()
    status, headers, first = server.get_json()
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert {k: v for k, v in first.items() if k != "models"} == {"cached": False, "count": 2}
    assert [m["id"] for m in first["models"]] == ["google/gemini-2.5-flash", "openai/gpt-4o"]
    assert first["models"][1]["pricing"] == {"promptPer1k": 2.5, "completionPer1k": 10.0, "imagePer1k": None}
    time.sleep(1.1)
    status, _, second = server.get_json()
    assert status == 200 and second["cached"] is True and second["cacheAge"] >= 1 and "count" not in second
    assert second["models"] == first["models"]
    assert upstream_requests(upstream) == 1


def test_a_restart_within_the_hour_does_not_refetch(running, upstream, cache_file):
    running().get_json()
    _, _, answer = running().get_json()  # a second server process, same SQLite cache
    assert answer["cached"] is True and "cacheAge" in answer
    assert upstream_requests(upstream) == 1


def test_other_paths_methods_and_head(running):
    server = running()
    status, _, body = server.get_json("/api/nothing")
    assert status == 404 and body == {"error": "not found: /api/nothing"}
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        status, headers, raw = server.request(method)
        assert status == 405 and headers["Allow"] == "GET, HEAD" and "error" in json.loads(raw)
    status, head_headers, raw = server.request("HEAD")
    _, get_headers, get_raw = server.request("GET")
    assert status == 200 and raw == b""
    assert head_headers["Content-Type"] == "application/json"
    assert abs(int(head_headers["Content-Length"]) - len(get_raw)) <= 2  # only cacheAge's digits may differ


def test_health_check_does_not_fetch(running, upstream):
    server = running()
    status, _, health = server.get_json("/healthz")
    assert status == 503 and health == {"status": "unavailable", "loaded": False, "reason": "no catalog loaded yet"}
    assert upstream_requests(upstream) == 0
    server.get_json()
    status, _, health = server.get_json("/healthz")
    assert status == 200 and health["status"] == "ok" and health["models"] == 2


def test_health_check_is_503_with_the_reason_while_no_models_are_loaded(upstream, running):
    upstream.clear()
    upstream.expect_request("/models").respond_with_data(
        json.dumps({"data": [{"name": "no id"}]}), content_type="application/json"
    )
    server = running()
    assert server.get_json()[0] == 502
    status, _, health = server.get_json("/healthz")
    assert status == 503 and health["status"] == "unavailable" and health["loaded"] is False
    assert health["reason"] == (
        "Failed to fetch models: the catalog's 1 entries hold no model (none has a string 'id'; treated as an outage)"
    )


def test_a_catalog_of_junk_entries_at_expiry_keeps_the_good_models_and_health(upstream, running):
    server = running(expire_after=1)
    assert len(server.get_json()[2]["models"]) == 2
    upstream.clear()
    upstream.expect_request("/models").respond_with_data(
        json.dumps({"data": [{}, 5, {"id": 1}]}), content_type="application/json"
    )
    time.sleep(1.2)
    server.get_json()
    _wait_for_refresh(server)
    status, _, body = server.get_json()
    assert status == 200 and len(body["models"]) == 2 and body["cached"] is True
    assert body["error"].endswith(
        "the catalog's 3 entries hold no model (none has a string 'id'; treated as an outage)"
    )
    status, _, health = server.get_json("/healthz")
    assert status == 200 and health["status"] == "ok" and health["models"] == 2 and health["error"] == body["error"]


def test_query_filters_and_bad_values(running, upstream):
    upstream.clear()
    upstream.expect_request("/models").respond_with_data(
        catalog_body(
            model("openai/gpt-4o", prompt="0.0000025", inputs=("text", "image"), context_length=128000),
            model("openai/gpt-4o-search-preview", inputs=("text",), context_length=128000),
            model("google/gemini-2.5-flash", prompt="0.0000003", inputs=("text", "image"), context_length=1048576),
        ),
        content_type="application/json",
    )
    server = running()
    ids = lambda q: [m["id"] for m in server.get_json(f"/api/models?{q}")[2]["models"]]
    # Strict rules by default: the search preview's own metadata says text only.
    assert ids("") == ["google/gemini-2.5-flash", "openai/gpt-4o"]
    assert ids("rules=seed") == ["google/gemini-2.5-flash", "openai/gpt-4o", "openai/gpt-4o-search-preview"]
    assert ids("provider=openai&rules=seed") == ["openai/gpt-4o", "openai/gpt-4o-search-preview"]
    assert ids("provider=OpenAI,google&rules=strict") == ["google/gemini-2.5-flash", "openai/gpt-4o"]
    assert ids("minContext=200000") == ["google/gemini-2.5-flash"]
    assert ids("maxPromptPrice=1") == ["google/gemini-2.5-flash"]
    assert ids("maxPromptPrice=1&rules=seed") == ["google/gemini-2.5-flash", "openai/gpt-4o-search-preview"]
    assert server.get_json("/api/models?provider=nobody")[2]["models"] == []
    for query, needle in [
        ("minContext=lots", "'lots'"),
        ("minContext=-1", "'-1'"),
        ("maxPromptPrice=cheap", "'cheap'"),
        ("rules=loose", "'loose'"),
        ("min_context=5", "'min_context'"),
        ("minContext=1&minContext=2", "minContext given 2 times"),
        ("provider=", "provider ''"),
    ]:
        status, _, body = server.get_json(f"/api/models?{query}")
        assert status == 400 and needle in body["error"] and body["models"] == [], query


def test_cors_origin(running):
    server = running(cors_origin="https://app.example")
    _, headers, _ = server.request("GET")
    assert headers["Access-Control-Allow-Origin"] == "https://app.example"
    status, headers, body = server.request("OPTIONS")
    assert status == 204 and "GET" in headers["Access-Control-Allow-Methods"] and body == b""
    plain = running()
    assert "Access-Control-Allow-Origin" not in plain.request("GET")[1]
    assert plain.request("OPTIONS")[0] == 405


@pytest.mark.parametrize(
    "origin",
    [
        "",
        "app.example",
        "ftp://app.example",
        "https://app.example/",
        "https://app.example/path",
        "https://app.example?x=1",
        "https://app.example#top",
        "https://user:secret@app.example",
        "https://app.example\r\nSet-Cookie: a=b",
        "https://app.example\n",
        "https://äpp.example",
        "https://app.example:99999",
        "https://app.example:0",
        "https://app_example.com",
        "null",
    ],
)
def test_a_bad_cors_origin_is_refused_naming_it(origin):
    with pytest.raises(ValueError, match="bad CORS origin") as raised:
        make_app(source="sample", cors_origin=origin)
    assert repr(origin) in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("*", "*"),
        ("https://app.example", "https://app.example"),
        ("http://localhost:5173", "http://localhost:5173"),
        ("HTTPS://App.Example:443", "https://app.example"),  # as a browser serializes its Origin header
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_a_good_cors_origin_is_sent_as_browsers_write_it(given, sent):
    assert make_app(source="sample", cors_origin=given).cors_origin == sent


def test_serve_with_a_bad_cors_origin_is_one_line_and_exit_2(tmp_path):
    done = run_cli_process(
        "serve",
        "--port",
        "0",
        "--cors-origin",
        "https://app.example/x",
        env={**os.environ, "VISION_MODELS_CACHE": str(tmp_path / "c.sqlite")},
        timeout=30,
    )
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "'https://app.example/x'" in done.stderr and "Traceback" not in done.stderr


def test_no_models_is_502_with_the_error_shape(upstream, running):
    upstream.clear()
    upstream.expect_request("/models").respond_with_data("no", status=401)
    status, _, body = running().get_json()
    assert status == 502 and body == {"error": "Failed to fetch models: 401 Unauthorized", "models": []}


def test_one_log_line_per_request(running):
    server = running()
    server.get_json()
    server.get_json("/nope")
    server.request("POST")
    assert len(server.lines) == 3
    assert re.fullmatch(r'127\.0\.0\.1 \[\S+Z\] "GET /api/models" 200 \d+ [\d.]+ms', server.lines[0])
    assert '"GET /nope" 404' in server.lines[1] and '"POST /api/models" 405' in server.lines[2]


def _burst(server, n=200):
    barrier = threading.Barrier(n)

    def one(_):
        barrier.wait()
        status, _, raw = server.request()
        return status, json.loads(raw)  # every body complete and valid JSON

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_200_requests_at_expiry_cause_exactly_one_upstream_request(running, upstream):
    server = running(expire_after=1)
    server.get_json()
    time.sleep(1.2)
    answers = _burst(server)
    _wait_for_refresh(server)  # the refresh runs behind the copy in memory
    assert upstream_requests(upstream) == 2  # the warm-up and one refresh
    assert server.app.catalog.loads == 2  # one reload in memory too, not one per waiting request
    assert all(status == 200 for status, _ in answers)
    assert all(len(body["models"]) == 2 and "error" not in body for _, body in answers)
    # At most the one answer given by the refresh is fresh from upstream; when the refresh ends after the burst,
    # every answer of the burst is the copy in memory.
    assert sum(1 for _, body in answers if body["cached"] is False) <= 1


def test_upstream_down_at_expiry_every_answer_is_stale_with_its_error(running, upstream):
    server = running(expire_after=1)
    server.get_json()
    upstream.stop()
    time.sleep(1.2)
    try:
        answers = _burst(server)
        _wait_for_refresh(server)  # upstream stays down until the refresh has failed
        _, _, after = server.get_json()
    finally:
        upstream.start()
    assert {status for status, _ in answers} == {200}
    assert server.app.catalog.loads == 2
    for _, body in answers:  # the copy in memory, with the error once the refresh has failed
        assert body["cached"] is True and len(body["models"]) == 2
        assert body.get("error") in (None, "Network request failed")
    assert after["error"] == "Network request failed" and after["cached"] is True and len(after["models"]) == 2
    assert server.app.catalog.loads == 2  # the failure is not retried for 30 s


def _wait_for_refresh(server, limit=20.0):
    ends = time.monotonic() + limit
    while server.app.catalog.refreshing and time.monotonic() < ends:
        time.sleep(0.05)
    assert not server.app.catalog.refreshing


def test_serve_command_binds_loopback_and_stops_on_sigterm(tmp_path):
    env = {**os.environ, "VISION_MODELS_CACHE": str(tmp_path / "c.sqlite")}
    process = subprocess.Popen(
        [sys.executable, "-m", "vision_models.cli", "serve", "--source", "sample", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        announced = process.stderr.readline()  # the sample is announced first
        assert "serving the bundled sample" in announced, announced
        banner = process.stderr.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", banner)
        assert match, banner
        conn = http.client.HTTPConnection("127.0.0.1", int(match.group(1)), timeout=10)
        conn.request("GET", "/api/models")
        answer = json.loads(conn.getresponse().read())
        assert (
            answer["cached"] is False and answer["count"] == 30
        )  # the sample's vision models under the default strict rules (31 under seed)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        rest = process.stderr.read()
        assert '"GET /api/models" 200' in rest and "stopped" in rest
    finally:
        process.kill()


def test_serve_with_an_unreadable_source_is_exit_2(tmp_path):
    done = run_cli_process("serve", "--source", str(tmp_path / "nope.json"), timeout=30)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1


def test_the_request_log_writes_every_line_in_order_from_its_own_thread():
    import io

    from vision_models.server.app import RequestLog

    stream = io.StringIO()
    log = RequestLog(stream)
    writers = [threading.Thread(target=lambda n=n: [log(f"{n} {i}") for i in range(200)]) for n in range(8)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    log("last")
    log.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 8 * 200 + 1 and lines[-1] == "last"
    for n in range(8):  # each thread's lines keep their order
        assert [line for line in lines if line.startswith(f"{n} ")] == [f"{n} {i}" for i in range(200)]


def test_a_log_that_cannot_keep_up_drops_lines_and_says_how_many():
    import io

    from vision_models.server.app import RequestLog

    release = threading.Event()

    class Stuck(io.StringIO):
        def write(self, text):
            release.wait(5)  # a terminal that is not being read
            return super().write(text)

    stream = Stuck()
    log = RequestLog(stream, limit=10)
    for i in range(50):  # the writer holds one line; ten wait; the rest are counted
        log(f"line {i}")
    release.set()
    deadline = time.monotonic() + 5
    while "line 9\n" not in stream.getvalue() and time.monotonic() < deadline:  # the backlog drains
        time.sleep(0.01)
    log("after")
    log.close()
    text = stream.getvalue()
    kept = [line for line in text.splitlines() if line.startswith("line ")]
    assert 10 <= len(kept) <= 11 and "after" in text
    assert f"vision-models: {50 - len(kept)} log lines dropped" in text

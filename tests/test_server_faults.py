"""`vision-models serve` when upstream, clients or bodies misbehave: bounded waits, JSON errors, safe logs.

Every server here is on loopback, every load bounded in count and time.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from factories import SMALL_CATALOG, Running, model, upstream_requests
from slow_servers import Trickler
from werkzeug import Request, Response

from vision_models.catalog.api import CatalogResult
from vision_models.catalog.frame import models_frame
from vision_models.server.app import build_snapshot, create_server, make_app, parse_query


@pytest.fixture
def servers():
    started = []

    def start(**options):
        server = Running(**options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def _get(port, path="/api/models", method="GET", timeout=10):
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_a_304_at_expiry_makes_the_snapshot_fresh_for_the_whole_period(httpserver, servers):
    def handler(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304, headers={"ETag": '"v1"'})
        return Response(SMALL_CATALOG, content_type="application/json", headers={"ETag": '"v1"'})

    httpserver.expect_request("/models").respond_with_handler(handler)
    server = servers(base_url=httpserver.url_for("/"), expire_after=2)
    server.get_json()
    time.sleep(2.3)
    server.get_json()  # the refresh: answered by a 304
    deadline = time.monotonic() + 5
    while server.app.catalog.refreshing and time.monotonic() < deadline:
        time.sleep(0.05)
    loads = server.app.catalog.loads
    for _ in range(50):
        _, _, body = server.get_json()
        assert body["cached"] is True and body["cacheAge"] <= 1  # counted from the 304
    assert server.app.catalog.loads == loads == 2  # no reload per request after the 304
    assert upstream_requests(httpserver) == 2


def slow_upstream(limit: float = 15.0) -> Trickler:
    """A catalog server that answers the first request at once and trickles every later one (bounded)."""
    body = SMALL_CATALOG.encode()
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
    return Trickler(head, every=0.5, limit=limit, first=head + body)


def _timed(server) -> float:
    started = time.monotonic()
    status, _, _ = server.request()
    assert status == 200
    return time.monotonic() - started


def test_a_trickling_upstream_never_holds_requests_or_the_health_check(servers):
    upstream = slow_upstream()
    try:
        server = servers(base_url=upstream.base, expire_after=1, deadline=4.0)
        server.get_json()
        time.sleep(1.2)
        started = time.monotonic()
        server.get_json()  # starts the refresh, waits at most the 1 s grace for it
        assert time.monotonic() - started < 1.5
        time.sleep(0.3)
        worst, seen_refreshing = 0.0, False
        with ThreadPoolExecutor(8) as pool:  # concurrent requests once the refresh is late: none waits
            times = list(pool.map(lambda _: _timed(server), range(40)))
        assert max(times) < 0.5, f"a request waited {max(times):.1f} s on a refresh already late"
        for _ in range(10):  # while the refresh trickles, up to its 4 s deadline
            for path in ("/api/models", "/healthz"):
                started = time.monotonic()
                status, _, body = server.get_json(path)
                worst = max(worst, time.monotonic() - started)
                assert status == 200
                seen_refreshing |= body.get("refreshing", False) is True
            time.sleep(0.1)
        assert worst < 0.5, f"a request waited {worst:.1f} s on the late refresh"
        assert seen_refreshing and server.app.catalog.loads == 2 and upstream.connections == 2
        deadline = time.monotonic() + 10
        while server.app.catalog.refreshing and time.monotonic() < deadline:
            time.sleep(0.05)
        _, _, body = server.get_json()
        assert body["error"] == "Network request timed out: no complete answer within 4 s" and len(body["models"]) == 2
    finally:
        upstream.close()


def test_a_deeply_nested_upstream_body_is_a_502_json_error_and_is_not_retried_per_request(httpserver, servers):
    httpserver.expect_request("/models").respond_with_data("[" * 50_000 + "]" * 50_000, content_type="application/json")
    server = servers(base_url=httpserver.url_for("/"))
    for _ in range(5):
        status, headers, body = server.request()
        assert status == 502 and headers["Content-Type"] == "application/json"
        assert json.loads(body) == {
            "error": "Failed to fetch models: the body is JSON nested too deeply to be a catalog",
            "models": [],
        }
    assert upstream_requests(httpserver) == 1  # 30 s before asking again


def test_a_stale_answer_whose_filter_matches_nothing_keeps_the_stale_shape(httpserver, servers):
    httpserver.expect_request("/models").respond_with_data(SMALL_CATALOG, content_type="application/json")
    server = servers(base_url=httpserver.url_for("/"), expire_after=1)
    server.get_json()
    httpserver.clear()
    httpserver.expect_request("/models").respond_with_data("down", status=500)
    time.sleep(1.2)
    server.get_json()
    deadline = time.monotonic() + 10
    while server.app.catalog.refreshing and time.monotonic() < deadline:
        time.sleep(0.05)
    status, _, body = server.get_json("/api/models?provider=nobody")
    assert status == 200
    assert body["models"] == [] and body["cached"] is True and "cacheAge" in body
    assert body["error"] == "Failed to fetch models: 500 Internal Server Error"


def test_every_error_is_json_with_cors_including_waitress_own(servers):
    server = servers(source="sample", cors_origin="https://app.example")
    for path, method, expected in [("/nope", "GET", 404), ("/api/models", "POST", 405), ("/healthz", "DELETE", 405)]:
        status, headers, body = server.request(method, path)
        assert status == expected, (path, method)
        assert headers["Content-Type"] == "application/json" and "error" in json.loads(body)
        assert headers["Access-Control-Allow-Origin"] == "https://app.example"
    raw = [
        (b"GET /api/models HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n", 400),
        (b"GET /api/models HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 300_000 + b"\r\n\r\n", 431),
        (b"GET /api/models HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    ]
    for request, expected in raw:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(request)
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.split()[1] == str(expected).encode(), head
        assert b"Content-Type: application/json" in head and b"Access-Control-Allow-Origin: https://app.example" in head
        assert "error" in json.loads(body)


def test_the_health_check_answers_get_and_head_only(servers):
    server = servers(source="sample")
    server.request("GET", "/api/models")  # loaded: the health check is 200
    assert server.request("GET", "/healthz")[0] == 200
    assert server.request("HEAD", "/healthz")[0] == 200
    status, headers, _ = server.request("POST", "/healthz")
    assert status == 405 and headers["Allow"] == "GET, HEAD"


def test_the_request_path_is_logged_escaped(servers):
    server = servers(source="sample")
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"GET /api/x%0A127.0.0.1%20-%20forged%1B[31m%00end?q=%0A\x1b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        while sock.recv(65536):
            pass
    line = server.lines[-1]
    assert "\n" not in line and "\x1b" not in line and "\x00" not in line
    assert '"GET /api/x%0A127.0.0.1%20-%20forged%1B%5B31m%00end?q=%0A%1B" 404' in line


def test_the_task_queue_depth_warning_is_silenced(servers):
    servers(source="sample")
    assert not logging.getLogger("waitress.queue").isEnabledFor(logging.WARNING)


def test_server_filters_keep_the_hand_picked_rows():
    """The server filters with catalog.filters' mask: each query's rows worked out by hand from five models."""
    entries = [
        model("openai/cheap-eye", inputs=("text", "image"), prompt="0.0000005", context_length=200_000),
        model("openai/dear-eye", inputs=("text", "image"), prompt="0.000003", context_length=100_000),
        model("google/eye", inputs=("text", "image"), prompt="0.000001", context_length=None),  # unknown context
        model("x/blind", inputs=("text",), prompt="0"),
        model("x/gpt-4o-named", inputs=("text",), prompt="0"),  # the name rule only: seed, not strict
    ]
    result = CatalogResult(models=models_frame(entries, "strict"), source="test")
    snapshot = build_snapshot(result, 3600)
    expected = {
        "": ["google/eye", "openai/cheap-eye", "openai/dear-eye"],
        "rules=seed": ["google/eye", "openai/cheap-eye", "openai/dear-eye", "x/gpt-4o-named"],
        "provider=OpenAI": ["openai/cheap-eye", "openai/dear-eye"],
        "provider=google,x&rules=seed": ["google/eye", "x/gpt-4o-named"],
        "minContext=150000": ["openai/cheap-eye"],  # google/eye's unknown context never passes
        "maxPromptPrice=1": ["google/eye", "openai/cheap-eye"],
        "maxPromptPrice=0&rules=seed": ["x/gpt-4o-named"],
        "minContext=0&maxPromptPrice=3": ["openai/cheap-eye", "openai/dear-eye"],
        "provider=nobody": [],
    }
    for query, ids in expected.items():
        key, wanted, min_context, max_price, rules = parse_query(query)
        count, text = snapshot.filtered(key, wanted, min_context, max_price, rules)
        assert [m["id"] for m in json.loads(text)] == ids, query
        assert count == len(ids)


def test_slowloris_never_keeps_the_health_check_from_answering(servers):
    """300 connections from another loopback address sending one header line every 0.5 s (bounded: 6 s)."""
    app = make_app(source="sample")
    server = create_server(app, "127.0.0.1", 0, header_timeout=2.0, max_client_connections=100)
    port = int(server.effective_port)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert _get(port)[0] == 200  # models loaded: the health check is 200 from here on
    attackers: list[socket.socket] = []
    try:
        for _ in range(300):
            sock = socket.socket()
            sock.bind(("127.0.0.2", 0))
            sock.settimeout(5)
            sock.connect(("127.0.0.1", port))
            sock.sendall(b"GET /api/models HTTP/1.1\r\nHost: x\r\n")
            attackers.append(sock)
        worst, ends = 0.0, time.monotonic() + 6
        while time.monotonic() < ends:
            for sock in attackers:
                try:
                    sock.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    pass
            started = time.monotonic()
            status, _, body = _get(port, "/healthz", timeout=5)
            worst = max(worst, time.monotonic() - started)
            assert status == 200 and json.loads(body)["status"] == "ok"
            time.sleep(0.5)
        assert worst < 1.0, f"/healthz took {worst:.1f} s during the attack"
        closed = 0
        for sock in attackers:
            try:
                sock.settimeout(0.5)
                closed += sock.recv(1) == b""
            except OSError:
                closed += 1
        assert closed == 300  # 200 refused at once (per-client cap), 100 cut at the 2 s header deadline
    finally:
        for sock in attackers:
            sock.close()
        server.trigger.pull_trigger(lambda: [d.close() for d in list(server._map.values())])
        thread.join(timeout=5)
        server.task_dispatcher.shutdown()


def test_the_per_client_cap_counts_open_connections_only(servers):
    """A client at its cap is refused; once its connections close it is served again (the count goes down)."""
    app = make_app(source="sample")
    server = create_server(app, "127.0.0.1", 0, max_client_connections=3)
    port = int(server.effective_port)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()

    def connect():
        sock = socket.socket()
        sock.bind(("127.0.0.3", 0))
        sock.settimeout(5)
        sock.connect(("127.0.0.1", port))
        return sock

    def served(sock) -> bool:
        try:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            return sock.recv(12).startswith(b"HTTP/1.1")
        except OSError:
            return False

    try:
        for _ in range(3):  # twice over: a count that never went down would refuse the second round
            held = [connect() for _ in range(3)]
            assert all(served(sock) for sock in held)
            extra = connect()
            assert not served(extra)  # the fourth is closed before anything is read
            for sock in [*held, extra]:
                sock.close()
            deadline = time.monotonic() + 5
            while server.client_counts.get("127.0.0.3") and time.monotonic() < deadline:
                time.sleep(0.05)
            assert "127.0.0.3" not in server.client_counts
    finally:
        server.trigger.pull_trigger(lambda: [d.close() for d in list(server._map.values())])
        thread.join(timeout=5)
        server.task_dispatcher.shutdown()


def test_one_wake_of_the_loop_accepts_every_waiting_connection_up_to_the_batch():
    """Clients opening a connection per request: waiting connections are accepted together, not one per loop pass."""
    from vision_models.server.guard import ACCEPT_BATCH

    server = create_server(make_app(source="sample"), "127.0.0.1", 0)  # not running: the test drives the accepts
    port = int(server.effective_port)
    clients = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(ACCEPT_BATCH + 6)]
    try:
        server.handle_accept()  # connect() has returned: all of them wait in the accept queue
        assert len(server.active_channels) == 64  # the batch; the other 6 on the next wake
        server.handle_accept()
        assert len(server.active_channels) == ACCEPT_BATCH + 6
        server.handle_accept()  # nobody waiting: returns at once
        assert len(server.active_channels) == ACCEPT_BATCH + 6
        assert server.client_counts == {"127.0.0.1": ACCEPT_BATCH + 6}
    finally:
        for sock in clients:
            sock.close()
        for channel in list(server.active_channels.values()):
            channel.close()
        server.close()
        server.task_dispatcher.shutdown()


# ---------------------------------------------------------------- the memo of filtered answers


def test_the_memo_is_bounded_in_bytes_and_evicts_the_least_recently_used():
    from vision_models.server.app import ByteMemo

    memo = ByteMemo(max_bytes=100)
    memo.put(("a",), "A", 40)
    memo.put(("b",), "B", 40)
    assert memo.bytes == 80 and len(memo) == 2
    assert memo.get(("a",)) == "A"  # now the most recently used: "b" is the oldest
    memo.put(("c",), "C", 30)  # 110 > 100: "b" goes, 40 + 30 = 70 stay
    assert memo.get(("b",)) is None and memo.get(("a",)) == "A" and memo.get(("c",)) == "C"
    assert memo.bytes == 70
    memo.put(("d",), "D", 100)  # exactly the cap: everything else goes
    assert memo.bytes == 100 and len(memo) == 1 and memo.get(("d",)) == "D"
    memo.put(("e",), "E", 101)  # larger than the cap: never kept, nothing evicted for it
    assert memo.get(("e",)) is None and memo.bytes == 100 and len(memo) == 1
    memo.put(("d",), "D2", 10)  # replacing a key counts its new size only
    assert memo.bytes == 10 and memo.get(("d",)) == "D2"


def test_filtered_answers_are_kept_up_to_the_byte_cap():
    import sys

    from factories import model

    from vision_models.catalog.api import CatalogResult
    from vision_models.catalog.frame import models_frame

    entries = [model(f"p/m{i}", inputs=("text", "image"), context_length=1000 * (i + 1)) for i in range(10)]
    snapshot = build_snapshot(CatalogResult(models=models_frame(entries), source="test"), 3600)
    answers = {}
    for low in (1000, 5000, 9000):  # 10, 6 and 2 models pass
        key, wanted, min_context, max_price, rules = parse_query(f"minContext={low}")
        answers[low] = snapshot.filtered(key, wanted, min_context, max_price, rules)
    assert [count for count, _ in answers.values()] == [10, 6, 2]
    sizes = {low: sys.getsizeof(text) for low, (_, text) in answers.items()}
    assert snapshot.memo.bytes == sum(sizes.values()) and len(snapshot.memo) == 3
    snapshot.memo.max_bytes = sizes[5000] + sizes[9000]
    key, wanted, min_context, max_price, rules = parse_query("minContext=9000")
    snapshot.filtered(key, wanted, min_context, max_price, rules)  # a hit: 9000 is now the most recent
    snapshot.memo.put(("again",), None, 0)  # any insertion evicts down to the cap: 1000, the oldest, goes
    assert snapshot.memo.bytes == sizes[5000] + sizes[9000] and len(snapshot.memo) == 3
    assert snapshot.memo.get(parse_query("minContext=1000")[0]) is None


_MEMO_RSS_SCRIPT = """
import json, resource, sys
sys.path.insert(0, "tests")
from factories import model
from vision_models.catalog import CatalogResult
from vision_models.catalog.frame import models_frame
from vision_models.server import build_snapshot, parse_query

entries = [model(f"provider{i % 50}/model-{i}", inputs=("text", "image"), context_length=400_000 + i,
                 description="A test model that reads images and text. " * 8) for i in range(50_000)]
snapshot = build_snapshot(CatalogResult(models=models_frame(entries), source="test"), 3600)
del entries
largest = 0
for k in range(400):  # 400 distinct filters, each keeping every model: the largest answers there can be
    key, wanted, low, high, rules = parse_query(f"minContext={k}")
    count, text = snapshot.filtered(key, wanted, low, high, rules)
    largest = max(largest, len(text))
    assert count == 50_000
print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "answer_mb": largest / 2**20, "memo_mb": snapshot.memo.bytes / 2**20, "kept": len(snapshot.memo)}))
"""


def test_a_50000_model_catalog_with_400_distinct_filters_stays_under_500_mb():
    """Measured in a process of its own (peak RSS, getrusage); about 30 s on two cores."""
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", _MEMO_RSS_SCRIPT], capture_output=True, text=True, timeout=600, cwd=repo, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    print(measured)
    assert measured["answer_mb"] > 20  # each answer is large: without a byte bound, 64 of them would be gigabytes
    assert measured["peak_rss_mb"] < 500, measured


# ---------------------------------------------------------------- answers encoded once


@pytest.mark.parametrize(
    "options",
    [{}, {"cached": True, "cache_age": 42}, {"cached": True, "cache_age": 7, "error": "Network request failed"}],
)
def test_the_answer_is_spliced_as_bytes_exactly_as_the_text_encoder_writes_it(options):
    from factories import catalog_body, model

    from vision_models.catalog.api import CatalogResult
    from vision_models.catalog.frame import models_frame
    from vision_models.present.payload import encode_api_payload, payload_envelope
    from vision_models.server.app import encode_answer

    models = [{"id": "a/ü", "name": "Zürich “vision” 模型", "n": 1}, {"id": "b/x", "name": "plain"}]
    as_text = json.dumps(models, ensure_ascii=False)
    envelope = payload_envelope(len(models), **options)
    expected = encode_api_payload(envelope, as_text).encode()  # the str encoder the endpoint was built on
    assert encode_answer(envelope, as_text.encode()) == expected
    assert json.loads(expected)["models"][0]["name"] == "Zürich “vision” 模型"
    # and through a snapshot: the default answer is UTF-8 JSON that parses to the same models
    body = catalog_body(model("x/ü-vision", name="Zürich: Vision", inputs=("text", "image")))
    snapshot = build_snapshot(CatalogResult(models=models_frame(json.loads(body)["data"]), source="test"), 3600)
    assert isinstance(snapshot.models_json, bytes)
    assert [m["name"] for m in json.loads(snapshot.models_json)] == ["Zürich: Vision"]

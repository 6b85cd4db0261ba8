"""`vision-models serve` under load, measured in one run (CI never fails on these).

1. Warm server, 2,000 requests from 50 concurrent keep-alive clients (threads in this
   process, on the same 2-core machine): errors, upstream requests, requests/s, p50/p99
   (targets: 0 errors, 0 upstream requests, >= 800 requests/s, p99 < 150 ms). Then the
   same 2,000 requests from clients that open a new connection for every request (plain
   ``urllib.request``, as most scripts do), reported beside it (targets: within 1.3x of the
   keep-alive rate, >= 1,500 requests/s, p99 < 100 ms on an idle machine).
2. 200 concurrent requests at the moment the cache expires: upstream requests (target: 1),
   every body complete JSON.
3. The same load across expiries answered by 304 (``--expire-after 2``, an upstream
   that revalidates with an ETag): requests/s and p99, upstream requests, and how often the
   server reloaded (target: one reload per expiry, p99 as warm).
4. The same load while the upstream trickles the refresh (one byte every 0.5 s, for longer
   than the run): requests/s and p99 (target: as warm; nobody waits on the late refresh).
5. 1,500 distinct filter combinations (more than the memo's 64 MB hold): requests/s and p99.
6. For contrast, the same load on a standard-library ThreadingHTTPServer with its
   default listen backlog of 5, serving the same bytes.

Run: ``python benchmarks/bench_server.py`` (needs ../shared/catalogs beside the checkout);
``--warm`` runs only the first scenario (keep-alive and a connection per request, interleaved
``--rounds N`` times, 3 by default; the medians are reported).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from timing import CATALOGS, REPO, missing

sys.path.insert(0, str(REPO / "tests"))

CATALOG = CATALOGS / "openrouter-2026-05-01.json"
CLIENTS, PER_CLIENT = 50, 40


def start_serve(upstream_base: str, cache: Path, *extra: str) -> tuple[subprocess.Popen, int]:
    script = shutil.which("vision-models") or str(Path(sys.executable).with_name("vision-models"))
    env = {**os.environ, "OPENROUTER_BASE_URL": upstream_base, "VISION_MODELS_CACHE": str(cache)}
    env.pop("VISION_MODELS_SOURCE", None)
    process = subprocess.Popen([script, "serve", "--port", "0", *extra], env=env, stderr=subprocess.PIPE, text=True)
    banner = process.stderr.readline()
    port = int(re.search(r":(\d+) ", banner).group(1))
    threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()  # drain the request log
    return process, port


def load(port: int, clients: int = CLIENTS, per_client: int = PER_CLIENT, paths=None) -> dict:
    """Keep-alive clients hammering /api/models (or ``paths(client, i)``); latencies and errors."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def client(me: int):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, bad = [], []
        barrier.wait()
        for i in range(per_client):
            start = time.perf_counter()
            try:
                conn.request("GET", paths(me, i) if paths else "/api/models")
                response = conn.getresponse()
                body = response.read()
                if response.status != 200 or not body.endswith(b"}"):
                    bad.append(f"status {response.status}")
            except (OSError, http.client.HTTPException) as exc:
                bad.append(type(exc).__name__)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine.append(time.perf_counter() - start)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors.extend(bad)

    return _run_clients([threading.Thread(target=client, args=(n,)) for n in range(clients)], latencies, errors)


def load_per_connection(port: int, clients: int = CLIENTS, per_client: int = PER_CLIENT) -> dict:
    """Clients that open a new connection for every request (``urllib.request.urlopen``); latencies and errors."""
    url = f"http://127.0.0.1:{port}/api/models"
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def client():
        mine, bad = [], []
        barrier.wait()
        for _ in range(per_client):
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(url, timeout=30) as response:
                    body = response.read()
                if response.status != 200 or not body.endswith(b"}"):
                    bad.append(f"status {response.status}")
            except OSError as exc:
                bad.append(type(exc).__name__)
            mine.append(time.perf_counter() - start)
        with lock:
            latencies.extend(mine)
            errors.extend(bad)

    return _run_clients([threading.Thread(target=client) for _ in range(clients)], latencies, errors)


def load_raw_per_connection(port: int, clients: int = CLIENTS, per_client: int = PER_CLIENT) -> dict:
    """A new ``http.client`` connection for every request: the same server work as urllib, less client work."""

    def fresh_request(me: int, i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("GET", "/api/models", headers={"Connection": "close"})
            response = conn.getresponse()
            body = response.read()
            if response.status != 200 or not body.endswith(b"}"):
                raise OSError(f"status {response.status}")
        finally:
            conn.close()

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def client(me: int):
        mine, bad = [], []
        barrier.wait()
        for i in range(per_client):
            start = time.perf_counter()
            try:
                fresh_request(me, i)
            except (OSError, http.client.HTTPException) as exc:
                bad.append(str(exc) or type(exc).__name__)
            mine.append(time.perf_counter() - start)
        with lock:
            latencies.extend(mine)
            errors.extend(bad)

    return _run_clients([threading.Thread(target=client, args=(n,)) for n in range(clients)], latencies, errors)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds a process has used so far (Linux /proc), or NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def with_server_cpu(pid: int, run) -> dict:
    """``run()``'s summary plus the server's and the clients' CPU milliseconds per request over it.

    Clients and server share the machine's two cores, so the rate falls when either side's work per request
    grows: the two figures say which side a gap between keep-alive and a connection per request comes from.
    """
    before, clients_before = cpu_seconds(pid), cpu_seconds(os.getpid())
    result = run()
    n = max(result["requests"], 1)
    result["server_cpu_ms"] = (cpu_seconds(pid) - before) * 1e3 / n
    result["client_cpu_ms"] = (cpu_seconds(os.getpid()) - clients_before) * 1e3 / n
    return result


#: Warm rounds: keep-alive, urllib and http.client one after another, this many times. Adjacent runs share the
#: machine's state (other tenants, frequency), so each round's ratio compares like with like; the medians are
#: reported.
ROUNDS = 3


def warm_rounds(pid: int, port: int, size: int, rounds: int = ROUNDS) -> None:
    """Keep-alive against a connection per request, interleaved ``rounds`` times; each round and the medians."""
    kinds = {
        "keep-alive": lambda: load(port),
        "new connection (urllib)": lambda: load_per_connection(port),
        "new connection (http.client)": lambda: load_raw_per_connection(port),
    }
    runs: dict[str, list[dict]] = {kind: [] for kind in kinds}
    for n in range(rounds):
        for kind, run in kinds.items():
            result = with_server_cpu(pid, run)
            runs[kind].append(result)
            base = runs["keep-alive"][-1]
            ratio = "" if kind == "keep-alive" else f"; keep-alive/this rate {base['rps'] / result['rps']:.2f}x"
            report(f"round {n + 1}, {CLIENTS} clients ({size / 1024:.0f} KiB each), {kind}", result,
                   ratio + cpu_note(result, None if kind == "keep-alive" else base) + bound_note(result))  # fmt: skip
    keep = runs["keep-alive"]
    print(
        f"warm, keep-alive, median of {rounds} rounds: {_median(keep, 'rps'):.0f} requests/s, "
        f"p99 {_median(keep, 'p99_ms'):.1f} ms, {sum(r['errors'] for r in keep)} errors "
        "(targets: 0 errors, >= 800/s, p99 < 150 ms)"
    )
    for kind in list(kinds)[1:]:
        ratios = [k["rps"] / r["rps"] for k, r in zip(keep, runs[kind])]
        print(
            f"warm, {kind}, median of {rounds} rounds: {_median(runs[kind], 'rps'):.0f} requests/s, "
            f"p99 {_median(runs[kind], 'p99_ms'):.1f} ms, {sum(r['errors'] for r in runs[kind])} errors; "
            f"keep-alive/this rate {statistics.median(ratios):.2f}x (rounds: {', '.join(f'{x:.2f}' for x in ratios)}); "
            f"server CPU a request {statistics.median(r['server_cpu_ms'] for r in runs[kind]):.2f} ms against "
            f"keep-alive's {_median(keep, 'server_cpu_ms'):.2f} ms"
            + (" (targets: <= 1.3x, >= 1,500/s, p99 < 100 ms)" if "urllib" in kind else "")
        )


def _median(results: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in results)


def bound_note(result: dict) -> str:
    """Which side's CPU caps the rate: each side runs on (at most) one core, so 1 s / CPU a request is its ceiling.

    The client threads share one interpreter (one core at a time); the server's loop thread does the socket work.
    """
    server, clients = 1e3 / result["server_cpu_ms"], 1e3 / result["client_cpu_ms"]
    side = "clients" if clients < server else "server"
    return f"; ceilings from CPU: server {server:,.0f}/s, clients {clients:,.0f}/s ({side}-bound)"


def cpu_note(result: dict, base: dict | None = None) -> str:
    """CPU per request on each side, and against ``base`` (keep-alive) when given."""
    note = f"; CPU a request: server {result['server_cpu_ms']:.2f} ms, clients {result['client_cpu_ms']:.2f} ms"
    if base is not None:
        note += (
            f" ({result['server_cpu_ms'] / base['server_cpu_ms']:.2f}x and"
            f" {result['client_cpu_ms'] / base['client_cpu_ms']:.2f}x keep-alive's)"
        )
    return note


def _run_clients(threads: list[threading.Thread], latencies: list[float], errors: list[str]) -> dict:
    """Start the client threads together, wait for them, and summarise what they recorded."""
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return _summary(latencies, errors, time.perf_counter() - started)


def _summary(latencies: list[float], errors: list[str], elapsed: float) -> dict:
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1e3,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1e3,
        "max_ms": latencies[-1] * 1e3,
    }


def burst(port: int, n: int = 200) -> tuple[int, int]:
    """n requests released together; (complete JSON answers, errors)."""
    barrier = threading.Barrier(n)
    good, bad = [], []

    def one():
        barrier.wait()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("GET", "/api/models")
            json.loads(conn.getresponse().read())
            good.append(1)
        except Exception as exc:  # noqa: BLE001 - counted, not raised
            bad.append(exc)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(good), len(bad)


def stdlib_contrast(body: bytes) -> dict:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # request_queue_size stays 5
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        return load(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


#: A minimal HTTP server for :func:`client_ceiling`: asyncio in its own process, the same bytes for every request,
#: then close. It does no routing, filtering, logging or slow-client accounting: what a urllib client reaches
#: against it is the most that client can do on this machine.
MINIMAL_SERVER = """
import asyncio, sys
body = sys.stdin.buffer.read()
head = b"HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\nContent-Length: %d\\r\\nConnection: close\\r\\n\\r\\n" % len(body)
async def handle(reader, writer):
    while (await reader.readline()) not in (b"\\r\\n", b"\\n", b""):
        pass
    writer.write(head + body)
    await writer.drain()
    writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()
asyncio.run(main())
"""


def client_ceiling(body: bytes) -> dict:
    """The urllib connection-per-request load against :data:`MINIMAL_SERVER` serving ``body``."""
    process = subprocess.Popen([sys.executable, "-c", MINIMAL_SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        process.stdin.write(body)
        process.stdin.close()
        port = int(process.stdout.readline())
        warm_up(port)
        return with_server_cpu(process.pid, lambda: load_per_connection(port))
    finally:
        process.terminate()
        process.wait(timeout=10)


def report(label: str, result: dict, extra: str = "") -> None:
    print(
        f"{label}: {result['requests']} requests, {result['errors']} errors, {result['rps']:.0f} requests/s, "
        f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, max {result['max_ms']:.1f} ms{extra}"
    )


def warm_up(port: int) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/api/models")
    size = len(conn.getresponse().read())
    conn.close()
    return size


def bench_304(tmp: Path, body: bytes) -> None:
    from pytest_httpserver import HTTPServer
    from werkzeug import Response

    upstream = HTTPServer()
    upstream.expect_request("/models").respond_with_handler(
        lambda request: (
            Response(status=304, headers={"ETag": '"v1"'})
            if request.headers.get("If-None-Match") == '"v1"'
            else Response(body, content_type="application/json", headers={"ETag": '"v1"'})
        )
    )
    upstream.start()
    process, port = start_serve(upstream.url_for("/"), tmp / "revalidate.sqlite", "--expire-after", "2")
    try:
        warm_up(port)
        started = time.monotonic()
        result = load(port, per_client=300)
        seconds = time.monotonic() - started
        asked = sum(1 for request, _ in upstream.log if request.path == "/models")
        report(
            f"across expiries answered by 304 (--expire-after 2, {seconds:.1f} s)",
            result,
            f"; {asked - 1} revalidations upstream (about one per 2 s expected)",
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
        upstream.stop()


def bench_trickle(tmp: Path, body: bytes) -> None:
    from slow_servers import Trickler  # tests/: the loopback server the serve fault tests trickle from

    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
    # The first request is answered at once; every later one (the refresh) gets one byte every 0.5 s.
    upstream = Trickler(head, every=0.5, limit=120.0, first=head + body)
    process, port = start_serve(upstream.base, tmp / "trickle.sqlite", "--expire-after", "1")
    try:
        warm_up(port)
        time.sleep(1.2)  # expired: the next request starts a refresh that trickles for its whole deadline
        result = load(port)
        report("while the upstream trickles the refresh", result, f"; {upstream.connections - 1} refresh(es) in flight")
    finally:
        process.terminate()
        process.wait(timeout=10)
        upstream.close()


def bench_filters(tmp: Path, upstream_base: str) -> None:
    process, port = start_serve(upstream_base, tmp / "filters.sqlite")
    try:
        warm_up(port)
        combos = [
            f"/api/models?minContext={1000 * (k % 300)}&maxPromptPrice={(k // 300) * 0.5 + 0.01:.2f}"
            + ("&rules=strict" if k % 2 else "")
            for k in range(1500)
        ]
        result = load(port, clients=CLIENTS, per_client=30, paths=lambda me, i: combos[(me * 30 + i) % len(combos)])
        report("1,500 distinct filter combinations", result)
    finally:
        process.terminate()
        process.wait(timeout=10)


def main(only_warm: bool = False, rounds: int = ROUNDS) -> int:
    if missing(CATALOG):
        return 0
    from pytest_httpserver import HTTPServer

    upstream = HTTPServer()
    upstream.expect_request("/models").respond_with_data(CATALOG.read_bytes(), content_type="application/json")
    upstream.start()
    count_upstream = lambda: sum(1 for request, _ in upstream.log if request.path == "/models")  # noqa: E731
    with tempfile.TemporaryDirectory() as tmp:
        process, port = start_serve(upstream.url_for("/"), Path(tmp) / "serve.sqlite")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/api/models")
            size = len(conn.getresponse().read())
            before = count_upstream()
            warm_rounds(process.pid, port, size, rounds)
            print(f"upstream requests during the warm rounds: {count_upstream() - before} (target: 0)")
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/models", timeout=30) as response:
                body = response.read()
            ours = with_server_cpu(process.pid, lambda: load_per_connection(port))
            floor = client_ceiling(body)
            report("contrast, the same urllib load against a minimal asyncio server (same bytes)", floor,
                   f"; this server at the same moment: {ours['rps']:.0f} requests/s, "
                   f"{ours['rps'] / floor['rps']:.2f}x the minimal server's rate" + bound_note(floor))  # fmt: skip
        finally:
            process.terminate()
            process.wait(timeout=10)

        if only_warm:
            upstream.stop()
            return 0
        process, port = start_serve(upstream.url_for("/"), Path(tmp) / "expiry.sqlite", "--expire-after", "2")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/api/models")
            conn.getresponse().read()
            time.sleep(2.2)
            before = count_upstream()
            good, bad = burst(port)
            print(
                f"200 concurrent requests at expiry: {count_upstream() - before} upstream request(s), "
                f"{good} complete JSON answers, {bad} errors (target: 1, 200, 0)"
            )
        finally:
            process.terminate()
            process.wait(timeout=10)

        bench_304(Path(tmp), CATALOG.read_bytes())
        bench_trickle(Path(tmp), CATALOG.read_bytes())
        bench_filters(Path(tmp), upstream.url_for("/"))

        contrast = stdlib_contrast(json.dumps({"padding": "x" * size}).encode())  # same size, valid JSON
        print(
            f"contrast, stdlib ThreadingHTTPServer (backlog 5), same load: {contrast['errors']} errors, "
            f"{contrast['rps']:.0f} requests/s, p99 {contrast['p99_ms']:.1f} ms, max {contrast['max_ms']:.1f} ms"
        )
    upstream.stop()
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(
        main(only_warm="--warm" in args, rounds=int(args[args.index("--rounds") + 1]) if "--rounds" in args else ROUNDS)
    )

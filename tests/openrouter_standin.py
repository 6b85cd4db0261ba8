"""A loopback stand-in for OpenRouter's ``POST /chat/completions``, with fault modes.

A real threaded HTTP server on 127.0.0.1 (requests in parallel, hangs that
really hang). It bills like OpenRouter: every answer carries ``usage`` with
``prompt_tokens`` (the text's tokens plus the model's image tokens, a number
the test chooses), ``completion_tokens`` and ``cost`` in USD at the prices the
test gives, and it keeps the sum of what it billed, the stand-in's own
ledger against which trials are checked.

Fault modes, per model, as a list consumed one per request (then ``ok``), in
``faults`` (any request) or ``page_faults`` (only requests carrying an image):
``429`` (with ``Retry-After``), ``500``, ``hang`` (sleeps ``hang_s``), ``400-image``
("No endpoints found that support image input"), ``402``, ``404``,
``malformed`` (200, not JSON), ``no-usage``, ``no-choices``, ``content-filter``,
``no-cost`` (usage without ``cost``). Answers of the wrong shape, billed as usual: ``length`` (finish_reason
``length``), ``loop`` (one phrase repeated, cut at ``length``), ``refusal`` (a short refusal), ``empty`` (no text).
``ModelBill.replies`` (consumed one per page request, then ``reply``) gives pages different answers;
``ModelBill.reply_by_width`` answers by the image's width (a model that reads small images badly) and
``ModelBill.pixels_per_token`` bills image tokens by the image's pixels.

Faults after the request has reached the stand-in (it bills them: the work was
done), each a way a real network loses an answer: ``reset`` (RST, no answer),
``close`` (closed without a status line), ``stall`` (a 200 whose body stops
half-way for ``hang_s``), ``cut`` (a 200 whose body ends half-way: Content-Length
unmet), ``cut-chunked`` (a chunked 200 that ends mid-chunk), ``trickle`` (a 200
sending a byte every 50 ms for ``trickle_s``), ``huge`` (a 20 MB answer),
``gzip-bomb`` (a few KB of gzip that decode to 64 MB), ``gzip`` (a well-formed
gzipped answer). Bills that are not sane: ``usage-negative``, ``usage-huge``,
``usage-string`` (a cost as numeric text: the bill), ``usage-text`` (a cost
that is not a number), ``usage-nan``; ``500-billed`` (a 500 carrying
``usage.cost``); ``echo-key`` (the bearer key echoed in the answer's ``id``).
``ModelBill.free_in_catalog`` plays a model listed free that bills anyway (the
test's catalog lists it at 0; the stand-in bills at ``prompt_usd``).

``ledger`` holds one entry per billed request: model, images, cost.
"""

from __future__ import annotations

import gzip
import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class ModelBill:
    """How the stand-in bills one model: USD per token and the image tokens it charges per image."""

    prompt_usd: float
    completion_usd: float
    image_tokens: int = 1000
    reply: str = "INVOICE 42\nTotal: 12.50 EUR"
    reasoning_tokens: int = 0  # hidden reasoning before each page's answer, billed inside completion_tokens
    replies: list[str] = field(default_factory=list)  # page answers in order, then ``reply``
    # image width (px) -> the answer for images at least that wide (the widest key that fits); narrower: ``reply``
    reply_by_width: dict[int, str] = field(default_factory=dict)
    pixels_per_token: int = 0  # > 0: an image bills ceil(width x height / this) tokens instead of ``image_tokens``


@dataclass
class StandIn:
    models: dict[str, ModelBill]
    latency_s: float = 0.0
    hang_s: float = 5.0
    retry_after: str = "0.2"
    trickle_s: float = 20.0
    faults: dict[str, list[str]] = field(default_factory=dict)
    page_faults: dict[str, list[str]] = field(default_factory=dict)  # only for requests carrying an image
    keep_bodies: bool = True  # False: requests are logged without their bodies (thousands of pages)
    billed_usd: float = 0.0
    requests: list[dict] = field(default_factory=list)
    billed: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: int = 0
    max_in_flight: int = 0
    ledger: list[dict] = field(default_factory=list)
    finished: list[dict] = field(default_factory=list)  # (model, images, at) as each answer began to be written
    base_url: str = ""  # set by serving(): ".../api/v1" on a loopback port

    def text_tokens(self, text: str) -> int:
        return len(text) // 4 + 7

    def answer(self, body: dict, auth: str | None = None) -> tuple[int, dict[str, str], bytes, str]:
        status, headers, payload, mode = self._answer(body, auth)
        return status, headers, payload, mode

    def _answer(self, body: dict, auth: str | None) -> tuple[int, dict[str, str], bytes, str]:
        model = body.get("model")
        has_image = any(p.get("type") == "image_url" for p in body["messages"][0]["content"])
        with self.lock:
            queue = self.faults.get(model) or (self.page_faults.get(model, []) if has_image else [])
            mode = queue.pop(0) if queue else "ok"
        if mode == "hang":
            time.sleep(self.hang_s)
        bill = self.models.get(model)
        if mode == "404" or bill is None:
            return (*_error(404, f"{model} is not a valid model ID"), mode)
        if mode == "429":
            return (
                429,
                {"Retry-After": self.retry_after},
                json.dumps({"error": {"code": 429, "message": "Rate limited"}}).encode(),
                mode,
            )
        if mode == "500":
            return (*_error(500, "Internal Server Error"), mode)
        if mode == "400-image":
            return (*_error(400, "No endpoints found that support image input"), mode)
        if mode == "402":
            return (*_error(402, "Insufficient credits. Add more using https://openrouter.ai/credits"), mode)
        content = body["messages"][0]["content"]
        text = "".join(part.get("text", "") for part in content if part.get("type") == "text")
        images = sum(part.get("type") == "image_url" for part in content)
        by_size = bill.pixels_per_token or bill.reply_by_width  # only then is the image decoded
        sizes = [_image_size(part) for part in content if part.get("type") == "image_url"] if by_size else []
        if bill.pixels_per_token:
            image_tokens = sum(-(-(w * h) // bill.pixels_per_token) for w, h in sizes)
        else:
            image_tokens = images * bill.image_tokens
        prompt_tokens = self.text_tokens(text) + image_tokens
        with self.lock:
            reply = (bill.replies.pop(0) if bill.replies else bill.reply) if images else "OK"
        if images and bill.reply_by_width:
            fits = [w for w in bill.reply_by_width if w <= sizes[0][0]]
            reply = bill.reply_by_width[max(fits)] if fits else reply
        reasoning = bill.reasoning_tokens if images else 0
        completion_tokens = min(int(body.get("max_tokens", 10**6)), len(reply) // 2 + 1 + reasoning)
        cost = round(prompt_tokens * bill.prompt_usd + completion_tokens * bill.completion_usd, 12)
        if mode == "malformed":
            self._bill(cost, model, images)  # the provider did the work: the bill is real even if the answer is broken
            return 200, {}, b'{"id": "gen-1", "choices": [ {"message": ', mode
        if mode == "500-billed":
            self._bill(cost, model, images)
            return (
                500,
                {},
                json.dumps({"error": {"code": 500, "message": "upstream failed"}, "usage": {"cost": cost}}).encode(),
                mode,
            )
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                 "total_tokens": prompt_tokens + completion_tokens, "cost": cost}  # fmt: skip
        if bill.reasoning_tokens:
            usage["completion_tokens_details"] = {"reasoning_tokens": min(reasoning, completion_tokens)}
        choice = {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": reply}}
        payload: dict = {
            "id": f"gen-{len(self.requests)}",
            "model": model,
            "object": "chat.completion",
            "choices": [choice],
            "usage": usage,
        }
        if mode == "no-usage":
            del payload["usage"]
        elif mode == "no-cost":
            del usage["cost"]
        elif mode == "no-choices":
            payload["choices"] = []
        elif mode == "length":  # cut at max_tokens
            choice["finish_reason"] = "length"
        elif mode == "loop":
            choice["finish_reason"] = "length"
            choice["message"]["content"] = "Total: 12.50 EUR " * 100
        elif mode == "refusal":
            choice["message"]["content"] = "I'm sorry, but I can't help with transcribing this document."
        elif mode == "empty":
            choice["message"]["content"] = ""
        elif mode == "content-filter":
            choice["finish_reason"] = "content_filter"
            choice["message"]["content"] = None
        elif mode == "usage-negative":
            usage.update(cost=-cost, prompt_tokens=-prompt_tokens, completion_tokens=-5)
        elif mode == "usage-huge":
            usage.update(cost=1e300, prompt_tokens=10**30, completion_tokens=10**25)
        elif mode == "usage-string":
            usage["cost"] = f"{cost:.12f}"
        elif mode == "usage-text":
            usage["cost"] = "about one cent"
        elif mode == "echo-key":
            payload["id"] = f"gen-{auth}"
            choice["message"]["content"] = f"{reply} {auth}"
        self._bill(cost, model, images)
        if mode == "usage-nan":
            return 200, {}, json.dumps(payload).replace(json.dumps(cost), "NaN", 1).encode(), mode
        if mode == "huge":
            choice["message"]["content"] = "x" * (20 * 1024 * 1024)
        if mode in ("gzip", "gzip-bomb"):
            data = json.dumps(payload).encode() if mode == "gzip" else b" " * (64 * 1024 * 1024)
            return 200, {"Content-Encoding": "gzip"}, gzip.compress(data, 9), mode
        return 200, {}, json.dumps(payload).encode(), mode

    def _bill(self, cost: float, model: str | None = None, images: int = 0) -> None:
        with self.lock:
            self.billed_usd += cost
            self.billed.append(cost)
            self.ledger.append({"model": model, "images": images, "cost": cost})


def _image_size(part: dict) -> tuple[int, int]:
    """(width, height) of an ``image_url`` part's base64 data URL."""
    import base64
    import io

    from PIL import Image

    data = base64.b64decode(part["image_url"]["url"].split(",", 1)[1])
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def _error(status: int, message: str) -> tuple[int, dict[str, str], bytes]:
    return status, {}, json.dumps({"error": {"code": status, "message": message}}).encode()


def serve(standin: StandIn) -> tuple[ThreadingHTTPServer, str]:
    """Start the stand-in on a free loopback port; returns the server and its base URL (``.../api/v1``)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

        def log_message(self, *args) -> None:  # quiet
            pass

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length", 0))
            raw = self.rfile.read(length)
            with standin.lock:
                standin.in_flight += 1
                standin.max_in_flight = max(standin.max_in_flight, standin.in_flight)
            try:
                body = json.loads(raw)
                with standin.lock:
                    standin.requests.append({"model": body.get("model"), "auth": self.headers.get("Authorization"),
                                             "images": sum(p.get("type") == "image_url" for p in body["messages"][0]["content"]),
                                             "body": body if standin.keep_bodies else None, "path": self.path, "at": time.monotonic()})  # fmt: skip
                if standin.latency_s:
                    time.sleep(standin.latency_s)
                status, headers, payload, mode = standin.answer(body, self.headers.get("Authorization"))
            finally:
                with standin.lock:
                    standin.in_flight -= 1
            images = sum(p.get("type") == "image_url" for p in body["messages"][0]["content"])
            with standin.lock:  # stamped before the first byte goes out: no client can have the answer earlier
                standin.finished.append({"model": body.get("model"), "images": images, "at": time.monotonic()})
            try:
                self._write(status, headers, payload, mode)
            except (BrokenPipeError, ConnectionResetError, OSError):
                pass

        def _write(self, status: int, headers: dict[str, str], payload: bytes, mode: str) -> None:
            if mode == "reset":  # RST: SO_LINGER 0, then close
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()
                return
            if mode == "close":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            if mode == "trickle":  # chunked, a byte every 50 ms: it never completes on its own
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.close_connection = True
                end = time.monotonic() + standin.trickle_s
                while time.monotonic() < end:
                    self.wfile.write(b"1\r\n \r\n")
                    self.wfile.flush()
                    time.sleep(0.05)
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if mode == "cut-chunked":
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.wfile.write(b"%x\r\n" % len(payload) + payload[: len(payload) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if mode in ("stall", "cut"):
                self.wfile.write(payload[: len(payload) // 2])
                self.wfile.flush()
                self.close_connection = True
                if mode == "stall":
                    time.sleep(standin.hang_s)
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.request_queue_size = 64
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/api/v1"


@contextmanager
def serving(standin: StandIn) -> Iterator[StandIn]:
    """The stand-in on a loopback port (``standin.base_url``) for the block's length: the one way tests start it."""
    server, base = serve(standin)
    standin.base_url = base
    try:
        yield standin
    finally:
        server.shutdown()
        server.server_close()

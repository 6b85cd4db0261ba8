"""Catalog entries and paths for tests: hand-made models in OpenRouter's shape, the real catalogs, the one CLI runner.

Imported by test modules by name (``from factories import model``); the
fixtures live in conftest.py, which test modules never import. Test modules
never import each other: what two of them share lives here.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_CATALOGS = Path(os.environ.get("VISION_MODELS_SHARED", REPO.parent / "shared")) / "catalogs"


def shared_catalog(name: str) -> Path:
    """A real catalog from ../shared/catalogs, or a skip saying why it is missing."""
    path = SHARED_CATALOGS / name
    if not path.exists():
        pytest.skip(f"real catalog {path} is absent: the shared catalogs folder must sit beside the checkout")
    return path


def model(model_id: str, *, prompt="0.000001", completion="0.000002", inputs=("text",), **extra) -> dict:
    """A catalog entry in OpenRouter's shape, with the fields a test cares about overridable."""
    entry = {
        "id": model_id,
        "name": extra.pop("name", model_id.split("/")[-1]),
        "description": extra.pop("description", f"Test model {model_id}."),
        "created": extra.pop("created", 1_700_000_000),
        "context_length": extra.pop("context_length", 128_000),
        "architecture": extra.pop(
            "architecture",
            {
                "modality": f"{'+'.join(inputs)}->text",
                "input_modalities": list(inputs),
                "output_modalities": ["text"],
            },
        ),
        "pricing": extra.pop("pricing", {"prompt": prompt, "completion": completion}),
        "top_provider": extra.pop("top_provider", {"context_length": 128_000, "max_completion_tokens": 4096}),
    }
    entry.update(extra)
    return entry


#: The API key the trial tests send (and look for in every file a trial writes).
TRIAL_KEY = "sk-or-v1-TESTKEY-0123456789abcdef"


def catalog_body(*entries: dict) -> str:
    return json.dumps({"data": list(entries)})


SMALL_CATALOG = catalog_body(
    model("openai/gpt-4o", prompt="0.0000025", completion="0.00001", inputs=("text", "image"), name="OpenAI: GPT-4o"),
    model("deepseek/deepseek-chat", prompt="0.00000027", completion="0.0000011", name="DeepSeek: Chat"),
    model("google/gemini-2.5-flash", prompt="0.0000003", completion="0.0000025", inputs=("text", "image", "file")),
)


def write_long_pdf(path: Path, pages: int, *, size_pt=(612, 792), texture_px=(160, 200), seed: int = 0) -> Path:
    """A PDF of ``pages`` pages written by hand: each draws one shared texture over the whole page and its number.

    The texture (random RGB, stored once) makes every rendered page a colour image that does not
    compress away, so holding all of them takes memory; the file itself stays small.
    """
    import random
    import zlib

    width, height = texture_px
    texture = zlib.compress(random.Random(seed).randbytes(width * height * 3))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(b"%d 0 R" % (5 + 2 * k) for k in range(pages))
        + b"] /Count %d >>" % pages,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB /BitsPerComponent 8 "
        b"/Filter /FlateDecode /Length %d >>\nstream\n" % (width, height, len(texture)) + texture + b"\nendstream",
    ]
    for k in range(pages):
        content = b"q %d 0 0 %d 0 0 cm /Tx Do Q BT /F1 36 Tf 72 72 Td (Page %d) Tj ET" % (*size_pt, k + 1)
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R "
                       b"/Resources << /Font << /F1 3 0 R >> /XObject << /Tx 4 0 R >> >> >>" % (*size_pt, 6 + 2 * k))  # fmt: skip
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


# ---------------------------------------------------------------- the 60 daily catalogs, imported once a run


def daily_catalog_files() -> list[Path]:
    """The real daily catalogs in date order, or a skip saying why they are missing."""
    folder = SHARED_CATALOGS / "daily"
    files = sorted(folder.glob("openrouter-2026-*.json.gz"))
    if len(files) < 2:
        pytest.skip(f"real daily catalogs {folder} are absent: the shared catalogs folder must sit beside the checkout")
    return files


@contextmanager
def _only_one_process(lock: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock`` (POSIX); elsewhere each process does the work itself."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_daily_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dailies imported in date order, once per test run: the parallel workers share one import (20 s each)."""
    from vision_models.catalog.history import import_files

    files = daily_catalog_files()
    base = tmp_path_factory.getbasetemp()
    # Under pytest-xdist each worker's folder sits in the run's folder; without it, the run's folder is the base.
    run = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    built = run / "daily-history.sqlite"
    with _only_one_process(run / "daily-history.lock"):
        if not built.exists():
            partial = run / f"daily-history.{os.getpid()}.partial"
            results = import_files(files, path=partial)
            assert {r.status for r in results} == {"imported"}, [
                (r.path, r.status) for r in results if r.status != "imported"
            ]
            _copy_sqlite(partial, built)
            partial.unlink()
    return built


def copy_of_daily_history(built: Path, folder: Path) -> Path:
    """A module's own copy of the imported dailies, so what one module writes no other module sees."""
    path = folder / "history.sqlite"
    _copy_sqlite(built, path)
    return path


def _copy_sqlite(source: Path, target: Path) -> None:
    """Copy a SQLite file whole (its write-ahead log included) through SQLite's backup."""
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def expire_cached_copies() -> None:
    """Expire, now, every answer this process's HTTP cache sessions hold: what waiting out ``expire_after`` does.

    For tests about what happens after expiry (a 304, a 500, a body that is not a catalog...). The tests of expiry
    itself wait for real (``test_fetch_cache.test_expiry_refetches``, the cache-age tests).
    """
    from datetime import datetime, timedelta

    from vision_models.http.sessions import _sessions

    for session in list(_sessions.values()):
        session.cache.reset_expiration(datetime.now(UTC) - timedelta(seconds=5))


# ---------------------------------------------------------------- the command line


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``vision-models ARGS`` run in this process through ``main(argv)``, with the test's environment and streams.

    Warnings go to stderr as a process shows them. What a process boundary is
    for (a signal, bytecode, the console script) is tested with :func:`run_cli_process`.
    """
    from vision_models.cli import main

    saved = dict(os.environ)
    os.environ.update(env or {})
    out, err = (io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="") for _ in range(2))  # as a UTF-8 pipe
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = _show_warning  # as a process shows them (pytest's recorder would keep them)
            try:
                status = main(list(args))
            except SystemExit as exit_:  # --help, --version
                status = exit_.code if isinstance(exit_.code, int) else 0
    finally:
        os.environ.clear()
        os.environ.update(saved)
    texts = []
    for stream in (out, err):
        stream.flush()
        texts.append(stream.buffer.getvalue().decode("utf-8"))
    return subprocess.CompletedProcess(["vision-models", *args], status, *texts)


def run_cli_captured(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    """``vision-models ARGS`` in this process, read through pytest's ``capsys``: (status, stdout, stderr).

    For tests that also print or read the streams themselves; warnings on stderr, as in :func:`run_cli`.
    """
    from vision_models.cli import main

    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = _show_warning
        status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def run_cli_process(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """``vision-models ARGS`` in a fresh process (``python -m vision_models.cli``), with the test's environment."""
    return subprocess.run(
        [sys.executable, "-m", "vision_models.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


# ---------------------------------------------------------------- trials against the OpenRouter stand-in

MINI, FLASH, ODD = "openai/gpt-4o-mini", "google/gemini-2.5-flash", "acme/reader-x"
PRICES = {MINI: (1e-5, 4e-5), FLASH: (3e-6, 2.5e-5), ODD: (2e-6, 2e-6)}


def trial_catalog(*extra: dict):
    """The catalog of the test models at ``PRICES``, and any ``extra`` entries."""
    entries = [
        model(m, prompt=f"{p:.10f}", completion=f"{c:.10f}", inputs=("text", "image")) for m, (p, c) in PRICES.items()
    ]
    from vision_models.catalog.frame import models_frame

    return models_frame([*entries, *extra])


def bills() -> dict:
    """How the stand-in bills the test models: at ``PRICES``, 1,000 tokens an image."""
    from openrouter_standin import ModelBill

    return {m: ModelBill(p, c, image_tokens=1000) for m, (p, c) in PRICES.items()}


def make_pages(folder, count=3, size=(400, 300)):
    """``count`` different PNG pages with a line of text each."""
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        image = Image.new("RGB", size, "white")
        ImageDraw.Draw(image).text((20, 20 + 10 * i), f"Page {i} of the test", fill="black")
        path = folder / f"page{i}.png"
        image.save(path)
        paths.append(path)
    return paths


def run_on_standin(standin, catalog, pages, models, **options):
    """``vm.run_trial`` against the stand-in (``max_usd`` 1.0 unless given), with no progress bar."""
    import vision_models as vm

    options.setdefault("max_usd", 1.0)
    return vm.run_trial(pages, models, catalog=catalog, base_url=standin.base_url, progress=False, **options)


def page_requests(standin, model_id=None):
    """The requests the stand-in saw that carried a page (an image), of one model or of all."""
    return [r for r in standin.requests if r["images"] and (model_id is None or r["model"] == model_id)]


# ---------------------------------------------------------------- the server


class Running:
    """The app on a waitress server on a free loopback port, in a thread."""

    def __init__(self, **options):
        from vision_models.server.app import create_server, make_app

        self.lines: list[str] = []
        self.app = make_app(log=self.lines.append, **options)
        self.server = create_server(self.app, "127.0.0.1", 0)
        self.port = self.server.effective_port
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

    def request(self, method="GET", path="/api/models", headers=None):
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, headers=headers or {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def get_json(self, path="/api/models"):
        status, headers, body = self.request("GET", path)
        return status, headers, json.loads(body)

    def close(self):
        """Close every channel from inside the server's own loop, which then ends; no fd races."""

        def close_all():
            for dispatcher in list(self.server._map.values()):
                dispatcher.close()

        self.server.trigger.pull_trigger(close_all)
        self.thread.join(timeout=5)
        self.server.task_dispatcher.shutdown()


def upstream_requests(httpserver) -> int:
    """How many catalog requests (``/models``) the loopback upstream has answered."""
    return sum(1 for request, _ in httpserver.log if request.path == "/models")


def stored_rows(path) -> list[dict]:
    """Every row of a trials store's ``rows`` table, as dicts (read directly with sqlite3, not through the code)."""
    import sqlite3

    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM rows")]
    finally:
        conn.close()

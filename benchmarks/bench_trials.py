"""Trial speed against the loopback OpenRouter stand-in (tests/openrouter_standin.py).

1. 200 page x model calls (50 pages loaded beforehand, 4 models), the
   stand-in answering each after 200 ms, at concurrency 8: the ideal is
   200 x 0.2 / 8 = 5 s (target: within 1.3x). The 4 text-only control
   requests and each model's first page (sent alone, for the budget) are in it.
2. Running the finished 200-row trial again from the page files (every row
   cached, nothing sent): target < 1 s.
3. Per-row overhead outside the request (hashing, reservation, storage,
   scoring): a 200-row run against a stand-in that answers at once, at
   concurrency 1, minus the same 200 bare HTTP round trips (target < 5 ms).

Run: ``python benchmarks/bench_trials.py``. CI does not time anything.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from openrouter_standin import ModelBill, StandIn, serve  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402
from timing import interleaved  # noqa: E402

import vision_models as vm  # noqa: E402
from vision_models.catalog.frame import models_frame  # noqa: E402

MODELS = {"openai/gpt-4o-mini": (1.5e-7, 6e-7), "google/gemini-2.5-flash": (3e-7, 2.5e-6),
          "anthropic/claude-sonnet-4": (3e-6, 1.5e-5), "qwen/qwen2.5-vl-72b-instruct": (2.5e-7, 7.5e-7)}  # fmt: skip
KEY = "sk-or-v1-benchmark"


def catalog():
    entries = [
        {"id": m, "name": m, "context_length": 128000, "pricing": {"prompt": f"{p:.10f}", "completion": f"{c:.10f}"},
         "architecture": {"modality": "text+image->text", "input_modalities": ["text", "image"], "output_modalities": ["text"]}}
        for m, (p, c) in MODELS.items()
    ]  # fmt: skip
    return models_frame(entries)


def make_pages(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        image = Image.new("RGB", (850, 1100), "white")
        draw = ImageDraw.Draw(image)
        for line in range(30):
            draw.text(
                (40, 40 + 30 * line),
                f"Page {i}, line {line}: the quick brown fox jumps over the lazy dog",
                fill="black",
            )
        path = folder / f"page{i:03d}.png"
        image.save(path)
        paths.append(path)
    return paths


def trial(standin, base, pages, trials_path, concurrency, truth=None):
    return vm.run_trial(pages, list(MODELS), catalog=catalog(), base_url=base, api_key=KEY, max_usd=50.0,
                        concurrency=concurrency, trials_path=trials_path, progress=False, max_tokens=256, truth=truth)  # fmt: skip


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-trials-"))
    pages = make_pages(work / "pages", 50)  # 50 pages x 4 models = 200 calls
    truth = {p.name: "INVOICE 42 Total: 12.50 EUR" for p in pages}

    from vision_models.trials.pages import load_pages

    start = time.perf_counter()
    loaded = load_pages(pages)
    print(
        f"loading the 50 pages (850x1100 PNG: read, hash, check): {time.perf_counter() - start:.2f} s, not counted below"
    )

    standin = StandIn({m: ModelBill(p, c) for m, (p, c) in MODELS.items()}, latency_s=0.2)
    server, base = serve(standin)
    start = time.perf_counter()
    first = trial(standin, base, loaded, work / "a.sqlite", 8, truth)
    elapsed = time.perf_counter() - start
    ideal = 200 * 0.2 / 8
    counts = first.results["status"].value_counts().to_dict()
    print(f"200 calls, 200 ms each, concurrency 8: {elapsed:.2f} s; ideal {ideal:.1f} s; ratio {elapsed / ideal:.2f}x"
          f" (target <= 1.3x); statuses {counts}; requests sent {first.requests_sent} (200 + 4 controls)")  # fmt: skip

    start = time.perf_counter()
    again = trial(standin, base, pages, work / "a.sqlite", 8, truth)
    resumed = time.perf_counter() - start
    start = time.perf_counter()
    trial(standin, base, loaded, work / "a.sqlite", 8, truth)
    resumed_loaded = time.perf_counter() - start
    print(f"resuming the finished 200-row run, pages loaded from their files: {resumed * 1000:.0f} ms (target < 1000 ms);"
          f" requests sent {again.requests_sent}, statuses {again.results['status'].value_counts().to_dict()}")  # fmt: skip
    print(f"resuming it with the pages already loaded (the trial's own work): {resumed_loaded * 1000:.0f} ms")
    server.shutdown()

    quick = StandIn({m: ModelBill(p, c) for m, (p, c) in MODELS.items()}, latency_s=0.0)
    server, base = serve(quick)
    runs = iter(range(1000))
    session = requests.Session()

    def fresh_run():
        trial(quick, base, loaded, work / f"b{next(runs)}.sqlite", 1, truth)

    def bare_round_trips():
        body = quick.requests[-1]["body"]
        for _ in range(204):
            session.post(f"{base}/chat/completions", json=body, headers={"Authorization": f"Bearer {KEY}"}).json()

    fresh_run()  # warm up; gives a body to replay
    run_s, bare_s = interleaved(fresh_run, bare_round_trips, rounds=5, repeat=1)
    server.shutdown()
    per_row = (run_s - bare_s) / 200 * 1000
    print(f"per-row overhead outside the request: {per_row:.2f} ms (target < 5 ms); 200 rows at concurrency 1 with"
          f" CER/WER and a new store, {run_s:.2f} s, vs the same 204 bare HTTP round trips, {bare_s:.2f} s (medians of 5)")  # fmt: skip


if __name__ == "__main__":
    main()

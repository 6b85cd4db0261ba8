"""Core speed, as ratios measured in one run (machines here are noisy; CI never fails on these).

1. Warm cache: ``fetch_vision_models()`` against ``session.get()`` from the cache plus
   ``json.loads`` of the same body (target: at most 2x).
2. 20,000 models (the real catalog repeated): load + filter + sort from a file against
   ``json.loads`` of that file (target: at most 2x).
3. ``vision-models list`` on a warm cache against ``python -c "import pandas, requests_cache"``
   (target: at most 1.15x wall time).

Run: ``python benchmarks/bench_core.py`` (needs ../shared/catalogs beside the checkout).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import CATALOGS, interleaved, missing

CATALOG = CATALOGS / "openrouter-2026-05-01.json"


def bench_warm_cache(work: Path) -> None:
    from pytest_httpserver import HTTPServer

    import vision_models as vm
    from vision_models.fetch import get_session

    body = CATALOG.read_bytes()
    server = HTTPServer()
    server.expect_request("/models").respond_with_data(body, content_type="application/json")
    server.start()
    try:
        cache = work / "warm.sqlite"
        base = server.url_for("/")
        url = server.url_for("/models")
        vm.fetch_vision_models(base_url=base, cache_path=cache)  # fill the cache
        session = get_session(cache)

        def baseline():
            json.loads(session.get(url).content)

        def ours():
            result = vm.fetch_vision_models(base_url=base, cache_path=cache)
            assert result.cached

        t_base, t_ours = interleaved(baseline, ours, rounds=7, repeat=30)
        print(f"warm cache: get+loads {t_base * 1e3:.2f} ms, fetch_vision_models {t_ours * 1e3:.2f} ms, "
              f"ratio {t_ours / t_base:.2f} (target <= 2)")
    finally:
        server.stop()


def bench_20k(work: Path) -> None:
    import vision_models as vm

    entries = json.loads(CATALOG.read_bytes())["data"]
    copies = -(-20_000 // len(entries))
    big = []
    for k in range(copies):
        for entry in entries:
            big.append({**entry, "id": f"{entry['id']}-{k}"})
    big = big[:20_000]
    path = work / "catalog-20k.json"
    path.write_text(json.dumps({"data": big}))

    def baseline():
        json.loads(path.read_bytes())

    def ours():
        assert vm.fetch_vision_models(path).count > 5_000

    t_base, t_ours = interleaved(baseline, ours, rounds=5, repeat=3)
    print(f"20,000 models from a file ({path.stat().st_size / 1e6:.1f} MB): json.loads {t_base * 1e3:.0f} ms, "
          f"load+filter+sort {t_ours * 1e3:.0f} ms, ratio {t_ours / t_base:.2f} (target <= 2)")


def bench_cli(work: Path) -> None:
    from pytest_httpserver import HTTPServer

    script = shutil.which("vision-models") or str(Path(sys.executable).with_name("vision-models"))
    server = HTTPServer()
    server.expect_request("/models").respond_with_data(CATALOG.read_bytes(), content_type="application/json")
    server.start()
    env = {**os.environ, "VISION_MODELS_CACHE": str(work / "cli.sqlite"), "OPENROUTER_BASE_URL": server.url_for("/")}
    env.pop("VISION_MODELS_SOURCE", None)
    try:
        subprocess.run([script, "list"], env=env, check=True, capture_output=True)  # warm the cache

        def baseline():
            subprocess.run([sys.executable, "-c", "import pandas, requests_cache"], env=env, check=True)

        def ours():
            subprocess.run([script, "list"], env=env, check=True, stdout=subprocess.DEVNULL)

        t_base, t_ours = interleaved(baseline, ours, rounds=5, repeat=4)
        print(f"CLI warm: import pandas+requests_cache {t_base * 1e3:.0f} ms, vision-models list {t_ours * 1e3:.0f} ms, "
              f"ratio {t_ours / t_base:.2f} (target <= 1.15)")
    finally:
        server.stop()


def main() -> int:
    if missing(CATALOG):
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bench_warm_cache(work)
        bench_20k(work)
        bench_cli(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())

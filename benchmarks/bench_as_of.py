"""The catalog as of a date, rebuilt from the history of the 60 real daily catalogs (a report; CI never fails on it).

1. ``fetch_vision_models(as_of=DAY)`` for every archived day and for random
   instants in the period, on a history of the 60 daily catalogs
   (target: every call under 100 ms).
2. For contrast, loading the same day's archived file
   (``fetch_vision_models(FILE)``: read, gunzip, parse, frame), run alternately.
3. The frame built from the stored columns (``history.frame_as_of``, what
   ``as_of`` does) against the old way, OpenRouter's JSON rebuilt from the stored
   rows and parsed again (``models_frame(entries_as_of(...))``), run
   alternately on every archived day; the two frames must be equal.

Run: ``python benchmarks/bench_as_of.py`` (needs ../shared/catalogs/daily beside the checkout).
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from timing import CATALOGS, median_time

DAILY = CATALOGS / "daily"
TARGET_MS = 100


def main() -> int:
    files = sorted(DAILY.glob("openrouter-2026-*.json.gz"))
    if not files:
        print(f"skipped: {DAILY} is absent (the shared catalogs folder must sit beside the checkout)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["VISION_MODELS_HISTORY"] = str(Path(tmp) / "history.sqlite")
        os.environ["VISION_MODELS_CACHE"] = str(Path(tmp) / "http_cache.sqlite")
        import vision_models as vm
        from vision_models.catalog import history

        history.import_files(files)
        days = [f.name[len("openrouter-") : -len(".json.gz")] for f in files]
        start = datetime(2026, 3, 2, tzinfo=UTC)
        rng = random.Random(2026)
        instants = [(start + timedelta(seconds=rng.uniform(0, 61 * 86400))).isoformat() for _ in range(60)]
        vm.fetch_vision_models(as_of=days[0], rules="seed")  # first call pays the imports

        per_call, slowest = {}, 0.0
        for moment in days + instants:
            samples = []
            for _ in range(5):
                began = time.perf_counter()
                vm.fetch_vision_models(as_of=moment, rules="seed")
                samples.append(time.perf_counter() - began)
            per_call[moment], slowest = statistics.median(samples), max(slowest, *samples)
        times_ms = sorted(t * 1000 for t in per_call.values())
        worst = max(per_call, key=per_call.get)
        print(
            f"as_of over {len(files)} daily catalogs, {len(per_call)} dates and instants (median of 5 calls each): "
            f"median {statistics.median(times_ms):.1f} ms, p90 {times_ms[int(0.9 * len(times_ms))]:.1f} ms, "
            f"max {times_ms[-1]:.1f} ms (at {worst}); target < {TARGET_MS} ms: "
            f"{'met' if times_ms[-1] < TARGET_MS else 'NOT met'}; slowest single call {slowest * 1000:.1f} ms"
        )

        day, file = days[30], str(files[30])
        t_history, t_file = [], []
        for _ in range(5):
            t_history.append(median_time(lambda: vm.fetch_vision_models(as_of=day, rules="seed"), 5))
            t_file.append(median_time(lambda: vm.fetch_vision_models(file, rules="seed"), 5))
        h, f = statistics.median(t_history), statistics.median(t_file)
        print(
            f"{day}: from the history {h * 1000:.1f} ms, from the archived file {f * 1000:.1f} ms (ratio {h / f:.2f})"
        )
        count = vm.fetch_vision_models(as_of=day, rules="seed").count
        print(f"({count} vision models that day)")
        compare_with_rebuilt_entries(history, days)
    return 0


def compare_with_rebuilt_entries(history, days: list[str]) -> None:
    """Section 3: direct frame vs rebuilt entries, each day alternately (median of 5), frames checked equal."""
    import pandas as pd

    from vision_models.catalog.frame import models_frame

    def rebuilt(day: str, rules: str, vision_only: bool) -> pd.DataFrame:
        return models_frame(history.entries_as_of(day)[0], rules, vision_only=vision_only)

    def direct(day: str, rules: str, vision_only: bool) -> pd.DataFrame:
        return history.frame_as_of(day, rules, vision_only=vision_only)[0]

    for rules, vision_only in (("seed", True), ("strict", False)):
        t_old, t_new = [], []
        for day in days:
            pd.testing.assert_frame_equal(direct(day, rules, vision_only), rebuilt(day, rules, vision_only))
            t_old.append(median_time(partial(rebuilt, day, rules, vision_only), 5))
            t_new.append(median_time(partial(direct, day, rules, vision_only), 5))
        old, new = statistics.median(t_old), statistics.median(t_new)
        print(
            f"rules={rules}, vision_only={vision_only}, {len(days)} days, frames equal: rebuilt entries "
            f"{old * 1000:.1f} ms, stored columns {new * 1000:.1f} ms (median per day; old/new {old / new:.2f}x)"
        )


if __name__ == "__main__":
    sys.exit(main())

"""What every benchmark shares: where the real catalogs are, and how a time is taken.

Times are medians of repeated runs, and comparisons alternate their two sides
so that drift on a noisy machine hits both alike; the scripts report ratios.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CATALOGS = Path(os.environ.get("VISION_MODELS_SHARED", REPO.parent / "shared")) / "catalogs"


def median_time(fn, repeat: int) -> float:
    """Median seconds of ``repeat`` calls of ``fn``."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def interleaved(a, b, rounds: int, repeat: int) -> tuple[float, float]:
    """Median of per-round medians of ``a`` and ``b``, run alternately."""
    ta, tb = [], []
    for _ in range(rounds):
        ta.append(median_time(a, repeat))
        tb.append(median_time(b, repeat))
    return statistics.median(ta), statistics.median(tb)


def missing(path: Path) -> bool:
    """True, after saying so, when a real catalog the benchmark needs is absent."""
    if path.exists():
        return False
    print(f"skipped: {path} is absent (the shared catalogs folder must sit beside the checkout)")
    return True

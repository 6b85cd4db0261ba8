"""History speed and size on the 60 real daily catalogs (a report, not a timed test; CI never fails on it).

1. Import of the 60 daily catalogs into a new history file, against reading,
   decompressing and ``json.loads``-ing the same files (target: under 10 s).
2. ``catalog_changes()`` over the whole period (target: under 200 ms).
3. ``price_history()`` for 10 models over the whole period (target: under 50 ms).
4. The history file's size (target: under 5 MB).

Run: ``python benchmarks/bench_history.py`` (needs ../shared/catalogs/daily beside the checkout).
"""

from __future__ import annotations

import gzip
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from timing import CATALOGS, median_time

DAILY = CATALOGS / "daily"
PRICE_IDS = [
    "openai/gpt-4o-mini",
    "google/gemini-2.5-flash",
    "anthropic/claude-sonnet-4",
    "openai/gpt-4o",
    "meta-llama/llama-3.2-3b-instruct",
    "z-ai/glm-5",
    "qwen/qwen3.5-35b-a3b",
    "mistralai/mistral-small-3.2-24b-instruct",
    "deepseek/deepseek-chat",
    "x-ai/grok-4",
]


def once(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def ten_ids(db: Path) -> list[str]:
    """The ids of PRICE_IDS that the history holds, topped up to ten from the others."""
    conn = sqlite3.connect(db)
    try:
        tracked = [row[0] for row in conn.execute("SELECT DISTINCT model_id FROM versions ORDER BY model_id")]
    finally:
        conn.close()
    chosen = [i for i in PRICE_IDS if i in set(tracked)]
    return (chosen + [i for i in tracked if i not in chosen])[:10]


def main() -> int:
    files = sorted(DAILY.glob("openrouter-2026-*.json.gz"))
    if not files:
        print(f"skipped: {DAILY} is absent (the shared catalogs folder must sit beside the checkout)")
        return 0

    from vision_models.catalog import history

    def baseline():
        for file in files:
            json.loads(gzip.decompress(file.read_bytes()))

    with tempfile.TemporaryDirectory() as tmp:
        imports = []
        for attempt in range(3):  # a new file each time: the first import is what users wait for
            db = Path(tmp) / f"history-{attempt}.sqlite"
            imports.append(once(lambda db=db: history.import_files(files, path=db)))
        t_import, t_json = statistics.median(imports), median_time(baseline, 3)
        print(
            f"import {len(files)} daily catalogs: {t_import:.2f} s (read+gunzip+json.loads alone {t_json:.2f} s, "
            f"ratio {t_import / t_json:.1f}); target < 10 s, {t_import / 10:.2f} of it"
        )

        mixed = files[:]
        random.Random(2026).shuffle(mixed)
        shuffled = once(lambda: history.import_files(mixed, path=Path(tmp) / "shuffled.sqlite"))
        print(f"import in a shuffled order (every insert between two neighbours): {shuffled:.2f} s")

        again = once(lambda: history.import_files(files, path=db))
        print(f"re-import of the same files (all 'already imported'): {again:.2f} s")

        t_changes = median_time(lambda: history.catalog_changes(path=db), 20)
        changes = history.catalog_changes(path=db)
        print(
            f"catalog_changes, whole period ({len(changes)} rows): {t_changes * 1e3:.1f} ms; "
            f"target < 200 ms, {t_changes / 0.2:.2f} of it"
        )

        ids = ten_ids(db)
        t_prices = median_time(lambda: history.price_history(ids, path=db), 20)
        rows = len(history.price_history(ids, path=db))
        print(
            f"price_history, {len(ids)} models ({rows} rows): {t_prices * 1e3:.1f} ms; "
            f"target < 50 ms, {t_prices / 0.05:.2f} of it"
        )

        info = history.history_info(db)
        print(
            f"history file: {info.size_bytes / 1e6:.2f} MB ({info.size_bytes} bytes), {info.snapshots} snapshots, "
            f"{info.models_tracked} models, {info.attribute_rows} attribute rows; target < 5 MB, "
            f"{info.size_bytes / 5e6:.3f} of it"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Speed of the evidence a trial adds: field scoring and bootstrap intervals.

1. Scoring 1,000 extraction answers (raw JSON text: parsed, checked against the schema, scored), each with
   20 top-level fields (numbers, dates, strings) and 10 line items of 4 fields, shuffled and with a few
   values written differently or wrong: target < 2 s.
2. Bootstrap intervals: 1,000 resamples over 500 pages for 10 models: target < 2 s.

Run: ``python benchmarks/bench_evidence.py``. CI does not time anything.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import median_time  # noqa: E402

from vision_models.trials.extraction import score_answer  # noqa: E402
from vision_models.trials.stats import bootstrap_means  # noqa: E402


def documents(count: int, seed: int = 0) -> list[tuple[str, dict, dict]]:
    """(answer text, truth, schema) for ``count`` synthetic invoices."""
    rng = random.Random(seed)
    item_schema = {"type": "object", "properties": {k: {"type": "string"} for k in ("code", "text")}
                   | {k: {"type": "number"} for k in ("qty", "amount")}}  # fmt: skip
    schema = {"type": "object", "properties": {"items": {"type": "array", "items": item_schema}}}
    out = []
    for n in range(count):
        truth: dict = {}
        for f in range(20):
            kind = f % 3
            truth[f"f{f}"] = (round(rng.uniform(1, 5000), 2) if kind == 0 else
                              f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}" if kind == 1 else
                              f"Value {n} {f} {rng.randint(0, 999)}")  # fmt: skip
        truth["items"] = [{"code": f"C-{n}-{i}", "text": f"Item {i} of order {n}", "qty": rng.randint(1, 9),
                           "amount": round(rng.uniform(1, 900), 2)} for i in range(10)]  # fmt: skip
        answer = json.loads(json.dumps(truth))
        answer["f0"] = f"£{truth['f0']:,.2f}"  # written differently: right after normalisation
        answer["f1"] = "12 March 2026"  # most likely wrong
        answer["f2"] = answer["f2"].upper()
        rng.shuffle(answer["items"])
        answer["items"][0]["amount"] = answer["items"][0]["amount"] + 1  # wrong
        out.append((json.dumps(answer), truth, schema))
    return out


def main() -> None:
    docs = documents(1000)
    scoring = median_time(lambda: [score_answer(t, truth, schema=s) for t, truth, s in docs], repeat=3)
    fields = score_answer(*docs[0][:2])[1].fields_total
    print(f"score 1,000 answers ({fields} fields each, 10 line items): {scoring:.3f} s (target < 2 s)")
    values = np.random.default_rng(0).uniform(0, 0.3, (500, 10))
    values[np.random.default_rng(1).random((500, 10)) < 0.05] = np.nan  # a few pages a model did not read
    boot = median_time(lambda: bootstrap_means(values, resamples=1000), repeat=5)
    print(f"bootstrap 1,000 resamples x 500 pages x 10 models: {boot:.3f} s (target < 2 s)")


if __name__ == "__main__":
    main()

"""Cost per image on the whole 2026-05-01 vision set (target: under 50 ms), and family coverage.

Run: ``python benchmarks/bench_cost.py`` (needs ../shared/catalogs beside the checkout).
"""

from __future__ import annotations

import statistics
import sys
import time

from timing import CATALOGS, missing

CATALOG = CATALOGS / "openrouter-2026-05-01.json"


def main() -> int:
    if missing(CATALOG):
        return 0
    import vision_models as vm
    from vision_models.pricing.cost import cost_coverage

    models = vm.fetch_vision_models(CATALOG).models
    start = time.perf_counter()
    costs = vm.cost_per_image(models, preset="letter-200dpi", prompt_tokens=60, output_tokens=700)
    first = time.perf_counter() - start
    samples = []
    for _ in range(50):
        start = time.perf_counter()
        vm.cost_per_image(models, preset="letter-200dpi", prompt_tokens=60, output_tokens=700)
        samples.append(time.perf_counter() - start)
    print(
        f"cost_per_image on {len(models)} vision models: first call {first * 1e3:.1f} ms, "
        f"then median {statistics.median(samples) * 1e3:.1f} ms (target < 50 ms)"
    )
    by_method = costs["method"].value_counts()
    print(f"coverage: {cost_coverage(costs):.1%} priced by a family rule or a listed price (target >= 85%)")
    print(
        f"  fallback: {int(by_method.get('fallback', 0))} models: "
        + ", ".join(costs.loc[costs["method"] == "fallback", "id"])
    )
    print(f"  uncertain estimates: {int(costs['uncertain'].sum())} of {len(costs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

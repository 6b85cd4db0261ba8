"""Bootstrap intervals, paired comparisons and pages needed, on frames built by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vision_models.trials.stats import bootstrap_means, compare_models, intervals, pages_needed


def frame(values: dict[str, list[float]], *, column: str = "cer", usd: float = 0.001) -> pd.DataFrame:
    """A results frame: one row per (page, model), ``column`` from ``values``, every row answered."""
    rows = []
    for model, scores in values.items():
        for i, score in enumerate(scores):
            rows.append({"page": f"p{i}", "model": model, "status": "ok", "error": None, column: score,
                         "billed_usd": usd})  # fmt: skip
    return pd.DataFrame(rows)


def test_intervals_contain_the_mean_and_shrink_as_pages_grow():
    rng = np.random.default_rng(3)
    widths = []
    for pages in (10, 40, 160, 640):
        values = rng.uniform(0.0, 0.4, pages)
        low, high, count = bootstrap_means(values)
        assert low[0] <= values.mean() <= high[0]
        assert count[0] == pages
        widths.append(high[0] - low[0])
    assert widths == sorted(widths, reverse=True)
    # The width falls like 1 / sqrt(pages): 64 times the pages, about an eighth of the width.
    assert widths[-1] / widths[0] == pytest.approx(1 / 8, rel=0.35)


def test_intervals_are_reproducible_and_seeded():
    values = np.linspace(0, 1, 50)
    assert bootstrap_means(values, seed=1)[0] == bootstrap_means(values, seed=1)[0]
    assert bootstrap_means(values, seed=1)[0] != bootstrap_means(values, seed=2)[0]


def test_a_constant_column_has_a_zero_width_interval_and_one_page_none():
    low, high, _ = bootstrap_means(np.array([[0.2, 0.5]] * 5))
    assert low.tolist() == pytest.approx([0.2, 0.5]) and high.tolist() == pytest.approx([0.2, 0.5])
    low, high, count = bootstrap_means(np.array([[0.2, np.nan], [0.3, np.nan], [0.4, 0.1]]))
    assert count.tolist() == [3, 1] and np.isnan(low[1]) and not np.isnan(low[0])


def test_the_interval_matches_a_plain_loop_bootstrap():
    # An independent, slow computation of the same percentile bootstrap with the same draws.
    values = np.array([0.1, 0.5, 0.2, 0.9, 0.3, 0.3, 0.0, 0.7])
    rng = np.random.default_rng(0)
    draws = rng.integers(0, len(values), size=(1000, len(values)))
    means = [values[d].mean() for d in draws]
    low, high, _ = bootstrap_means(values)
    assert (low[0], high[0]) == pytest.approx((np.percentile(means, 2.5), np.percentile(means, 97.5)))


def test_intervals_per_model_from_a_results_frame():
    results = frame({"a": [0.1, 0.2, 0.3, 0.4], "b": [0.0, 0.0, 0.0, 0.0]})
    table = intervals(results, "cer", ["a", "b"])
    assert table.loc["b", "low"] == table.loc["b", "high"] == 0.0
    assert table.loc["a", "low"] <= 0.25 <= table.loc["a", "high"] and table.loc["a", "pages"] == 4


def test_compare_models_gives_the_paired_difference_and_a_sentence():
    a = [0.10, 0.20, 0.30, 0.15, 0.25, 0.05, 0.12, 0.18, 0.22, 0.08]
    b = [x - 0.012 for x in a]  # b is 1.2 points of CER better on every page
    table = compare_models(frame({"a": a, "b": b}), "a", "b").set_index("metric")
    row = table.loc["cer"]
    assert row["pages"] == 10
    assert row["difference"] == pytest.approx(-0.012)
    assert row["ci_low"] == pytest.approx(-0.012) and row["ci_high"] == pytest.approx(-0.012)
    assert row["sentence"] == "b reads 1.2 points of CER better than a, 95% interval 1.2 to 1.2, on 10 pages"
    worse = compare_models(frame({"a": a, "b": b}), "b", "a").set_index("metric").loc["cer", "sentence"]
    assert worse.startswith("a reads 1.2 points of CER worse than b")


def test_compare_models_says_when_the_interval_holds_zero():
    table = compare_models(frame({"a": [0.1, 0.3, 0.2, 0.4], "b": [0.3, 0.1, 0.4, 0.2]}), "a", "b")
    assert table.set_index("metric").loc["cer", "sentence"].endswith("(not distinguishable)")
    with pytest.raises(ValueError, match="model 'c' is not in the trial"):
        compare_models(frame({"a": [0.1], "b": [0.2]}), "a", "c")


def test_pages_needed_follows_the_paired_normal_formula():
    # Differences b - a alternate +0.02 / -0.02 around 0: sd = 0.02 x sqrt(n / (n - 1)) with n = 10.
    a = [0.2] * 10
    b = [0.2 + (0.02 if i % 2 else -0.02) for i in range(10)]
    sd = 0.02 * np.sqrt(10 / 9)
    z = 1.959963984540054 + 0.8416212335729143  # z(0.975) + z(0.8)
    expected = int(np.ceil((z * sd / 0.01) ** 2))
    assert pages_needed(frame({"a": a, "b": b}), "a", "b", margin=0.01) == expected == 35
    with pytest.raises(ValueError, match="margin must be a positive number"):
        pages_needed(frame({"a": a, "b": b}), "a", "b", margin=0)

"""The evidence charts: intervals on cost against accuracy, and the per-page heatmap."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import vision_models as vm  # noqa: E402


def summary_with_intervals() -> pd.DataFrame:
    return pd.DataFrame({
        "model": ["a", "b"], "pages_ok": [10, 10], "usd_per_1k_pages": [1.0, 3.0], "usd_per_page": [0.001, 0.003],
        "cer_mean": [0.10, 0.02], "cer_ci_low": [0.06, 0.01], "cer_ci_high": [0.20, 0.03],
        "usd_per_page_ci_low": [0.0008, 0.0025], "usd_per_page_ci_high": [0.0012, 0.0036],
    })  # fmt: skip


def test_cost_vs_accuracy_draws_intervals_both_ways_and_keeps_them_in_view():
    fig, ax = plt.subplots()
    vm.plot_cost_vs_accuracy(summary_with_intervals(), ax=ax)
    [bars] = [c for c in ax.containers if type(c).__name__ == "ErrorbarContainer"]
    assert bars.has_xerr and bars.has_yerr
    # The vertical bar of a: from 0.06 to 0.20; the horizontal one of b: $2.5 to $3.6 per 1,000 pages.
    segments = [seg for collection in bars.lines[2] for seg in collection.get_segments()]
    spans = {(round(s[0][0], 6), round(s[1][0], 6), round(s[0][1], 6), round(s[1][1], 6)) for s in segments}
    assert (1.0, 1.0, 0.06, 0.2) in spans and (2.5, 3.6, 0.02, 0.02) in spans
    assert ax.get_ylim()[1] >= 0.20
    plt.close(fig)


def test_the_heatmap_has_a_cell_per_model_and_page_and_leaves_failures_blank(tmp_path):
    results = pd.DataFrame({
        "page": ["p1", "p2", "p1", "p2"], "model": ["a", "a", "b", "b"], "status": ["ok", "ok", "ok", "error"],
        "error": [None, None, None, "500: upstream"], "cer": [0.1, 0.5, 0.0, np.nan],
    })  # fmt: skip
    fig, ax = plt.subplots()
    assert vm.plot_page_heatmap(results, ax=ax) is ax
    data = ax.images[0].get_array()
    assert data.shape == (2, 2)
    assert [t.get_text() for t in ax.texts] == ["0.10", "0.50", "0.00"]  # b's failed p2 is blank
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    fig.savefig(tmp_path / "heatmap.png")
    with pytest.raises(ValueError, match="metric must be 'cer' or 'field_accuracy', not 'wer'"):
        vm.plot_page_heatmap(results, metric="wer", ax=ax)
    plt.close(fig)

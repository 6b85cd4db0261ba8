"""The trial charts: cost against accuracy (Pareto front) and estimate against bill."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import vision_models as vm  # noqa: E402
from vision_models.charts import accuracy_front  # noqa: E402
from vision_models.trials import SUMMARY_COLUMNS  # noqa: E402


def summary(rows):
    """A per-model summary as Trial.summary() gives it, from (model, $/1k pages, estimated $/page, CER)."""
    records = []
    for model_id, per_1k, estimated, cer in rows:
        usd = per_1k / 1000
        records.append({"model": model_id, "pages_ok": 3, "pages_failed": 0, "pages_skipped": 0, "usd_per_page": usd,
                        "usd_per_1k_pages": per_1k, "estimated_usd_per_page": estimated,
                        "estimate_ratio": estimated / usd if usd else np.nan, "estimated_image_tokens": np.nan,
                        "measured_image_tokens": np.nan, "latency_p50_s": 1.0, "latency_p95_s": 2.0, "cer_mean": cer,
                        "wer_mean": cer * 2})  # fmt: skip
    return pd.DataFrame(records, columns=list(SUMMARY_COLUMNS))


ROWS = [
    ("tesseract", 0.0, 0.0, 0.12),
    ("openai/gpt-4o-mini", 2.0, 0.0012, 0.05),
    ("google/gemini-2.5-flash", 1.0, 0.0008, 0.03),  # cheaper and better than gpt-4o-mini
    ("anthropic/claude-sonnet-4", 9.0, 0.012, 0.01),
    ("$mystery$/model", 12.0, 0.002, 0.02),  # dominated by claude; a name with $ signs is shown literally
]


def test_the_front_is_the_models_nothing_beats():
    front = accuracy_front(summary(ROWS))
    # By hand: tesseract (free), gemini (better than tesseract), claude (best CER); gpt-4o-mini and the
    # $mystery$ model each have a cheaper, better rival.
    assert front["model"].tolist() == ["tesseract", "google/gemini-2.5-flash", "anthropic/claude-sonnet-4"]


def test_cost_vs_accuracy_draws_every_model_and_labels_them(tmp_path):
    fig, ax = plt.subplots()
    assert vm.plot_cost_vs_accuracy(summary(ROWS), ax=ax) is ax
    labels = [t.get_text() for t in ax.texts]
    assert sorted(labels) == sorted(r[0] for r in ROWS)
    offsets = np.concatenate([c.get_offsets() for c in ax.collections])
    assert len(offsets) == 5
    fig.savefig(tmp_path / "accuracy.png")
    plt.close(fig)


def test_estimate_vs_billed_leaves_out_free_models_and_says_so(tmp_path):
    fig, ax = plt.subplots()
    vm.plot_estimate_vs_billed(summary(ROWS), ax=ax)
    assert "1 model(s) free" in ax.get_title()
    labels = {t.get_text() for t in ax.texts}
    # estimate / billed, by hand: gpt-4o-mini 0.0012 / 0.002 = 0.60; claude 0.012 / 0.009 = 1.33.
    assert "openai/gpt-4o-mini (0.60x)" in labels and "anthropic/claude-sonnet-4 (1.33x)" in labels
    plt.close(fig)


def test_charts_refuse_what_they_cannot_draw():
    no_truth = summary(ROWS).assign(cer_mean=np.nan)
    with pytest.raises(ValueError, match="truth="):
        vm.plot_cost_vs_accuracy(no_truth)
    with pytest.raises(ValueError, match="not a trial"):
        vm.plot_cost_vs_accuracy(pd.DataFrame({"x": [1]}))
    with pytest.raises(ValueError, match="estimate and a bill"):
        vm.plot_estimate_vs_billed(summary([("tesseract", 0.0, 0.0, 0.1)]))

"""The trial charts: cost against accuracy (Pareto front) and estimate against bill."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import vision_models as vm  # noqa: E402
from vision_models.present.charts import accuracy_front  # noqa: E402
from vision_models.trials.results import SUMMARY_COLUMNS  # noqa: E402


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
    assert ax.get_title().endswith("; 1 model free or without a bill not shown")
    labels = {t.get_text() for t in ax.texts}
    # estimate / billed, by hand: gpt-4o-mini 0.0012 / 0.002 = 0.60; claude 0.012 / 0.009 = 1.33.
    assert "openai/gpt-4o-mini (0.60x)" in labels and "anthropic/claude-sonnet-4 (1.33x)" in labels
    plt.close(fig)


def test_charts_say_why_they_have_nothing_to_draw_and_refuse_what_is_no_trial(tmp_path):
    no_truth = summary(ROWS).assign(cer_mean=np.nan)
    ax = vm.plot_cost_vs_accuracy(no_truth)  # a notebook cell goes on: the axes say why they are empty
    assert not ax.collections and "run the trial with truth=" in ax.texts[0].get_text().replace("\n", " ")
    free_only = vm.plot_estimate_vs_billed(summary([("tesseract", 0.0, 0.0, 0.1)]))
    assert not free_only.collections and "an estimate and a bill" in free_only.texts[0].get_text().replace("\n", " ")
    free_only.figure.savefig(tmp_path / "empty.png")
    with pytest.raises(ValueError, match="not a trial"):
        vm.plot_cost_vs_accuracy(pd.DataFrame({"x": [1]}))


def visible_ticks(axis) -> list[str]:
    """The tick labels inside the axis' view (a locator also labels ticks just outside it)."""
    low, high = sorted(axis.get_view_interval())
    return [label.get_text() for tick, label in zip(axis.get_majorticklocs(), axis.get_majorticklabels())
            if low <= tick <= high and label.get_text()]  # fmt: skip


def test_cost_axis_reads_in_dollars_and_goes_logarithmic_past_two_decades(tmp_path):
    # ROWS cost $1 to $12 per 1,000 pages (1.1 decades): linear. WIDE runs from $0.05 to $45 (2.95 decades).
    wide = [("tesseract", 0.0, 0.0, 0.12), ("a/cheap", 0.05, 0.00004, 0.06), ("b/mid", 1.2, 0.001, 0.03),
            ("c/dear", 45.0, 0.05, 0.01)]  # fmt: skip
    for rows, scale in ((ROWS, "linear"), (wide, "symlog")):
        fig, ax = plt.subplots()
        vm.plot_cost_vs_accuracy(summary(rows), ax=ax)
        fig.savefig(tmp_path / "accuracy.png")
        assert ax.get_xscale() == scale
        ticks = visible_ticks(ax.xaxis)
        assert len(ticks) >= 3 and all(t.startswith("$") for t in ticks) and "$0" in ticks, ticks
        plt.close(fig)
    assert vm.plot_cost_vs_accuracy(summary(ROWS)).get_title() == "Cost against accuracy, measured on up to 3 pages"
    fig, ax = plt.subplots()
    vm.plot_estimate_vs_billed(summary(ROWS), ax=ax)
    fig.savefig(tmp_path / "estimate.png")
    for axis in (ax.xaxis, ax.yaxis):
        ticks = visible_ticks(axis)
        assert ticks and all(t.startswith("$") for t in ticks), ticks
    plt.close("all")

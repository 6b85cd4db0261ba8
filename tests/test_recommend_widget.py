"""The targets control without a browser: set ``.value`` on its boxes, read ``recommendation``.

The results frames are built by hand; which model each target picks is worked out in the comments from the
rule of :func:`vision_models.recommend`: the cheapest by USD per 1,000 successful pages whose interval meets
every target (a bootstrap mean lies between the smallest and the largest per-page value).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import vision_models as vm  # noqa: E402
from vision_models.present.recommend_widget import RecommendTargets  # noqa: E402


def frame(spec: dict[str, tuple[list[float], float]], *, fields: dict[str, list[float]] | None = None):
    """Per model, its pages' CER and each row's bill; ``fields`` adds per-page field accuracy."""
    rows = []
    for name, (cers, usd) in spec.items():
        for i, value in enumerate(cers):
            row = {"page": f"p{i:02d}", "model": name, "status": "ok", "error": None, "text": "INVOICE 42",
                   "finish_reason": "stop", "billed_usd": usd, "cer": value}  # fmt: skip
            if fields is not None:
                row["field_accuracy"] = fields[name][i]
                row["critical_ok"] = pd.NA  # a real frame has it beside field_accuracy
            rows.append(row)
    return pd.DataFrame(rows)


#: cheap: every page at 5% CER, $1 per 1,000 pages ($0.001 x 20 / 20 x 1,000); mid: every page at 1%, $2;
#: dear: every page read perfectly, $10.
THREE = {"cheap": ([0.05] * 20, 0.001), "mid": ([0.01] * 20, 0.002), "dear": ([0.0] * 20, 0.010)}


def test_the_recommendation_follows_the_cer_and_budget_boxes():
    box = RecommendTargets(frame(THREE))
    assert box.recommendation.model == "cheap"  # no CER target: the cheapest that succeeds
    box.max_cer.value = "0.02"  # cheap's 5% misses it; mid's 1% meets it
    assert box.recommendation.model == "mid"
    assert box.recommendation.targets["max_cer"] == 0.02
    assert "Use mid" in box.justification.value
    box.max_cer.value = "0.005"  # only dear's 0% is under 0.5%
    assert box.recommendation.model == "dear"
    box.budget.value = "5"  # dear costs $10 per 1,000 successful pages: nothing qualifies
    assert box.recommendation.model is None
    verdicts = dict(zip(box.recommendation.table["model"], box.recommendation.table["verdict"]))
    assert verdicts["dear"] == "too dear" and verdicts["cheap"] == "target missed"
    box.budget.value = ""
    box.max_cer.value = ""
    assert box.recommendation.model == "cheap"
    assert "<table" in box.table.value and "cer_ci_high" in box.table.value
    assert "field_accuracy_mean" not in box.table.value  # the trial has no field scores


def test_success_rate_slider_drops_a_model_that_fails_pages():
    results = frame(THREE)
    failed = results.index[results["model"].eq("cheap")][:2]
    results.loc[failed, "finish_reason"] = "length"  # 2 of cheap's 20 pages truncated: 90% success
    box = RecommendTargets(results, min_success_rate=0.85)
    assert box.recommendation.model == "cheap"
    box.min_success_rate.value = 0.95
    assert box.recommendation.model == "mid"
    assert dict(zip(box.recommendation.table["model"], box.recommendation.table["verdict"]))["cheap"] == "failures"


def test_a_higher_confidence_asks_for_more_pages_before_a_model_qualifies():
    # cheap: 2 of 20 pages at 10% CER, the rest read perfectly (mean 1%). A bootstrap mean is 0.1 x X / 20 with
    # X ~ Binomial(20, 0.1) pages at 10% drawn; from a binomial table P(X <= 4) = 0.957, P(X <= 5) = 0.989,
    # P(X <= 6) = 0.998. At 95% the upper bound is the 97.5th percentile: X = 5, 2.5%, under a 2.8% target. At
    # 99% it is the 99.5th: X = 6, 3.0%, over it (the lower bound is under it): not enough pages to be sure.
    results = frame({"cheap": ([0.1] * 2 + [0.0] * 18, 0.001), "dear": ([0.0] * 20, 0.010)})
    box = RecommendTargets(results, max_cer=0.028)
    assert box.confidence_level.value == 0.95 and box.confidence_level in box.widget.children[0].children
    assert box.recommendation.model == "cheap"
    box.confidence_level.value = 0.99
    assert box.recommendation.model == "dear"
    assert verdict_of(box, "cheap") == "not enough pages to be sure"
    assert box.recommendation.targets["confidence"] == 0.99
    assert [label for label, _ in RecommendTargets(results, confidence=0.975).confidence_level.options] == [
        "80%",
        "90%",
        "95%",
        "97.5%",
        "99%",
    ]
    with pytest.raises(ValueError, match="bad confidence 1.5: expected a number above 0 and below 1"):
        RecommendTargets(results, confidence=1.5)


def verdict_of(box, model: str) -> str:
    table = box.recommendation.table
    return dict(zip(table["model"], table["verdict"]))[model]


def test_field_accuracy_box_only_when_the_trial_has_field_scores():
    fields = {"cheap": [0.5] * 20, "mid": [1.0] * 20, "dear": [1.0] * 20}
    box = RecommendTargets(frame(THREE, fields=fields))
    assert box.min_field_accuracy in box.widget.children[0].children
    box.min_field_accuracy.value = "0.9"  # cheap reads half the fields; mid all of them
    assert box.recommendation.model == "mid"
    assert "field_accuracy_ci_low" in box.table.value
    plain = RecommendTargets(frame(THREE))
    assert plain.min_field_accuracy not in plain.widget.children[0].children
    plain.min_field_accuracy.value = "0.9"  # not offered: not a target
    assert plain.recommendation.model == "cheap"


@pytest.mark.parametrize(
    ("box", "text", "message"),
    [
        ("max_cer", "two", "Max CER (0-1): expected a fraction between 0 and 1, got &#x27;two&#x27;"),
        ("max_cer", "1.5", "got &#x27;1.5&#x27;"),
        ("budget", "-1", "Budget $/1k pages: expected USD, a number &gt;= 0, got &#x27;-1&#x27;"),
        ("budget", "inf", "got &#x27;inf&#x27;"),
    ],
)
def test_an_unreadable_box_is_a_message_and_no_recommendation(box, text, message):
    targets = RecommendTargets(frame(THREE))
    getattr(targets, box).value = text
    assert targets.recommendation is None
    assert message in targets.justification.value and targets.table.value == ""
    getattr(targets, box).value = ""
    assert targets.recommendation.model == "cheap"


def test_a_trial_without_truth_hides_the_cer_box_and_recommends_on_cost():
    results = frame(THREE).drop(columns="cer")
    box = RecommendTargets(results, max_cer=0.02)  # a CER target the trial cannot measure is not offered
    assert box.max_cer not in box.widget.children[0].children
    assert box.recommendation.model == "cheap"
    assert "cer_mean" not in box.table.value


def test_model_names_are_escaped():
    hostile = "<script>alert(1)</script>"
    box = RecommendTargets(frame({hostile: ([0.01] * 20, 0.001), "mid": ([0.01] * 20, 0.002)}), max_cer=0.02)
    assert box.recommendation.model == hostile
    shown = box.static_html() + box._repr_mimebundle_()["text/html"]
    assert "<script>" not in shown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in box.table.value
    assert "&lt;script&gt;" in box.justification.value
    assert 'class="' in box.justification.value and "tex2jax_ignore" in box.justification.value


def test_exported_as_vm_widgets_and_rejects_a_non_trial():
    assert vm.widgets.RecommendTargets is RecommendTargets
    with pytest.raises(TypeError, match="trial must be a Trial or its results frame, not list"):
        RecommendTargets([])

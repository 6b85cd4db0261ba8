"""Whether a page's request fits each model: context, maximum output, and a reasoning model's allowance."""

from __future__ import annotations

import json

import pytest
from factories import model, shared_catalog

from vision_models.catalog.feasibility import feasibility, reasons_before_answering
from vision_models.catalog.frame import models_frame

VISION = ("text", "image")


def _models():
    limits = {"context_length": 8192, "max_completion_tokens": 1024}
    return models_frame(
        [
            model("acme/plain", inputs=VISION, context_length=8192, top_provider=limits),
            model(
                "acme/thinker",
                inputs=VISION,
                context_length=8192,
                top_provider=limits,
                supported_parameters=["max_tokens", "reasoning", "include_reasoning"],
            ),  # fmt: skip
            model("acme/unknown", inputs=VISION, context_length=None, top_provider={}),
        ]
    ).set_index("id", drop=False)


def test_a_request_that_fits_and_the_reasoning_allowance_that_breaks_it():
    models = _models()
    assert reasons_before_answering(models).tolist() == [False, True, False]
    # 7,000 image tokens + 100 instruction + 700 answer = 7,800 <= 8,192; the answer 700 <= 1,024.
    plain = feasibility(models, 7000, prompt_tokens=100, output_tokens=700)
    assert plain["feasible"].all() and plain["infeasible_reason"].isna().all()
    assert plain["tokens_needed"].tolist() == [7800, 7800, 7800]
    # 2,000 reasoning tokens on the model that reasons: 9,800 > 8,192, and 2,700 > 1,024 of output.
    reasoned = feasibility(models, 7000, prompt_tokens=100, output_tokens=700, reasoning_tokens=2000)
    assert reasoned["feasible"].tolist() == [True, False, True]
    assert reasoned.loc["acme/thinker", "infeasible_reason"] == (
        "needs 9,800 tokens; context 8,192 / answer 700 + 2,000 reasoning tokens; max output 1,024"
    )
    assert reasoned["reasoning_tokens"].tolist() == [0, 2000, 0]


def test_unknown_limits_are_not_checked_and_per_model_image_tokens_line_up():
    models = _models()
    checked = feasibility(models, models["id"].map({"acme/plain": 9000, "acme/thinker": 10, "acme/unknown": 10**6}))
    assert checked["feasible"].tolist() == [False, True, True]  # acme/unknown lists no limit
    assert checked.loc["acme/plain", "infeasible_reason"] == "needs 9,000 tokens; context 8,192"


@pytest.mark.parametrize("bad", [-1, 1.5, True, "700"])
def test_bad_token_counts_are_named(bad):
    with pytest.raises(ValueError, match=r"bad output_tokens .*: expected a whole number of tokens >= 0"):
        feasibility(_models(), 100, output_tokens=bad)


def test_the_2026_05_01_catalog_with_a_large_reasoning_allowance():
    raw = json.loads(shared_catalog("openrouter-2026-05-01.json").read_text())["data"]
    models = models_frame(raw, vision_only=True)
    result = feasibility(models, 1500, prompt_tokens=60, output_tokens=700, reasoning_tokens=40_000).set_index("id")
    # From the catalog file itself: vision models that list a reasoning parameter and whose top provider's
    # maximum output is under 40,700 tokens cannot give the answer after reasoning.
    expected = {
        m["id"]
        for m in raw
        if "image" in m["architecture"]["input_modalities"]
        and {"reasoning", "include_reasoning"} & set(m.get("supported_parameters") or [])
        and ((m.get("top_provider") or {}).get("max_completion_tokens") or 10**9) < 40_700
    }
    too_short = set(result.index[result["infeasible_reason"].fillna("").str.contains("max output")])
    assert expected and too_short == expected
    assert result.loc["bytedance/ui-tars-1.5-7b", "feasible"]  # it does not reason: 700 <= 2,048

"""The whole bill of a page: reasoning allowance, fees, ranges where sources disagree (docs/cost-evidence.md)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from factories import model, shared_catalog

from vision_models.catalog.frame import models_frame
from vision_models.pricing.fees import cache_saving, searches_every_request, web_search_fee
from vision_models.pricing.ranges import find_range, token_range
from vision_models.pricing.reasoning import (
    REASONING_TOKENS_PER_PAGE,
    check_effort,
    reasoning_allowance,
    reasoning_price,
    reasons,
)

PAGE = (1700, 2200)


def frame(*entries: dict) -> pd.DataFrame:
    """The catalog frame of ``entries``, in their order (the frame sorts its rows)."""
    ids = [entry["id"] for entry in entries]
    return models_frame(list(entries)).set_index("id").loc[ids].reset_index()


# --- reasoning ----------------------------------------------------------------------------------------


def test_a_model_reasons_when_its_parameters_say_so():
    models = frame(
        model("a/thinks", supported_parameters=["reasoning", "max_tokens"]),
        model("b/includes", supported_parameters=["include_reasoning"]),
        model("c/plain", supported_parameters=["max_tokens", "temperature"]),
        model("d/unlisted"),
    )
    assert reasons(models).tolist() == [True, True, False, False]
    assert not reasons(pd.DataFrame({"id": ["x/y"]})).any()  # a hand-made frame without the column


def test_reasoning_allowance_default_override_and_measured_median():
    models = frame(
        model("a/thinks", supported_parameters=["reasoning"]),
        model("c/plain", supported_parameters=["max_tokens"]),
    )
    tokens, source = reasoning_allowance(models)  # medium effort by default
    assert tokens.tolist() == [2048.0, 0.0]
    assert source.tolist() == ["default for medium effort", "does not reason"]
    tokens, _ = reasoning_allowance(models, effort="high")
    assert tokens.tolist() == [4096.0, 0.0]
    tokens, source = reasoning_allowance(models, reasoning_tokens=300)
    assert tokens.tolist() == [300.0, 0.0] and source[0] == "given (reasoning_tokens)"
    # A trial's rows (reasoning tokens 100, 900, 500): the median, 500, replaces the default and the override.
    measured = pd.DataFrame({"model": ["a/thinks"] * 3, "reasoning_tokens": [100.0, 900.0, 500.0]})
    tokens, source = reasoning_allowance(models, reasoning_tokens=300, measured=measured)
    assert tokens.tolist() == [500.0, 0.0] and source[0].startswith("measured")


def test_every_effort_has_a_documented_default_growing_with_effort():
    values = [REASONING_TOKENS_PER_PAGE[e] for e in ("none", "minimal", "low", "medium", "high", "xhigh")]
    assert values[0] == 0 and values == sorted(values) and len(set(values)) == len(values)


@pytest.mark.parametrize("bad", ["extreme", "", None, 3])
def test_a_bad_effort_is_a_value_error_naming_it(bad):
    with pytest.raises(ValueError, match="unknown reasoning effort"):
        check_effort(bad)


@pytest.mark.parametrize("bad", [-1, 1.5, "100", True])
def test_bad_reasoning_tokens_is_a_value_error_naming_it(bad):
    models = frame(model("a/thinks", supported_parameters=["reasoning"]))
    with pytest.raises(ValueError, match="bad reasoning_tokens"):
        reasoning_allowance(models, reasoning_tokens=bad)


def test_reasoning_is_priced_at_internal_reasoning_where_listed():
    # perplexity/sonar-deep-research lists internal_reasoning $3/M beside completion $8/M (catalog 2026-05-01).
    models = frame(
        model("p/deep", pricing={"prompt": "0.000002", "completion": "0.000008", "internal_reasoning": "0.000003"}),
        model("p/plain", pricing={"prompt": "0.000002", "completion": "0.000008"}),
    )
    assert reasoning_price(models).tolist() == pytest.approx([3e-6, 8e-6])


# --- fees -----------------------------------------------------------------------------------------------


def test_web_search_is_paid_on_every_request_only_by_models_that_always_search():
    models = frame(
        model("perplexity/sonar", pricing={"prompt": "0.000001", "completion": "0.000001", "web_search": "0.005"}),
        model(
            "perplexity/sonar-pro-search:thinking", pricing={"prompt": "0", "completion": "0", "web_search": "0.018"}
        ),
        model("openai/gpt-4o-search-preview", pricing={"prompt": "0", "completion": "0", "web_search": "0.0275"}),
        model("openai/gpt-5-mini", pricing={"prompt": "0", "completion": "0", "web_search": "0.01"}),  # only if asked
    )
    assert searches_every_request(models).tolist() == [True, True, True, False]
    assert web_search_fee(models).tolist() == [0.005, 0.018, 0.0275, 0.0]


def test_cache_saving_is_the_instruction_at_prompt_minus_cache_read_price():
    # gpt-4o: $2.50/M prompt, $1.25/M cache read (catalog 2026-05-01): a 1,000-token instruction saves
    # 1000 * 1.25e-6 = $0.00125 a page, $1.25 per 1,000 pages. No cache price: NaN, not 0.
    models = frame(
        model(
            "openai/gpt-4o", pricing={"prompt": "0.0000025", "completion": "0.00001", "input_cache_read": "0.00000125"}
        ),
        model("x/no-cache", pricing={"prompt": "0.0000025", "completion": "0.00001"}),
    )
    saving = cache_saving(models, 1000)
    assert saving[0] == pytest.approx(0.00125) and math.isnan(saving[1])
    assert cache_saving(models, 0)[0] == 0.0


# --- ranges ---------------------------------------------------------------------------------------------


def test_gemini_25_range_runs_from_the_billed_flat_258_to_the_guides_tiles():
    # python-genai#1349: gemini-2.5-pro billed 258 at 3840x2160; the guide's tiles: 3072x1728 -> 4*3 tiles = 3096.
    entry = find_range("google/gemini-2.5-pro")
    assert token_range(entry, 3096, 3840, 2160) == (258, 3096)
    # A small image: both sources agree on 258.
    assert token_range(entry, 258, 300, 300) == (258, 258)


def test_gpt54_mini_range_runs_from_the_guides_budget_to_the_billed_2500_patches():
    # 1600x1600: 1,536-patch budget -> 39*39 = 1521 patches * 1.2 -> 1826; 2,500 patches * 1.2 = 3000 (t/1377015).
    entry = find_range("openai/gpt-5.4-mini")
    assert token_range(entry, 3000, 1600, 1600) == (1826, 3000)
    assert find_range("openai/gpt-5.4") is None  # gpt-5.4 itself: the guide and the bill agree on 2,500


def test_gemini_3_flash_lite_range_holds_the_counted_1056_and_the_documented_1120():
    entry = find_range("google/gemini-3.1-flash-lite-preview")
    assert token_range(entry, 1120, *PAGE) == (1056, 1120)
    assert find_range("google/gemini-3-flash-preview") is None


def test_no_range_where_sources_agree():
    assert find_range("openai/gpt-4o") is None
    assert token_range(None, 765, *PAGE) == (765, 765)


def test_the_rules_change_nova_2_on_a_real_catalog():
    # The 2026-05-01 catalog lists amazon/nova-2-lite-v1 at $0.30/M prompt: 230 tokens -> $0.000069 an image.
    data = json.loads(shared_catalog("openrouter-2026-05-01.json").read_text())["data"]
    nova = next(m for m in data if m["id"] == "amazon/nova-2-lite-v1")
    from vision_models.pricing.image_tokens import find_family, image_tokens

    rule = find_family(nova["id"])
    assert image_tokens(rule, *PAGE) * float(nova["pricing"]["prompt"]) == pytest.approx(0.000069)
    assert np.isclose(image_tokens(rule, 1, 1), 230)

"""The whole bill of a page: reasoning allowance, fees, ranges where sources disagree (docs/cost-evidence.md)."""

from __future__ import annotations

import io
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


def test_a_model_that_reasons_only_when_asked_is_priced_without_reasoning_unless_an_effort_is_chosen():
    # Anthropic's extended thinking is off unless the request turns it on (its "Building with extended thinking"
    # guide); a trial without reasoning_effort sends no reasoning parameter, so the bill holds no reasoning tokens.
    models = frame(
        model("anthropic/claude-opus-4", supported_parameters=["reasoning", "include_reasoning"]),
        model("openai/o4-mini", supported_parameters=["reasoning", "include_reasoning"]),
        model("c/plain", supported_parameters=["max_tokens"]),
    )
    tokens, source = reasoning_allowance(models)  # no effort chosen: what each model does unasked
    assert tokens.tolist() == [0.0, 2048.0, 0.0]
    assert source.tolist() == [
        "reasons only when asked: none without reasoning_effort",
        "default for medium effort",
        "does not reason",
    ]
    tokens, _ = reasoning_allowance(models, effort="medium")  # asked: both reason
    assert tokens.tolist() == [2048.0, 2048.0, 0.0]
    tokens, _ = reasoning_allowance(models, reasoning_tokens=500)  # a number given is priced on every reasoner
    assert tokens.tolist() == [500.0, 500.0, 0.0]


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


# --- in the cost table, the chart and the command line ----------------------------------------------------


def _page_models() -> pd.DataFrame:
    return frame(
        # gemini-2.5-flash: $0.30/M prompt, $2.50/M completion (catalog 2026-05-01), reasons.
        model(
            "google/gemini-2.5-flash",
            prompt="0.0000003",
            completion="0.0000025",
            inputs=("text", "image"),
            supported_parameters=["reasoning", "include_reasoning"],
        ),
        model(
            "perplexity/sonar",
            inputs=("text", "image"),
            pricing={"prompt": "0.000001", "completion": "0.000001", "web_search": "0.005"},
        ),
        model(
            "openai/gpt-4o",
            inputs=("text", "image"),
            pricing={"prompt": "0.0000025", "completion": "0.00001", "input_cache_read": "0.00000125"},
        ),
    )


def test_cost_per_image_adds_reasoning_fees_range_and_cache_saving():
    import vision_models as vm

    costs = vm.cost_per_image(_page_models(), *PAGE, prompt_tokens=1000, output_tokens=700, measured=False)
    row = costs.set_index("id")
    flash, sonar, gpt4o = row.loc["google/gemini-2.5-flash"], row.loc["perplexity/sonar"], row.loc["openai/gpt-4o"]
    # gemini-2.5-flash: 2,322 tile tokens (Gemini guide) + 1,000 instruction at $0.30/M; 700 answer + 2,048
    # reasoning (medium effort's default) at $2.50/M: 0.0009966 + 0.00687 = 0.0078666.
    assert flash["reasoning_tokens"] == 2048 and flash["reasoning_usd"] == pytest.approx(2048 * 2.5e-6)
    assert flash["usd_per_image"] == pytest.approx((2322 + 1000) * 0.3e-6 + (700 + 2048) * 2.5e-6)
    # Its range: 258 flat (python-genai#1349) to the 2,322 of the tiles: (2322 - 258) * $0.30/M lower.
    assert (flash["image_tokens_low"], flash["image_tokens_high"]) == (258, 2322)
    assert flash["usd_per_image_low"] == pytest.approx(flash["usd_per_image"] - 2064 * 0.3e-6)
    assert flash["usd_per_image_high"] == pytest.approx(flash["usd_per_image"])
    assert "python-genai/issues/1349" in flash["range_sources"]
    # sonar searches on every request: $0.005 a page on top of its tokens; it does not reason.
    assert sonar["web_search_usd"] == 0.005 and sonar["reasoning_tokens"] == 0
    assert sonar["usd_per_image"] == pytest.approx((4819 + 1000) * 1e-6 + 700 * 1e-6 + 0.005)
    # gpt-4o caches: 1,000 instruction tokens at $2.50 - $1.25 per M -> $1.25 per 1,000 pages, not taken off.
    assert gpt4o["cache_saving_usd_per_1k_images"] == pytest.approx(1.25)
    assert gpt4o["usd_per_image"] == pytest.approx((765 + 1000) * 2.5e-6 + 700 * 1e-5)
    cached = vm.cost_per_image(
        _page_models(), *PAGE, prompt_tokens=1000, output_tokens=700, measured=False, cached_instruction=True
    ).set_index("id")
    assert cached.loc["openai/gpt-4o", "usd_per_image"] == pytest.approx(gpt4o["usd_per_image"] - 0.00125)


def test_reasoning_override_none_effort_and_measurements_replace_the_defaults():
    import vision_models as vm

    models = _page_models()
    given = vm.cost_per_image(models, *PAGE, output_tokens=700, measured=False, reasoning_tokens=100)
    assert given.set_index("id").loc["google/gemini-2.5-flash", "reasoning_tokens"] == 100
    none = vm.cost_per_image(models, *PAGE, output_tokens=700, measured=False, reasoning_effort="none")
    assert (none["reasoning_tokens"] == 0).all()
    # A trial measured the model at this size: 2,000 image tokens, completions (answer and reasoning, as billed)
    # of 400 and 600, reasoning 300 and 500 of them: answer = median 500 - median 400 = 100.
    measured = pd.DataFrame(
        {
            "model": ["google/gemini-2.5-flash"] * 2,
            "width_px": [1700] * 2,
            "height_px": [2200] * 2,
            "pixels": [1700 * 2200] * 2,
            "pages": [1, 1],
            "measured_image_tokens": [2000.0, 2000.0],
            "estimated_image_tokens": [2322.0, 2322.0],
            "estimate_ratio": [1.161, 1.161],
            "completion_tokens": [400.0, 600.0],
            "reasoning_tokens": [300.0, 500.0],
        }
    )
    row = vm.cost_per_image(models, *PAGE, output_tokens=700, measured=measured, prefer_measured=True)
    row = row.set_index("id").loc["google/gemini-2.5-flash"]
    assert (row["output_tokens"], row["reasoning_tokens"]) == (100, 400)
    assert row["reasoning_source"].startswith("measured")
    # The measurement replaces the range: low = high = the measured 2,000 tokens.
    assert (row["image_tokens"], row["image_tokens_low"], row["image_tokens_high"]) == (2000, 2000, 2000)
    assert row["usd_per_image_low"] == row["usd_per_image_high"] == row["usd_per_image"]
    assert row["usd_per_image"] == pytest.approx(2000 * 0.3e-6 + (100 + 400) * 2.5e-6)
    # Without reasoning measured, the measured completion holds it: no allowance on top of the 500.
    row = vm.cost_per_image(models, *PAGE, output_tokens=700, measured=measured.drop(columns="reasoning_tokens"))
    row = row.set_index("id").loc["google/gemini-2.5-flash"]
    assert (row["output_tokens"], row["reasoning_tokens"]) == (500, 0)
    assert row["reasoning_source"] == "inside the measured completion tokens"


def test_the_cost_chart_draws_a_whisker_where_sources_disagree(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import vision_models as vm

    costs = vm.cost_per_image(_page_models(), *PAGE, output_tokens=700, measured=False)
    ax = vm.plot_cost_per_image(costs)
    segments = [c for c in ax.collections if c.__class__.__name__ == "LineCollection"]
    assert len(segments) == 1 and len(segments[0].get_segments()) == 1  # one model with a range: gemini-2.5-flash
    (start, end) = segments[0].get_segments()[0]
    flash = costs.set_index("id").loc["google/gemini-2.5-flash"]
    assert start[0] == pytest.approx(flash["usd_per_image_low"] * 1000)
    assert end[0] == pytest.approx(flash["usd_per_image_high"] * 1000)
    assert "range: sources disagree" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert "reasoning as each model does unasked" in ax.get_title()
    ax.figure.savefig(tmp_path / "cost.png")


def test_the_command_line_takes_reasoning_tokens_and_writes_the_new_columns(tmp_path, capsys):
    from vision_models.cli import main

    source = tmp_path / "catalog.json"
    entries = [
        model("google/gemini-2.5-flash", prompt="0.0000003", completion="0.0000025", inputs=("text", "image"),
              supported_parameters=["reasoning"]),
    ]  # fmt: skip
    source.write_text(json.dumps({"data": entries}))
    args = ["cost", "--source", str(source), "--width", "1700", "--height", "2200", "--output-tokens", "700"]
    assert main([*args, "--reasoning-tokens", "1000", "--format", "csv"]) == 0
    csv = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert csv.loc[0, "reasoning_tokens"] == 1000
    assert {"image_tokens_low", "usd_per_image_high", "web_search_usd", "cache_saving_usd_per_1k_images"} <= set(csv)
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "$/1k range" in out and "where public sources disagree" in out
    assert main([*args, "--reasoning-effort", "extreme"]) == 2  # a usage error, one line, no traceback
    err = capsys.readouterr().err
    assert "extreme" in err and "Traceback" not in err

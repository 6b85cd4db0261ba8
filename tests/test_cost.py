"""Cost per image: hand-computed calls, how a listed image price is read, bad input, real catalogs."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from factories import model, shared_catalog

import vision_models as vm
from vision_models import fetch_vision_models
from vision_models.catalog.api import models_frame
from vision_models.pricing.cost import (
    COST_COLUMNS,
    PRESETS,
    compare,
    cost_coverage,
    get_preset,
    left_out_note,
    price_images,
)

VISION = ("text", "image")


def _costs(*entries, **options):
    options.setdefault("width", 1700)
    options.setdefault("height", 2200)
    width, height = options.pop("width"), options.pop("height")
    return price_images(models_frame(list(entries)), width, height, **options).set_index("id")


def test_gpt4o_letter_page_by_hand():
    costs = _costs(
        model("openai/gpt-4o", prompt="0.0000025", completion="0.00001", inputs=VISION),
        prompt_tokens=60,
        output_tokens=700,
    )
    row = costs.loc["openai/gpt-4o"]
    # 765 image tokens (design note) * $2.50/M = 0.0019125; 60 * $2.50/M = 0.00015; 700 * $10/M = 0.007.
    assert row["image_tokens"] == 765 and row["method"] == "openai-tiles" and row["family"] == "gpt-4o"
    assert math.isclose(row["image_usd"], 0.0019125)
    assert math.isclose(row["text_usd"], 0.00015)
    assert math.isclose(row["output_usd"], 0.007)
    assert row["request_usd"] == 0.0
    assert math.isclose(row["usd_per_image"], 0.0090625)
    assert math.isclose(row["usd_per_1k_images"], 9.0625)
    assert not row["uncertain"] and not row["free"]
    assert list(costs.reset_index().columns) == COST_COLUMNS


def test_every_family_example_of_the_design_note_reaches_the_table():
    # Prompt price $1/M so that image_usd * 1e6 is the token count from the design note.
    ids = {
        "openai/gpt-4o": 765,
        "openai/gpt-4o-mini": 25_501,
        "openai/gpt-4.1-mini": 2424,
        "anthropic/claude-3.7-sonnet": 1496,
        "google/gemini-2.0-flash-001": 2322,
        "qwen/qwen2.5-vl-72b-instruct": 4819,
        "mistralai/pixtral-12b": 3264,
        "mistralai/mistral-small-3.1-24b-instruct": 2420,
        "meta-llama/llama-4-maverick": 2467,
    }
    costs = _costs(*(model(i, prompt="0.000001", inputs=VISION) for i in ids))
    for model_id, tokens in ids.items():
        assert costs.loc[model_id, "image_tokens"] == tokens, model_id
        assert math.isclose(costs.loc[model_id, "image_usd"], tokens / 1e6), model_id


def test_cheapest_first_unknown_last_free_is_zero_and_marked():
    costs = price_images(
        models_frame(
            [
                model("openrouter/auto", pricing={"prompt": "-1", "completion": "-1"}, inputs=VISION),
                model("openai/gpt-4o", prompt="0.0000025", completion="0.00001", inputs=VISION),
                model("google/gemma-3-27b-it:free", prompt="0", completion="0", inputs=VISION),
                model("google/gemini-2.0-flash-001", prompt="0.0000001", completion="0.0000004", inputs=VISION),
            ]
        ),
        1700,
        2200,
        output_tokens=700,
    )
    assert costs["id"].tolist() == [
        "google/gemma-3-27b-it:free",
        "google/gemini-2.0-flash-001",
        "openai/gpt-4o",
        "openrouter/auto",
    ]
    free = costs.iloc[0]
    assert free["usd_per_image"] == 0.0 and free["free"]
    unknown = costs.iloc[-1]
    assert math.isnan(unknown["usd_per_image"]) and not unknown["free"]  # variable is not free
    assert unknown["method"] == "router" and unknown["family"] == "router"  # labelled, not priced as a model


def test_missing_completion_price_is_unknown_only_when_an_answer_is_asked_for():
    entry = model("mistralai/pixtral-large-2411", pricing={"prompt": "0.000002"}, inputs=VISION)
    assert math.isnan(_costs(entry, output_tokens=700).loc["mistralai/pixtral-large-2411", "usd_per_image"])
    image_only = _costs(entry).loc["mistralai/pixtral-large-2411"]
    assert image_only["output_usd"] == 0.0 and not math.isnan(image_only["usd_per_image"])


def test_a_per_request_fee_is_added_once():
    entry = model(
        "openai/gpt-4o-search-preview",
        pricing={"prompt": "0.0000025", "completion": "0.00001", "request": "0.035"},
    )
    row = _costs(entry).loc["openai/gpt-4o-search-preview"]
    assert row["request_usd"] == 0.035
    assert math.isclose(row["usd_per_image"], 765 * 2.5e-6 + 0.035)


def test_gemini_per_token_image_price_is_read_as_a_rate_not_a_fee_per_image():
    # 2026 catalogs: pricing.image equals the prompt price. Read literally it would be $0.0000003 a page.
    entry = model(
        "google/gemini-2.5-flash", pricing={"prompt": "0.0000003", "completion": "0.0000025", "image": "0.0000003"}
    )
    row = _costs(entry).loc["google/gemini-2.5-flash"]
    assert row["listed_price_reading"] == "per image token (equals the prompt price)"
    assert row["image_tokens"] == 2322  # the Gemini 2.x tile rule, design note
    assert math.isclose(row["image_usd"], 2322 * 0.3e-6)
    assert row["usd_per_image"] > 1e-4


def test_a_per_image_price_is_a_ceiling_above_the_estimate():
    # 2025 catalog style: gpt-4o lists $0.003613 per image = 1445 tokens at $2.50/M (design note).
    entry = model("openai/gpt-4o", pricing={"prompt": "0.0000025", "completion": "0.00001", "image": "0.003613"})
    row = _costs(entry).loc["openai/gpt-4o"]
    assert row["image_tokens"] == 765 and row["method"] == "openai-tiles" and not row["uncertain"]
    assert (
        row["listed_price_reading"]
        == "per image: 1,445 tokens at the prompt price; a ceiling above the family estimate"
    )
    assert row["listed_image_price"] == 0.003613


def test_a_per_image_price_below_the_estimate_caps_it_and_marks_it_uncertain():
    # 2025 catalog: gpt-4o-mini lists $0.000217 (1,447 tokens at $0.15/M); OpenAI's rule says 25,501 tokens.
    entry = model(
        "openai/gpt-4o-mini", pricing={"prompt": "0.00000015", "completion": "0.0000006", "image": "0.000217"}
    )
    row = _costs(entry).loc["openai/gpt-4o-mini"]
    assert row["image_usd"] == 0.000217 and row["image_tokens"] == 1447
    assert row["uncertain"] and row["method"] == "openai-tiles"
    assert row["listed_price_reading"].endswith("a ceiling below the family estimate: capped")


def test_an_unknown_family_with_a_listed_price_is_priced_by_the_listing():
    entry = model("acme/seer-vision", pricing={"prompt": "0.000001", "completion": "0.000002", "image": "0.002"})
    row = _costs(entry).loc["acme/seer-vision"]
    assert row["method"] == "listed-image-price" and not row["uncertain"]
    assert row["image_usd"] == 0.002 and row["image_tokens"] == 2000


def test_an_unknown_family_without_a_listing_is_a_marked_fallback():
    row = _costs(model("acme/new-eyes", prompt="0.000001", inputs=VISION)).loc["acme/new-eyes"]
    assert row["method"] == "fallback" and row["family"] == "unknown" and row["uncertain"]
    # The stated default, 28 px patches: ceil(1700/28) * ceil(2200/28) = 61 * 79 = 4819.
    assert row["image_tokens"] == 4819


def test_aliases_and_variants_find_their_family():
    costs = _costs(
        model("~anthropic/claude-sonnet-latest", inputs=VISION),
        model("anthropic/claude-3.7-sonnet:thinking", inputs=VISION),
        model("google/gemma-3-27b-it:free", prompt="0", completion="0", inputs=VISION),
    )
    assert costs.loc["~anthropic/claude-sonnet-latest", "image_tokens"] == 1496
    assert costs.loc["anthropic/claude-3.7-sonnet:thinking", "image_tokens"] == 1496
    assert costs.loc["google/gemma-3-27b-it:free", "family"] == "gemma-3"


def test_detail_low_uses_base_tokens_where_the_family_has_it():
    entry = model("openai/gpt-4o", prompt="0.000001", inputs=VISION)
    assert _costs(entry, detail="low").loc["openai/gpt-4o", "image_tokens"] == 85  # OpenAI: low = base


def test_presets_are_the_paper_sizes_at_their_resolution():
    # Letter 8.5 x 11 in, A4 210 x 297 mm (8.27 x 11.69 in), rounded to whole pixels.
    assert get_preset("letter-200dpi") == (1700, 2200)
    assert get_preset("letter-300dpi") == (2550, 3300)
    assert get_preset("a4-300dpi") == (2480, 3508)
    assert get_preset("a4-150dpi") == (1240, 1754)
    assert get_preset("screenshot-1080p") == (1920, 1080)
    assert {"a4-200dpi", "letter-150dpi", "phone-12mp"} <= set(PRESETS)
    frame = models_frame([model("openai/gpt-4o", inputs=VISION)])
    by_preset = price_images(frame, preset="letter-200dpi")
    assert by_preset.loc[0, "image_tokens"] == 765
    assert by_preset.attrs["preset"] == "letter-200dpi" and by_preset.attrs["width"] == 1700


@pytest.mark.parametrize(
    "width, height, needle",
    [
        (0, 2200, "0"),
        (-5, 2200, "-5"),
        (1.5, 2200, "1.5"),
        ("1700", 2200, "'1700'"),
        (True, 2200, "True"),
        (1700, None, "width and height"),
    ],
)
def test_bad_sizes_name_the_value(width, height, needle):
    frame = models_frame([model("openai/gpt-4o", inputs=VISION)])
    with pytest.raises(ValueError, match=needle) as error:
        price_images(frame, width, height)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    "options, needle",
    [
        ({"prompt_tokens": -1}, "-1"),
        ({"output_tokens": 2.5}, "2.5"),
        ({"detail": "ultra"}, "ultra"),
        ({"preset": "letter-200"}, "letter-200dpi"),  # close match offered
    ],
)
def test_bad_options_name_the_value(options, needle):
    frame = models_frame([model("openai/gpt-4o", inputs=VISION)])
    size = {} if "preset" in options else {"width": 1700, "height": 2200}
    with pytest.raises(ValueError, match=needle):
        price_images(frame, **size, **options)


def test_an_enormous_image_is_scaled_by_each_rule_not_overflowed():
    ids = [
        "openai/gpt-4o",
        "anthropic/claude-3.7-sonnet",
        "google/gemini-2.5-flash",
        "qwen/qwen2.5-vl-72b-instruct",
        "mistralai/pixtral-12b",
        "meta-llama/llama-4-maverick",
        "acme/unknown",
    ]
    costs = _costs(*(model(i, inputs=VISION) for i in ids), width=10**9, height=10**9)
    assert costs["image_tokens"].notna().all()
    assert (costs["image_tokens"] <= 20_000).all()
    assert costs["usd_per_image"].map(math.isfinite).all()


def test_compare_side_by_side_in_the_order_given():
    frame = fetch_vision_models("sample").models
    ids = ["openai/gpt-4o-mini", "google/gemini-2.5-flash", "qwen/qwen2.5-vl-72b-instruct"]
    side = compare(frame, ids, 1700, 2200, output_tokens=700)
    assert list(side.columns) == ids
    assert {"context_length", "prompt_usd_per_mtok", "image_tokens", "usd_per_1k_images", "vision_evidence"} <= set(
        side.index
    )
    # Image tokens from the design note's worked examples.
    assert side.loc["image_tokens"].tolist() == [25_501, 2322, 4819]
    single = price_images(frame, 1700, 2200, output_tokens=700).set_index("id")
    for model_id in ids:
        assert side.loc["usd_per_image", model_id] == single.loc[model_id, "usd_per_image"]


def test_a_fetch_result_is_priced_as_its_models_and_anything_else_is_named():
    """The first thing a newcomer tries: passing what fetch_vision_models returned, not its ``.models``."""
    result = fetch_vision_models("sample")
    direct = vm.cost_per_image(result, 1700, 2200)
    assert direct["id"].tolist() == vm.cost_per_image(result.models, 1700, 2200)["id"].tolist()
    assert len(direct) == result.count
    for bad in ([{"id": "openai/gpt-4o"}], "openai/gpt-4o", None):
        with pytest.raises(ValueError, match=rf"bad models '{type(bad).__name__}': expected a DataFrame") as error:
            price_images(bad, 1700, 2200)
        assert "\n" not in str(error.value)


def test_compare_unknown_id_names_it_with_close_matches():
    frame = fetch_vision_models("sample").models
    with pytest.raises(ValueError, match=r"unknown model id 'openai/gpt-4o-mimi'.*openai/gpt-4o-mini"):
        compare(frame, ["openai/gpt-4o-mimi"], 1700, 2200)
    with pytest.raises(ValueError, match="no model ids"):
        compare(frame, [], 1700, 2200)


def test_real_catalog_coverage_and_gemini_sanity(catalog_2026_05_01):
    models = fetch_vision_models(catalog_2026_05_01).models
    costs = price_images(models, preset="letter-200dpi", prompt_tokens=60, output_tokens=700)
    assert len(models) == 166  # strict rules: the catalog README's vision count
    assert cost_coverage(costs) >= 0.85
    gemini = costs[costs["id"].str.startswith("google/gemini")]
    assert (gemini["usd_per_image"] > 1e-4).all()  # never a fraction of a millionth of a dollar
    # Only the two routers have no cost: openrouter/auto (variable price) and openrouter/free.
    assert set(costs.loc[costs["usd_per_image"].isna(), "id"]) == {"openrouter/auto", "openrouter/free"}
    assert set(costs.iloc[-2:]["method"]) == {"router"}


def test_2025_catalog_listed_prices_are_read_as_prices_per_image():
    path = shared_catalog("openrouter-2025-05-23.json")
    costs = price_images(fetch_vision_models(path).models, 1700, 2200).set_index("id")
    reading = costs["listed_price_reading"]
    # The design note: in 2025, image / prompt gives OpenRouter's tokens per image (Claude 1600, gpt-4o 1445).
    assert reading["anthropic/claude-3.7-sonnet"].startswith("per image: 1,600 tokens")
    assert reading["openai/gpt-4o"].startswith("per image: 1,445 tokens")
    assert reading["google/gemini-2.0-flash-001"].startswith("per image: 258 tokens")
    assert cost_coverage(costs.reset_index()) >= 0.85


def test_empty_models_give_an_empty_table_with_columns():
    costs = price_images(models_frame([]), 1700, 2200)
    assert costs.empty and list(costs.columns) == COST_COLUMNS
    assert isinstance(costs, pd.DataFrame)


def test_the_name_finds_the_family_when_the_id_does_not():
    entry = model("acme/vl-large-2", name="Acme: Qwen2.5 VL 72B (hosted)", prompt="0.000001", inputs=VISION)
    row = _costs(entry).loc["acme/vl-large-2"]
    assert row["method"] == "qwen-vl" and row["image_tokens"] == 4819  # the Qwen2.5 rule, design note
    plain = _costs(model("acme/mystery", name="Acme Mystery", inputs=VISION)).loc["acme/mystery"]
    assert plain["method"] == "fallback"


# --- Issue 9, section 4: only models that can do the job, and "free" only when it is.

LYRIA = dict(  # the 2026-05-01 catalog's music generator: reads text and images, writes text and audio, "0"/"0"
    pricing={"prompt": "0", "completion": "0"},
    architecture={
        "modality": "text+image->text+audio",
        "input_modalities": ["text", "image"],
        "output_modalities": ["text", "audio"],
    },
)
IMAGE_MAKER = dict(
    pricing={"prompt": "0.0000003", "completion": "0.0000025", "image": "0.0000003"},
    architecture={
        "modality": "text+image->text+image",
        "input_modalities": ["image", "text"],
        "output_modalities": ["image", "text"],
    },
)


def _job_frame():
    return models_frame(
        [
            model("google/lyria-3-clip-preview", **LYRIA),
            model("google/gemini-2.5-flash-image", **IMAGE_MAKER),
            model("google/gemma-3-27b-it:free", prompt="0", completion="0", inputs=VISION),
            model("openai/gpt-4o", prompt="0.0000025", completion="0.00001", inputs=VISION),
            model(
                "openrouter/free",
                pricing={"prompt": "0", "completion": "0"},
                architecture={
                    "input_modalities": ["text", "image"],
                    "output_modalities": ["text"],
                    "tokenizer": "Router",
                },
            ),
        ]
    )


def test_generators_are_left_out_with_a_note_and_come_back_on_request():
    costs = price_images(_job_frame(), 1700, 2200, output_tokens=700)
    assert set(costs["id"]) == {"google/gemma-3-27b-it:free", "openai/gpt-4o", "openrouter/free"}
    assert costs.attrs["left_out"] == {
        "google/lyria-3-clip-preview": "text+audio",
        "google/gemini-2.5-flash-image": "image+text",
    }
    note = left_out_note(costs)
    assert note.startswith("left out 2 models that also generate audio or images")
    assert "google/lyria-3-clip-preview" in note and "include_generators=True" in note
    everything = price_images(_job_frame(), 1700, 2200, output_tokens=700, include_generators=True)
    assert len(everything) == 5 and everything.attrs["left_out"] == {} and left_out_note(everything) == ""
    lyria = everything.set_index("id").loc["google/lyria-3-clip-preview"]
    assert lyria["free"]  # kept on request, it is what its listing says


def test_routers_are_labelled_with_no_cost_and_free_means_every_price_zero():
    costs = price_images(_job_frame(), 1700, 2200, output_tokens=700).set_index("id")
    router = costs.loc["openrouter/free"]
    assert router["method"] == "router" and not router["free"] and math.isnan(router["usd_per_image"])
    assert pd.isna(router["image_tokens"]) and not router["uncertain"]
    assert (
        costs.loc["google/gemma-3-27b-it:free", "free"]
        and costs.loc["google/gemma-3-27b-it:free", "usd_per_image"] == 0
    )
    assert costs.index[-1] == "openrouter/free"  # no cost sorts last
    # A listed cached-input or search price is a price: 0/0 with one of them is not free.
    paid = _costs(
        model("x/cheap", pricing={"prompt": "0", "completion": "0", "input_cache_read": "0.0000001"}, inputs=VISION),
        model("y/zero", pricing={"prompt": "0", "completion": "0", "image": "0", "request": "0"}, inputs=VISION),
    )
    assert not paid.loc["x/cheap", "free"] and paid.loc["y/zero", "free"]


def test_compare_keeps_a_generator_that_was_asked_for():
    side = compare(_job_frame(), ["google/lyria-3-clip-preview", "openai/gpt-4o"], 1700, 2200)
    assert list(side.columns) == ["google/lyria-3-clip-preview", "openai/gpt-4o"]


def test_include_generators_must_be_a_bool():
    with pytest.raises(ValueError, match="'yes'"):
        price_images(_job_frame(), 1700, 2200, include_generators="yes")


def test_a_listed_zero_image_price_does_not_make_images_free():
    # 2025 catalog: anthropic/claude-3.5-haiku lists image "0"; its images are billed as prompt tokens.
    row = _costs(
        model(
            "anthropic/claude-3.5-haiku",
            pricing={"prompt": "0.0000008", "completion": "0.000004", "image": "0"},
            inputs=VISION,
        )
    ).loc["anthropic/claude-3.5-haiku"]
    # Design note, Claude: a 1700x2200 page is 1,496 tokens; at $0.80/M that is 0.0011968 USD.
    assert row["image_tokens"] == 1496 and math.isclose(row["image_usd"], 1496 * 0.8e-6)
    assert row["method"] == "anthropic" and not row["free"]
    assert row["listed_price_reading"].startswith("listed as 0")


def test_a_listed_image_token_price_prices_the_image_tokens():
    row = _costs(
        model(
            "openai/gpt-4o",
            pricing={"prompt": "0.0000025", "completion": "0.00001", "image_token": "0.000005"},
            inputs=VISION,
        )
    ).loc["openai/gpt-4o"]
    assert math.isclose(row["image_usd"], 765 * 5e-6)  # 765 tokens (design note) at $5/M, not the prompt's $2.50/M


@pytest.mark.parametrize(
    "name, generators, routers",
    # Counted by hand from the raw catalogs: vision models (input lists image) whose output lists more than
    # text, and the openrouter/* entries with a "-1" price or the Router tokenizer (not ~ aliases).
    [("openrouter-2025-05-23.json", 0, 0), ("openrouter-2026-02-27.json", 5, 2), ("openrouter-2026-05-01.json", 8, 2)],
)
def test_real_catalogs_leave_out_generators_and_label_routers(name, generators, routers):
    import json

    path = shared_catalog(name)
    raw = json.loads(path.read_text())["data"]
    vision = [m for m in raw if "image" in m["architecture"]["input_modalities"]]
    expected_left = {
        m["id"]
        for m in vision
        if set(m["architecture"]["output_modalities"]) - {"text"} and m["architecture"].get("tokenizer") != "Router"
    }
    assert len(expected_left) == generators
    costs = price_images(fetch_vision_models(path).models, preset="letter-200dpi", output_tokens=700)
    assert set(costs.attrs["left_out"]) == expected_left
    assert not set(costs["id"]) & expected_left
    assert (costs["method"] == "router").sum() == routers
    assert not costs.loc[costs["method"] == "router", "free"].any()
    free = costs.loc[costs["free"], "id"]
    by_id = {m["id"]: m for m in raw}
    assert all(all(float(v) == 0 for v in by_id[i]["pricing"].values()) for i in free)
    if name == "openrouter-2026-05-01.json":
        assert {"google/lyria-3-clip-preview", "google/lyria-3-pro-preview"} <= expected_left
        assert "google/lyria-3-clip-preview" not in set(costs.head(20)["id"])


def test_a_listed_discount_is_taken_off_every_part():
    # OpenRouter's API reference: the price is multiplied by (1 - discount).
    row = _costs(
        model(
            "openai/gpt-4o",
            pricing={"prompt": "0.0000025", "completion": "0.00001", "request": "0.01", "discount": 0.2},
            inputs=VISION,
        ),
        prompt_tokens=60,
        output_tokens=700,
    ).loc["openai/gpt-4o"]
    # By hand: (765 + 60) * 2.5e-6 + 700 * 1e-5 + 0.01 = 0.0190625, times 0.8 = 0.01525.
    assert math.isclose(row["usd_per_image"], 0.01525)
    assert math.isclose(row["image_usd"], 765 * 2.5e-6 * 0.8) and math.isclose(row["request_usd"], 0.008)


# --- Does the request fit the model: context and maximum output.


def _limited(model_id: str, context: int | None, max_output: int | None, **extra) -> dict:
    return model(
        model_id,
        prompt="0.0000025",
        completion="0.00001",
        inputs=VISION,
        context_length=context,
        top_provider={"context_length": context, "max_completion_tokens": max_output},
        **extra,
    )


def test_a_request_that_does_not_fit_the_context_or_the_maximum_output_says_so_by_hand():
    # A gpt-4o Letter page at 200 dpi is 765 image tokens (design note); with 60 instruction and 700 answer
    # tokens the request needs 765 + 60 + 700 = 1,525 tokens of context and 700 of output.
    costs = _costs(
        _limited("openai/gpt-4o", 1525, 700),  # exactly enough of both
        _limited("openai/gpt-4o-2024-05-13", 1524, 4096),  # one token short of context
        _limited("openai/gpt-4o-2024-08-06", 128_000, 699),  # one token short of output
        _limited("openai/gpt-4o-2024-11-20", 1024, 512),  # short of both
        _limited("openai/chatgpt-4o-latest", None, None),  # limits not listed: not checked
        prompt_tokens=60,
        output_tokens=700,
    )
    assert costs["fits"].to_dict() == {
        "openai/gpt-4o": True,
        "openai/chatgpt-4o-latest": True,
        "openai/gpt-4o-2024-05-13": False,
        "openai/gpt-4o-2024-08-06": False,
        "openai/gpt-4o-2024-11-20": False,
    }
    assert costs["fits"].dtype == bool
    reasons = costs["does_not_fit"]
    assert reasons.isna().to_dict() == {
        "openai/gpt-4o": True,
        "openai/chatgpt-4o-latest": True,
        "openai/gpt-4o-2024-05-13": False,
        "openai/gpt-4o-2024-08-06": False,
        "openai/gpt-4o-2024-11-20": False,
    }
    assert reasons["openai/gpt-4o-2024-05-13"] == "needs 1,525 tokens; context 1,524"
    assert reasons["openai/gpt-4o-2024-08-06"] == "answer 700 tokens; max output 699"
    assert (
        reasons["openai/gpt-4o-2024-11-20"] == "needs 1,525 tokens; context 1,024 / answer 700 tokens; max output 512"
    )
    # Every model has the same prices, so the same cost: the rows that fit come first, then the others (by id).
    assert costs.index.tolist() == [
        "openai/chatgpt-4o-latest",
        "openai/gpt-4o",
        "openai/gpt-4o-2024-05-13",
        "openai/gpt-4o-2024-08-06",
        "openai/gpt-4o-2024-11-20",
    ]


def test_rows_that_do_not_fit_sort_after_every_row_that_fits_even_unknown_prices():
    costs = _costs(
        _limited("google/gemini-2.0-flash-001", 1000, 8192, pricing={"prompt": "0.0000001", "completion": "0.0000004"}),
        _limited("openai/gpt-4o", 128_000, 16_384),
        model("mistralai/pixtral-large-2411", pricing={"prompt": "0.000002"}, inputs=VISION),  # no completion price
        output_tokens=700,
    )
    # The Gemini page is 2,322 image tokens (design note) + 700: above its 1,000 tokens of context.
    assert costs.index.tolist() == ["openai/gpt-4o", "mistralai/pixtral-large-2411", "google/gemini-2.0-flash-001"]
    assert costs.loc["google/gemini-2.0-flash-001", "does_not_fit"] == "needs 3,022 tokens; context 1,000"
    assert (
        costs.loc["google/gemini-2.0-flash-001", "usd_per_image"] > 0
    )  # still priced: the table says what it would cost


def test_a_router_has_no_image_tokens_so_only_the_text_is_counted():
    router = model("openrouter/auto", pricing={"prompt": "-1", "completion": "-1"}, inputs=VISION, context_length=500)
    costs = _costs(router, prompt_tokens=60, output_tokens=700)
    assert costs.loc["openrouter/auto", "does_not_fit"] == "needs 760 tokens; context 500"


def test_rankings_leave_out_free_variants_and_requests_that_do_not_fit():
    from vision_models.pricing.cost import rank_costs, ranking_note

    costs = price_images(
        models_frame(
            [
                model("google/gemma-3-27b-it:free", prompt="0", completion="0", inputs=VISION),
                model("google/gemma-3-27b-it", prompt="0.00000009", completion="0.00000016", inputs=VISION),
                model(
                    "qwen/qwen3-vl-235b-a22b-thinking", prompt="0", completion="0", inputs=VISION
                ),  # its only listing
                _limited("openai/gpt-4o", 1024, 4096),  # does not fit
                _limited("openai/gpt-4o-mini:free", 1024, 4096, pricing={"prompt": "0", "completion": "0"}),  # neither
            ]
        ),
        1700,
        2200,
        output_tokens=700,
    )
    ranked = rank_costs(costs)
    assert ranked["id"].tolist() == ["qwen/qwen3-vl-235b-a22b-thinking", "google/gemma-3-27b-it"]
    assert ranked.attrs["ranking_left_out"] == {
        "other_kinds": [],
        "free_variants": ["google/gemma-3-27b-it:free"],
        "does_not_fit": ["openai/gpt-4o-mini:free", "openai/gpt-4o"],  # in the table's order: both free, then by cost
        "same_base": [],
    }
    assert ranked.attrs["width"] == 1700  # the table's inputs stay for the chart title
    assert ranking_note(ranked) == (
        "left out: 1 :free variant (include_free=True shows them); "
        "2 models the request does not fit (context or maximum output; include_unfit=True shows them)"
    )
    with_free = rank_costs(costs, include_free=True)
    assert with_free["id"].tolist() == [
        "google/gemma-3-27b-it:free",
        "qwen/qwen3-vl-235b-a22b-thinking",
        "google/gemma-3-27b-it",
    ]
    everything = rank_costs(costs, include_free=True, include_unfit=True)
    assert everything["id"].tolist() == costs["id"].tolist() and ranking_note(everything) == ""
    unfit_kept = rank_costs(costs, include_unfit=True)
    assert unfit_kept["id"].tolist() == ["qwen/qwen3-vl-235b-a22b-thinking", "google/gemma-3-27b-it", "openai/gpt-4o"]
    assert unfit_kept.attrs["ranking_left_out"]["free_variants"] == [
        "google/gemma-3-27b-it:free",
        "openai/gpt-4o-mini:free",
    ]
    with pytest.raises(ValueError, match=r"bad include_free 'no': expected True or False"):
        rank_costs(costs, include_free="no")


def test_the_real_2026_05_01_ranking_starts_with_paid_models(catalog_2026_05_01):
    import json

    from vision_models.pricing.cost import rank_costs

    raw = json.loads(catalog_2026_05_01.read_text())["data"]
    suffixed = {m["id"] for m in raw if m["id"].endswith(":free")}
    models = models_frame(raw, vision_only=True)
    costs = price_images(models, preset="letter-200dpi", prompt_tokens=60, output_tokens=700)
    # The whole table: 8 of its 10 cheapest rows are :free variants (the complaint).
    assert sum(i in suffixed for i in costs["id"].head(10)) == 8
    ranked = rank_costs(costs)
    assert not set(ranked["id"]) & suffixed
    assert len(ranked.attrs["ranking_left_out"]["free_variants"]) == 8
    assert (ranked["usd_per_1k_images"].head(10) > 0).all()


def test_each_provider_endpoint_is_checked_against_its_own_limits():
    from vision_models.catalog.endpoints import EndpointsAnswer, endpoints_frame

    def endpoint(provider: str, context: int, max_output: int) -> dict:
        pricing = {"prompt": "0.0000025", "completion": "0.00001"}
        return {
            "provider_name": provider,
            "context_length": context,
            "max_completion_tokens": max_output,
            "pricing": pricing,
        }

    models = models_frame([_limited("openai/gpt-4o", 128_000, 16_384)])
    eps = endpoints_frame(
        [
            EndpointsAnswer(
                "openai/gpt-4o", endpoints=[endpoint("OpenAI", 128_000, 16_384), endpoint("Azure", 128_000, 512)]
            )
        ]
    )
    costs = price_images(models, 1700, 2200, output_tokens=700, by_provider=True, endpoints=eps).set_index(
        "provider_name"
    )
    assert costs["fits"].to_dict() == {"OpenAI": True, "Azure": False}
    assert costs.loc["Azure", "does_not_fit"] == "answer 700 tokens; max output 512"

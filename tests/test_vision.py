"""The vision rules: each rule alone, the strict variant, and counts on real catalogs."""

from __future__ import annotations

import json

import pytest
from factories import model, shared_catalog

from vision_models import fetch_catalog, fetch_vision_models, get_supports_images
from vision_models.catalog.frame import models_frame


def _by_id(entries, rules="seed"):
    frame = models_frame(entries, rules)
    return dict(zip(frame["id"], zip(frame["is_vision"], frame["vision_evidence"])))


def test_each_rule_alone_makes_a_model_vision():
    entries = [
        model("a/reader", inputs=("text", "image")),
        model("b/old-style", architecture={"modality": "text+Image->text"}),  # no input list, any case
        model("c/vision-word", architecture={"modality": "text+VISION->text"}),
        model("d/multi", architecture={"input_modalities": ["Multimodal"]}),
        model("e/priced", architecture=None, pricing={"prompt": "0.00001", "image": "0.01445"}),
        model("f/llava-13b", architecture=None),
        model("g/plain", inputs=("text",)),
        model("h/makes-images", architecture={"modality": "text->image", "input_modalities": ["text"]}),
        model("i/zero-image-price", pricing={"prompt": "0.000001", "image": "0"}),
    ]
    seen = _by_id(entries)
    assert seen["a/reader"] == (True, ["modality"])
    assert seen["b/old-style"] == (True, ["modality"])
    assert seen["c/vision-word"] == (True, ["modality"])
    assert seen["d/multi"] == (True, ["modality"])
    assert seen["e/priced"] == (True, ["image_price"])
    assert seen["f/llava-13b"] == (True, ["name"])
    assert seen["g/plain"] == (False, [])
    assert seen["h/makes-images"] == (False, [])  # an image on the output side is not reading one
    assert seen["i/zero-image-price"] == (False, [])


@pytest.mark.parametrize(
    "model_id, name",
    [
        ("openai/gpt-4o-2024-08-06", "OpenAI: GPT-4o (2024-08-06)"),
        ("openai/gpt-4-turbo", "OpenAI: GPT-4 Turbo"),
        ("google/gemini-1.5-pro", "Google: Gemini 1.5 Pro"),
        ("anthropic/claude-3-haiku", "Anthropic: Claude 3 Haiku"),
        ("anthropic/claude-3.5-sonnet", "Anthropic: Claude 3.5 Sonnet"),
        ("anthropic/claude-opus-4.1", "Anthropic: Claude Opus 4.1"),
        ("~anthropic/claude-haiku-latest", "Anthropic Claude Haiku Latest"),
        ("liuhaotian/llava-yi-34b", "LLaVA v1.6 34B"),
        ("mistralai/pixtral-12b", "Mistral: Pixtral 12B"),
        ("qwen/qwen2.5-vl-72b-instruct", "Qwen: Qwen2.5 VL 72B Instruct"),
        ("qwen/qwen3-vl-8b-instruct", "Qwen: Qwen3 VL 8B"),
        ("qwen/qwen-vl-max", "Qwen: Qwen VL Max"),
        ("thudm/cogvlm2", "CogVLM2"),
        ("opengvlab/internvl3-78b", "InternVL3 78B"),
        ("01-ai/yi-vision", "Yi Vision"),
    ],
)
def test_known_families_match_by_name(model_id, name):
    seen = _by_id([model(model_id, name=name, inputs=("text",), architecture=None)])
    assert seen[model_id] == (True, ["name"])


@pytest.mark.parametrize(
    "model_id, name",
    [
        ("anthropic/claude-2.1", "Anthropic: Claude v2.1"),
        ("anthropic/claude-instant-1", "Anthropic: Claude Instant"),
        ("openai/gpt-4", "OpenAI: GPT-4"),
        ("openai/gpt-4-0314", "OpenAI: GPT-4 (older v0314)"),
        ("qwen/qwen-2.5-72b-instruct", "Qwen2.5 72B Instruct"),
        ("meta-llama/llama-3.3-70b-instruct", "Meta: Llama 3.3 70B"),
    ],
)
def test_text_families_do_not_match_by_name(model_id, name):
    assert _by_id([model(model_id, name=name, architecture=None)])[model_id] == (False, [])


def test_strict_rules_trust_listed_inputs_and_fall_back_where_none_are_listed():
    entries = [
        model("openai/gpt-4o-search-preview", name="OpenAI: GPT-4o Search Preview", inputs=("text",)),
        model("openai/gpt-4o", inputs=("text", "image")),
        model("x/llava-13b", architecture=None),
        model("y/priced", architecture={"modality": "text->text"}, pricing={"prompt": "0.00001", "image": "0.002"}),
    ]
    seed, strict = _by_id(entries, "seed"), _by_id(entries, "strict")
    assert seed["openai/gpt-4o-search-preview"] == (True, ["name"])
    assert strict["openai/gpt-4o-search-preview"] == (False, ["name"])  # evidence still shown
    assert strict["openai/gpt-4o"][0] is True
    assert strict["x/llava-13b"] == (True, ["name"])  # lists no inputs: rules 2 and 3 decide
    assert strict["y/priced"] == (True, ["image_price"])


def test_get_supports_images_is_a_series_on_the_frame_index():
    frame = models_frame([model("a/b", inputs=("text", "image")), model("c/d")])
    supports = get_supports_images(frame)
    assert supports.tolist() == [True, False]
    assert supports.index.equals(frame.index)


def test_unknown_rules_name_the_value():
    with pytest.raises(ValueError, match="'lenient'"):
        fetch_catalog("sample", rules="lenient")


@pytest.mark.parametrize(
    "name, vision_with_image_input",
    # Independent figures: the "vision (input has image)" column of ../shared/catalogs/README.md.
    [("openrouter-2025-05-23.json", 92), ("openrouter-2026-02-27.json", 131), ("openrouter-2026-05-01.json", 166)],
)
def test_strict_counts_match_the_catalog_readme(name, vision_with_image_input):
    path = shared_catalog(name)
    assert fetch_vision_models(path, rules="strict").count == vision_with_image_input


# Issue 9, section 6: the seed's name rule adds these five, whose catalog entries take text only.
TEXT_ONLY_NAME_MATCHES = {
    "openai/gpt-4-1106-preview",
    "openai/gpt-4-turbo-preview",
    "openai/gpt-4o-audio-preview",
    "openai/gpt-4o-search-preview",
    "openai/gpt-4o-mini-search-preview",
}


def test_strict_is_the_default_and_seed_adds_exactly_the_five_text_only_models(catalog_2026_05_01):
    default = set(fetch_vision_models(catalog_2026_05_01).models["id"])
    strict = set(fetch_vision_models(catalog_2026_05_01, rules="strict").models["id"])
    seed = set(fetch_vision_models(catalog_2026_05_01, rules="seed").models["id"])
    assert default == strict
    assert seed - strict == TEXT_ONLY_NAME_MATCHES
    assert strict <= seed
    raw = {m["id"]: m for m in json.loads(catalog_2026_05_01.read_text())["data"]}
    assert all("image" not in raw[i]["architecture"]["input_modalities"] for i in TEXT_ONLY_NAME_MATCHES)


def test_default_rules_are_strict_everywhere_in_the_library():
    entries = [model("openai/gpt-4o-search-preview", inputs=("text",)), model("x/reader", inputs=("text", "image"))]
    assert _by_id(entries, "seed")["openai/gpt-4o-search-preview"] == (True, ["name"])
    assert models_frame(entries)["is_vision"].tolist() == [False, True]
    assert get_supports_images(models_frame(entries, "seed")).tolist() == [False, True]


def test_real_catalog_loads_every_model_with_sane_values(catalog_2026_05_01):
    result = fetch_catalog(catalog_2026_05_01)
    frame = result.models
    assert result.count == 371  # the catalog README's model count
    assert frame["id"].is_unique
    gpt4o = frame.set_index("id").loc["openai/gpt-4o"]
    assert (gpt4o["prompt_usd_per_mtok"], gpt4o["completion_usd_per_mtok"]) == (2.5, 10.0)
    auto = frame.set_index("id").loc["openrouter/auto"]
    assert auto[["prompt_usd_per_mtok", "completion_usd_per_mtok"]].isna().all()  # "-1": variable


def test_name_only_vision_lists_what_strict_rules_drop(catalog_2026_05_01):
    from vision_models import get_name_only_vision

    frame = fetch_catalog(catalog_2026_05_01).models
    disputed = get_name_only_vision(frame)
    # The catalog README names both; their input modalities are text only.
    assert {"openai/gpt-4o-search-preview", "openai/gpt-4-turbo-preview"} <= set(disputed["id"])
    assert all("image" not in inputs for inputs in disputed["input_modalities"])

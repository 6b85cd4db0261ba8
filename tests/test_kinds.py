"""What each catalog entry is for (kind), which listing is a variant of which, and rankings of page readers only."""

from __future__ import annotations

import json

import pytest
from factories import model, shared_catalog

from vision_models.catalog.frame import models_frame
from vision_models.catalog.kinds import KINDS, NAME_PATTERNS, check_kinds, select_kinds, variant_bases
from vision_models.pricing.cost import price_images as cost_per_image
from vision_models.pricing.cost import rank_costs, ranking_note

VISION = ("text", "image")


def _frame(*entries: dict):
    return models_frame(list(entries)).set_index("id")


def _real(name: str, *, vision_only: bool = True):
    return models_frame(json.loads(shared_catalog(name).read_text())["data"], vision_only=vision_only)


def test_hand_made_entries_get_the_kind_their_fields_or_names_say():
    arch = {
        "modality": "text+image->text+image",
        "input_modalities": list(VISION),
        "output_modalities": ["image", "text"],
    }
    frame = _frame(
        model("acme/reader", inputs=VISION),
        model("acme/painter", architecture=arch),
        model("acme/vectors", architecture={**arch, "output_modalities": ["embeddings"]}),
        model("openrouter/auto", pricing={"prompt": "-1", "completion": "-1"}, inputs=VISION),
        model("~acme/reader-latest", inputs=VISION, canonical_slug="acme/reader"),
        model("acme/checker", inputs=VISION, description="A model fine-tuned for content safety classification."),
        model("acme/clicker", inputs=VISION, description="A vision-language agent optimized for GUI-based tasks."),
        model("acme/llama-guard-9", inputs=VISION),  # no telling description: the name decides
        model("acme/omni-moderation-latest", inputs=VISION),
        model("acme/ui-tars-9b", inputs=VISION),
        model("acme/text-embed-large"),
        # Mentions GUI control and computer use among its skills: still a reader.
        model("acme/generalist", inputs=VISION, description="Handles document parsing, GUI control and computer use."),
        model("acme/grok-multi-agent", inputs=VISION),  # "agent" alone is not a GUI agent
    )
    assert frame["kind"].to_dict() == {
        "acme/reader": "reader",
        "acme/painter": "generator",
        "acme/vectors": "embedding",
        "openrouter/auto": "router",
        "~acme/reader-latest": "alias",
        "acme/checker": "guard",
        "acme/clicker": "agent",
        "acme/llama-guard-9": "guard",
        "acme/omni-moderation-latest": "guard",
        "acme/ui-tars-9b": "agent",
        "acme/text-embed-large": "embedding",
        "acme/generalist": "reader",
        "acme/grok-multi-agent": "reader",
    }
    assert frame.loc["~acme/reader-latest", "alias_of"] == "acme/reader"
    assert "llama-guard" in frame.loc["acme/llama-guard-9", "kind_reason"]
    assert "description" in frame.loc["acme/checker", "kind_reason"]
    assert set(frame["kind"]) <= set(KINDS)


def test_variants_link_to_their_base_model_when_it_is_listed():
    ids = [
        "openai/gpt-4o",
        "openai/gpt-4o-2024-08-06",
        "openai/gpt-4o:extended",
        "openai/gpt-4-0314",  # MMDD, but no openai/gpt-4 listed: its own base
        "openai/gpt-3.5-turbo",
        "openai/gpt-3.5-turbo-0613",
        "anthropic/claude-3.5-haiku",
        "anthropic/claude-3.5-haiku-20241022:beta",  # suffix, then date: the chain ends at the root
        "anthropic/claude-3.5-haiku-20241022",
        "cohere/command-r",
        "cohere/command-r-08-2024",
        "google/gemini-2.5-pro-preview",
        "google/gemini-2.5-pro-preview-05-06",
        "mistralai/mistral-large",
        "mistralai/mistral-large-2411",
        "acme/model-9999",  # four digits that are no date
        "acme/model",
        "google/gemma-3-27b-it:free",  # base not listed: its own base
    ]
    assert dict(zip(ids, variant_bases(ids))) == {
        "openai/gpt-4o": None,
        "openai/gpt-4o-2024-08-06": "openai/gpt-4o",
        "openai/gpt-4o:extended": "openai/gpt-4o",
        "openai/gpt-4-0314": None,
        "openai/gpt-3.5-turbo": None,
        "openai/gpt-3.5-turbo-0613": "openai/gpt-3.5-turbo",
        "anthropic/claude-3.5-haiku": None,
        "anthropic/claude-3.5-haiku-20241022:beta": "anthropic/claude-3.5-haiku",
        "anthropic/claude-3.5-haiku-20241022": "anthropic/claude-3.5-haiku",
        "cohere/command-r": None,
        "cohere/command-r-08-2024": "cohere/command-r",
        "google/gemini-2.5-pro-preview": None,
        "google/gemini-2.5-pro-preview-05-06": "google/gemini-2.5-pro-preview",
        "mistralai/mistral-large": None,
        "mistralai/mistral-large-2411": "mistralai/mistral-large",
        "acme/model-9999": None,
        "acme/model": None,
        "google/gemma-3-27b-it:free": None,
    }


def test_a_shared_canonical_slug_links_a_suffixed_listing_whatever_its_name():
    # The catalog's own link: both listings name one canonical model.
    ids = ["acme/reader", "acme/reader-v2:thinking"]
    assert variant_bases(ids, ["acme/reader-20260101", "acme/reader-20260101"]) == [None, "acme/reader"]
    assert variant_bases(ids) == [None, None]  # by name alone, acme/reader-v2 is not listed


def test_the_2026_05_01_catalog_classifies_the_issue_s_examples():
    frame = _real("openrouter-2026-05-01.json", vision_only=False).set_index("id")
    kind = frame["kind"]
    assert kind["meta-llama/llama-guard-4-12b"] == "guard"
    assert kind["meta-llama/llama-guard-3-8b"] == "guard"
    assert kind["openai/gpt-oss-safeguard-20b"] == "guard"
    assert kind["bytedance/ui-tars-1.5-7b"] == "agent"
    assert kind["openrouter/auto"] == "router"
    assert kind["openrouter/free"] == "router"
    assert kind["~openai/gpt-latest"] == "alias"
    # Image generators (their output modalities list image), the Lyria music models (audio).
    for generator in ("google/gemini-2.5-flash-image", "openai/gpt-5-image", "google/lyria-3-pro-preview"):
        assert kind[generator] == "generator"
    for reader in (
        "openai/gpt-4o",
        "google/gemini-2.5-flash",
        "qwen/qwen3-vl-8b-instruct",
        "x-ai/grok-4.20-multi-agent",
    ):
        assert kind[reader] == "reader"
    # Counted by hand from the catalog file: 8 '~' ids, 4 routers, 11 entries that output audio or images.
    assert kind.value_counts().to_dict() == {
        "reader": 344,
        "generator": 11,
        "alias": 8,
        "router": 4,
        "guard": 3,
        "agent": 1,
    }
    assert frame.loc["google/gemma-3-27b-it:free", "variant_of"] == "google/gemma-3-27b-it"
    assert frame.loc["openai/gpt-4o-2024-11-20", "variant_of"] == "openai/gpt-4o"
    assert frame.loc["anthropic/claude-3.7-sonnet:thinking", "variant_of"] == "anthropic/claude-3.7-sonnet"


def test_the_2026_05_01_ranking_holds_page_readers_only_one_row_per_base_model():
    models = _real("openrouter-2026-05-01.json")
    costs = cost_per_image(models, preset="letter-200dpi", prompt_tokens=60, output_tokens=700)
    assert {"meta-llama/llama-guard-4-12b", "bytedance/ui-tars-1.5-7b"} <= set(costs["id"].head(30))  # the complaint
    ranked = rank_costs(costs)
    assert set(ranked["kind"]) == {"reader"}
    assert not {"meta-llama/llama-guard-4-12b", "bytedance/ui-tars-1.5-7b", "openrouter/auto"} & set(ranked["id"])
    assert not any(i.startswith("~") for i in ranked["id"])
    gpt_4o = [i for i in ranked["id"] if i == "openai/gpt-4o" or i.startswith("openai/gpt-4o-20")]
    assert len(gpt_4o) == 1  # four listings of GPT-4o, one ranked
    left = ranked.attrs["ranking_left_out"]
    assert "meta-llama/llama-guard-4-12b" in left["other_kinds"]
    assert len([i for i in left["same_base"] if i.startswith("openai/gpt-4o-20") or i == "openai/gpt-4o"]) == 3
    assert "do not read pages" in ranking_note(ranked)
    everything = rank_costs(costs, kinds=None, one_per_base=False, include_free=True, include_unfit=True)
    assert len(everything) == len(costs)


def test_kind_choices_are_checked():
    assert check_kinds("reader") == ("reader",)
    assert check_kinds(None) is None
    with pytest.raises(ValueError, match=r"unknown kind 'readers'; known: alias, router"):
        check_kinds(["reader", "readers"])
    frame = models_frame([model("acme/reader", inputs=VISION), model("acme/ui-tars-2", inputs=VISION)])
    assert select_kinds(frame, "agent")["id"].tolist() == ["acme/ui-tars-2"]
    assert len(select_kinds(frame, "all")) == 2


def test_every_name_pattern_has_a_reason():
    for rule in NAME_PATTERNS:
        assert rule.kind in KINDS and len(rule.reason) > 20


def test_kind_counts_in_words_most_first_with_plurals():
    from vision_models.catalog.kinds import kind_counts

    kinds = ["alias"] * 8 + ["router", "router", "guard", "agent"]
    assert kind_counts(kinds) == "8 aliases, 2 routers, 1 agent, 1 guard"
    assert kind_counts(["router"]) == "1 router" and kind_counts([]) == ""

"""Widgets without a browser: set .value, read the result the widget exposes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from factories import model  # noqa: E402
from vision_models import fetch_catalog  # noqa: E402
from vision_models.catalog import models_frame  # noqa: E402
from vision_models.widgets import CostExplorer, ModelComparison, ModelFilter, ModelPicker, html_table  # noqa: E402

VISION = ("text", "image")


@pytest.fixture
def catalog():
    return fetch_catalog("sample").models


def test_filter_follows_every_control(catalog):
    box = ModelFilter(catalog)
    vision_ids = set(catalog.loc[catalog["is_vision"], "id"])
    assert set(box.filtered["id"]) == vision_ids
    box.providers.value = ("openai",)
    assert set(box.filtered["provider"]) == {"openai"}
    box.min_context.value = 200_000
    assert (box.filtered["context_length"] >= 200_000).all()
    assert set(box.filtered["id"]) == {"openai/gpt-4.1", "openai/gpt-4.1-mini", "openai/gpt-4.1-nano", "openai/o3", "openai/o4-mini"}
    box.max_price.value = "1"
    assert set(box.filtered["id"]) == {"openai/gpt-4.1-mini", "openai/gpt-4.1-nano"}  # $0.40 and $0.10 per M
    box.search.value = "NANO"
    assert box.filtered["id"].tolist() == ["openai/gpt-4.1-nano"]
    assert "<b>1</b> of" in box.count.value


def test_rules_switch_re_decides_vision(catalog):
    box = ModelFilter(catalog)
    box.search.value = "search-preview"
    assert box.rules.value == "strict" and box.filtered.empty  # by default its own metadata decides: text only
    box.rules.value = "seed"
    assert box.filtered["id"].tolist() == ["openai/gpt-4o-search-preview"]  # the seed's name rule says vision
    box.rules.value = "strict"
    assert box.filtered.empty


def test_empty_result_is_a_plain_message_and_a_bad_price_is_named(catalog):
    box = ModelFilter(catalog)
    box.search.value = "no such model anywhere"
    assert box.filtered.empty
    assert "No model matches these filters." in box.table.value
    assert box.picker.chosen is None
    box.search.value = ""
    box.max_price.value = "cheap"
    assert "bad max_prompt_price &#x27;cheap&#x27;" in box.count.value  # escaped, like all text shown


def test_an_offline_result_with_nothing_cached_says_why():
    class Offline:  # the shape of a CatalogResult that failed with nothing cached
        models = models_frame([])
        error = "Network request failed"

    box = ModelFilter.from_result(Offline())
    assert "No models: Network request failed." in box.table.value


def test_remote_text_is_escaped_in_html():
    hostile = [
        model("evil/script", name="<script>alert(1)</script>", description='<img src=x onerror="alert(2)">', inputs=VISION),
    ]
    frame = models_frame(hostile)
    box = ModelFilter(frame)
    for html in (box.table.value, box.picker.details.value, html_table(frame)):
        assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in box.table.value
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in box.picker.details.value


def test_picker_offers_the_filtered_models_and_keeps_a_valid_choice(catalog):
    box = ModelFilter(catalog)
    box.picker.dropdown.value = "google/gemini-2.5-flash"
    assert box.picker.chosen == "google/gemini-2.5-flash"
    box.providers.value = ("google",)
    assert box.picker.chosen == "google/gemini-2.5-flash"  # still offered, still chosen
    box.providers.value = ("qwen",)
    assert box.picker.chosen in set(box.filtered["id"])
    assert "Gemini" not in box.picker.details.value


def test_standalone_picker(catalog):
    picker = ModelPicker(catalog, value="openai/gpt-4o-mini")
    assert picker.chosen == "openai/gpt-4o-mini"
    assert "$0.15 / $0.6 per M tokens" in picker.details.value


def test_cost_explorer_presets_custom_sizes_and_context(catalog):
    vision = catalog[catalog["is_vision"]]
    explorer = CostExplorer(vision, chart=False)
    row = explorer.costs.set_index("id").loc["openai/gpt-4o"]
    assert row["image_tokens"] == 765  # letter-200dpi, the design note's example
    assert len(explorer.shown) == 10
    explorer.preset.value = "screenshot-1080p"
    assert (explorer.width.value, explorer.height.value) == (1920, 1080)
    assert explorer.costs.attrs["preset"] == "screenshot-1080p"
    explorer.width.value = 1024
    explorer.height.value = 1024
    assert explorer.preset.value == "custom"
    assert explorer.costs.set_index("id").loc["google/gemini-2.5-flash", "image_tokens"] == 1032  # design note
    explorer.min_context.value = 1_000_000
    assert (explorer.shown["context_length"] >= 1_000_000).all() and not explorer.shown.empty
    explorer.min_context.value = 50_000_000
    assert explorer.shown.empty and "lower the minimum context" in explorer.table.value
    explorer.min_context.value = 0
    explorer.top.value = 3
    assert len(explorer.shown) == 3


def test_comparison_wants_two_to_five(catalog):
    vision = catalog[catalog["is_vision"]]
    pick = ModelComparison(vision, chart=False)
    assert pick.compared is None and "Pick two to five models (0 picked)" in pick.table.value
    pick.select.value = ("openai/gpt-4o-mini", "google/gemini-2.5-flash", "qwen/qwen2.5-vl-72b-instruct")
    assert list(pick.compared.columns) == ["openai/gpt-4o-mini", "google/gemini-2.5-flash", "qwen/qwen2.5-vl-72b-instruct"]
    assert pick.compared.loc["image_tokens"].tolist() == [25_501, 2322, 4819]  # design note examples
    pick.select.value = tuple(vision["id"].head(6))
    assert pick.compared is None and "(6 picked)" in pick.table.value

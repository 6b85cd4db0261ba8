"""Sources other than live OpenRouter, and the /api/models JSON contract."""

from __future__ import annotations

import gzip
import json
import math

import pytest
from factories import SMALL_CATALOG, catalog_body, model, shared_catalog

from vision_models import fetch_catalog, fetch_vision_models
from vision_models.catalog.api import CatalogResult
from vision_models.catalog.frame import models_frame
from vision_models.present.payload import build_api_payload


def test_local_json_and_gzip_files(tmp_path):
    plain = tmp_path / "catalog.json"
    plain.write_text(SMALL_CATALOG)
    packed = tmp_path / "catalog.json.gz"
    packed.write_bytes(gzip.compress(SMALL_CATALOG.encode()))
    from_plain, from_gz = fetch_vision_models(plain), fetch_vision_models(packed)
    assert from_plain.count == from_gz.count == 2
    assert from_plain.models.equals(from_gz.models)
    assert (from_plain.cached, from_plain.error, from_plain.source) == (False, None, str(plain))
    assert from_plain.to_api_payload()["count"] == 2


def test_real_gzipped_daily_catalog():
    path = shared_catalog("daily/openrouter-2026-04-01.json.gz")
    result = fetch_catalog(path)
    assert result.error is None and 340 <= result.count <= 371  # the catalog README's range for dailies


def test_source_from_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "c.json"
    path.write_text(SMALL_CATALOG)
    monkeypatch.setenv("VISION_MODELS_SOURCE", str(path))
    assert fetch_vision_models().source == str(path)


@pytest.mark.parametrize("content", ["not json at all", '{"models": []}', "[]"])
def test_a_file_that_is_not_a_catalog_is_a_value_error_naming_it(tmp_path, content):
    path = tmp_path / "wrong.json"
    path.write_text(content)
    with pytest.raises(ValueError, match="wrong.json is not an OpenRouter catalog"):
        fetch_catalog(path)


def test_a_missing_file_or_unknown_source_names_the_value():
    with pytest.raises(ValueError, match="'ftp://example.org/models'"):
        fetch_catalog("ftp://example.org/models")
    with pytest.raises(ValueError, match="'/no/such/catalog.json'"):
        fetch_catalog("/no/such/catalog.json")


def test_a_corrupt_gzip_file_is_a_value_error(tmp_path):
    path = tmp_path / "broken.json.gz"
    path.write_bytes(gzip.compress(SMALL_CATALOG.encode())[:40])
    with pytest.raises(ValueError, match="broken.json.gz is not an OpenRouter catalog"):
        fetch_catalog(path)


def test_sample_is_labelled_and_covers_every_rule():
    result = fetch_catalog("sample")
    assert result.source.startswith("sample (as of 20") and result.source.endswith(")")
    assert 30 <= result.count <= 40
    frame = result.models.set_index("id")
    evidence = frame["vision_evidence"]
    assert any("modality" in e for e in evidence)
    assert any("image_price" in e for e in evidence)
    assert any(e == ["name"] for e in evidence)  # vision by name only
    assert frame["prompt_usd_per_mtok"].isna().any()  # "-1" (variable) is unknown
    assert frame["completion_usd_per_mtok"].isna().sum() >= 2  # and a missing key
    assert (~frame["is_vision"]).sum() >= 5  # text-only models are there to be filtered out
    assert fetch_vision_models("sample", rules="seed").count > fetch_vision_models("sample").count  # strict by default
    for needed in ("openai/gpt-4o-mini", "google/gemini-2.5-flash", "qwen/qwen2.5-vl-72b-instruct"):
        assert frame.loc[needed, "is_vision"]


# -- the /api/models contract -------------------------------------------------------------


def _gpt4o_frame():
    # The seed's documented example for gpt-4o: 2.50, 10.00, 7.225 (per M tokens, per M tokens, per 1k images).
    entry = model(
        "openai/gpt-4o",
        name="OpenAI: GPT-4o",
        description="Omni model.",
        context_length=128000,
        inputs=("text", "image"),
        pricing={"prompt": "0.0000025", "completion": "0.00001", "image": "0.007225"},
    )
    return models_frame([entry])


def test_model_object_fields_and_units_follow_the_seed_example():
    (item,) = build_api_payload(_gpt4o_frame())["models"]
    assert item == {
        "id": "openai/gpt-4o",
        "name": "OpenAI: GPT-4o",
        "description": "Omni model.",
        "contextLength": 128000,
        "pricing": {"promptPer1k": 2.5, "completionPer1k": 10.0, "imagePer1k": 7.225},
        "provider": "openai",
        "isVision": True,
    }
    assert list(item) == ["id", "name", "description", "contextLength", "pricing", "provider", "isVision"]


def test_unknown_prices_and_context_are_null_in_valid_json():
    frame = models_frame([model("openrouter/auto", pricing={"prompt": "-1", "completion": "-1"}, context_length=None)])
    text = json.dumps(build_api_payload(frame), allow_nan=False)  # NaN would make this raise
    item = json.loads(text)["models"][0]
    assert item["pricing"] == {"promptPer1k": None, "completionPer1k": None, "imagePer1k": None}
    assert item["contextLength"] is None


def test_payload_shapes():
    frame = _gpt4o_frame()
    fresh = CatalogResult(frame, "openrouter")
    cached = CatalogResult(frame, "openrouter", cached=True, cache_age=42)
    stale = CatalogResult(frame, "openrouter", cached=True, cache_age=4000, error="Network request failed", stale=True)
    failed = CatalogResult(frame.iloc[:0], "openrouter", error="Failed to fetch models: 401 Unauthorized")
    assert set(fresh.to_api_payload()) == {"models", "cached", "count"}
    assert fresh.to_api_payload()["cached"] is False and fresh.to_api_payload()["count"] == 1
    assert {k: v for k, v in cached.to_api_payload().items() if k != "models"} == {"cached": True, "cacheAge": 42}
    assert {k: v for k, v in stale.to_api_payload().items() if k != "models"} == {
        "cached": True,
        "cacheAge": 4000,
        "error": "Network request failed",
    }
    assert failed.to_api_payload() == {"error": "Failed to fetch models: 401 Unauthorized", "models": []}


def test_real_catalog_payload_is_strict_json(catalog_2026_05_01):
    payload = fetch_vision_models(catalog_2026_05_01).to_api_payload()
    decoded = json.loads(json.dumps(payload, allow_nan=False))
    assert decoded["count"] == len(decoded["models"]) == 166  # strict: the catalog README's vision count
    gemini = next(m for m in decoded["models"] if m["id"] == "google/gemini-2.5-flash")
    # The 2026 catalog lists Gemini's image price as its per-token prompt rate (0.0000003 USD); a
    # 1024x1024 image is 4 tiles of 258 tokens on Gemini 2.x (design note: 1032), so 1,000 images
    # cost 0.0000003 * 1032 * 1000 = 0.3096 USD (not 0.0003, the rate read as a price per image).
    assert math.isclose(gemini["pricing"]["imagePer1k"], 0.3096)
    assert gemini["pricing"]["promptPer1k"] == 0.3


def test_repr_is_short_and_says_how_it_was_obtained():
    text = repr(CatalogResult(_gpt4o_frame(), "openrouter", cached=True, cache_age=7))
    assert text == "CatalogResult(count=1, source='openrouter', cached=True, cache_age=7)"


def test_empty_body_catalog_file(tmp_path):
    path = tmp_path / "empty.json"
    path.write_text(catalog_body())
    assert fetch_catalog(path).count == 0


def test_encoded_payload_equals_the_dict_payload():
    import json as _json

    from vision_models.present.payload import api_models, encode_api_payload, payload_envelope

    frame = _gpt4o_frame()
    models_json = _json.dumps(api_models(frame))
    for options in (
        {},
        {"cached": True, "cache_age": 12},
        {"cached": True, "cache_age": 9, "error": "Network request failed"},
    ):
        text = encode_api_payload(payload_envelope(len(frame), **options), models_json)
        assert _json.loads(text) == build_api_payload(frame, **options)
        assert list(_json.loads(text)) == list(build_api_payload(frame, **options))
    failed = encode_api_payload(payload_envelope(0, error="Failed to fetch models: 502 Bad Gateway"), "[]")
    assert _json.loads(failed) == {"error": "Failed to fetch models: 502 Bad Gateway", "models": []}


# -- imagePer1k: USD per 1,000 images, always (issue 9, section 5) -------------------------------

# The design note's worked examples for a 1024x1024 image: Gemini 2.x tile rule 1032 (4 tiles of 258),
# Gemini 3 default media resolution 1120.
GEMINI_1024_TOKENS = {"gemini-2": 1032, "gemini-3": 1120}


def _expected_image_per_1k(entry: dict) -> float | None:
    """imagePer1k from the raw catalog strings, by the README's rule (independent of the package)."""
    image, prompt = entry["pricing"].get("image"), entry["pricing"].get("prompt")
    if image is None or float(image) <= 0:
        return None  # not listed, or "0": images are billed as prompt tokens, not free
    if prompt is not None and float(prompt) > 0 and 0.5 <= float(image) / float(prompt) <= 2:
        generation = next((g for g in GEMINI_1024_TOKENS if g in entry["id"]), None)
        return float(image) * GEMINI_1024_TOKENS[generation] * 1000 if generation else "per-token"
    return float(image) * 1000


@pytest.mark.parametrize(
    "name", ["openrouter-2025-05-23.json", "openrouter-2026-02-27.json", "openrouter-2026-05-01.json"]
)
def test_image_per_1k_is_usd_per_thousand_images_on_real_catalogs(name):
    path = shared_catalog(name)
    raw = {m["id"]: m for m in json.loads(path.read_text())["data"]}
    payload = fetch_catalog(path, rules="seed").to_api_payload()
    got = {m["id"]: m["pricing"]["imagePer1k"] for m in payload["models"]}
    assert set(got) == set(raw)
    checked = 0
    for model_id, value in got.items():
        expected = _expected_image_per_1k(raw[model_id])
        if expected == "per-token":  # an alias (~google/gemini-flash-latest): its generation is not in the id
            listed = float(raw[model_id]["pricing"]["image"]) * 1000
            assert round(value / listed) in GEMINI_1024_TOKENS.values(), model_id
        elif expected is None:
            assert value is None, model_id
        else:
            assert value == pytest.approx(expected, rel=1e-9), model_id
            checked += 1
    assert checked >= 10


def test_image_per_1k_spot_values_from_the_catalogs():
    def per_1k(name: str, model_id: str):
        payload = fetch_catalog(shared_catalog(name), rules="seed").to_api_payload()
        return next(m["pricing"]["imagePer1k"] for m in payload["models"] if m["id"] == model_id)

    # 2025: a price per image (gpt-4o "0.003613", OpenRouter's 1,445-token worst case) x 1,000.
    assert per_1k("openrouter-2025-05-23.json", "openai/gpt-4o") == pytest.approx(3.613)
    # 2025: claude-3.5-haiku lists image "0" although it reads images: unknown, not free.
    assert per_1k("openrouter-2025-05-23.json", "anthropic/claude-3.5-haiku") is None
    # 2026: Gemini 3 Flash lists image == prompt == "0.0000005": 1120 tokens x 1,000 images -> 0.56 USD.
    assert per_1k("openrouter-2026-05-01.json", "google/gemini-3-flash-preview") == pytest.approx(0.56)
    # 2026: Gemini 2.0 Flash, image == prompt == "0.0000001": 1032 tokens x 1,000 -> 0.1032 USD.
    assert per_1k("openrouter-2026-05-01.json", "google/gemini-2.0-flash-001") == pytest.approx(0.1032)


def test_image_per_1k_hand_made_listings():
    frame = models_frame(
        [
            model(
                "google/gemini-2.5-flash",
                inputs=("text", "image"),
                pricing={"prompt": "0.0000003", "completion": "0", "image": "0.0000003"},
            ),
            model(
                "acme/unknown-reader",
                inputs=("text", "image"),
                pricing={"prompt": "0.000001", "completion": "0", "image": "0.000001"},
            ),
            model(
                "openai/gpt-4o",
                inputs=("text", "image"),
                pricing={"prompt": "0.0000025", "completion": "0", "image_token": "0.000005"},
            ),
            model("x/zero", inputs=("text", "image"), pricing={"prompt": "0.000001", "completion": "0", "image": "0"}),
            model(
                "y/per-image",
                inputs=("text", "image"),
                pricing={"prompt": "0.000001", "completion": "0", "image": "0.002"},
            ),
        ],
        "seed",
    )
    got = {m["id"]: m["pricing"]["imagePer1k"] for m in build_api_payload(frame)["models"]}
    assert got["google/gemini-2.5-flash"] == pytest.approx(0.3 * 1.032)  # 1032 tokens at $0.30/M, x 1,000
    assert got["acme/unknown-reader"] is None  # a per-token rate, but no rule knows its tokens
    assert got["openai/gpt-4o"] == pytest.approx(765 * 5e-6 * 1000)  # image_token rate x 765 tokens (design note)
    assert got["x/zero"] is None
    assert got["y/per-image"] == pytest.approx(2.0)

"""Sources other than live OpenRouter, and the /api/models JSON contract."""

from __future__ import annotations

import gzip
import json
import math

import pytest

from factories import SMALL_CATALOG, catalog_body, model, shared_catalog
from vision_models import fetch_catalog, fetch_vision_models
from vision_models.catalog import CatalogResult, models_frame
from vision_models.payload import build_api_payload


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
    # The 2026 catalog lists Gemini's image price as its per-token prompt rate (0.0000003 USD);
    # per thousand images that reads 0.0003: the contract passes it through; cost work interprets it.
    assert math.isclose(gemini["pricing"]["imagePer1k"], 0.0003)
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

    from vision_models.payload import api_models, encode_api_payload, payload_envelope

    frame = _gpt4o_frame()
    models_json = _json.dumps(api_models(frame))
    for options in ({}, {"cached": True, "cache_age": 12}, {"cached": True, "cache_age": 9, "error": "Network request failed"}):
        text = encode_api_payload(payload_envelope(len(frame), **options), models_json)
        assert _json.loads(text) == build_api_payload(frame, **options)
        assert list(_json.loads(text)) == list(build_api_payload(frame, **options))
    failed = encode_api_payload(payload_envelope(0, error="Failed to fetch models: 502 Bad Gateway"), "[]")
    assert _json.loads(failed) == {"error": "Failed to fetch models: 502 Bad Gateway", "models": []}

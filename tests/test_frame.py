"""The catalog frame: columns, dtypes, units, and rows that real or hostile catalogs contain."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from factories import model

from vision_models.catalog.frame import BASE_COLUMNS, models_frame, sort_models
from vision_models.catalog.vision import EVIDENCE

ALL_COLUMNS = [*BASE_COLUMNS, "is_vision", "vision_evidence"]


def test_columns_dtypes_and_units():
    frame = models_frame([model("openai/gpt-4o", prompt="0.0000025", completion="0.00001", inputs=("text", "image"))])
    assert list(frame.columns) == ALL_COLUMNS
    row = frame.iloc[0]
    # $2.50 and $10.00 per million tokens, written per token in the catalog.
    assert row["prompt_usd_per_mtok"] == 2.5
    assert row["completion_usd_per_mtok"] == 10.0
    assert row["provider"] == "openai"
    assert row["input_modalities"] == ["text", "image"]
    assert str(frame["context_length"].dtype) == "Int64"
    assert str(frame["max_completion_tokens"].dtype) == "Int64"
    assert str(frame["created"].dtype) == "datetime64[us, UTC]"
    # 1_700_000_000 s after the epoch is 2023-11-14 22:13:20 UTC.
    assert row["created"] == pd.Timestamp("2023-11-14 22:13:20", tz="UTC")
    assert frame["is_vision"].dtype == bool
    assert pd.api.types.is_string_dtype(frame["id"].dtype)


def test_prices_that_are_not_prices_become_nan_never_zero():
    entries = [
        model("a/variable", pricing={"prompt": "-1", "completion": "-1"}),
        model("b/missing", pricing={"prompt": "0.000001"}),
        model("c/junk", pricing={"prompt": "free!", "completion": None, "image": {"per": "image"}}),
        model("d/numbers", pricing={"prompt": 0.000002, "completion": 3e-06, "request": 0}),
        model("e/bool", pricing={"prompt": True, "completion": "nan", "image": "inf"}),
        model("f/no-pricing", pricing=None),
        model("g/free", pricing={"prompt": "0", "completion": "0"}),
    ]
    frame = models_frame(entries).set_index("id")
    assert math.isnan(frame.loc["a/variable", "prompt_usd_per_mtok"])
    assert math.isnan(frame.loc["b/missing", "completion_usd_per_mtok"])
    assert frame.loc["b/missing", "prompt_usd_per_mtok"] == 1.0
    assert frame.loc["c/junk"][["prompt_usd_per_mtok", "completion_usd_per_mtok", "image_price"]].isna().all()
    assert frame.loc["d/numbers", "prompt_usd_per_mtok"] == 2.0
    assert frame.loc["d/numbers", "completion_usd_per_mtok"] == 3.0
    assert frame.loc["d/numbers", "request_usd"] == 0.0
    assert frame.loc["e/bool"][["prompt_usd_per_mtok", "completion_usd_per_mtok", "image_price"]].isna().all()
    assert frame.loc["f/no-pricing"][["prompt_usd_per_mtok", "completion_usd_per_mtok"]].isna().all()
    assert frame.loc["g/free", "prompt_usd_per_mtok"] == 0.0  # listed as zero: free, not unknown


def test_per_token_prices_scale_without_float_noise():
    # 0.0000025 * 1e6 is 2.4999999999999996 in floats; a reader expects 2.5.
    frame = models_frame([model("x/y", prompt="0.0000025", completion="0.0000001365")])
    assert frame.loc[0, "prompt_usd_per_mtok"] == 2.5
    assert frame.loc[0, "completion_usd_per_mtok"] == 0.1365


def test_hostile_rows_never_drop_the_others():
    entries = [
        model("openai/gpt-4o", name="OpenAI: GPT-4o"),
        {"id": "null-architecture", "architecture": None, "pricing": {"prompt": "0.000001"}},
        {"id": "no-slash-id", "name": None, "context_length": "lots", "created": "yesterday"},
        model("openai/gpt-4o", name="duplicate, second copy"),
        model("mistral/ünïcödé-模型", name="Mistral: Ünïcödé 模型 🚀"),
        "not a model",
        None,
        {"name": "no id at all"},
        {"id": 42},
        model("odd/lists", architecture={"input_modalities": ["text", None, 3], "modality": 7}),
        model("odd/numbers", context_length=-5, top_provider={"max_completion_tokens": 1.5}),
    ]
    with pytest.warns(UserWarning) as caught:
        frame = models_frame(entries).set_index("id")
    messages = " ".join(str(w.message) for w in caught)
    assert "4 catalog entries without a string id" in messages
    assert "1 catalog entries with a repeated id" in messages
    assert sorted(frame.index) == sorted(
        [
            "openai/gpt-4o",
            "null-architecture",
            "no-slash-id",
            "mistral/ünïcödé-模型",
            "odd/lists",
            "odd/numbers",
        ]
    )
    assert frame.loc["openai/gpt-4o", "name"] == "OpenAI: GPT-4o"  # the first copy is kept
    assert frame.loc["null-architecture", "input_modalities"] == []
    assert frame.loc["null-architecture", "modality"] == ""
    assert frame.loc["no-slash-id", "name"] == "no-slash-id"  # a missing name falls back to the id
    assert frame.loc["no-slash-id", "provider"] == "no-slash-id"
    assert pd.isna(frame.loc["no-slash-id", "context_length"])
    assert pd.isna(frame.loc["no-slash-id", "created"])
    assert frame.loc["mistral/ünïcödé-模型", "name"] == "Mistral: Ünïcödé 模型 🚀"
    assert frame.loc["odd/lists", "input_modalities"] == ["text", "None", "3"]
    assert frame.loc["odd/lists", "modality"] == ""
    assert pd.isna(frame.loc["odd/numbers", "context_length"])
    assert pd.isna(frame.loc["odd/numbers", "max_completion_tokens"])


def test_alias_ids_keep_their_provider():
    frame = models_frame([model("~anthropic/claude-sonnet-latest")])
    assert frame.loc[0, "provider"] == "anthropic"


def test_aliases_are_flagged_and_name_their_model_only_where_the_catalog_does():
    entries = [
        model("~anthropic/claude-sonnet-latest", canonical_slug="~anthropic/claude-sonnet-latest"),  # as in 2026
        model("~openai/gpt-latest", canonical_slug="openai/gpt-5.5-20260423"),  # a catalog that says
        model("~google/gemini-flash-latest"),  # no canonical_slug at all
        model("openai/chatgpt-4o-latest"),  # OpenAI's own moving name: a listing of its own, not an alias
        model("stepfun/step-3.5-flash:free", canonical_slug="stepfun/step-3.5-flash"),  # a variant, not an alias
    ]
    frame = models_frame(entries).set_index("id")
    assert frame["is_alias"].to_dict() == {
        "~anthropic/claude-sonnet-latest": True,
        "~openai/gpt-latest": True,
        "~google/gemini-flash-latest": True,
        "openai/chatgpt-4o-latest": False,
        "stepfun/step-3.5-flash:free": False,
    }
    assert frame["is_alias"].dtype == bool
    assert [type(v) for v in frame["alias_of"].dropna()] == [str]
    assert frame.loc["~openai/gpt-latest", "alias_of"] == "openai/gpt-5.5-20260423"
    assert frame["alias_of"].isna().to_dict() == {  # missing, never "None" or ""
        "~anthropic/claude-sonnet-latest": True,
        "~openai/gpt-latest": False,
        "~google/gemini-flash-latest": True,
        "openai/chatgpt-4o-latest": True,
        "stepfun/step-3.5-flash:free": True,
    }


@pytest.mark.parametrize("name", ["openrouter-2026-05-01.json", "daily/openrouter-2026-04-22.json.gz"])
def test_real_aliases_are_the_tilde_ids_and_none_says_its_target(name):
    import gzip
    import json

    from factories import shared_catalog

    path = shared_catalog(name)
    entries = json.loads(gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes())["data"]
    tilde = sorted(e["id"] for e in entries if e["id"].startswith("~"))
    # Read directly: every alias lists its own id as its canonical_slug, so none names its target.
    assert tilde and all(e["canonical_slug"] == e["id"] for e in entries if e["id"].startswith("~"))
    frame = models_frame(entries)
    assert sorted(frame.loc[frame["is_alias"], "id"]) == tilde
    assert frame["alias_of"].isna().all()


def test_empty_catalog_has_all_columns():
    frame = models_frame([])
    assert list(frame.columns) == ALL_COLUMNS
    assert frame.empty


def test_sort_provider_then_name_case_insensitive_then_id():
    entries = [
        model("zeta/b", name="beta"),
        model("Alpha/x", name="Zed"),
        model("alpha/c", name="apple"),
        model("alpha/b", name="Apple"),
        model("alpha/a", name="apple"),
    ]
    order = models_frame(entries)["id"].tolist()
    # provider "alpha" == "Alpha"; then name apple == Apple == apple < Zed; ties by id (plain order).
    assert order == ["alpha/a", "alpha/b", "alpha/c", "Alpha/x", "zeta/b"]
    shuffled = models_frame(entries[::-1])
    assert sort_models(shuffled.sample(frac=1, random_state=3))["id"].tolist() == order


def test_evidence_labels_are_rule_names():
    assert EVIDENCE == ("modality", "image_price", "name")


# --- Section 7 fields: cached input, discount, image-token and image-output prices, parameters, files, expiry.


def test_listed_extra_prices_have_their_units_in_the_column_names():
    entries = [
        model(
            "x/everything",
            pricing={
                "prompt": "0.000002",
                "completion": "0.000008",
                "input_cache_read": "0.0000005",  # $0.50 per million cached tokens
                "image_token": "0.00003",  # $30 per million image tokens
                "image_output": "0.039",  # USD per output image, as the API reference says
                "discount": 0.25,  # a quarter off: prices x 0.75
            },
        ),
        model("y/nothing-extra"),
        model("z/odd", pricing={"prompt": "0", "completion": "0", "input_cache_read": "-1", "discount": 1.5}),
    ]
    frame = models_frame(entries).set_index("id")
    row = frame.loc["x/everything"]
    assert row["cache_read_usd_per_mtok"] == 0.5
    assert row["image_token_usd_per_mtok"] == 30.0
    assert row["image_output_usd_per_image"] == 0.039
    assert row["discount"] == 0.25
    assert (
        frame.loc["y/nothing-extra"][
            ["cache_read_usd_per_mtok", "discount", "image_token_usd_per_mtok", "image_output_usd_per_image"]
        ]
        .isna()
        .all()
    )  # not listed: unknown, never 0
    assert math.isnan(frame.loc["z/odd", "cache_read_usd_per_mtok"])  # variable is not a price
    assert math.isnan(frame.loc["z/odd", "discount"])  # a fraction above 1 is not a discount
    for column in ("cache_read_usd_per_mtok", "discount", "image_token_usd_per_mtok", "image_output_usd_per_image"):
        assert frame[column].dtype == "float64"


def test_supported_parameters_structured_outputs_and_files():
    entries = [
        model("a/schema", supported_parameters=["max_tokens", "structured_outputs"]),
        model("b/json-mode", supported_parameters=["response_format"], inputs=("text", "image", "file")),
        model("c/plain", supported_parameters=["max_tokens", "temperature"]),
        model("d/none-listed"),
        model("e/junk", supported_parameters="structured_outputs"),  # not a list: nothing listed
    ]
    frame = models_frame(entries).set_index("id")
    assert frame.loc["a/schema", "supported_parameters"] == ["max_tokens", "structured_outputs"]
    assert frame["structured_outputs"].to_dict() == {
        "a/schema": True,
        "b/json-mode": True,
        "c/plain": False,
        "d/none-listed": False,
        "e/junk": False,
    }
    assert frame["takes_files"].to_dict() == {
        "a/schema": False,
        "b/json-mode": True,
        "c/plain": False,
        "d/none-listed": False,
        "e/junk": False,
    }
    assert frame.loc["d/none-listed", "supported_parameters"] == []
    assert frame["structured_outputs"].dtype == bool and frame["takes_files"].dtype == bool


def test_expiration_dates_are_utc_and_flag_expiring_models():
    entries = [
        model("a/date", expiration_date="2026-05-07"),
        model("b/time", expiration_date="2026-05-07T12:30:00+02:00"),
        model("c/null", expiration_date=None),
        model("d/junk", expiration_date="next tuesday"),
        model("e/absent"),
    ]
    frame = models_frame(entries).set_index("id")
    assert str(frame["expiration_date"].dtype) == "datetime64[us, UTC]"
    assert frame.loc["a/date", "expiration_date"] == pd.Timestamp("2026-05-07 00:00", tz="UTC")
    assert frame.loc["b/time", "expiration_date"] == pd.Timestamp("2026-05-07 10:30", tz="UTC")
    assert frame["expiration_date"].isna().to_dict() == {
        "a/date": False,
        "b/time": False,
        "c/null": True,
        "d/junk": True,
        "e/absent": True,
    }
    assert frame["expiring"].tolist() == [True, True, False, False, False]


def test_free_only_when_every_listed_price_is_zero_and_routers_are_labelled():
    entries = [
        model("a/free", pricing={"prompt": "0", "completion": "0", "image": "0", "request": "0"}),
        model("b/paid-search", pricing={"prompt": "0", "completion": "0", "web_search": "0.01"}),
        model("c/paid-cache", pricing={"prompt": "0", "completion": "0", "input_cache_read": "0.0000001"}),
        model("d/no-completion", pricing={"prompt": "0"}),
        model("openrouter/auto", pricing={"prompt": "-1", "completion": "-1"}),
        model(
            "openrouter/free",
            pricing={"prompt": "0", "completion": "0"},
            architecture={"input_modalities": ["text", "image"], "output_modalities": ["text"], "tokenizer": "Router"},
        ),
        model(
            "~anthropic/claude-sonnet-latest",  # an alias with the fixed prices of the model it names
            architecture={"input_modalities": ["text", "image"], "output_modalities": ["text"], "tokenizer": "Router"},
        ),
        model("e/paid"),
        model(
            "f/nested-tiers", pricing={"prompt": "0", "completion": "0", "prompt_tiers": [{"cost": "0"}], "discount": 0}
        ),
    ]
    frame = models_frame(entries).set_index("id")
    assert frame["free"].to_dict() == {
        "a/free": True,
        "b/paid-search": False,
        "c/paid-cache": False,
        "d/no-completion": False,  # a price that is not listed is unknown, not zero
        "openrouter/auto": False,
        "openrouter/free": False,  # routes to free models; not a model itself
        "~anthropic/claude-sonnet-latest": False,
        "e/paid": False,
        "f/nested-tiers": True,
    }
    assert frame.index[frame["is_router"]].tolist() == ["openrouter/auto", "openrouter/free"]


def test_sample_catalog_lists_some_of_the_new_fields():
    frame = models_frame_from_sample()
    assert frame.loc["openai/gpt-4o", "cache_read_usd_per_mtok"] == 1.25
    assert frame.loc["openai/gpt-4o", "structured_outputs"] and frame.loc["openai/gpt-4o", "takes_files"]
    assert frame.loc["anthropic/claude-2.1", "expiring"]
    assert frame["is_router"].sum() == 1 and frame.loc["openrouter/auto", "is_router"]


def models_frame_from_sample():
    from vision_models import fetch_catalog

    return fetch_catalog("sample").models.set_index("id")


@pytest.mark.parametrize(
    "name", ["openrouter-2025-05-23.json", "openrouter-2026-02-27.json", "openrouter-2026-05-01.json"]
)
def test_new_fields_agree_with_the_raw_real_catalog(name):
    import json

    from factories import shared_catalog

    path = shared_catalog(name)
    raw = {m["id"]: m for m in json.loads(path.read_text())["data"]}
    frame = models_frame(list(raw.values()), vision_only=True).set_index("id")
    for model_id, row in frame.iterrows():
        entry = raw[model_id]
        listed = entry["pricing"].get("input_cache_read")
        expected = float(listed) * 1e6 if listed is not None else None
        if expected is None:
            assert math.isnan(row["cache_read_usd_per_mtok"]), model_id
        else:
            assert row["cache_read_usd_per_mtok"] == pytest.approx(expected, rel=1e-12), model_id
        params = entry.get("supported_parameters") or []
        assert row["supported_parameters"] == params
        assert row["structured_outputs"] == ("structured_outputs" in params or "response_format" in params)
        assert row["takes_files"] == ("file" in entry["architecture"]["input_modalities"])
        assert row["expiring"] == bool(entry.get("expiration_date"))
        if entry.get("expiration_date"):
            assert row["expiration_date"].strftime("%Y-%m-%d") == entry["expiration_date"][:10]


@pytest.mark.parametrize("rules", ["strict", "seed"])
@pytest.mark.parametrize("name", ["openrouter-2025-05-23.json", "openrouter-2026-05-01.json"])
def test_vision_only_frame_is_the_full_frame_filtered(name, rules):
    # vision_only decides the rows before building the other columns: it must give the same frame.
    import json

    from factories import shared_catalog

    entries = json.loads(shared_catalog(name).read_text())["data"]
    entries.append({"id": "x/no-inputs-listed-llava", "name": "LLaVA"})  # undecided by listed inputs
    entries.append({"id": "x/priced", "pricing": {"prompt": "0.000001", "image": "0.001"}})
    full = models_frame(entries, rules)
    expected = full[full["is_vision"].to_numpy()].reset_index(drop=True)
    pd.testing.assert_frame_equal(models_frame(entries, rules, vision_only=True), expected)

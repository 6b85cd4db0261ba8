"""The catalog frame: columns, dtypes, units, and rows that real or hostile catalogs contain."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from factories import model
from vision_models.catalog import models_frame, sort_models
from vision_models.frame import BASE_COLUMNS, build_frame
from vision_models.vision import EVIDENCE

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
    frame = build_frame(entries).set_index("id")
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
    frame = build_frame([model("x/y", prompt="0.0000025", completion="0.0000001365")])
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
        frame = build_frame(entries).set_index("id")
    messages = " ".join(str(w.message) for w in caught)
    assert "4 catalog entries without a string id" in messages
    assert "1 catalog entries with a repeated id" in messages
    assert list(frame.index) == [
        "openai/gpt-4o",
        "null-architecture",
        "no-slash-id",
        "mistral/ünïcödé-模型",
        "odd/lists",
        "odd/numbers",
    ]
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
    frame = build_frame([model("~anthropic/claude-sonnet-latest")])
    assert frame.loc[0, "provider"] == "anthropic"


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

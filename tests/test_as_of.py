"""The catalog as of a date, rebuilt from the history.

The reference is the archived daily catalog of that date in
``../shared/catalogs/daily``, read as a file: for every column the history
stores, the frame from the history must equal the frame from the file. The
hand-made cases run without the archive.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from factories import SHARED_CATALOGS, catalog_body, copy_of_daily_history, model, run_cli

from vision_models import cost_per_image, fetch_catalog, fetch_vision_models
from vision_models.catalog import history
from vision_models.catalog.frame import models_frame

DAILY = SHARED_CATALOGS / "daily"
#: The columns the history stores, and those computed from them (provider, vision).
STORED = [
    "id",
    "name",
    "provider",
    "context_length",
    "modality",
    "input_modalities",
    "prompt_usd_per_mtok",
    "completion_usd_per_mtok",
    "image_price",
    "request_usd",
    "is_vision",
    "vision_evidence",
]


def daily(day: str) -> Path:
    path = DAILY / f"openrouter-{day}.json.gz"
    if not path.exists():
        pytest.skip(f"archived daily catalog {path} is absent: the shared catalogs folder must sit beside the checkout")
    return path


@pytest.fixture(scope="module")
def daily_history(daily_history_built, tmp_path_factory) -> Path:
    """The 60 dailies imported in date order (the run's shared import), in this module's own copy."""
    return copy_of_daily_history(daily_history_built, tmp_path_factory.mktemp("as-of"))


@pytest.fixture
def use_daily(daily_history, monkeypatch) -> Path:
    monkeypatch.setenv("VISION_MODELS_HISTORY", str(daily_history))
    return daily_history


# ---------------------------------------------------------------- against the archive


@pytest.mark.parametrize("day", ["2026-03-02", "2026-03-20", "2026-04-07", "2026-04-15", "2026-05-01"])
@pytest.mark.parametrize("rules", ["seed", "strict"])
def test_the_frame_from_the_history_equals_the_frame_from_that_days_file(use_daily, day, rules):
    file = daily(day)
    for fetch in (fetch_catalog, fetch_vision_models):
        past = fetch(as_of=day, rules=rules)
        archived = fetch(str(file), rules=rules)
        assert past.source == f"history (as of {day}; snapshot of {day}T00:00:00Z)"
        pd.testing.assert_frame_equal(past.models[STORED], archived.models[STORED])


def test_every_archived_day_matches_its_file(use_daily):
    """All 60 days, vision models under the seed rules (the parametrised test above covers both rule sets)."""
    days = [p.name[len("openrouter-") : -len(".json.gz")] for p in sorted(DAILY.glob("openrouter-2026-*.json.gz"))]
    assert len(days) == 60
    for day in days:
        past = fetch_vision_models(as_of=day, rules="seed").models
        archived = fetch_vision_models(str(daily(day)), rules="seed").models
        pd.testing.assert_frame_equal(past[STORED], archived[STORED], obj=day)


def test_a_day_without_a_snapshot_gives_the_latest_before_it(use_daily):
    assert not (DAILY / "openrouter-2026-03-08.json.gz").exists()  # the archive skips that day
    past = fetch_catalog(as_of="2026-03-08", rules="seed")
    assert past.source == "history (as of 2026-03-08; snapshot of 2026-03-07T00:00:00Z)"
    archived = fetch_catalog(str(daily("2026-03-07")), rules="seed")
    pd.testing.assert_frame_equal(past.models[STORED], archived.models[STORED])


def test_a_datetime_picks_the_snapshot_at_or_before_that_instant(use_daily):
    assert "snapshot of 2026-04-01T00:00:00Z" in fetch_catalog(as_of="2026-04-01T00:00:00Z").source
    assert "snapshot of 2026-03-31T00:00:00Z" in fetch_catalog(as_of="2026-03-31T23:59:59+00:00").source
    # A naive datetime is UTC; in another zone it is converted: 01:00 at +02:00 is 23:00 UTC the day before.
    assert "snapshot of 2026-03-31T00:00:00Z" in fetch_catalog(as_of="2026-04-01T01:00+02:00").source
    assert "snapshot of 2026-04-01T00:00:00Z" in fetch_catalog(as_of=pd.Timestamp("2026-04-01 06:00")).source


def test_before_the_first_snapshot_names_the_first_date(use_daily):
    with pytest.raises(
        ValueError, match=r"no catalog recorded at or before 2026-03-01: the history starts on 2026-03-02T00:00:00Z"
    ):
        fetch_vision_models(as_of="2026-03-01")


def test_the_payload_answers_like_a_file_source(use_daily):
    past = fetch_vision_models(as_of="2026-04-15", rules="seed")
    archived = fetch_vision_models(str(daily("2026-04-15")), rules="seed")
    payload, expected = past.to_api_payload(), archived.to_api_payload()
    assert set(payload) == {"models", "cached", "count"} and payload["cached"] is False
    assert payload["count"] == expected["count"]
    drop = lambda models: [{k: v for k, v in m.items() if k != "description"} for m in models]  # noqa: E731
    assert drop(payload["models"]) == drop(expected["models"])
    assert (past.cached, past.cache_age, past.error, past.stale) == (False, None, None, False)


def test_a_past_cost_is_the_cost_at_that_days_prices(use_daily):
    past = fetch_vision_models(as_of="2026-03-20", rules="seed").models
    archived = fetch_vision_models(str(daily("2026-03-20")), rules="seed").models
    # The history keeps prices, not supported_parameters: which models reason (and their reasoning allowance)
    # is unknown on a past date, so both sides are priced without reasoning.
    mine = cost_per_image(past, preset="a4-200dpi", output_tokens=700, reasoning_effort="none")
    reference = cost_per_image(archived, preset="a4-200dpi", output_tokens=700, reasoning_effort="none")
    columns = ["id", "image_tokens", "method", "usd_per_image", "listed_price_reading"]
    # A router priced "0" (openrouter/free) is known by its Router tokenizer, which the history does not
    # keep: compare the models, and check that router rows are the only difference.
    routers = set(reference.loc[reference["method"] == "router", "id"])
    assert routers and set(mine["id"]) == set(reference["id"])
    # Nor does it keep the web_search price: models that search on every request (their fee) are left out too.
    searchers = set(reference.loc[reference["web_search_usd"] > 0, "id"])
    assert searchers and not (mine["web_search_usd"] > 0).any()
    left_out = routers | searchers
    models_only = [frame[~frame["id"].isin(left_out)][columns].reset_index(drop=True) for frame in (mine, reference)]
    pd.testing.assert_frame_equal(*models_only)


# ---------------------------------------------------------------- hand-made history (no archive needed)


def small_history(path: Path) -> None:
    """Two snapshots: gpt-4o at $5 / $15 on 2026-01-10, cut to $2.50 / $10 on 2026-02-01 (when a model also joins)."""
    first = catalog_body(model("openai/gpt-4o", prompt="0.000005", completion="0.000015", inputs=("text", "image")))
    second = catalog_body(
        model("openai/gpt-4o", prompt="0.0000025", completion="0.00001", inputs=("text", "image")),
        model("mistralai/pixtral-12b", prompt="0.0000001", completion="0.0000001", inputs=("text", "image")),
    )
    for body, when in ((first, "2026-01-10T09:30:00Z"), (second, "2026-02-01T12:00:00Z")):
        history.record_fetch(json.loads(body)["data"], fetched_at=when, source="openrouter", body=body, path=path)


def test_prices_on_each_side_of_a_change(tmp_path, monkeypatch):
    path = tmp_path / "h.sqlite"
    monkeypatch.setenv("VISION_MODELS_HISTORY", str(path))
    small_history(path)
    before = fetch_vision_models(as_of="2026-01-31", rules="seed")
    assert before.models["id"].tolist() == ["openai/gpt-4o"]
    assert before.models[["prompt_usd_per_mtok", "completion_usd_per_mtok"]].iloc[0].tolist() == [5.0, 15.0]
    # A date alone is the whole day: the cut at 12:00 on 2026-02-01 is in.
    after = fetch_vision_models(as_of="2026-02-01", rules="seed")
    assert after.source == "history (as of 2026-02-01; snapshot of 2026-02-01T12:00:00Z)"
    assert after.models["id"].tolist() == ["mistralai/pixtral-12b", "openai/gpt-4o"]
    assert after.models.set_index("id").loc["openai/gpt-4o", "prompt_usd_per_mtok"] == 2.5
    # Before noon that day it was still the old price.
    morning = fetch_vision_models(as_of="2026-02-01T11:59:59Z", rules="seed")
    assert morning.models["prompt_usd_per_mtok"].tolist() == [5.0]


def test_columns_the_history_does_not_store_are_empty_not_invented(tmp_path, monkeypatch):
    path = tmp_path / "h.sqlite"
    monkeypatch.setenv("VISION_MODELS_HISTORY", str(path))
    small_history(path)
    models = fetch_catalog(as_of="2026-02-02", rules="seed").models
    assert (models["description"] == "").all()
    # Output modalities are the output side of the stored modality string, "text+image->text".
    assert models["output_modalities"].tolist() == [["text"], ["text"]]
    assert models["max_completion_tokens"].isna().all() and models["created"].isna().all()
    assert models["input_modalities"].tolist() == [["text", "image"], ["text", "image"]]


def test_routers_free_models_and_generators_read_back_from_the_stored_columns(tmp_path):
    """Hand-made rows whose derived columns depend on what is stored: a router, a free model, an image maker."""
    path = tmp_path / "h.sqlite"
    body = catalog_body(
        model("openrouter/auto", prompt="-1", completion="-1", inputs=("text", "image")),
        model("p/free", prompt="0", completion="0", inputs=("text", "image")),
        model("p/free-but-image-priced", pricing={"prompt": "0", "completion": "0", "image": "0.001"}),
        model("p/painter", architecture={"modality": "text->image", "input_modalities": ["text"]}),
        model("p/cheap", prompt="0.0000003", completion="0.0000009", inputs=("text", "image", "file")),
    )
    history.record_fetch(
        json.loads(body)["data"], fetched_at="2026-03-01T00:00Z", source="openrouter", body=body, path=path
    )
    frame, when = history.frame_as_of("2026-03-02", "seed", path=path)
    rows = frame.set_index("id")
    assert str(when) == "2026-03-01 00:00:00+00:00"
    assert rows["is_router"].to_dict()["openrouter/auto"] and not rows["is_router"].to_dict()["p/free"]
    assert rows.loc["openrouter/auto", ["prompt_usd_per_mtok", "completion_usd_per_mtok"]].isna().all()
    assert rows["free"][rows["free"]].index.tolist() == ["p/free"]
    assert rows.loc["p/painter", "output_modalities"] == ["image"]
    assert rows.loc["p/cheap", ["prompt_usd_per_mtok", "completion_usd_per_mtok"]].tolist() == [0.3, 0.9]
    assert rows["takes_files"][rows["takes_files"]].index.tolist() == ["p/cheap"]
    for rules in ("seed", "strict"):
        for vision_only in (False, True):
            direct, _ = history.frame_as_of("2026-03-02", rules, vision_only=vision_only, path=path)
            entries, _ = history.entries_as_of("2026-03-02", path=path)
            pd.testing.assert_frame_equal(direct, models_frame(entries, rules, vision_only=vision_only))


def test_an_empty_history_says_how_to_build_one(tmp_path, monkeypatch):
    monkeypatch.setenv("VISION_MODELS_HISTORY", str(tmp_path / "none.sqlite"))
    with pytest.raises(ValueError, match="no catalog history at .*none.sqlite.*history import"):
        fetch_vision_models(as_of="2026-04-01")


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", "", 20260401])
def test_a_bad_date_is_a_value_error_naming_it(value):
    with pytest.raises(ValueError, match="bad as_of"):
        fetch_vision_models(as_of=value)


def test_as_of_with_another_source_is_a_value_error(tmp_path, monkeypatch):
    small_history(tmp_path / "h.sqlite")
    monkeypatch.setenv("VISION_MODELS_HISTORY", str(tmp_path / "h.sqlite"))
    with pytest.raises(ValueError, match="source='sample'"):
        fetch_vision_models("sample", as_of="2026-02-01")
    assert fetch_vision_models("openrouter", as_of="2026-02-01").count == 2


def test_bad_rules_are_checked_first(tmp_path):
    with pytest.raises(ValueError, match="unknown rules 'loose'"):
        fetch_vision_models(as_of="2026-02-01", rules="loose")


# ---------------------------------------------------------------- command line


cli = run_cli


def test_cli_list_cost_and_export_as_of(tmp_path, monkeypatch):
    path = tmp_path / "h.sqlite"
    monkeypatch.setenv("VISION_MODELS_HISTORY", str(path))
    small_history(path)
    listed = cli("list", "--as-of", "2026-01-15", "--format", "json", "--rules", "seed")
    assert listed.returncode == 0, listed.stderr
    assert [(r["id"], r["prompt_usd_per_mtok"]) for r in json.loads(listed.stdout)] == [("openai/gpt-4o", 5.0)]
    assert "source is the history (as of 2026-01-15; snapshot of 2026-01-10T09:30:00Z)" in listed.stderr
    cost = cli(
        "cost", "--as-of", "2026-01-15", "--width", "512", "--height", "512", "--output-tokens", "0", "--format", "csv"
    )
    assert cost.returncode == 0 and "openai/gpt-4o" in cost.stdout
    target = tmp_path / "past.csv"
    export = cli("export", str(target), "--as-of", "2026-02-01")
    assert export.returncode == 0 and target.read_text().count("\n") == 3  # header + two models
    early = cli("list", "--as-of", "2025-12-31")
    # No catalog recorded then: no data (exit 1), as with no history at all; a value that is no date is bad usage.
    assert early.returncode == 1 and early.stderr.count("\n") == 1 and "2026-01-10T09:30:00Z" in early.stderr
    bad = cli("list", "--as-of", "soon")
    assert bad.returncode == 2 and "bad --as-of 'soon'" in bad.stderr and "Traceback" not in bad.stderr

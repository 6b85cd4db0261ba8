"""The shipped table of published document-reading scores: sourced, typed, and mapped to ids the catalogs hold."""

from __future__ import annotations

import json
import tomllib

import pytest
from factories import REPO, shared_catalog

import vision_models as vm
from vision_models.catalog.benchmarks import BENCHMARK_COLUMNS, prior_scores

FULL_CATALOGS = ("openrouter-2025-05-23.json", "openrouter-2026-02-27.json", "openrouter-2026-05-01.json")


def _ids(name: str) -> set[str]:
    return {m["id"] for m in json.loads(shared_catalog(name).read_text())["data"]}


def test_every_row_has_a_source_a_score_and_one_direction_per_metric():
    table = vm.benchmarks()
    assert list(table.columns) == BENCHMARK_COLUMNS
    assert len(table) >= 20
    assert table["source_url"].str.startswith("https://").all()
    assert table["score"].notna().all() and table["source_model"].str.len().gt(0).all()
    directions = table.groupby(["benchmark", "metric"])["higher_is_better"].nunique()
    assert (directions == 1).all()
    # An edit distance is better low; a pass rate or an overall score better high.
    assert not table.loc[table["metric"] == "text_edit_distance", "higher_is_better"].any()
    assert table.loc[table["metric"] != "text_edit_distance", "higher_is_better"].all()


def test_every_mapped_id_is_in_the_latest_catalog_or_marked_retired_and_in_an_earlier_one():
    latest = _ids("openrouter-2026-05-01.json")
    earlier = set().union(*(_ids(name) for name in FULL_CATALOGS[:-1]))
    table = vm.benchmarks()
    mapped = table[table["openrouter_id"].notna()]
    assert len(mapped) >= 20
    for model_id, retired in zip(mapped["openrouter_id"], mapped["retired"]):
        if retired:
            assert model_id not in latest and model_id in earlier, model_id
        else:
            assert model_id in latest, f"{model_id} is not in the 2026-05-01 catalog: map it anew or mark it retired"


def test_numbers_read_from_the_sources():
    # Typed in by hand from the two sources (docs/benchmarks.md), not from the shipped file.
    olm = prior_scores("olmOCR-Bench", "overall_pass_rate_pct")
    assert olm["openai/gpt-4o"] == 68.9 and olm["google/gemini-2.0-flash-001"] == 57.8
    omni = prior_scores("OmniDocBench v1.5 (IDP Leaderboard)", "overall")
    assert omni["google/gemini-3-flash-preview"] == 90.1 and omni["openai/gpt-5-nano"] == 63.4
    edit = prior_scores("OmniDocBench v1.5 (IDP Leaderboard)", "text_edit_distance")
    assert edit["anthropic/claude-haiku-4.5"] == 0.224 and edit.attrs["higher_is_better"] is False
    # ParseBench's leaderboard.csv: GPT-5 Mini has two rows; the one run without a reasoning effort (46.83 is
    # "Reasoning Minimal", 51.52 "Reasoning Medium", the default) is the one a plain request matches.
    parse = prior_scores("ParseBench", "overall")
    assert parse["openai/gpt-5-mini"] == 51.52 and parse["anthropic/claude-haiku-4.5"] == 45.17
    assert parse["google/gemini-3-flash-preview"] == 75.05 and parse["qwen/qwen3.5-9b"] == 31.9


def test_open_weight_rows_are_mapped_by_the_catalogs_own_hugging_face_id():
    """ParseBench names open-weight models by their Hugging Face id; the catalog lists the same id per model."""
    catalog = {m["id"]: m.get("hugging_face_id") for m in json.loads(shared_catalog("openrouter-2026-05-01.json")
                                                                        .read_text())["data"]}  # fmt: skip
    table = vm.benchmarks("ParseBench")
    open_weight = table[table["notes"].str.contains("open weights ", regex=False) & table["openrouter_id"].notna()]
    assert len(open_weight) == 5
    for model_id, notes in zip(open_weight["openrouter_id"], open_weight["notes"]):
        weights = notes.split("open weights ", 1)[1].split(",", 1)[0]
        assert catalog[model_id] == weights, (model_id, weights)


def test_unknown_names_are_one_line_errors_and_the_table_is_a_copy():
    with pytest.raises(ValueError, match=r"unknown benchmark 'OmniDoc'; known: olmOCR-Bench"):
        vm.benchmarks("OmniDoc")
    with pytest.raises(ValueError, match=r"unknown metric 'cer'"):
        vm.benchmarks(metric="cer")
    mine = vm.benchmarks()
    mine.loc[0, "score"] = -1.0
    assert vm.benchmarks().loc[0, "score"] != -1.0


def test_the_csv_ships_as_package_data():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "data/*.csv" in config["tool"]["setuptools"]["package-data"]["vision_models"]

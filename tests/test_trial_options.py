"""TrialOptions (what a trial sends and how, checked once), keywords as overrides, and the typed tasks and rows.

Expected values come from the test's own prices and counts (``PRICES``, the pages it makes), the store's
schema as SQLite reports it, and the messages the trial gave before the options were one object.
"""

from __future__ import annotations

import dataclasses
import sqlite3

import pandas as pd
import pytest
from factories import FLASH, MINI, PRICES, make_pages, page_requests

import vision_models as vm
from vision_models import trials
from vision_models.stores import trials as store
from vision_models.trials import ControlTask, PageTask, TrialOptions, TrialRow


def test_options_with_keyword_overrides_plan_as_the_same_keyword_call(catalog, env):
    pages = make_pages(env / "pages", 2)
    options = TrialOptions(prompt="Read this page.", max_usd=0.5, max_tokens=100, output_tokens=50, max_side=1024)
    given = vm.estimate_trial(pages, [MINI, FLASH], options=options, max_tokens=400, catalog=catalog)
    keywords = vm.estimate_trial(pages, [MINI, FLASH], prompt="Read this page.", max_usd=0.5, max_tokens=400,
                                 output_tokens=50, max_side=1024, catalog=catalog)  # fmt: skip
    pd.testing.assert_frame_equal(given, keywords)
    assert given.attrs == keywords.attrs
    assert given.attrs["max_tokens"] == 400 and given.attrs["prompt"] == "Read this page."
    # The keyword won: each row's worst case holds 300 more answer tokens at the model's completion price.
    alone = vm.estimate_trial(pages, [MINI, FLASH], options=options, catalog=catalog)
    grown = (given["worst_case_usd"] - alone["worst_case_usd"]).tolist()
    assert grown == pytest.approx([300 * PRICES[m][1] for m in given["model"].tolist()], rel=1e-9)


def test_a_keyword_left_out_comes_from_the_options(catalog, env):
    pages = make_pages(env / "pages", 1)
    options = TrialOptions(max_usd=0.25, max_tokens=64)
    plan = vm.estimate_trial(pages, [MINI], options=options, catalog=catalog)
    assert plan.attrs["max_usd"] == 0.25 and plan.attrs["max_tokens"] == 64
    assert vm.estimate_trial(pages, [MINI], catalog=catalog).attrs["max_usd"] is None  # no budget asked: none shown


BAD = [
    ("prompt", "  ", "prompt must be non-empty text, not '  '"),
    ("max_usd", -1, "bad max_usd -1: expected a number of USD from 0 to 1,000,000"),
    ("max_usd", "5", "bad max_usd '5': expected a number of USD from 0 to 1,000,000"),
    ("max_tokens", 0, "bad max_tokens 0: expected a whole number from 1 to 10,000,000"),
    ("output_tokens", 1.5, "bad output_tokens 1.5: expected a whole number from 0 to 10,000,000"),
    ("dpi", 0, "dpi must be a positive whole number, not 0"),
    ("max_side", True, "max_side must be a positive whole number, not True"),
    ("concurrency", 65, "bad concurrency 65: expected a whole number from 1 to 64"),
    ("timeout", 0, "bad timeout 0: expected a number of seconds above 0 to 86,400"),
    ("retries", -1, "bad retries -1: expected a whole number from 0 to 100"),
    ("retry_window_s", float("nan"), "bad retry_window_s nan: expected a number of seconds above 0 to 86,400"),
    ("lang", "", "lang must be a Tesseract language such as 'eng', not ''"),
    ("casefold", "yes", "bad casefold 'yes': expected True or False"),
    ("new_budget", 1, "bad new_budget 1: expected True or False"),
    ("progress", "auto", "bad progress 'auto': expected True, False or None"),
]


@pytest.mark.parametrize(("name", "value", "message"), BAD, ids=[f"{n}={v!r}" for n, v, _ in BAD])
def test_a_bad_option_is_one_line_naming_it_wherever_it_is_given(name, value, message, env):
    with pytest.raises(ValueError) as made:
        TrialOptions(**{name: value})
    assert str(made.value) == message
    with pytest.raises(ValueError) as overridden:  # a keyword override is checked the same way, before anything runs
        vm.run_trial(env / "missing", ["tesseract"], options=TrialOptions(), **{name: value})
    assert str(overridden.value) == message


def test_options_are_frozen_and_only_named_options_override():
    options = TrialOptions()
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.max_usd = 5.0  # type: ignore[misc]
    with pytest.raises(TypeError, match="not an option of a trial: colour"):
        trials.trial_options(options, colour="red")
    with pytest.raises(TypeError, match="options must be a TrialOptions, not dict"):
        trials.trial_options({"max_usd": 1.0})  # type: ignore[arg-type]


def test_a_budget_from_the_options_holds_and_a_keyword_replaces_it(standin, catalog, env):
    pages = make_pages(env / "pages", 2)
    nothing = TrialOptions(max_usd=0.0, progress=False)
    skipped = vm.run_trial(pages, [MINI], options=nothing, catalog=catalog, base_url=standin.base_url)
    assert skipped.max_usd == 0.0 and set(skipped.results["status"]) == {"skipped-budget"}
    assert standin.billed_usd == 0.0 and not standin.requests  # not even the control was sent
    paid = vm.run_trial(pages, [MINI], options=nothing, max_usd=1.0, catalog=catalog, base_url=standin.base_url)
    assert paid.max_usd == 1.0 and paid.results["status"].tolist() == ["ok", "ok"]
    assert len(page_requests(standin, MINI)) == 2
    assert paid.billed_usd == pytest.approx(standin.billed_usd, abs=1e-12)


def test_the_control_request_is_its_own_type_and_never_a_page_row(standin, catalog, env):
    pages = make_pages(env / "pages", 2)
    run = trials.prepare_run(pages, [MINI, FLASH], TrialOptions(), catalog=catalog, source=None, base_url=None,
                          api_key=None, cache_path=None)  # fmt: skip
    controls = [t for t in run.tasks if isinstance(t, ControlTask)]
    assert [t.model for t in controls] == [MINI, FLASH]  # one per model, before the pages
    assert all(not hasattr(t, "page") and t.row.kind == "control" for t in controls)
    assert sum(isinstance(t, PageTask) for t in run.tasks) == 4 and len(run.tasks) == 6

    seen: list[TrialRow] = []
    trial = vm.run_trial(pages, [MINI, FLASH], catalog=catalog, base_url=standin.base_url, progress=False,
                         on_row=seen.append)  # fmt: skip
    assert [type(r) for r in seen] == [TrialRow] * 4 and {r.kind for r in seen} == {"page"}
    assert sorted(r.page for r in seen) == ["page0.png", "page0.png", "page1.png", "page1.png"]
    assert len(trial.results) == 4 and "" not in set(trial.results["page"])
    stored = store.run_rows(trial.run_id)
    assert len(stored) == 4 and {r.kind for r in stored} == {"page"}
    with sqlite3.connect(env / "trials.sqlite") as conn:
        kinds = conn.execute("SELECT kind, page, page_index, COUNT(*) FROM rows GROUP BY kind ORDER BY kind").fetchall()
    assert kinds == [("control", "", -1, 2), ("page", kinds[1][1], kinds[1][2], 4)]
    assert len(vm.load_trial(trial.run_id).results) == 4


def test_a_trial_row_has_a_field_for_every_column_the_store_keeps(env):
    with store.TrialStore():
        pass
    with sqlite3.connect(env / "trials.sqlite") as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(rows)")]
    names = [f.name for f in dataclasses.fields(TrialRow)]
    assert set(columns) <= set(names) and sorted(store.ROW_FIELDS) == sorted(columns)
    assert not hasattr(TrialRow(), "__dict__")  # slots: a misspelt field is an error, not a new key
    with pytest.raises(AttributeError):
        TrialRow()._kind = "page"  # type: ignore[attr-defined]


def test_statuses_still_answers_with_a_deprecation_warning():
    with pytest.warns(DeprecationWarning, match="STATUSES is unused"):
        assert trials.STATUSES == ("ok", "error", "skipped-budget", "cached")


def test_settings_carry_the_connection_and_a_keyword_wins_over_them(standin, catalog, env, monkeypatch):
    monkeypatch.delenv("OPENROUTER_API_KEY")
    pages = make_pages(env / "pages", 1)
    settings = vm.Settings(base_url=standin.base_url, api_key="sk-or-v1-from-settings", trials_path=env / "s.db")
    trial = vm.run_trial(pages, [MINI], settings=settings, catalog=catalog, progress=False)
    assert trial.billed_usd == pytest.approx(standin.billed_usd, abs=1e-12) and standin.billed_usd > 0
    assert {r["auth"] for r in standin.requests} == {"Bearer sk-or-v1-from-settings"}
    assert (env / "s.db").exists()  # the trials file of the settings
    # The keyword key wins; the rows of the settings' trials file are done, so a second file is used to send again.
    vm.run_trial(pages, [MINI], settings=settings, api_key="sk-or-v1-keyword", trials_path=env / "k.db",
                 catalog=catalog, progress=False)  # fmt: skip
    assert standin.requests[-1]["auth"] == "Bearer sk-or-v1-keyword"
    # The dry run reads the same trials file: the row sent above is cached there, not in another file.
    planned = vm.estimate_trial(pages, [MINI], settings=settings, catalog=catalog)
    assert planned["cached"].tolist() == [True]
    assert vm.estimate_trial(pages, [MINI], catalog=catalog)["cached"].tolist() == [False]
    with pytest.raises(TypeError, match="bad settings"):
        vm.estimate_trial(pages, [MINI], settings={"base_url": standin.base_url}, catalog=catalog)


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "object", "properties": {"item": {"$ref": "https://example.com/item.json"}}}, "only local \\$ref"),
        ({"type": "array", "items": {"$ref": "#/$defs/Missing"}, "$defs": {}}, "points nowhere"),
        ({"properties": {"a": {"$ref": 3}}}, "\\$ref must be a string"),
    ],
)
def test_a_schema_that_answers_could_not_be_scored_against_is_refused_before_anything_is_sent(
    schema, message, standin, catalog, env
):
    with pytest.raises(ValueError, match=message):
        TrialOptions(schema=schema)
    pages = make_pages(env / "pages", 1)
    with pytest.raises(ValueError, match=message):
        vm.run_trial(pages, [MINI], schema=schema, catalog=catalog, base_url=standin.base_url, progress=False)
    assert not standin.requests and standin.billed_usd == 0.0
    # A local reference that resolves is accepted.
    TrialOptions(schema={"type": "array", "items": {"$ref": "#/$defs/Item"}, "$defs": {"Item": {"type": "object"}}})

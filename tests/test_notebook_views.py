"""What the notebooks print: findings computed from the data, sections that say why they are empty, transcripts."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from factories import catalog_body, model

import vision_models as vm
from vision_models.catalog.api import fetch_catalog
from vision_models.present import notebook_views as nv
from vision_models.trials.results import SUMMARY_COLUMNS, side_by_side_html

IMAGE = ("text", "image")


def vision_models(tmp_path, *entries):
    path = tmp_path / "catalog.json"
    path.write_text(catalog_body(*entries))
    return fetch_catalog(source=str(path)).models, vm.fetch_vision_models(source=str(path)).models


@pytest.fixture
def costs(tmp_path):
    _, vision = vision_models(
        tmp_path,
        model("openai/gpt-4o-mini", prompt="0.00000015", completion="0.0000006", inputs=IMAGE),
        model("anthropic/claude-sonnet-4", prompt="0.000003", completion="0.000015", inputs=IMAGE),
        model("google/gemma-3-27b-it:free", prompt="0", completion="0", inputs=IMAGE),
        model("openrouter/auto", prompt="-1", completion="-1", inputs=IMAGE),
    )
    return vm.cost_per_image(vision, preset="a4-150dpi", prompt_tokens=60, output_tokens=700)


def test_plural_and_amounts():
    assert [nv.plural(n, "model") for n in (0, 1, 2, 1000)] == ["0 models", "1 model", "2 models", "1,000 models"]
    assert nv.plural(1, "model has", "models have") == "1 model has"
    assert nv.plural(3, "model has", "models have") == "3 models have"
    assert [nv.usd(v) for v in (0, 0.06864, 4.0448, 29.25, 575.2, 1234.5)] == [
        "$0", "$0.0686", "$4.04", "$29.2", "$575", "$1,234",
    ]  # fmt: skip
    assert nv.usd(np.nan) == "an unknown amount"
    assert nv.times(1.01) == "about the same as" and nv.times(6.8) == "6.8 times" and nv.times(16761) == "16,761 times"


def test_priced_leaves_out_free_and_unknown(costs):
    assert set(nv.priced(costs)["id"]) == {"openai/gpt-4o-mini", "anthropic/claude-sonnet-4"}
    assert nv.free_mask(costs).sum() == 1
    assert costs.loc[nv.free_mask(costs), "id"].tolist() == ["google/gemma-3-27b-it:free"]


def test_cost_findings_name_the_cheapest_and_dearest_priced_model(costs):
    text = nv.cost_findings(costs, "a4-150dpi", vision=len(costs) + 2)
    assert text.splitlines()[0] == (
        "Of 4 vision models (and 2 more that generate images or audio, left out), 2 have a price for one "
        "a4-150dpi page, 1 is free and 1 has a variable or unknown price."
    )
    paid = nv.priced(costs).set_index("id")["usd_per_1k_images"]
    assert f"Cheapest: openai/gpt-4o-mini, {nv.usd(paid['openai/gpt-4o-mini'])} per 1,000 pages." in text
    ratio = paid["anthropic/claude-sonnet-4"] / paid["openai/gpt-4o-mini"]
    assert f"Dearest: anthropic/claude-sonnet-4, {nv.usd(paid['anthropic/claude-sonnet-4'])} per 1,000 pages, " \
           f"{nv.times(ratio)} the cheapest." in text  # fmt: skip
    assert "free" not in text.split("\n", 1)[1]  # the free model is counted, never named cheapest
    assert not re.search(r"\bnan\b|\b1 models\b", text)


def test_cost_findings_without_a_priced_model_say_so(costs):
    text = nv.cost_findings(costs[~costs["id"].isin(nv.priced(costs)["id"])], "letter-200dpi")
    assert "0 have a price" in text and "No model has a known price above zero for this page." in text
    assert "Cheapest" not in text


def test_comparison_findings(costs):
    text = nv.comparison_findings(costs)
    assert text.startswith("Free: google/gemma-3-27b-it:free.\nCheapest of these: openai/gpt-4o-mini")
    tokens = nv.priced(costs)["image_tokens"]
    assert f"counts as {tokens.min():,.0f} to {tokens.max():,.0f} image tokens" in text
    assert nv.comparison_findings(costs[nv.free_mask(costs)]).endswith("has a known price above zero for this page.")


def test_vision_findings_count_and_agree_in_number(tmp_path):
    catalog, vision = vision_models(
        tmp_path,
        model("openai/gpt-4o", inputs=IMAGE),
        model("openai/gpt-4o-search-preview"),  # a vision family's name, text only
        model("google/gemini-2.5-flash", inputs=IMAGE),
        model("deepseek/deepseek-chat"),
    )
    name_only = vm.get_name_only_vision(catalog)
    text = nv.vision_findings(vision, catalog, name_only)
    assert text.splitlines() == [
        "2 models of 4 in this catalog read images.",
        (
            "1 more model has a vision family's name but lists no image input: the seed rules count it, "
            "the strict rules do not."
        ),
        "2 providers offer them; the most: google (1), openai (1).",
    ]
    assert "No model has a vision family's name" in nv.vision_findings(vision, catalog, name_only.iloc[:0])


def test_table_says_why_it_is_empty(capsys):
    frame = pd.DataFrame({"id": ["a", "b", "c"], "x": [1, 2, 3]})
    assert nv.table(frame, ["id"], head=2, empty="never printed")["id"].tolist() == ["a", "b"]
    assert capsys.readouterr().out == ""
    assert nv.table(frame.iloc[:0], ["id"], empty="no model has a price.") is None
    assert capsys.readouterr().out == "Nothing to show: no model has a price.\n"


def test_no_pick_asks_for_enough_models():
    assert nv.no_pick(["a", "b"], 2) is None
    assert nv.no_pick(["a"], 2) == "Pick 2 models above (now 1), then run this cell again."
    assert nv.no_pick([], 1) == "Pick a model above (now 0), then run this cell again."


def test_snapshot_times_and_history_findings(tmp_path):
    from vision_models.catalog.history import catalog_changes, import_files

    history = tmp_path / "history.sqlite"
    assert nv.snapshot_times(history) == [] and not history.exists()  # reading creates nothing
    days = {"2025-05-23": ["openai/gpt-4o"], "2026-03-02": ["openai/gpt-4o", "google/gemini-2.5-flash"],
            "2026-03-03": ["google/gemini-2.5-flash"]}  # fmt: skip
    files = []
    for day, ids in days.items():
        files.append(tmp_path / f"openrouter-{day}.json")
        files[-1].write_text(catalog_body(*(model(i, inputs=IMAGE) for i in ids)))
    import_files(reversed(files), path=history)
    moments = nv.snapshot_times(history)
    assert [f"{m:%Y-%m-%d}" for m in moments] == list(days)
    text = nv.history_findings(moments, catalog_changes(path=history))
    assert text.splitlines() == [
        "3 snapshots from 2025-05-23 to 2026-03-03.",
        "Longest gap: 283 days, 2025-05-23 to 2026-03-02; what changed in it is dated 2026-03-02.",
        "2 changes: 1 added, 1 removed.",
        "Vision models: 1 added, 1 removed, 0 models with a price change.",
    ]
    within, after_gap = nv.split_at_gaps(catalog_changes(path=history), moments)
    assert within["date"].dt.strftime("%Y-%m-%d").tolist() == ["2026-03-03"]  # the day after a daily snapshot
    assert after_gap[["kind", "id"]].values.tolist() == [["added", "google/gemini-2.5-flash"]]
    assert nv.gap_note(after_gap, moments) == (
        "Not counted by week: 1 vision model first seen on 2026-03-02, after 283 days with no snapshot "
        "(added at some time in the gap)."
    )
    assert nv.gap_note(within, moments) is None
    assert nv.split_at_gaps(catalog_changes(path=history), moments, days=300)[1].empty
    close = [datetime(2026, 3, d, tzinfo=UTC) for d in (2, 3, 5)]
    assert nv.history_findings(close, catalog_changes(path=history).iloc[:0]).splitlines()[1:] == [
        "Snapshots are at most 2 days apart.",
        "Nothing changed between them.",
    ]
    assert nv.history_findings(moments[:1], pd.DataFrame()) == "The history holds 1 snapshot: nothing to compare."


def summary(*rows):
    """A Trial.summary()-shaped frame from (model, pages_ok, $/1k pages, CER)."""
    records = [{"model": m, "pages_ok": ok, "pages_failed": 4 - ok, "pages_skipped": 0, "usd_per_page": usd / 1000,
                "usd_per_1k_pages": usd, "cer_mean": cer, "wer_mean": None if cer is None else cer * 2}
               for m, ok, usd, cer in rows]  # fmt: skip
    return pd.DataFrame(records, columns=list(SUMMARY_COLUMNS))


def test_trial_summary_leads_with_what_a_reader_compares():
    frame = summary(("tesseract", 4, 0.0, 0.016))
    ordered = nv.trial_summary(SimpleNamespace(summary=lambda: frame))
    assert list(ordered.columns[:4]) == ["model", "usd_per_1k_pages", "cer_mean", "wer_mean"]
    assert sorted(ordered.columns) == sorted(SUMMARY_COLUMNS)


def test_trial_findings():
    two = summary(("tesseract", 4, 0.0, 0.05), ("openai/gpt-4o-mini", 4, 2.5, 0.01), ("x/broken", 0, np.nan, None))
    assert nv.trial_findings(two, 4).splitlines() == [
        "2 models read the 4 pages; the fewest errors: openai/gpt-4o-mini, CER 0.010, WER 0.020, $2.5 per 1,000 pages.",
        "The most errors: tesseract, CER 0.050, $0 per 1,000 pages.",
    ]
    one = nv.trial_findings(summary(("tesseract", 1, 0.0, 0.016)), 1)
    assert one == "Only tesseract read the 1 page: CER 0.016, WER 0.032, $0 per 1,000 pages."
    failed = nv.trial_findings(summary(("tesseract", 0, np.nan, None)), 4)
    assert failed.startswith("No model's text could be scored on the 4 pages (tesseract)")
    assert len(nv.scored(two)) == 2


def test_transcripts_are_left_aligned_monospace_and_escaped():
    results = pd.DataFrame({
        "page": ["p1", "p1"], "model": ["tesseract", "x/model"], "status": ["ok", "error"],
        "error": [None, "<b>refused</b>"], "text": ["Total:  <script>alert(1)</script>\n  indented", None],
        "cer": [0.25, np.nan],
    })  # fmt: skip
    page = side_by_side_html(SimpleNamespace(results=results, truth={"p1": "Total: 12"}))
    assert "<script>" not in page and "&lt;script&gt;" in page and "<b>" not in page
    cells = re.findall(r"<t[dh]([^>]*)>", page)
    assert cells and all(
        "text-align: left" in attributes and "vertical-align: top" in attributes for attributes in cells
    )
    pres = re.findall(r"<pre style='([^']*)'>", page)
    assert len(pres) == 2  # the truth and tesseract's text; the error is a line, not a transcript
    assert all("white-space: pre-wrap" in s and "font-family: monospace" in s and "text-align: left" in s for s in pres)
    assert "Total:  &lt;script&gt;alert(1)&lt;/script&gt;\n  indented" in page  # spacing kept for pre-wrap


def test_choice_findings_count_the_shortlist_and_say_the_recommendation_or_the_closest():
    costs = pd.DataFrame({"id": ["a", "b", "c", "d"]})
    readers = costs.iloc[:3]
    why = ["on the front of X / overall", "among the 1 cheapest readers without a published score", "local OCR"]
    short = pd.DataFrame({"id": ["a", "b", "tesseract"], "why": why})
    plan = SimpleNamespace(pages_needed=197, pages_available=4, estimated_usd=1.757)
    chosen = SimpleNamespace(model="a", targets={"max_cer": 0.02, "min_success_rate": 0.98, "confidence": 0.95})
    text = nv.choice_findings(costs, readers, short, plan, chosen)
    assert text.splitlines() == [
        "3 page readers ranked of 4 vision models; a shortlist of 3 models: 1 on the public front, "
        "1 without a public score, and Tesseract.",
        "Telling them apart takes about 197 pages (4 pages given), estimated at $1.76.",
        "Recommended on these pages: a (targets max_cer 0.02, min_success_rate 0.98).",
    ]
    none = SimpleNamespace(model=None, closest="b", more_pages=1, targets={"max_cer": 0.02, "min_field_accuracy": None})
    assert nv.choice_findings(costs, readers, short, plan, none).splitlines()[-1] == (
        "No model is sure to meet the targets (max_cer 0.02) on these pages; closest: b; about 1 more page would "
        "settle it."
    )

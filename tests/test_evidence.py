"""The evidence columns and summary of a results frame: extraction, failures, success, repeats, intervals."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from vision_models.trials.evidence import evidence_summary, extraction_columns, failure_columns, load_object_truth
from vision_models.trials.pages import SAMPLE_DIR, load_pages
from vision_models.trials.samples import INVOICE_SCHEMA, sample_truth

TRUTH = sample_truth("invoice")


def frame(rows: list[dict]) -> pd.DataFrame:
    base = {"page": "invoice.png", "status": "ok", "error": None, "finish_reason": "stop", "billed_usd": 0.01,
            "cer": np.nan, "repeat": 0}  # fmt: skip
    return pd.DataFrame([{**base, **r} for r in rows])


def with_evidence(results: pd.DataFrame) -> pd.DataFrame:
    extracted = extraction_columns(results, {"invoice.png": TRUTH}, schema=INVOICE_SCHEMA, critical=["total"])
    failed = failure_columns(results, extracted["json_valid"].tolist())
    return pd.concat([results, extracted, failed], axis=1)


def test_rows_get_extraction_and_failure_columns():
    wrong_total = json.dumps({**TRUTH, "total": 91.02})
    results = with_evidence(frame([
        {"model": "a", "text": json.dumps(TRUTH)},
        {"model": "a", "text": wrong_total, "repeat": 1},
        {"model": "b", "text": "Total " * 60, "finish_reason": "length", "billed_usd": 0.02},
        {"model": "b", "text": None, "status": "error", "error": "500: upstream", "billed_usd": np.nan, "repeat": 1},
    ]))  # fmt: skip
    assert results["fields_total"].tolist() == [29, 29, 29, pd.NA]
    assert results["fields_correct"].tolist() == [29, 28, 0, pd.NA]
    assert results["critical_ok"].tolist() == [True, False, False, pd.NA]
    assert results["field_errors"].iloc[1] == "total: expected 910.2, read 91.02"
    assert results["failure"].tolist() == ["", "", "truncated, looped, invalid_json", "error"]
    assert results["ok"].tolist() == [True, True, False, False]


def test_the_summary_counts_success_cost_per_success_failures_and_repeats():
    results = with_evidence(frame([
        {"model": "a", "text": json.dumps(TRUTH)},
        {"model": "a", "text": json.dumps({**TRUTH, "total": 91.02}), "repeat": 1},
        {"model": "b", "text": "Total " * 60, "finish_reason": "length", "billed_usd": 0.02},
        {"model": "b", "text": json.dumps(TRUTH), "repeat": 1, "billed_usd": 0.02},
    ]))  # fmt: skip
    summary = evidence_summary(results, ["a", "b"]).set_index("model")
    # a: 2 rows, both ok; billed 0.02 over 2 successes = $10 per 1,000. b: 1 of 2 ok; 0.04 / 1 x 1000 = $40.
    assert summary.loc["a", "success_rate"] == 1.0 and summary.loc["b", "success_rate"] == 0.5
    assert summary.loc["a", "usd_per_1k_successful_pages"] == pytest.approx(10.0)
    assert summary.loc["b", "usd_per_1k_successful_pages"] == pytest.approx(40.0)
    assert summary.loc["b", "failed_truncated"] == 1 and summary.loc["b", "failed_looped"] == 1
    assert summary.loc["a", "failed_truncated"] == 0
    # Repeats: a's page passes critical_ok in repeat 0 only (the total is wrong in repeat 1): pass_all_k 0.
    assert summary.loc["a", "repeats"] == 2 and summary.loc["a", "pass_all_k"] == 0.0
    # Field accuracy per repeat: a 29/29 and 28/29: population sd = half the gap = 1/58.
    assert summary.loc["a", "field_accuracy_repeat_sd"] == pytest.approx(1 / 58)
    assert summary.loc["a", "field_accuracy_mean"] == pytest.approx((1 + 28 / 29) / 2)


def test_pass_all_k_by_a_cer_bound():
    results = with_evidence(frame([
        {"model": "a", "page": "p1", "text": "x", "cer": 0.01}, {"model": "a", "page": "p1", "text": "x", "cer": 0.03, "repeat": 1},
        {"model": "a", "page": "p2", "text": "x", "cer": 0.01}, {"model": "a", "page": "p2", "text": "x", "cer": 0.02, "repeat": 1},
    ]))  # fmt: skip
    # Below 0.025: p1 fails its second repeat, p2 passes both: half the pages pass all k.
    assert evidence_summary(results, ["a"], pass_cer_below=0.025)["pass_all_k"].iloc[0] == 0.5


def test_object_truth_from_a_folder_or_a_dict(tmp_path):
    pages = load_pages([SAMPLE_DIR / "invoice.png", SAMPLE_DIR / "table.png"])
    assert load_object_truth(SAMPLE_DIR, pages) == {"invoice.png": TRUTH}  # table has no .json: no truth
    assert load_object_truth({"invoice": {"a": 1}}, pages) == {"invoice.png": {"a": 1}}
    with pytest.raises(ValueError, match="truth key 'nope' names no page"):
        load_object_truth({"nope": {}}, pages)
    with pytest.raises(ValueError, match="must be a JSON object, not str"):
        load_object_truth({"invoice": "text"}, pages)
    (tmp_path / "invoice.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="truth file is not JSON"):
        load_object_truth(tmp_path, pages)


def test_parsed_objects_are_exported_to_csv_as_json(tmp_path):
    from vision_models.present.export import export_csv

    frame = pd.DataFrame({"page": ["a"], "parsed": [{"total": 910.2, "note": "=1+1"}]})
    export_csv(frame, tmp_path / "rows.csv")
    cell = pd.read_csv(tmp_path / "rows.csv")["parsed"].iloc[0]
    assert json.loads(cell) == {"total": 910.2, "note": "=1+1"}  # JSON, not a Python repr; it starts with "{"

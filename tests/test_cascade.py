"""A cascade simulated on a trial built by hand: the blended cost, accuracy and escalation rate counted by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import vision_models as vm
from vision_models.trials.cascade import simulate_cascade

CHEAP, STRONG = "acme/cheap", "acme/strong"


def row(page: str, model: str, cer: float, usd: float, *, text: str = "text", **flags) -> dict:
    failure = [k for k in ("truncated", "looped", "empty", "refused") if flags.get(k)]
    return {"page": page, "model": model, "status": "ok", "error": None, "text": text, "cer": cer,
            "billed_usd": usd, "unknown_usd": 0.0, "truncated": False, "looped": False, "empty": False,
            "refused": False, **flags, "failure": ", ".join(failure), "ok": not failure}  # fmt: skip


def hand_trial() -> pd.DataFrame:
    """Six pages. The cheap model ($0.001 a page) is truncated on p1 and empty on p3; the strong one ($0.01 a
    page) has no row for p5 (skipped for the budget)."""
    cheap = [row("p0", CHEAP, 0.0, 0.001), row("p1", CHEAP, 0.5, 0.001, truncated=True), row("p2", CHEAP, 0.0, 0.001),
             row("p3", CHEAP, 1.0, 0.001, text="", empty=True), row("p4", CHEAP, 0.02, 0.001),
             row("p5", CHEAP, 0.04, 0.001)]  # fmt: skip
    strong = [row(f"p{i}", STRONG, cer, 0.01) for i, cer in enumerate((0.0, 0.01, 0.0, 0.0, 0.01))]
    skipped = {**row("p5", STRONG, np.nan, np.nan), "status": "skipped-budget", "error": "over budget", "ok": False}
    return pd.DataFrame([*cheap, *strong, skipped])


def test_the_blended_cost_and_accuracy_are_counted_by_hand():
    cascade = simulate_cascade(hand_trial(), CHEAP, STRONG, escalate_when=("truncated", "empty"))
    assert cascade.cannot_simulate == ["p5"]
    assert cascade.escalation_rate == pytest.approx(2 / 5)
    assert cascade.pages["escalated"].tolist() == [False, True, False, True, False]
    assert cascade.pages["signals"].tolist() == ["", "truncated", "", "empty", ""]
    table = cascade.table.set_index("strategy")
    # Per page: 0.001, 0.011, 0.001, 0.011, 0.001 -> $5.00 per 1,000 pages; CER 0, 0.01, 0, 0, 0.02 -> 0.006.
    blended = table.loc[f"cascade {CHEAP} -> {STRONG}"]
    assert blended["usd_per_1k_pages"] == pytest.approx(5.0)
    assert blended["mean"] == pytest.approx(0.006)
    assert blended["pages"] == 5
    assert table.loc[f"{CHEAP} alone", "usd_per_1k_pages"] == pytest.approx(1.0)
    assert table.loc[f"{CHEAP} alone", "mean"] == pytest.approx((0.5 + 1.0 + 0.02) / 5)
    assert table.loc[f"{STRONG} alone", "usd_per_1k_pages"] == pytest.approx(10.0)
    assert table.loc[f"{STRONG} alone", "mean"] == pytest.approx(0.02 / 5)
    assert blended["success_rate"] == 1.0 and table.loc[f"{CHEAP} alone", "success_rate"] == pytest.approx(3 / 5)
    # The intervals hold the mean and stay within the cheapest and dearest page.
    for _, line in cascade.table.iterrows():
        assert line["ci_low"] <= line["mean"] <= line["ci_high"]
        assert line["usd_per_1k_pages_ci_low"] <= line["usd_per_1k_pages"] <= line["usd_per_1k_pages_ci_high"]
    assert blended["usd_per_1k_pages_ci_low"] >= 1.0 and blended["usd_per_1k_pages_ci_high"] <= 11.0
    assert "40% of 5 pages" in cascade.sentence and "p5" in cascade.sentence


def test_disagreement_with_a_free_checker_escalates_where_the_texts_differ():
    trial = hand_trial()
    tesseract = [row(f"p{i}", "tesseract", np.nan, 0.0, text="text") for i in range(5)]
    tesseract[4]["text"] = "something else entirely"
    trial = pd.concat([trial, pd.DataFrame(tesseract)], ignore_index=True)
    cascade = simulate_cascade(trial, CHEAP, STRONG, escalate_when=["disagreement"])
    # p3's empty text differs from "text" too; p4 differs; the others agree. Tesseract costs nothing.
    assert cascade.pages["escalated"].tolist() == [False, False, False, True, True]
    assert cascade.table.iloc[2]["usd_per_1k_pages"] == pytest.approx((3 * 0.001 + 2 * 0.011) / 5 * 1000)


def test_a_checker_equal_to_then_pays_then_on_every_page():
    cascade = simulate_cascade(hand_trial(), CHEAP, STRONG, escalate_when="disagreement", checker=STRONG)
    assert cascade.table.iloc[2]["usd_per_1k_pages"] == pytest.approx(11.0)
    assert "paid for, every page" in cascade.sentence


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"escalate_when": ["low_confidence"]}, "the trial has no tesseract rows"),
        ({"escalate_when": ["vibes"]}, "unknown signal 'vibes'"),
        ({"escalate_when": ["invalid_json"]}, "needs a trial run with a schema"),
        ({"escalate_when": ["disagreement"]}, "checker 'tesseract' is not in the trial"),
        ({"then": "acme/missing"}, "then model 'acme/missing' is not in the trial"),
        ({"then": CHEAP}, "two models"),
        ({"escalate_when": ["disagreement"], "checker": CHEAP}, "cannot disagree with itself"),
    ],
)
def test_bad_input_is_one_clear_line(given, message):
    options = {"then": STRONG, **given}
    with pytest.raises(ValueError, match=message):
        simulate_cascade(hand_trial(), CHEAP, **options)


def with_tesseract(confidences: list[float | None]) -> pd.DataFrame:
    """The hand trial plus Tesseract's rows on p0-p5, free, each with its confidence (None: not stored)."""
    rows = [{**row(f"p{i}", "tesseract", 0.0, 0.0), "tesseract_confidence": c} for i, c in enumerate(confidences)]
    return pd.concat([hand_trial(), pd.DataFrame(rows)], ignore_index=True)


def test_low_tesseract_confidence_escalates_the_page_from_tesseract_or_from_a_cheap_model():
    trial = with_tesseract([95.0, 40.0, 90.0, 88.0, 61.0, 30.0])
    # Tesseract first: p1 (40) and p4 (61) are under 70; p5 has no strong row and cannot be simulated.
    cascade = simulate_cascade(trial, "tesseract", STRONG, escalate_when="low_confidence", min_confidence=70)
    assert cascade.pages["escalated"].tolist() == [False, True, False, False, True]
    assert cascade.pages["signals"].tolist() == ["", "low_confidence", "", "", "low_confidence"]
    # Free Tesseract plus STRONG's $0.01 on 2 of 5 pages: $4 per 1,000 pages; CER 0 on every page either way.
    assert cascade.table.iloc[2]["usd_per_1k_pages"] == pytest.approx(2 * 0.01 / 5 * 1000)
    # The cheap model first, Tesseract's confidence on the same page as the signal: the same two pages.
    cheap_first = simulate_cascade(trial, CHEAP, STRONG, escalate_when=["low_confidence"], min_confidence=70)
    assert cheap_first.pages["escalated"].tolist() == [False, True, False, False, True]
    assert cheap_first.table.iloc[2]["usd_per_1k_pages"] == pytest.approx((5 * 0.001 + 2 * 0.01) / 5 * 1000)


def test_low_confidence_needs_a_stored_confidence_and_a_threshold():
    older = with_tesseract([None] * 6)  # rows read before the confidence was stored
    with pytest.raises(ValueError, match="tesseract rows do not hold"):
        simulate_cascade(older, CHEAP, STRONG, escalate_when="low_confidence", min_confidence=70)
    for bad in (None, 101, -1, True, "70"):
        with pytest.raises(ValueError, match="needs min_confidence=X, X from 0 to 100"):
            simulate_cascade(with_tesseract([90.0] * 6), CHEAP, STRONG, escalate_when="low_confidence",
                             min_confidence=bad)  # fmt: skip


def test_the_cascade_is_exported_and_its_html_is_escaped():
    assert vm.simulate_cascade is simulate_cascade
    assert vm.trials.simulate_cascade is simulate_cascade
    trial = hand_trial()
    trial["model"] = trial["model"].replace(CHEAP, "<b>cheap</b>")
    shown = simulate_cascade(trial, "<b>cheap</b>", STRONG)._repr_html_()
    assert "<b>cheap</b>" not in shown and "&lt;b&gt;cheap&lt;/b&gt;" in shown


def test_invalid_json_escalates_in_a_schema_trial():
    trial = hand_trial().rename(columns={"cer": "field_accuracy"})
    trial["field_accuracy"] = 1 - trial["field_accuracy"]
    trial["json_valid"] = pd.array([True, True, False, True, True, True, True, True, True, True, True, pd.NA],
                                   dtype="boolean")  # fmt: skip
    cascade = simulate_cascade(trial, CHEAP, STRONG, escalate_when=["invalid_json"])
    # Only p2's answer is not valid JSON: it escalates, and takes the strong model's score (1.0) and bill.
    assert cascade.pages["escalated"].tolist() == [False, False, True, False, False]
    blended = cascade.table.iloc[2]
    assert blended["metric"] == "field_accuracy"
    assert blended["mean"] == pytest.approx((1.0 + 0.5 + 1.0 + 0.0 + 0.98) / 5)
    assert blended["usd_per_1k_pages"] == pytest.approx((4 * 0.001 + 0.011) / 5 * 1000)

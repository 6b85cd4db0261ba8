"""Consensus without ground truth: the medoid transcript, agreement, dissent, and the object by majority."""

from __future__ import annotations

import pandas as pd
import pytest
from rapidfuzz.distance import Levenshtein

from vision_models.trials.consensus import consensus_columns, consensus_object, consensus_page, text_agreement


def test_consensus_picks_the_medoid_transcript():
    # Edit distances, by hand: a-b 1 (one letter), a-c 1, b-c 2, d is far from all.
    answers = {"a": "Total 12.50", "b": "Total 12.59", "c": "Tota 12.50", "d": "Grand total: none"}
    page = consensus_page(answers)
    # a is one edit from b and c: its total agreement is the greatest, so its text is the reference.
    assert page.reference_model == "a" and page.reference == "Total 12.50"
    # a's agreement is its mean agreement with the other three (its own text never counts for it).
    expected = ((1 - 1 / 11) + (1 - 1 / 11) + (1 - Levenshtein.distance("Total 12.50", "Grand total: none") / 17)) / 3
    assert page.agreement["a"] == pytest.approx(expected)


def test_a_model_far_from_a_strong_consensus_is_flagged():
    truth = "Invoice BWI-2026-0418 total due 910.20 GBP"
    answers = {"a": truth, "b": truth, "c": truth.replace("910.20", "910.29"), "d": "I cannot read this image."}
    page = consensus_page(answers)
    assert page.dissenters == ("d",)
    # Without a strong consensus nobody is flagged: three texts that all disagree.
    assert consensus_page({"a": "one", "b": "two two", "c": "three three three"}).dissenters == ()


def test_consensus_needs_three_models():
    with pytest.raises(ValueError, match="needs 3 or more models reading the page, not 2"):
        consensus_page({"a": "x", "b": "y"})


def test_agreement_is_one_minus_the_normalised_edit_distance():
    assert text_agreement("abcd", "abcf") == pytest.approx(0.75)
    assert text_agreement("A  b\n", "A b") == 1.0
    assert text_agreement("AB", "ab") == 0.0 and text_agreement("AB", "ab", casefold=True) == 1.0


def test_object_consensus_takes_each_field_by_majority():
    answers = {
        "a": {"number": "INV-1", "total": "12.50", "items": [{"q": 1}]},
        "b": {"number": "inv-1", "total": 12.5, "items": [{"q": 1}]},
        "c": {"number": "INV-7", "total": 13.0, "items": [{"q": 2}]},
    }
    page = consensus_object(answers)
    # number: a and b agree after normalisation (2 of 3); total: 12.50 and 12.5 agree; items from the medoid.
    assert page.reference["total"] in ("12.50", 12.5) and page.reference["number"] in ("INV-1", "inv-1")
    assert page.reference["items"] == [{"q": 1}]
    # c gets every field wrong against that reference: 0 of 3; a and b all right.
    assert page.agreement == {"a": 1.0, "b": 1.0, "c": 0.0}


def test_consensus_columns_fill_rows_of_pages_with_three_answers():
    results = pd.DataFrame({
        "page": ["p1"] * 3 + ["p2"] * 2,
        "model": ["a", "b", "c", "a", "b"],
        "status": ["ok"] * 5,
        "error": [None] * 5,
        "text": ["same text", "same text", "same text!", "x", "y"],
    })  # fmt: skip
    columns = consensus_columns(results)
    assert columns["agreement"].iloc[:3].notna().all() and columns["agreement"].iloc[3:].isna().all()
    assert columns["consensus_reference"].iloc[0] == "a" and columns["consensus_models"].iloc[0] == "a, b, c"
    assert columns["agreement"].iloc[0] == pytest.approx((1 + (1 - 1 / 10)) / 2)

"""Structured extraction: normalisation, line-item matching, field scores, the schema check, the sample truths.

Every expected count below is worked out by hand in the comment beside it.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from vision_models.trials.extraction import assign, parse_answer, score_answer, score_fields
from vision_models.trials.normalise import normalise, normalise_string, parse_date, parse_number
from vision_models.trials.samples import SAMPLE_SCHEMAS, parse_sample_text, sample_truth
from vision_models.trials.schema_check import is_valid, schema_errors

# ---------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    "text, number",
    [
        ("1,234.56", 1234.56),  # comma thousands, dot decimal
        ("1.234,56", 1234.56),  # dot thousands, decimal comma
        ("12,50", 12.5),  # a lone comma before two digits: decimal comma
        ("1,234", 1234.0),  # a lone comma before exactly three digits: thousands
        ("1.234.567", 1234567.0),  # several dots: thousands
        ("1 234,50 €", 1234.5),  # space thousands, euro sign after
        ("£910.20", 910.2),
        ("GBP 910.20", 910.2),
        ("$ 1'250.00", 1250.0),  # apostrophe thousands (Swiss)
        ("(12.50)", -12.5),  # accounting negative
        ("-3", -3.0),
        (42, 42.0),
        ("n/a", None),
        ("", None),
        (True, None),
    ],
)
def test_numbers_are_parsed_with_separators_currencies_and_decimal_commas(text, number):
    assert parse_number(text) == number


@pytest.mark.parametrize(
    "text, iso",
    [
        ("2026-03-12", "2026-03-12"),
        ("12 March 2026", "2026-03-12"),
        ("March 12, 2026", "2026-03-12"),
        ("12-Mar-2026", "2026-03-12"),
        ("3rd April 2026", "2026-04-03"),
        ("12/03/2026", "2026-03-12"),  # day first by default
        ("12.03.26", "2026-03-12"),
        ("2026/3/12", "2026-03-12"),
        ("31 February 2026", None),  # no such day
        ("soon", None),
    ],
)
def test_dates_become_iso_8601(text, iso):
    assert parse_date(text) == iso


def test_numeric_dates_can_be_read_month_first():
    assert parse_date("03/12/2026", dayfirst=False) == "2026-03-12"
    assert parse_date("03/12/2026") == "2026-12-03"


def test_strings_are_nfc_whitespace_collapsed_and_case_folded():
    decomposed = "Cafe\u0301  Stra\u00dfe\n"  # e + combining acute; sharp s folds to "ss"
    assert normalise_string(decomposed) == "caf\u00e9 strasse"
    assert normalise_string(decomposed, casefold=False) == "Caf\u00e9 Stra\u00dfe"
    assert normalise(" INV-1 ", "string") == normalise("inv-1", "string")
    assert normalise(" INV-1 ", "exact") != normalise("inv-1", "exact")
    assert normalise("   ", "string") is None and normalise(None, "number") is None
    with pytest.raises(ValueError, match="kind must be one of .* not 'money'"):
        normalise("1", "money")


# ---------------------------------------------------------------- the assignment


def test_assignment_finds_the_best_total_not_the_greedy_pairing():
    # Greedy takes (0, 0) = 5 first, then (1, 1) = 0: total 5. The best is (0, 1) + (1, 0) = 4 + 4 = 8.
    sim = np.array([[5.0, 4.0], [4.0, 0.0]])
    assert assign(sim) == [(0, 1), (1, 0)]


def test_assignment_matches_brute_force_on_random_matrices():
    rng = np.random.default_rng(7)
    for _ in range(200):
        n, m = (int(x) for x in rng.integers(1, 6, 2))
        sim = rng.integers(0, 5, (n, m)).astype(float)
        pairs = assign(sim)
        assert len(pairs) == min(n, m)
        assert len({i for i, _ in pairs}) == len({j for _, j in pairs}) == len(pairs)
        if n <= m:
            best = max(sum(sim[i, c[i]] for i in range(n)) for c in itertools.permutations(range(m), n))
        else:
            best = max(sum(sim[c[j], j] for j in range(m)) for c in itertools.permutations(range(n), m))
        assert sum(sim[i, j] for i, j in pairs) == best


def test_assignment_of_nothing_is_no_pairs():
    assert assign(np.zeros((0, 3))) == [] and assign(np.zeros((2, 0))) == []


# ---------------------------------------------------------------- field scores


TRUTH = {
    "invoice_number": "BWI-7",
    "date": "2026-03-12",
    "total": 910.2,
    "items": [
        {"code": "A", "qty": 1, "amount": 10.0},
        {"code": "B", "qty": 2, "amount": 20.0},
        {"code": "C", "qty": 3, "amount": 30.0},
    ],
}


def test_every_normalisation_makes_a_differently_written_answer_right():
    answer = {
        "invoice_number": " bwi-7",  # case and spaces
        "date": "12 March 2026",  # a date written out
        "total": "£910,20",  # currency and decimal comma
        "items": [  # shuffled: order does not count
            {"code": "c", "qty": "3", "amount": "30,00"},
            {"code": "A", "qty": 1, "amount": "$10"},
            {"code": "B", "qty": "2.0", "amount": 20},
        ],
    }
    score = score_fields(answer, TRUTH, critical=["total", "invoice_number"])
    # 3 top-level fields + 3 items x 3 fields = 12, all right.
    assert (score.fields_total, score.fields_correct, score.field_accuracy) == (12, 12, 1.0)
    assert score.critical_ok and score.field_errors is None


def test_line_items_are_matched_one_to_one_with_missing_and_extra_items_wrong():
    answer = {
        "invoice_number": "BWI-7",
        "date": "2026-03-12",
        "total": 91.02,  # wrong
        "items": [
            {"code": "B", "qty": 2, "amount": 20.0},  # matches B: 3 right
            {"code": "A", "qty": 1, "amount": 11.0},  # matches A: 2 right (amount wrong)
            {"code": "X", "qty": 9, "amount": 99.0},  # C is missing; X shares nothing with it, so...
            {"code": "Y", "qty": 9, "amount": 99.0},  # ...one of X/Y pairs with C (0 right), the other is extra
        ],
    }
    score = score_fields(answer, TRUTH, critical=["total"])
    # Fields: 3 top-level + 3 matched truth items x 3 + one extra item x 3 = 15.
    # Right: invoice_number, date (2) + B 3 + A 2 + C-pair 0 = 7.
    assert (score.fields_total, score.fields_correct) == (15, 7)
    assert score.field_accuracy == pytest.approx(7 / 15)
    assert not score.critical_ok  # total is wrong
    assert "total: expected 910.2, read 91.02" in score.field_errors
    assert "items[0].amount: expected 10.0, read 11.0" in score.field_errors
    assert "extra item" in score.field_errors


def test_a_missing_item_counts_each_of_its_fields_wrong():
    answer = {**TRUTH, "items": TRUTH["items"][:2]}
    score = score_fields(answer, TRUTH)
    # 3 + 3 x 3 = 12 fields; the missing C loses its 3.
    assert (score.fields_total, score.fields_correct) == (12, 9)
    assert "items[2]: missing" in score.field_errors


def test_critical_line_item_field_needs_every_item_right():
    answer = json.loads(json.dumps(TRUTH))
    answer["items"][1]["amount"] = 21.0
    assert not score_fields(answer, TRUTH, critical=["items.amount"]).critical_ok
    assert score_fields(answer, TRUTH, critical=["items.code", "total"]).critical_ok
    with pytest.raises(ValueError, match="critical field 'totl' is not in the truth"):
        score_fields(answer, TRUTH, critical=["totl"])


def test_field_kinds_can_be_set_per_field():
    truth = {"ref": "AB-1", "when": "12/03/2026"}
    # "exact" keeps case; a declared date compares as a date even though the truth is not ISO.
    score = score_fields({"ref": "ab-1", "when": "2026-03-12"}, truth, fields={"ref": "exact", "when": "date"})
    assert (score.fields_total, score.fields_correct) == (2, 1)
    with pytest.raises(ValueError, match="kind must be one of"):
        score_fields({}, truth, fields={"ref": "fuzzy"})


def test_nulls_and_nested_objects():
    truth = {"supplier": {"name": "Acme", "vat_id": None}, "po": None}
    # vat_id expected null: a blank is right; "po" expected null but read: wrong; name missing: wrong.
    score = score_fields({"supplier": {"vat_id": " "}, "po": "PO-1"}, truth)
    assert (score.fields_total, score.fields_correct) == (3, 1)
    assert 'supplier.name: expected "Acme", read nothing' in score.field_errors


def test_answers_are_parsed_bare_fenced_or_embedded():
    assert parse_answer('{"a": 1}') == {"a": 1}
    assert parse_answer('```json\n{"a": 1}\n```') == {"a": 1}
    assert parse_answer('Here it is: {"a": 1}. Done.') == {"a": 1}
    assert parse_answer("no json here") is None and parse_answer(None) is None


def test_an_answer_that_is_not_json_scores_zero_and_is_invalid():
    parsed, score = score_answer("I could not read the page", TRUTH, schema={"type": "object"})
    assert parsed is None and score.json_valid is False
    assert (score.fields_total, score.fields_correct, score.critical_ok) == (12, 0, False)


# ---------------------------------------------------------------- the schema check


SCHEMA = {
    "type": "object",
    "properties": {
        "total": {"type": "number", "minimum": 0},
        "kind": {"enum": ["invoice", "receipt"]},
        "items": {"type": "array", "items": {"$ref": "#/$defs/item"}, "maxItems": 2},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
    "required": ["total", "kind"],
    "additionalProperties": False,
    "$defs": {"item": {"type": "object", "properties": {"qty": {"type": "integer"}}, "required": ["qty"]}},
}


@pytest.mark.parametrize(
    "value, problem",
    [
        ({"total": 1.5, "kind": "invoice", "items": [{"qty": 2}], "note": None}, None),
        ({"total": "1.5", "kind": "invoice"}, "$.total: expected number, got string"),
        ({"total": -1, "kind": "invoice"}, "$.total: -1 breaks minimum 0"),
        ({"kind": "invoice"}, "$: required field 'total' is missing"),
        ({"total": 1, "kind": "bill"}, "$.kind: 'bill' is not one of"),
        ({"total": 1, "kind": "invoice", "extra": 1}, "$: field 'extra' is not allowed"),
        ({"total": 1, "kind": "invoice", "items": [{"qty": 1.5}]}, "$.items[0].qty: expected integer, got number"),
        ({"total": 1, "kind": "invoice", "items": [{}, {}, {}]}, "$.items: more than 2 items"),
        ({"total": 1, "kind": "invoice", "note": 3}, "$.note: matches 0 of the anyOf choices"),
        ([], "$: expected object, got array"),
    ],
)
def test_the_schema_check_names_what_is_wrong(value, problem):
    errors = schema_errors(value, SCHEMA)
    if problem is None:
        assert errors == [] and is_valid(value, SCHEMA)
    else:
        assert any(e.startswith(problem) for e in errors), errors
        assert not is_valid(value, SCHEMA)


def test_a_pydantic_style_model_class_is_checked_by_its_own_validate():
    class Model:  # what pydantic v2 offers: model_json_schema() and model_validate()
        @classmethod
        def model_json_schema(cls):
            return {"type": "object"}

        @classmethod
        def model_validate(cls, value):
            if "total" not in value:
                raise ValueError("1 validation error for Model\ntotal: Field required")
            return value

    assert is_valid({"total": 1}, Model)
    assert schema_errors({}, Model) == ["1 validation error for Model"]
    with pytest.raises(TypeError, match="JSON Schema dict or a pydantic model class, not int"):
        schema_errors({}, 3)


# ---------------------------------------------------------------- the sample pages


@pytest.mark.parametrize("name", ["invoice", "delivery-note"])
def test_the_sample_truths_match_their_schemas_and_their_transcripts(name):
    from vision_models.trials.pages import SAMPLE_DIR

    truth = sample_truth(name)
    assert schema_errors(truth, SAMPLE_SCHEMAS[name]) == []
    # The rule-based parser on the exact transcript gets every field: the truth and the .txt agree.
    text = (SAMPLE_DIR / f"{name}.txt").read_text(encoding="utf-8")
    parsed, score = score_answer(json.dumps(parse_sample_text(text, name)), truth, schema=SAMPLE_SCHEMAS[name])
    assert score.json_valid and score.field_accuracy == 1.0
    # The invoice: 9 top-level fields + 5 items x 4 = 29; the delivery note: 6 + 7 items x 3 = 27.
    assert score.fields_total == {"invoice": 29, "delivery-note": 27}[name]


def test_a_transcript_with_a_lost_space_gets_that_field_wrong():
    from vision_models.trials.pages import SAMPLE_DIR

    text = (SAMPLE_DIR / "invoice.txt").read_text(encoding="utf-8").replace("Probe cable, 3 m", "Probe cable, 3m")
    _, score = score_answer(json.dumps(parse_sample_text(text, "invoice")), sample_truth("invoice"))
    assert (score.fields_total, score.fields_correct) == (29, 28)
    assert score.field_errors == 'line_items[2].description: expected "Probe cable, 3 m", read "Probe cable, 3m"'

"""Trials that produce evidence, against the loopback OpenRouter stand-in: structured extraction, failure
accounting, repeats, consensus, and all of it across a resume.

Expected scores are counted by hand from the sample invoice's truth (29 fields: 9 top-level, 5 line items of 4).
"""

from __future__ import annotations

import json
import sqlite3

import pytest
from factories import FLASH, MINI, ODD, PRICES, make_pages, page_requests, stored_rows, trial_catalog
from factories import run_on_standin as run
from openrouter_standin import ModelBill, StandIn, serving

import vision_models as vm
from vision_models.catalog.frame import models_frame
from vision_models.stores.trial_schema import _EVIDENCE_COLUMNS
from vision_models.trials.pages import SAMPLE_DIR
from vision_models.trials.samples import INVOICE_SCHEMA, parse_sample_text, sample_truth
from vision_models.trials.structured import SCHEMA_INSTRUCTION

TRUTH = sample_truth("invoice")


def structured_catalog():
    """The test models; MINI lists structured outputs, the others do not."""
    from factories import model

    entries = []
    for m, (p, c) in PRICES.items():
        extra = {"supported_parameters": ["max_tokens", "structured_outputs"]} if m == MINI else {}
        entries.append(model(m, prompt=f"{p:.10f}", completion=f"{c:.10f}", inputs=("text", "image"), **extra))
    return models_frame(entries)


def answer(**changes) -> str:
    return json.dumps({**TRUTH, **changes})


def test_a_schema_trial_asks_for_json_each_way_and_scores_fields(env):
    shuffled = {**TRUTH, "line_items": TRUTH["line_items"][::-1], "invoice_date": "12 March 2026", "total": 91.02}
    bills = {MINI: ModelBill(*PRICES[MINI], reply=json.dumps(shuffled)),
             ODD: ModelBill(*PRICES[ODD], reply="```json\n" + answer(currency="gbp") + "\n```")}  # fmt: skip
    with serving(StandIn(bills)) as standin:
        trial = run(standin, structured_catalog(), [SAMPLE_DIR / "invoice.png"], [MINI, ODD], schema=INVOICE_SCHEMA,
                    truth=SAMPLE_DIR, critical=["total", "invoice_number"])  # fmt: skip
        [mini] = page_requests(standin, MINI)
        [odd] = page_requests(standin, ODD)
    # MINI lists structured outputs: response_format with the schema, the prompt as given.
    assert mini["body"]["response_format"]["type"] == "json_schema"
    assert mini["body"]["response_format"]["json_schema"]["schema"] == INVOICE_SCHEMA
    assert mini["body"]["response_format"]["json_schema"]["strict"] is True
    assert mini["body"]["messages"][0]["content"][0]["text"] == vm.trials.DEFAULT_PROMPT
    # ODD does not: no response_format, the schema in the prompt.
    assert "response_format" not in odd["body"]
    assert SCHEMA_INSTRUCTION in odd["body"]["messages"][0]["content"][0]["text"]
    results = trial.results.set_index("model")
    # MINI: items reversed (matched anyway), the date written out (normalised), the total wrong: 28 of 29.
    assert results.loc[MINI, "fields_total"] == 29 and results.loc[MINI, "fields_correct"] == 28
    assert not results.loc[MINI, "critical_ok"]
    assert results.loc[MINI, "field_errors"] == "total: expected 910.2, read 91.02"
    # ODD: fenced JSON, the currency in lower case (strings are case-folded): all 29 right.
    assert results.loc[ODD, "fields_correct"] == 29 and results.loc[ODD, "critical_ok"]
    assert results["json_valid"].tolist() == [True, True] and results["ok"].tolist() == [True, True]
    assert json.loads(results.loc[MINI, "text"])["total"] == 91.02  # the raw text is kept beside the parse
    assert results.loc[ODD, "parsed"]["currency"] == "gbp"
    summary = trial.summary().set_index("model")
    assert summary.loc[MINI, "field_accuracy_mean"] == pytest.approx(28 / 29)
    assert summary.loc[MINI, "critical_ok_rate"] == 0.0 and summary.loc[ODD, "critical_ok_rate"] == 1.0
    # The store keeps the parsed object and the scores as they were when the row was paid for.
    stored = {r["model"]: r for r in stored_rows(env / "trials.sqlite") if r["kind"] == "page"}
    assert stored[MINI]["fields_correct"] == 28 and stored[MINI]["critical_ok"] == 0
    assert json.loads(stored[ODD]["parsed"])["currency"] == "gbp" and stored[ODD]["ok"] == 1

    # Resume: nothing is sent again; the scores come back the same; load_trial uses the run's own schema.
    with serving(StandIn(bills)) as standin:
        again = run(standin, structured_catalog(), [SAMPLE_DIR / "invoice.png"], [MINI, ODD], schema=INVOICE_SCHEMA,
                    truth=SAMPLE_DIR, critical=["total", "invoice_number"])  # fmt: skip
        assert standin.requests == []
    assert set(again.results["status"]) == {"cached"}
    assert again.results["fields_correct"].tolist() == trial.results["fields_correct"].tolist()
    loaded = vm.load_trial(trial.run_id, truth=SAMPLE_DIR, critical=["total"])
    assert loaded.results["fields_correct"].tolist() == [28, 29]
    # Another schema is another request.
    with serving(StandIn(bills)) as standin:
        run(standin, structured_catalog(), [SAMPLE_DIR / "invoice.png"], [ODD], schema={"type": "object"})
        assert len(page_requests(standin, ODD)) == 1


def test_a_critical_field_the_truth_lacks_is_refused_before_anything_is_sent(env):
    with serving(StandIn({MINI: ModelBill(*PRICES[MINI], reply=answer())})) as standin:
        with pytest.raises(ValueError, match=r"page 'invoice.png': critical field 'totl' is not in the truth"):
            run(standin, structured_catalog(), [SAMPLE_DIR / "invoice.png"], [MINI], schema=INVOICE_SCHEMA,
                truth=SAMPLE_DIR, critical=["total", "totl"])  # fmt: skip
        assert standin.requests == [] and standin.billed_usd == 0


def test_each_failure_kind_from_the_stand_in_is_counted(env):
    pages = make_pages(env / "pages", count=6)
    standin = StandIn({m: ModelBill(*PRICES[m]) for m in (MINI, FLASH)},
                      page_faults={MINI: ["length", "loop", "refusal", "empty", "content-filter"]})  # fmt: skip
    with serving(standin):
        trial = run(standin, trial_catalog(), pages, [MINI, FLASH], concurrency=1)
    mini = trial.results[trial.results["model"] == MINI]
    assert mini["failure"].tolist() == ["truncated", "truncated, looped", "refused", "empty", "refused", ""]
    assert mini["finish_reason"].tolist()[:3] == ["length", "length", "stop"]
    summary = trial.summary().set_index("model")
    assert summary.loc[MINI, "success_rate"] == pytest.approx(1 / 6)
    assert summary.loc[FLASH, "success_rate"] == 1.0
    assert (summary.loc[MINI, "failed_truncated"], summary.loc[MINI, "failed_looped"], summary.loc[MINI, "failed_refused"],
            summary.loc[MINI, "failed_empty"]) == (2, 1, 2, 1)  # fmt: skip
    # Everything MINI was billed for its pages, over the one page that succeeded.
    billed = sum(e["cost"] for e in standin.ledger if e["model"] == MINI and e["images"])
    assert summary.loc[MINI, "usd_per_1k_successful_pages"] == pytest.approx(billed * 1000)
    # Resume: the failures were paid; they are not sent again and are counted the same way.
    with serving(StandIn({m: ModelBill(*PRICES[m]) for m in (MINI, FLASH)})) as again:
        second = run(again, trial_catalog(), pages, [MINI, FLASH])
        assert page_requests(again) == []
    assert second.results["failure"].tolist() == trial.results["failure"].tolist()


def test_repeats_are_rows_of_their_own_each_paid_once(env):
    pages = make_pages(env / "pages", count=2)
    with serving(StandIn({MINI: ModelBill(*PRICES[MINI])})) as standin:
        plain = run(standin, trial_catalog(), pages, [MINI])
        assert len(page_requests(standin)) == 2
        trial = run(standin, trial_catalog(), pages, [MINI], repeats=3, truth={"page0": "INVOICE 42\nTotal: 12.50 EUR"})
        # Repeat 0 is the row the plain run paid for: only repeats 1 and 2 are sent.
        assert len(page_requests(standin)) == 2 + 4
        assert sorted(trial.results["repeat"].tolist()) == [0, 0, 1, 1, 2, 2]
        more = run(standin, trial_catalog(), pages, [MINI], repeats=4)
        assert len(page_requests(standin)) == 6 + 2  # repeat 3 of each page, nothing else
    assert plain.results["repeat"].tolist() == [0, 0]
    assert (more.results["status"] == "cached").sum() == 6
    summary = trial.summary(pass_cer_below=0.01).set_index("model")
    # page0 reads exactly in all 3 repeats; page1 has no truth (no CER): it cannot pass. pass_all_k = 1 / 2.
    assert summary.loc[MINI, "repeats"] == 3 and summary.loc[MINI, "pass_all_k"] == 0.5
    assert summary.loc[MINI, "cer_repeat_sd"] == 0.0


def test_consensus_without_truth_labels_agreement_and_flags_a_dissenter(env):
    pages = make_pages(env / "pages", count=1)
    text = "INVOICE BWI-2026-0418\nTotal due 910.20 GBP"
    bills = {MINI: ModelBill(*PRICES[MINI], reply=text), FLASH: ModelBill(*PRICES[FLASH], reply=text),
             ODD: ModelBill(*PRICES[ODD], reply="Nothing legible on this page at all.")}  # fmt: skip
    with serving(StandIn(bills)) as standin:
        trial = run(standin, trial_catalog(), pages, [MINI, FLASH, ODD], truth="consensus")
        with pytest.raises(ValueError, match="truth='consensus' needs 3 or more models, not 2"):
            run(standin, trial_catalog(), pages, [MINI, FLASH], truth="consensus")
    results = trial.results.set_index("model")
    assert results["cer"].isna().all()  # agreement, not accuracy
    assert (
        results.loc[MINI, "consensus_reference"] == MINI
        and results.loc[ODD, "consensus_models"] == f"{MINI}, {FLASH}, {ODD}"
    )
    assert results.loc[ODD, "dissents"] and not results.loc[MINI, "dissents"]
    assert results.loc[ODD, "agreement"] < 0.5 < results.loc[MINI, "agreement"]
    summary = trial.summary().set_index("model")
    assert summary.loc[ODD, "pages_dissenting"] == 1
    # The same consensus from the store.
    loaded = vm.load_trial(trial.run_id, truth="consensus").results.set_index("model")
    assert loaded["agreement"].tolist() == pytest.approx(results["agreement"].tolist())


def test_tesseract_with_the_rule_based_parser_scores_offline(env):
    if not vm.trials.tesseract.tesseract_available():
        pytest.skip("tesseract is not installed")
    trial = vm.run_trial([SAMPLE_DIR / "invoice.png"], ["tesseract"], schema=INVOICE_SCHEMA, truth=SAMPLE_DIR,
                         parser=lambda text, page: parse_sample_text(text, "invoice"), critical=["total"], progress=False)  # fmt: skip
    row = trial.results.iloc[0]
    assert row["json_valid"] and row["fields_total"] == 29 and row["critical_ok"]
    assert row["fields_correct"] >= 27  # Tesseract 5 drops the space in "3 m": one field (see test_extraction)


def test_a_version_2_store_gains_the_evidence_columns_and_its_rows_are_reused(env):
    pages = make_pages(env / "pages", count=1)
    path = env / "trials.sqlite"
    with serving(StandIn({MINI: ModelBill(*PRICES[MINI])})) as standin:
        run(standin, trial_catalog(), pages, [MINI])
    conn = sqlite3.connect(path)  # back to version 2: reasoning tokens (3), evidence (4), confidence (5) dropped
    for name in ("reasoning_tokens", *(name for name, _ in _EVIDENCE_COLUMNS), "tesseract_confidence"):
        conn.execute(f"ALTER TABLE rows DROP COLUMN {name}")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    with serving(StandIn({MINI: ModelBill(*PRICES[MINI])})) as standin:
        again = run(standin, trial_catalog(), pages, [MINI], repeats=2)
        assert len(page_requests(standin)) == 1  # repeat 0 is the stored row; only repeat 1 is sent
    assert sorted(again.results["status"].tolist()) == ["cached", "ok"]
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA user_version").fetchone()[0] == 5
    assert sorted(check.execute("SELECT repeat FROM rows WHERE kind = 'page'").fetchall()) == [(0,), (1,)]
    check.close()


def test_trials_show_prints_the_evidence_table(env, capsys):
    from vision_models.cli import main

    pages = make_pages(env / "pages", count=2)
    standin = StandIn({MINI: ModelBill(*PRICES[MINI])}, page_faults={MINI: ["length"]})
    with serving(standin):
        trial = run(standin, trial_catalog(), pages, [MINI], concurrency=1)
    assert main(["trials", "show", trial.run_id]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("model") and "success" in line)
    assert header.split()[:3] == ["model", "success", "$/1k"]
    row = next(line for line in out.splitlines()[out.splitlines().index(header) :] if line.startswith(MINI))
    assert "50%" in row and "1 cut" in row  # one of two pages cut at max_tokens


def test_a_dry_run_with_repeats_and_a_schema_plans_every_repeat_and_a_longer_prompt(env):
    pages = make_pages(env / "pages", count=2)
    plain = vm.estimate_trial(pages, [MINI, ODD], catalog=structured_catalog())
    plan = vm.estimate_trial(pages, [MINI, ODD], catalog=structured_catalog(), repeats=3, schema=INVOICE_SCHEMA)
    assert len(plan) == 3 * len(plain) == 12
    assert sorted(plan.loc[plan["model"] == MINI, "repeat"].tolist()) == [0, 0, 1, 1, 2, 2]
    # The schema lengthens what is sent: the worst case reserved per request grows with it.
    assert (plan.groupby("model")["worst_case_usd"].max() > plain.groupby("model")["worst_case_usd"].max()).all()
    with pytest.raises(ValueError, match="bad repeats 0: expected a whole number from 1 to 100"):
        vm.estimate_trial(pages, [MINI], catalog=structured_catalog(), repeats=0)

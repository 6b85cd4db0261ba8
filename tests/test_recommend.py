"""``recommend`` and ``plan_trial`` on trials built by hand, and ``vision-models recommend`` on a stand-in run.

Expected choices and numbers are worked out by hand in each test. Interval bounds are argued rather than
computed: a bootstrap mean lies between the smallest and the largest per-page value, and for a model whose
pages read 0.04 or 0 the count of 0.04 pages in a resample is binomial.
"""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from factories import ODD, PRICES, catalog_body, make_pages, model, run_cli_captured, run_on_standin, trial_catalog
from openrouter_standin import ModelBill, StandIn, serving

from vision_models.trials.planning import plan_trial, sample_size
from vision_models.trials.recommend import recommend

# z(0.975) + z(0.8) from a table of the normal distribution: 1.959964 + 0.841621.
Z = 2.801585


def frame(spec: dict[str, tuple[list[float], float]], *, finish: dict[str, dict[int, str]] | None = None):
    """A results frame: per model, its pages' CER and the bill of each row; ``finish`` overrides finish reasons."""
    rows = []
    for name, (cers, usd) in spec.items():
        for i, value in enumerate(cers):
            reason = (finish or {}).get(name, {}).get(i, "stop")
            rows.append({"page": f"p{i:02d}", "model": name, "status": "ok", "error": None,
                         "text": "INVOICE 42 Total 12.50", "finish_reason": reason, "billed_usd": usd,
                         "cer": value})  # fmt: skip
    return pd.DataFrame(rows)


#: 20 pages: 12 read perfectly, 8 at 4% CER. Mean 1.6%; the upper bound of the 95% interval is over 2% (a
#: resample mean over 2% needs 11 or more of the 0.04 pages: P(Binomial(20, 0.4) >= 11) = 0.128 > 0.025) and
#: the lower bound under it (P(<= 9) = 0.755 > 0.025): the interval straddles 2%.
STRADDLING = [0.04] * 8 + [0.0] * 12
# sd (ddof 1) = sqrt((8 x 0.024^2 + 12 x 0.016^2) / 19) = sqrt(0.00768 / 19)
STRADDLING_MORE = math.ceil((Z * math.sqrt(0.00768 / 19) / (0.02 - 0.016)) ** 2) - 20  # 199 - 20 = 179


def verdicts(found) -> dict[str, str]:
    return dict(zip(found.table["model"], found.table["verdict"]))


def test_the_cheapest_misses_the_target_and_the_second_cheapest_is_chosen():
    results = frame({
        "cheap": ([0.04, 0.05, 0.06, 0.05] * 5, 0.001),  # every page over 2%: so is every resample mean
        "mid": ([0.005, 0.015, 0.01, 0.01] * 5, 0.002),  # every page under 2%
        "dear": ([0.0] * 20, 0.010),
    })  # fmt: skip
    found = recommend(results, max_cer=0.02)
    assert found.model == "mid"
    assert verdicts(found) == {"cheap": "target missed", "mid": "chosen", "dear": "too dear"}
    table = found.table.set_index("model")
    # 20 rows at $0.001, all ok: $0.02 / 20 x 1,000 = $1 per 1,000 successful pages; mid $2, dear $10.
    assert table["usd_per_1k_successful_pages"].tolist() == pytest.approx([1.0, 2.0, 10.0])
    assert table.loc["cheap", "cer_ci_low"] >= 0.04 and table.loc["mid", "cer_ci_high"] <= 0.015
    assert table.loc["mid", "cer_mean"] == pytest.approx(0.01)
    assert found.table["model"].tolist() == ["cheap", "mid", "dear"]  # cheapest first
    assert found.justification.startswith("Use mid: it is the cheapest model")
    assert "$2 per 1,000 successful pages" in found.justification
    assert "cheap (target missed" in found.justification
    assert "dear also qualifies but costs more" in found.justification
    assert "more than mid's $2" in table.loc["dear", "why"]


def test_an_interval_that_straddles_the_target_is_not_enough_pages_with_a_page_count():
    results = frame({"cheap": (STRADDLING, 0.001), "dear": ([0.01] * 20, 0.004)})
    found = recommend(results, max_cer=0.02)
    assert found.model == "dear"
    table = found.table.set_index("model")
    assert table.loc["cheap", "verdict"] == "not enough pages to be sure"
    assert table.loc["cheap", "cer_ci_low"] < 0.02 < table.loc["cheap", "cer_ci_high"]
    assert table.loc["cheap", "more_pages"] == STRADDLING_MORE == 179
    assert "and about 179 more pages would settle it" in table.loc["cheap", "why"]
    assert "about 179 more pages would settle it" in found.justification
    assert "cheap (not enough pages to be sure" in found.justification


def test_two_qualifying_models_within_noise_the_cheaper_wins_and_the_comparison_says_so():
    # Per page a and b swap 0 and 1%: the paired differences are +-1 point, mean 0: not distinguishable.
    results = frame({"a": ([0.0, 0.01] * 10, 0.001), "b": ([0.01, 0.0] * 10, 0.003)})
    found = recommend(results, max_cer=0.02)
    assert found.model == "a" and verdicts(found)["b"] == "too dear"
    assert "(not distinguishable)" in found.justification


def test_nothing_qualifies_names_the_closest_target_and_the_pages_that_would_settle_it():
    results = frame({"cheap": (STRADDLING, 0.001), "dear": ([0.03] * 20, 0.004)})
    found = recommend(results, max_cer=0.02)
    assert found.model is None
    assert verdicts(found) == {"cheap": "not enough pages to be sure", "dear": "target missed"}
    assert found.closest == "cheap" and found.more_pages == 179
    assert found.justification.startswith("No model meets every target")
    assert "Closest: cheap, on CER under 2.00%" in found.justification
    assert "About 179 more pages would settle it" in found.justification


def test_a_model_truncating_one_page_in_twenty_loses_on_success_rate():
    results = frame({"trunc": ([0.0] * 20, 0.001), "steady": ([0.005] * 20, 0.002)}, finish={"trunc": {7: "length"}})
    found = recommend(results, max_cer=0.02)
    assert found.model == "steady"
    table = found.table.set_index("model")
    assert table.loc["trunc", "verdict"] == "failures"
    assert table.loc["trunc", "success_rate"] == pytest.approx(19 / 20)
    # Everything billed (20 x $0.001) over the 19 successful pages, per 1,000: $1.0526.
    assert table.loc["trunc", "usd_per_1k_successful_pages"] == pytest.approx(0.02 / 19 * 1000)
    assert table.loc["trunc", "failures"] == "1 truncated"
    assert "1 of 20 requests failed (1 truncated), success 95.0% under 98.0%" in table.loc["trunc", "why"]
    # A floor of 95% lets it through, and it is the cheaper.
    assert recommend(results, max_cer=0.02, min_success_rate=0.95).model == "trunc"


def test_a_budget_per_1k_pages_excludes_a_dear_model():
    results = frame({"cheap": ([0.05] * 10, 0.001), "dear": ([0.0] * 10, 0.010)})
    assert recommend(results, max_cer=0.02).model == "dear"  # $10 per 1,000 successful pages
    found = recommend(results, max_cer=0.02, budget_per_1k_pages=5)
    assert found.model is None
    table = found.table.set_index("model")
    assert table.loc["dear", "verdict"] == "too dear"
    assert "$10 per 1,000 successful pages, over the budget of $5" in table.loc["dear", "why"]
    assert found.closest == "dear" and "the budget of $5 per 1,000 pages" in found.justification


def test_field_accuracy_uses_the_lower_bound():
    results = frame({"a": ([0.0] * 10, 0.001), "b": ([0.0] * 10, 0.002)})
    # a: every page 80%; b: 95% to 100% (critical_ok: a real frame has it beside field_accuracy)
    results = results.assign(field_accuracy=[0.8] * 10 + [0.95, 1.0] * 5, critical_ok=pd.NA)
    found = recommend(results, min_field_accuracy=0.9)
    assert found.model == "b" and verdicts(found)["a"] == "target missed"
    assert found.table.set_index("model").loc["b", "field_accuracy_ci_low"] >= 0.95


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_cer": -0.1}, "bad max_cer -0.1"),
        ({"max_cer": "0.02"}, "bad max_cer '0.02': expected a number"),
        ({"min_success_rate": 1.5}, "bad min_success_rate 1.5"),
        ({"confidence": 1.0}, "bad confidence 1.0"),
        ({"budget_per_1k_pages": 0}, "bad budget_per_1k_pages 0"),
        ({"min_field_accuracy": 0.9}, "min_field_accuracy is set but the trial has no field accuracy"),
    ],
)
def test_bad_targets_are_one_clear_error(options, message):
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace("$", r"\$")):
        recommend(frame({"a": ([0.0] * 3, 0.001)}), **options)


def test_an_empty_trial_and_a_wrong_type_are_errors():
    with pytest.raises(ValueError, match="no page rows"):
        recommend(frame({}), max_cer=0.02)
    with pytest.raises(TypeError, match="not list"):
        recommend([], max_cer=0.02)


def test_the_views_escape_remote_text():
    results = frame({"<script>x</script>": ([0.0] * 5, 0.001)})
    found = recommend(results, max_cer=0.02)
    assert found.model == "<script>x</script>"
    shown = found._repr_html_()
    assert "<script>" not in shown and "&lt;script&gt;" in shown
    assert "Use <script>x</script>" in repr(found)  # plain text, for a terminal that escapes on print


# ---------------------------------------------------------------- planning


def test_sample_size_by_hand():
    # ((1.959964 + 0.841621) x 0.05 / 0.01)^2 = 196.22: 197 pages.
    assert sample_size(0.01) == 197
    # Half the spread, a quarter of the pages: (2.801585 x 0.025 / 0.01)^2 = 49.05: 50.
    assert sample_size(0.01, sd=0.025) == 50
    with pytest.raises(ValueError, match="bad margin 0"):
        sample_size(0)


def test_plan_from_a_cost_table_offline(tmp_path):
    pages = make_pages(tmp_path / "pages", 3)
    costs = pd.DataFrame({"id": ["x/one", "x/two", "x/three", "x/four"],
                          "usd_per_1k_images": [1.0, 2.0, 3.0, 9.0],
                          "usd_per_1k_images_high": [2.0, 3.0, 4.0, 10.0]})  # fmt: skip
    plan = plan_trial(pages, costs=costs, target=0.02, budget_usd=5.0)
    # No published score for these ids: the three cheapest, then Tesseract.
    assert plan.models["id"].tolist() == ["x/one", "x/two", "x/three", "tesseract"]
    assert plan.pages_needed == 197 and plan.pages_available == 3
    # 197 pages x ($1 + $2 + $3 + $0) / 1,000 = $1.182; the high end 197 x $9 / 1,000 = $1.773.
    assert plan.estimated_usd == pytest.approx(1.182)
    assert plan.worst_case_usd == pytest.approx(1.773)
    assert plan.fits_budget
    assert "on 197 pages" in plan.explanation and "add 194 more" in plan.explanation
    assert "5.00%" in plan.explanation  # the assumed spread is said


def test_plan_with_a_catalog_prices_the_candidates_on_the_pages(tmp_path):
    pages = make_pages(tmp_path / "pages", 2)
    plan = plan_trial(pages, candidates=[ODD, "tesseract"], catalog=trial_catalog(), target=0.04,
                      trials_path=tmp_path / "trials.sqlite", budget_usd=0.001)  # fmt: skip
    # target 4%, margin 2%: (2.801585 x 0.05 / 0.02)^2 = 49.05: 50 pages.
    assert plan.pages_needed == 50
    models = plan.models.set_index("id")
    odd = models.loc[ODD]
    assert 0 < odd["usd_per_page"] < odd["usd_per_page_high"]
    assert odd["trial_usd"] == pytest.approx(50 * odd["usd_per_page"])
    assert models.loc["tesseract", "trial_usd"] == 0
    assert not plan.fits_budget and "over the budget of $0.001" in plan.explanation


# ---------------------------------------------------------------- the command line


@pytest.fixture
def stored_run(tmp_path):
    """A run on the stand-in: 3 pages, gpt-4o-mini reads them exactly, reader-x (cheaper) gets one digit wrong."""
    reply = "INVOICE 42\nTotal: 12.50 EUR"
    mini = "openai/gpt-4o-mini"
    bills = {
        mini: ModelBill(*PRICES[mini], reply=reply),
        ODD: ModelBill(*PRICES[ODD], reply=reply.replace("2", "3", 1)),
    }
    pages = make_pages(tmp_path / "pages", 3)
    truth = tmp_path / "truth"
    truth.mkdir()
    for page in pages:
        (truth / f"{page.stem}.txt").write_text(reply, encoding="utf-8")
    with serving(StandIn(bills)) as stand:
        trial = run_on_standin(stand, trial_catalog(), pages, [mini, ODD], api_key="sk-or-v1-test")
    return trial.run_id, str(truth)


def test_cli_recommends_from_a_stored_run(stored_run, capsys):
    run, truth = stored_run
    status, out, err = run_cli_captured(capsys, "recommend", "--trial", run, "--truth", truth, "--max-cer", "0.02")
    assert status == 0, err
    # reader-x: 1 character wrong in 27 ("INVOICE 42\nTotal: 12.50 EUR"), 3.7% on every page: missed.
    assert "Use openai/gpt-4o-mini" in out and "target missed" in out
    status, out, err = run_cli_captured(capsys, "recommend", "--trial", run, "--truth", truth, "--max-cer", "0.05",
                                        "--format", "json")  # fmt: skip
    data = json.loads(out)
    assert status == 0 and data["model"] == ODD
    assert [c["verdict"] for c in data["candidates"]] == ["chosen", "too dear"]
    status, out, err = run_cli_captured(capsys, "recommend", "--trial", run, "--truth", truth, "--max-cer", "0.02",
                                        "--format", "csv")  # fmt: skip
    assert status == 0 and out.splitlines()[0].startswith("model,verdict,why") and "Use openai" in err


def test_cli_exit_1_when_nothing_qualifies(stored_run, capsys):
    run, truth = stored_run
    status, out, err = run_cli_captured(capsys, "recommend", "--trial", run, "--truth", truth, "--max-cer", "0.02",
                                        "--budget-per-1k-pages", "0.001")  # fmt: skip
    assert status == 1
    assert "No model meets every target" in out and "no model meets every target" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give --trial RUN"),
        (["--pages", "x.png"], "a plan needs both --pages PATH and --plan"),
        (["--trial", "r", "--pages", "x.png", "--plan"], "not both"),
        (["--trial", "r", "--max-cer", "nan"], "bad --max-cer 'nan'"),
        (["--trial", "no-such-run", "--max-cer", "0.02"], "unknown trial run 'no-such-run'"),
    ],
)
def test_cli_bad_usage_is_one_line_and_exit_2(args, message, capsys):
    status, out, err = run_cli_captured(capsys, "recommend", *args)
    assert status == 2 and out == ""
    assert message in err and err.count("\n") == 1


def test_cli_max_cer_without_truth_says_what_is_missing(stored_run, capsys):
    run, _ = stored_run
    status, out, err = run_cli_captured(capsys, "recommend", "--trial", run, "--max-cer", "0.02")
    assert status == 2 and "--max-cer needs --truth DIR" in err


def test_cli_cascade_from_a_stored_run_sends_nothing_and_counts_by_hand(stored_run, capsys):
    run, truth = stored_run
    mini = "openai/gpt-4o-mini"
    # Nothing fires on reader-x's 3 answers (none failed, truncated, looped, empty or refused): the cascade is
    # reader-x alone, 0% escalated, its CER 1 character in 27 on every page.
    status, out, err = run_cli_captured(capsys, "recommend", "--trial", run, "--truth", truth, "--cascade", ODD,
                                        mini, "--format", "json")  # fmt: skip
    assert status == 0, err
    data = json.loads(out)
    alone, _, cascade = data["strategies"]
    assert data["escalation_rate"] == 0 and cascade["escalation_rate"] == 0
    assert cascade["usd_per_1k_pages"] == pytest.approx(alone["usd_per_1k_pages"])
    assert cascade["mean"] == pytest.approx(1 / 27)
    assert "escalates 0% of 3 pages" in data["sentence"]
    status, out, err = run_cli_captured(capsys, "recommend", "--trial", run, "--truth", truth, "--cascade", ODD,
                                        mini)  # fmt: skip
    assert status == 0 and f"cascade {ODD} -> {mini}" in out and "3.70%" in out
    status, out, err = run_cli_captured(capsys, "recommend", "--trial", run, "--cascade", ODD, mini,
                                        "--escalate-when", "truncated,sunspots")  # fmt: skip
    assert status == 2 and "bad --escalate-when 'truncated,sunspots'" in err and err.count("\n") == 1
    status, out, err = run_cli_captured(capsys, "recommend", "--trial", run, "--escalate-when", "truncated")
    assert status == 2 and "go with --cascade" in err
    status, out, err = run_cli_captured(capsys, "recommend", "--trial", run, "--cascade", "acme/nobody", mini)
    assert status == 2 and "acme/nobody" in err and err.count("\n") == 1
    for extra, message in ((("--min-confidence", "70"), "--min-confidence goes with --escalate-when low_confidence"),
                           (("--checker", mini), "--checker goes with --escalate-when disagreement"),
                           (("--max-cer", "0.02"), "--max-cer chooses a model; --cascade simulates one")):  # fmt: skip
        status, out, err = run_cli_captured(capsys, "recommend", "--trial", run, "--cascade", ODD, mini, *extra)
        assert status == 2 and message in err and out == "", err


def test_cli_cascade_intervals_follow_confidence(stored_run, capsys, monkeypatch):
    from vision_models.trials import cascade

    levels = []
    real = cascade.simulate_cascade
    monkeypatch.setattr(cascade, "simulate_cascade", lambda *a, **k: levels.append(k["level"]) or real(*a, **k))
    run, truth = stored_run
    status, _, err = run_cli_captured(capsys, "recommend", "--trial", run, "--cascade", ODD, "openai/gpt-4o-mini",
                                      "--confidence", "0.8")  # fmt: skip
    assert status == 0, err
    assert levels == [0.8]


def test_cli_cascade_on_tesseract_confidence(tmp_path, capsys):
    from vision_models.trials.results import load_trial
    from vision_models.trials.tesseract import tesseract_available

    if not tesseract_available():
        pytest.skip("tesseract is not installed (apt-get install tesseract-ocr; .ci/run installs it)")
    mini = "openai/gpt-4o-mini"
    pages = make_pages(tmp_path / "pages", 3)
    with serving(StandIn({mini: ModelBill(*PRICES[mini], reply="Page")})) as stand:
        trial = run_on_standin(stand, trial_catalog(), pages, ["tesseract", mini], api_key="sk-or-v1-test")
    stored = load_trial(trial.run_id).results
    confidence = stored.loc[stored["model"].eq("tesseract"), "tesseract_confidence"]
    assert confidence.notna().all()  # each small page holds words Tesseract scores
    args = ("recommend", "--trial", trial.run_id, "--cascade", "tesseract", mini, "--escalate-when", "low_confidence",
            "--format", "json")  # fmt: skip
    for threshold in ("0", "100"):
        status, out, err = run_cli_captured(capsys, *args, "--min-confidence", threshold)
        assert status == 0, err
        # By the rule: a page escalates when its confidence is under the threshold (none is under 0).
        assert json.loads(out)["escalation_rate"] == pytest.approx(float((confidence < float(threshold)).mean()))
    status, out, err = run_cli_captured(capsys, *args, "--min-confidence", "101")
    assert status == 2 and "--min-confidence" in err and "101" in err and err.count("\n") == 1
    status, out, err = run_cli_captured(capsys, *args[:-2])  # low_confidence without a threshold
    assert status == 2 and "'low_confidence' needs --min-confidence X, X from 0 to 100" in err


def test_cli_plan_offline(tmp_path, capsys):
    pages = make_pages(tmp_path / "pages", 2)
    catalog = tmp_path / "catalog.json"
    catalog.write_text(catalog_body(model("acme/reader-x", prompt="0.000002", completion="0.000002",
                                          inputs=("text", "image"))))  # fmt: skip
    status, out, err = run_cli_captured(capsys, "recommend", "--pages", str(tmp_path / "pages"), "--plan",
                                        "--source", str(catalog), "--format", "json")  # fmt: skip
    assert status == 0, err
    data = json.loads(out)
    assert data["pages_needed"] == 197 and data["pages_available"] == len(pages)
    assert [m["id"] for m in data["models"]] == ["acme/reader-x", "tesseract"]
    status, out, err = run_cli_captured(capsys, "recommend", "--pages", str(tmp_path / "pages"), "--plan",
                                        "--source", str(catalog))  # fmt: skip
    assert status == 0 and "Try 2 models" in out


def test_without_an_accuracy_target_success_and_cost_decide_and_free_tesseract_can_win():
    results = frame({"tesseract": ([0.3] * 5, 0.0), "remote": ([0.0] * 5, 0.002)})
    found = recommend(results)
    assert found.model == "tesseract"  # $0 per 1,000 successful pages, every request succeeded
    assert "No accuracy target was set" in found.justification
    assert recommend(results, max_cer=0.02).model == "remote"  # Tesseract's 30% CER misses 2%


def test_a_model_whose_every_request_failed_loses_on_failures():
    results = frame({"broken": ([0.0] * 4, 0.001), "fine": ([0.0] * 4, 0.002)})
    results.loc[results["model"].eq("broken"), ["status", "error", "text", "cer"]] = ["error", "HTTP 500", None, None]
    found = recommend(results, max_cer=0.02)
    table = found.table.set_index("model")
    assert found.model == "fine" and table.loc["broken", "verdict"] == "failures"
    assert "none of its 4 requests succeeded (4 error)" in table.loc["broken", "why"]

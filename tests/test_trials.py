"""Trials against a loopback OpenRouter stand-in: bills, budget, retries, failures, storage and resume.

Expected values come from the stand-in's own ledger (what it billed, how many
requests it saw) and from the prices and image tokens the test gives it, never
from the trial code.
"""

from __future__ import annotations

import json
import threading

import pytest
from factories import FLASH, MINI, ODD, make_pages, model, page_requests
from factories import TRIAL_KEY as KEY
from factories import run_on_standin as run
from openrouter_standin import ModelBill, StandIn, serving
from PIL import Image, ImageDraw

import vision_models as vm
from vision_models import trials
from vision_models.catalog.frame import models_frame
from vision_models.present.terminal import cell_text
from vision_models.trials import worker
from vision_models.trials.pages import load_pages


def test_billed_totals_equal_what_the_stand_in_billed(standin, catalog, env):
    pages = make_pages(env / "pages")
    trial = run(standin, catalog, pages, [MINI, FLASH])

    results = trial.results
    assert len(results) == 6 and set(results["status"]) == {"ok"}
    assert (results["billed_source"] == "usage.cost").all()
    # Every request the stand-in billed (6 pages + 2 controls) is in the trial's total, no more.
    assert trial.billed_usd == pytest.approx(standin.billed_usd, abs=1e-12)
    assert len(standin.billed) == 8 and trial.requests_sent == 8
    # Page rows carry exactly what the stand-in charged for them.
    prompt_tokens = standin.text_tokens(trials.DEFAULT_PROMPT) + 1000
    assert (results["prompt_tokens"] == prompt_tokens).all()
    mini = results[results["model"] == MINI]
    completion = len(standin.models[MINI].reply) // 2 + 1
    assert mini["billed_usd"].tolist() == pytest.approx([prompt_tokens * 1e-5 + completion * 4e-5] * 3)
    # Measured image tokens = page prompt tokens - control prompt tokens = what the stand-in charged per image.
    assert (results["measured_image_tokens"] == 1000).all()
    assert results["text"].tolist() == [standin.models[MINI].reply] * 6
    # The request: one user message, prompt then a data URL, temperature 0, the key as a bearer token.
    body = page_requests(standin, MINI)[0]["body"]
    content = body["messages"][0]["content"]
    assert content[0] == {"type": "text", "text": trials.DEFAULT_PROMPT}
    assert content[1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert body["temperature"] == 0 and body["max_tokens"] == trials.DEFAULT_MAX_TOKENS
    assert {r["auth"] for r in standin.requests} == {f"Bearer {KEY}"}
    assert all(r["path"] == "/api/v1/chat/completions" for r in standin.requests)

    summary = trial.summary().set_index("model")
    assert summary.loc[MINI, "pages_ok"] == 3 and summary.loc[MINI, "pages_failed"] == 0
    assert summary.loc[MINI, "usd_per_page"] == pytest.approx(prompt_tokens * 1e-5 + completion * 4e-5)
    assert summary.loc[MINI, "usd_per_1k_pages"] == pytest.approx(1000 * (prompt_tokens * 1e-5 + completion * 4e-5))
    assert summary.loc[MINI, "measured_image_tokens"] == 1000


def test_a_second_run_sends_nothing_and_returns_cached_rows(standin, catalog, env):
    pages = make_pages(env / "pages")
    first = run(standin, catalog, pages, [MINI, FLASH])
    sent = len(standin.requests)
    second = run(standin, catalog, pages, [MINI, FLASH])

    assert len(standin.requests) == sent
    assert second.requests_sent == 0 and second.billed_usd == 0
    assert set(second.results["status"]) == {"cached"}
    assert second.results["billed_usd"].tolist() == first.results["billed_usd"].tolist()
    assert second.results["measured_image_tokens"].tolist() == [1000] * 6
    # Another prompt or max_tokens is another row.
    run(standin, catalog, pages[:1], [MINI], max_tokens=100)
    assert len(page_requests(standin)) == 7


def test_the_budget_is_never_exceeded_with_concurrency_and_retries(standin, catalog, env, monkeypatch):
    monkeypatch.setattr(worker, "_backoff", lambda attempt: 0.05)
    pages = make_pages(env / "pages", count=8)
    standin.faults = {MINI: ["429", "500", "429"], FLASH: ["500"]}
    standin.latency_s = 0.02
    max_usd = 0.05
    trial = run(standin, catalog, pages, [MINI, FLASH], max_usd=max_usd, concurrency=4, max_tokens=200)

    assert standin.billed_usd <= max_usd
    assert trial.billed_usd == pytest.approx(standin.billed_usd, abs=1e-12)
    statuses = trial.results["status"].value_counts().to_dict()
    assert statuses.get("skipped-budget", 0) > 0 and statuses.get("ok", 0) > 0
    skipped = trial.results[trial.results["status"] == "skipped-budget"]
    assert skipped["error"].str.contains("does not fit the budget").all()
    assert skipped["billed_usd"].isna().all()
    # Skipped rows were never sent: no request of theirs reached the stand-in.
    urls = {page.name: page.data_url() for page in load_pages(pages)}
    sent = {(r["model"], r["body"]["messages"][0]["content"][1]["image_url"]["url"]) for r in page_requests(standin)}
    for row in skipped.itertuples():
        assert (row.model, urls[row.page]) not in sent
    assert len(sent) == (trial.results["status"] == "ok").sum()


@pytest.mark.parametrize("seed", range(6))
def test_budget_holds_when_bills_exceed_the_estimate(standin, catalog, env, seed):
    """The stand-in charges 4x the image tokens the fallback rule estimates for an unknown family."""
    import random

    rng = random.Random(seed)
    standin.models[ODD].image_tokens = 4 * 11 * 15  # fallback: ceil(400/28) x ceil(300/28) = 15 x 11 patches
    pages = make_pages(env / f"pages{seed}", count=10)
    max_usd = rng.uniform(0.001, 0.03)
    trial = run(standin, catalog, pages, [ODD, MINI], max_usd=max_usd, concurrency=rng.choice([1, 4, 8]), max_tokens=64)
    assert standin.billed_usd <= max_usd + 1e-12
    assert trial.billed_usd == pytest.approx(standin.billed_usd, abs=1e-12)


def test_a_zero_budget_sends_nothing(standin, catalog, env):
    trial = run(standin, catalog, make_pages(env / "pages", 2), [MINI], max_usd=0)
    assert standin.requests == []
    assert set(trial.results["status"]) == {"skipped-budget"}


def test_retry_after_is_honoured_and_500_is_retried(standin, catalog, env):
    standin.retry_after = "0.3"
    standin.faults = {MINI: ["429"], FLASH: ["500"]}
    pages = make_pages(env / "pages", 1)
    trial = run(standin, catalog, pages, [MINI, FLASH], concurrency=1)
    assert set(trial.results["status"]) == {"ok"}
    assert (
        len(page_requests(standin, MINI)) + len([r for r in standin.requests if r["model"] == MINI and not r["images"]])
        == 3
    )
    # The 429 came on MINI's control (sent first); it was sent again only after Retry-After.
    first, second = [r["at"] for r in standin.requests if r["model"] == MINI][:2]
    assert second - first >= 0.3
    assert len(standin.billed) == 4


def test_retries_are_bounded(standin, catalog, env, monkeypatch):
    monkeypatch.setattr(worker, "_backoff", lambda attempt: 0.01)
    standin.faults = {MINI: ["500"] * 20}
    trial = run(standin, catalog, make_pages(env / "pages", 1), [MINI], retries=2, concurrency=1)
    row = trial.results.iloc[0]
    assert row["status"] == "error" and row["error"].startswith("500")
    assert len(standin.requests) == 6  # control: 3 attempts (all 500), page: 3 attempts


def test_a_hanging_request_times_out_and_the_others_go_on(standin, catalog, env):
    standin.hang_s = 3.0
    standin.page_faults = {MINI: ["hang"]}  # the control answers, the first page hangs
    pages = make_pages(env / "pages", 2)
    trial = run(standin, catalog, pages, [MINI, FLASH], timeout=0.5, concurrency=1)
    results = trial.results.set_index(["page", "model"])
    assert "timed out" in results.loc[("page0.png", MINI), "error"]
    assert results.loc[("page1.png", MINI), "status"] == "ok"
    assert (results.xs(FLASH, level="model")["status"] == "ok").all()
    # The timed-out request may have been billed: the budget counted its whole reserve, apart from the bills.
    assert trial.unknown_usd > 0 and trial.billed_usd + trial.unknown_usd > standin.billed_usd - 1e-12
    assert results.loc[("page0.png", MINI), "cost_status"] == "unknown"


@pytest.mark.parametrize(
    ("fault", "message", "paid"),
    [
        ("400-image", "400: No endpoints found that support image input", False),
        ("402", "402: Insufficient credits", False),
        ("404", "404: openai/gpt-4o-mini is not a valid model ID", False),
        ("malformed", "malformed answer", True),
        ("no-usage", "no usage", True),
        ("no-choices", "no choices", True),
        ("content-filter", "content filter", True),
    ],
)
def test_a_model_failure_is_recorded_and_the_others_go_on(standin, catalog, env, fault, message, paid):
    standin.page_faults = {MINI: [fault] * 3}  # the control answers; every page fails
    pages = make_pages(env / "pages", 3)
    trial = run(standin, catalog, pages, [MINI, FLASH], concurrency=2)
    results = trial.results
    failed = results[results["model"] == MINI]
    assert (failed["status"] == "error").all()
    assert failed["error"].str.contains(message, regex=False).all()
    assert (results.loc[results["model"] == FLASH, "status"] == "ok").all()
    summary = trial.summary().set_index("model")
    assert summary.loc[MINI, "pages_failed"] == 3 and summary.loc[FLASH, "pages_ok"] == 3
    # The budget counted whatever may have been billed (billed + unknown): never less than the stand-in's ledger.
    assert trial.billed_usd + trial.unknown_usd >= standin.billed_usd - 1e-12
    assert (failed["cost_status"] == "unknown").all() == (fault in ("malformed", "no-usage"))
    # A failure the provider may have billed is not sent again; one it refused is.
    before = len(page_requests(standin, MINI))
    again = run(standin, catalog, pages, [MINI, FLASH])
    assert len(page_requests(standin, MINI)) - before == (0 if paid else 3)
    assert set(again.results.loc[again.results["model"] == MINI, "status"]) == ({"cached"} if paid else {"ok"})


def test_usage_without_cost_is_billed_at_catalog_prices(standin, catalog, env):
    standin.page_faults = {FLASH: ["no-cost"]}
    trial = run(standin, catalog, make_pages(env / "pages", 1), [FLASH])
    row = trial.results.iloc[0]
    assert row["status"] == "ok" and row["billed_source"] == "tokens x catalog prices"
    assert row["billed_usd"] == pytest.approx(row["prompt_tokens"] * 3e-6 + row["completion_tokens"] * 2.5e-5)


def test_without_a_key_nothing_is_sent(standin, catalog, env, monkeypatch):
    monkeypatch.delenv("OPENROUTER_API_KEY")
    pages = make_pages(env / "pages", 1)
    with pytest.raises(ValueError, match="OPENROUTER_API_KEY") as info:
        run(standin, catalog, pages, [MINI])
    assert "\n" not in str(info.value)
    assert standin.requests == []
    assert not (env / "trials.sqlite").exists()
    # A dry run needs no key.
    plan = vm.estimate_trial(pages, [MINI, FLASH], catalog=catalog)
    assert len(plan) == 2 and (plan["worst_case_usd"] > plan["estimated_usd"]).all()
    # A key of whitespace is no key; a key with surrounding whitespace is stripped.
    with pytest.raises(ValueError, match="no OpenRouter API key"):
        run(standin, catalog, pages, [MINI], api_key="  ")
    run(standin, catalog, pages, [MINI], api_key=f"  {KEY}\n")
    assert {r["auth"] for r in standin.requests} == {f"Bearer {KEY}"}


def test_the_key_never_lands_in_the_store(standin, catalog, env):
    standin.faults = {FLASH: ["402"]}
    run(standin, catalog, make_pages(env / "pages", 2), [MINI, FLASH])
    files = [p for p in env.iterdir() if p.name.startswith("trials.sqlite")]
    assert files
    for file in files:
        data = file.read_bytes()
        assert KEY.encode() not in data and b"TESTKEY" not in data
        assert b"data:image/png;base64" not in data  # nor the image bytes


def test_an_interrupted_run_resumes_with_only_the_missing_rows(standin, catalog, env):
    pages = make_pages(env / "pages", 4)
    calls = []

    def interrupt(row):
        calls.append(row)
        if len(calls) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(standin, catalog, pages, [MINI, FLASH], concurrency=1, on_row=interrupt)
    sent_first = len(page_requests(standin))
    assert 3 <= sent_first < 8

    before = len(page_requests(standin))
    resumed = run(standin, catalog, pages, [MINI, FLASH], concurrency=2)
    # The request in flight when Ctrl-C came may have reached the socket before the stand-in logged it: that row
    # is kept at unknown cost and never resent. So no (page, model) was sent twice over both runs, and each one
    # was either sent or is held as unknown.
    sent = page_requests(standin)
    assert len(sent) == len({(r["model"], r["body"]["messages"][0]["content"][1]["image_url"]["url"]) for r in sent})
    results = resumed.results
    unknown = int((results["cost_status"] == "unknown").sum())
    assert unknown <= 1 and len(sent) >= 8 - unknown
    counts = results["status"].value_counts().to_dict()
    assert counts.get("ok", 0) == len(sent) - before and sum(counts.values()) == 8
    assert set(counts) <= {"ok", "cached"}
    runs = trials.store.list_runs()
    assert runs["state"].tolist() == ["finished", "interrupted"]


def test_concurrent_runs_on_one_store_never_send_a_row_twice(standin, catalog, env):
    standin.latency_s = 0.05
    pages = make_pages(env / "pages", 6)
    outcomes = []

    def go():
        outcomes.append(run(standin, catalog, pages, [MINI], concurrency=2))

    threads = [threading.Thread(target=go) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent = [r["body"]["messages"][0]["content"][1]["image_url"]["url"] for r in page_requests(standin)]
    assert len(sent) == len(set(sent)) <= 6
    final = run(standin, catalog, pages, [MINI])
    assert set(final.results["status"]) == {"cached"}
    assert len(page_requests(standin)) == 6


def test_concurrency_is_bounded(standin, catalog, env):
    standin.latency_s = 0.1
    run(standin, catalog, make_pages(env / "pages", 6), [MINI, FLASH], concurrency=3)
    assert 1 < standin.max_in_flight <= 3


def test_a_three_page_pdf_gives_three_rows_per_model(standin, catalog, env):
    images = [Image.new("RGB", (300, 400 + 100 * i), "white") for i in range(3)]
    pdf = env / "doc.pdf"
    images[0].save(pdf, save_all=True, append_images=images[1:], resolution=72)
    trial = run(standin, catalog, [pdf], [MINI, FLASH], dpi=72)
    results = trial.results
    assert len(results) == 6
    for model_id in (MINI, FLASH):
        rows = results[results["model"] == model_id]
        assert rows["page"].tolist() == ["doc.pdf#p1", "doc.pdf#p2", "doc.pdf#p3"]
        assert rows["height_px"].tolist() == [400, 500, 600]  # 72 dpi: one pixel per point
        assert rows["page_sha256"].nunique() == 3


def test_truth_gives_cer_and_wer(standin, catalog, env):
    pages = make_pages(env / "pages", 2)
    reply = standin.models[MINI].reply  # "INVOICE 42\nTotal: 12.50 EUR"
    truth = {"page0.png": "INVOICE 42 Total: 12.50 EUR", "page1.png": "INVOICE 43 Total: 12.50 EUR"}
    trial = run(standin, catalog, pages, [MINI], truth=truth)
    assert reply.split() == truth["page0.png"].split()
    assert trial.results["cer"].tolist() == pytest.approx([0.0, 1 / 27])  # one character of 27
    assert trial.results["wer"].tolist() == pytest.approx([0.0, 1 / 5])  # one word of 5
    assert trial.summary()["cer_mean"].iloc[0] == pytest.approx(1 / 54)


def test_the_plan_shows_the_worst_case_and_what_is_cached(standin, catalog, env):
    pages = make_pages(env / "pages", 2)
    plan = vm.estimate_trial(pages, [MINI, ODD, "tesseract"], catalog=catalog, max_tokens=100)
    assert len(plan) == 6 and not plan["cached"].any()
    odd = plan[plan["model"] == ODD].iloc[0]
    assert odd["method"] == "fallback" and odd["uncertain"]
    # Worst case by hand for the unknown family: 15 x 11 patches x 3 + (prompt bytes + 32) at the prompt price,
    # 100 answer tokens at the completion price.
    prompt_bound = len(trials.DEFAULT_PROMPT.encode()) + 32
    assert odd["worst_case_usd"] == pytest.approx((165 * 3 + prompt_bound) * 2e-6 + 100 * 2e-6)
    assert (plan.loc[plan["model"] == "tesseract", "worst_case_usd"] == 0).all()
    run(standin, catalog, pages[:1], [MINI], max_tokens=100)
    plan = vm.estimate_trial(pages, [MINI], catalog=catalog, max_tokens=100)
    assert plan["cached"].tolist() == [True, False]
    assert plan.attrs["requests"] == 1


def test_bad_arguments_are_one_line_value_errors(standin, catalog, env):
    pages = make_pages(env / "pages", 1)
    for options, needle in [
        (dict(max_usd=-1), "max_usd"),
        (dict(max_usd=float("nan")), "max_usd"),
        (dict(concurrency=0), "concurrency"),
        (dict(max_tokens=0), "max_tokens"),
        (dict(prompt="  "), "prompt"),
        (dict(timeout=0), "timeout"),
    ]:
        with pytest.raises(ValueError, match=needle):
            run(standin, catalog, pages, [MINI], **options)
    with pytest.raises(ValueError, match="openai/gpt-4o-mimi"):
        run(standin, catalog, pages, ["openai/gpt-4o-mimi"])
    with pytest.raises(ValueError, match="no such file"):
        run(standin, catalog, [env / "missing.png"], [MINI])
    assert standin.requests == []


def test_stored_runs_list_show_and_measure(standin, catalog, env):
    pages = make_pages(env / "pages", 2)
    trial = run(standin, catalog, pages, [MINI, FLASH])
    runs = trials.store.list_runs()
    assert runs["run_id"].tolist() == [trial.run_id] and runs["rows"].iloc[0] == 6  # 4 pages + 2 controls
    assert runs["billed_usd"].iloc[0] == pytest.approx(standin.billed_usd)
    loaded = trials.load_trial(trial.run_id)
    assert loaded.results["billed_usd"].tolist() == trial.results["billed_usd"].tolist()
    assert loaded.results["measured_image_tokens"].tolist() == [1000] * 4
    with pytest.raises(ValueError, match="unknown trial run 'nope'"):
        trials.load_trial("nope")

    measured = trials.measured_image_tokens()
    assert set(measured["model"]) == {MINI, FLASH}
    assert (measured["measured_image_tokens"] == 1000).all() and (measured["pages"] == 2).all()
    assert (measured["width_px"] == 400).all()


def test_remote_text_is_escaped_in_displays(standin, catalog, env):
    standin.models[MINI].reply = "<script>alert(1)</script>\x1b[31mred\r=cmd()"
    trial = run(standin, catalog, make_pages(env / "pages", 1), [MINI])
    page = trials.side_by_side_html(trial)
    assert "<script>" not in page and "&lt;script&gt;" in page
    cell = cell_text(trial.results["text"].iloc[0])
    assert "\x1b" not in cell and "\r" not in cell and "\\x1b" in cell
    assert "<script>" not in trial._repr_html_() or "&lt;script&gt;" in trial._repr_html_()


def test_tesseract_needs_no_key_and_costs_nothing(env, monkeypatch):
    from vision_models.trials.tesseract import tesseract_available

    if not tesseract_available():
        pytest.skip("tesseract is not installed (apt-get install tesseract-ocr)")
    from PIL import ImageFont

    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 40)
    except OSError:
        pytest.skip("the DejaVu font is not installed")
    text = "The quick brown fox jumps over the lazy dog"
    image = Image.new("RGB", (1200, 200), "white")
    ImageDraw.Draw(image).text((30, 60), text, font=font, fill="black")
    path = env / "fox.png"
    image.save(path)
    trial = vm.run_trial([path], ["tesseract"], truth={"fox.png": text}, progress=False)
    row = trial.results.iloc[0]
    assert row["status"] == "ok" and row["billed_usd"] == 0 and row["billed_source"] == "local"
    assert row["cer"] < 0.05
    assert row["latency_s"] > 0
    assert 80 < row["tesseract_confidence"] <= 100  # nine clean words: Tesseract is sure of them
    again = vm.run_trial([path], ["tesseract"], progress=False)
    assert again.results["status"].tolist() == ["cached"]
    assert again.results["tesseract_confidence"].tolist() == [row["tesseract_confidence"]]  # stored, read back
    # A row read before the confidence was kept (store version 4): its request had no "confidence" parameter,
    # so its key differs and the page is read again (free) rather than reused without a confidence.
    import sqlite3

    from vision_models.trials.plan import _key

    conn = sqlite3.connect(again.trials_path)
    key, params, page_sha, prompt_sha = conn.execute(
        "SELECT key, params, page_sha256, prompt_sha256 FROM rows WHERE model = 'tesseract'"
    ).fetchone()
    older = {name: value for name, value in json.loads(params).items() if name != "confidence"}
    conn.execute("UPDATE rows SET key = ?, params = ?, tesseract_confidence = NULL WHERE key = ?",
                 (_key(page_sha, "tesseract", prompt_sha, older), json.dumps(older, sort_keys=True), key))  # fmt: skip
    conn.commit()
    conn.close()
    third = vm.run_trial([path], ["tesseract"], progress=False)
    assert third.results["status"].tolist() == ["ok"]
    assert third.results["tesseract_confidence"].tolist() == [row["tesseract_confidence"]]


def test_a_model_without_a_known_price_is_never_sent(standin, env):
    entries = [model(MINI, prompt="-1", completion="-1", inputs=("text", "image"))]
    trial = run(standin, models_frame(entries), make_pages(env / "pages", 1), [MINI])
    row = trial.results.iloc[0]
    assert row["status"] == "skipped-budget" and "no price" in row["error"]
    assert page_requests(standin) == []


def test_a_claim_of_a_run_that_ended_is_void(env):
    from vision_models.stores.trials import TrialRow, TrialStore

    fields = TrialRow(
        key="k",
        kind="page",
        page="p",
        path="p",
        page_index=0,
        page_sha256="x",
        model=MINI,
        prompt_sha256="y",
        params="{}",
    )
    with TrialStore() as db:
        db.start_run("first", prompt="p", params={}, models=[MINI], pages=1, max_usd=1.0)
        assert db.claim("k", "first", fields, lease_s=600).busy_run is None
        db.start_run("second", prompt="p", params={}, models=[MINI], pages=1, max_usd=1.0)
        assert db.claim("k", "second", fields, lease_s=600).busy_run == "first"  # first is still sending
        trials.store._ACTIVE_RUNS.discard("first")  # first died without closing (its state still says running)
        assert db.claim("k", "second", fields, lease_s=600).busy_run is None


def test_a_stored_run_shows_its_own_outcome_after_a_later_run_answered(standin, catalog, env):
    pages = make_pages(env / "pages", 1)
    standin.page_faults = {MINI: ["402"]}
    first = run(standin, catalog, pages, [MINI])
    assert first.results["status"].tolist() == ["error"]
    run(standin, catalog, pages, [MINI])  # answered now
    shown = trials.load_trial(first.run_id).results.iloc[0]
    assert shown["status"] == "error" and "answered since by run" in shown["error"]
    assert shown["text"] is None or shown["text"] != shown["text"]


def test_tesseract_on_a_sample_page_within_a_cer_bound(env):
    from vision_models.trials.pages import SAMPLE_DIR
    from vision_models.trials.tesseract import tesseract_available

    if not tesseract_available():
        pytest.skip("tesseract is not installed (apt-get install tesseract-ocr)")
    trial = vm.run_trial([SAMPLE_DIR / "invoice.png"], ["tesseract"], truth=SAMPLE_DIR, progress=False)
    row = trial.results.iloc[0]
    assert row["status"] == "ok" and row["cer"] < 0.05 and row["wer"] < 0.1


def test_without_the_tesseract_binary_the_rows_say_how_to_install_it(env, monkeypatch):
    import shutil

    real_which = shutil.which
    monkeypatch.setattr(
        shutil, "which", lambda name, *a, **k: None if name == "tesseract" else real_which(name, *a, **k)
    )
    trial = vm.run_trial(make_pages(env / "pages", 1), ["tesseract"], progress=False)
    row = trial.results.iloc[0]
    assert row["status"] == "error" and "apt-get install tesseract-ocr" in row["error"]


def test_progress_shows_on_request_and_stays_quiet_otherwise(standin, catalog, env, capsys):
    pages = make_pages(env / "pages", 2)
    run(standin, catalog, pages, [MINI])  # progress=False
    assert capsys.readouterr().err == ""
    vm.run_trial(pages, [MINI], catalog=catalog, base_url=standin.base_url, progress=True, max_tokens=99)
    err = capsys.readouterr().err
    assert "trial" in err and "2/2" in err
    vm.run_trial(pages, [MINI], catalog=catalog, base_url=standin.base_url, max_tokens=98)  # default: not a TTY here
    assert capsys.readouterr().err == ""


def test_no_server_is_a_network_error_on_the_rows(catalog, env, monkeypatch):
    import socket

    monkeypatch.setattr(worker, "_backoff", lambda attempt: 0.01)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    trial = vm.run_trial(make_pages(env / "pages", 1), [MINI], catalog=catalog, base_url=f"http://127.0.0.1:{port}/api/v1",
                         progress=False, retries=1)  # fmt: skip
    row = trial.results.iloc[0]
    assert row["status"] == "error" and row["error"].startswith("network error")
    assert trial.billed_usd == 0  # never served, never billed


def test_the_store_sits_beside_the_http_cache_unless_told(tmp_path, monkeypatch):
    from vision_models.stores.trials import get_trials_path

    monkeypatch.delenv("VISION_MODELS_TRIALS")
    monkeypatch.setenv("VISION_MODELS_CACHE", str(tmp_path / "c" / "http_cache.sqlite"))
    assert get_trials_path() == tmp_path / "c" / "trials.sqlite"
    monkeypatch.setenv("VISION_MODELS_TRIALS", str(tmp_path / "elsewhere.sqlite"))
    assert get_trials_path() == tmp_path / "elsewhere.sqlite"
    assert get_trials_path(tmp_path / "given.sqlite") == tmp_path / "given.sqlite"


# ---------------------------------------------------------------- memory on a long PDF

LONG_PDF_PAGES = 2000
PEAK_RSS_MB = 300
CHEAP = "acme/cheap-reader"
MEASURE = """
import json, resource, sys, time
from factories import model
from vision_models.catalog.frame import models_frame
import vision_models as vm

pdf, kind, base_url = sys.argv[1:4]
catalog = models_frame([model(sys.argv[4], prompt="0.0000001", completion="0.0000001", inputs=("text", "image"))])
start = time.monotonic()
if kind == "estimate":
    rows = len(vm.estimate_trial(pdf, [sys.argv[4]], catalog=catalog, dpi=72))
else:
    trial = vm.run_trial(pdf, [sys.argv[4]], catalog=catalog, dpi=72, base_url=base_url, max_usd=100.0, progress=False)
    rows = int((trial.results["status"] == "ok").sum())
# VmHWM: this process's own peak (ru_maxrss also keeps the parent's peak across fork + exec on Linux).
with open("/proc/self/status") as status:
    hwm = [line.split()[1] for line in status if line.startswith("VmHWM:")]
peak_mb = int(hwm[0]) / 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"rows": rows, "seconds": time.monotonic() - start, "peak_mb": peak_mb}))
"""


def measured_run(pdf, kind, base_url=""):
    """Run an estimate or a trial of ``pdf`` in a fresh process; its row count, time and peak RSS (MB)."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    tests = Path(__file__).resolve().parent
    path = os.pathsep.join([str(tests.parent), str(tests), os.environ.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "-c", MEASURE, str(pdf), kind, base_url, CHEAP], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": path}, timeout=1800, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def long_pdf(env):
    from factories import write_long_pdf

    # Small pages of full-resolution noise: each renders (at 72 dpi, 240 x 300 px) to a colour PNG of about 216 KB
    # that does not compress, so all 2,000 held would be about 430 MB, while rendering stays cheap (a Letter page
    # of upscaled texture holds 150 KB for eight times the pixels, and the test took two minutes).
    return write_long_pdf(env / "long.pdf", LONG_PDF_PAGES, size_pt=(240, 300), texture_px=(240, 300))


def test_a_dry_run_of_a_2000_page_pdf_renders_nothing_and_stays_small(long_pdf):
    measured = measured_run(long_pdf, "estimate")
    assert measured["rows"] == LONG_PDF_PAGES
    assert measured["peak_mb"] < PEAK_RSS_MB, measured


@pytest.mark.slow
def test_a_trial_of_a_2000_page_pdf_holds_a_few_pages_at_a_time(long_pdf):
    with serving(StandIn({CHEAP: ModelBill(1e-7, 1e-7, image_tokens=1000)}, keep_bodies=False)) as stand:
        measured = measured_run(long_pdf, "trial", stand.base_url)
    assert measured["rows"] == LONG_PDF_PAGES
    assert len(page_requests(stand)) == LONG_PDF_PAGES  # each page sent once
    assert measured["peak_mb"] < PEAK_RSS_MB, measured

"""Money under network faults: what the stand-in billed (its ledger) against what the trials store recorded.

Every fault here happens after the request reached the stand-in, so the
stand-in bills it. The two promises checked each time: the ledger never
exceeds the budget (summed over a run and its resumes), and every ledger entry
is accounted for in the store, as billed or as unknown cost, and is never
paid twice.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from factories import FLASH, MINI, PRICES, bills, make_pages, model, page_requests, stored_rows, trial_catalog
from factories import TRIAL_KEY as KEY
from factories import run_on_standin as run
from openrouter_standin import ModelBill, StandIn, serving

import vision_models as vm
from vision_models import trials
from vision_models.stores import trials as store
from vision_models.trials import worker

FREE = "acme/reader-x:free"
TESTS = Path(__file__).resolve().parent


@pytest.fixture
def catalog():
    return trial_catalog(model(FREE, prompt="0", completion="0", inputs=("text", "image")))


@pytest.fixture
def standin():
    with serving(StandIn({**bills(), FREE: ModelBill(2e-6, 2e-6, image_tokens=1000)})) as stand:  # FREE bills anyway
        yield stand


def assert_accounted(standin: StandIn, path: Path, max_usd: float) -> None:
    """The ledger within the budget; every ledger entry in the store as billed or unknown; none paid twice."""
    assert standin.billed_usd <= max_usd + 1e-12
    rows = stored_rows(path)
    spent = sum((r["billed_usd"] or 0.0) + (r["unknown_usd"] or 0.0) for r in rows)
    assert spent >= standin.billed_usd - 1e-12
    for entry in standin.ledger:
        kind = "page" if entry["images"] else "control"
        matching = [r for r in rows if r["model"] == entry["model"] and r["kind"] == kind]
        assert any(r["cost_status"] in ("billed", "unknown") for r in matching), entry
    runs = store.list_runs(path)
    assert runs["billed_usd"].sum() + runs["unknown_usd"].sum() >= standin.billed_usd - 1e-12


# ---------------------------------------------------------------- after the request was sent


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("reset", "reset"),
        ("close", "closed the connection without answering"),
        ("stall", "timed out"),
        ("cut", "cut"),
        ("cut-chunked", "no whole answer"),
        ("trickle", "timed out"),
        ("huge", "larger than 16 MB"),
        ("gzip-bomb", "larger than 16 MB"),
    ],
)
def test_a_request_lost_after_sending_is_unknown_cost_and_never_resent(standin, catalog, env, fault, words):
    standin.hang_s = 4.0
    standin.page_faults = {MINI: [fault]}
    # The size cap ends the big bodies; their time-out is generous so a busy machine still reaches the cap first.
    timeout = 10.0 if words.startswith("larger") else 1.0
    pages = make_pages(env / "pages", 1)
    started = time.monotonic()
    trial = run(standin, catalog, pages, [MINI], timeout=timeout, max_usd=0.5)
    took = time.monotonic() - started
    row = trial.results.iloc[0]
    assert row["status"] == "error" and row["cost_status"] == "unknown"
    assert words in row["error"] and "may have been billed" in row["error"]
    assert row["unknown_usd"] > 0 and pd_isna(row["billed_usd"])
    assert len(page_requests(standin, MINI)) == 1  # not retried
    assert trial.unknown_usd == pytest.approx(row["unknown_usd"])
    assert took < timeout + 5.0  # one wall-clock bound per request, even while bytes trickle in
    assert_accounted(standin, env / "trials.sqlite", 0.5)
    # A later run does not send it again...
    again = run(standin, catalog, pages, [MINI], timeout=timeout, max_usd=0.5, new_budget=True)
    assert len(page_requests(standin, MINI)) == 1
    assert again.results.iloc[0]["status"] == "cached" and again.requests_sent == 0
    # ...unless asked, and then it says what that may spend.
    with pytest.warns(UserWarning, match=r"sending again 1 request that may have been billed already; .* up to \$"):
        third = run(standin, catalog, pages, [MINI], max_usd=0.5, new_budget=True, retry_unknown=True)
    assert len(page_requests(standin, MINI)) == 2 and third.results.iloc[0]["status"] == "ok"
    final = [r for r in stored_rows(env / "trials.sqlite") if r["kind"] == "page"][0]
    # The unknown cost of the first attempt is still counted beside the bill of the second.
    assert final["unknown_usd"] == pytest.approx(row["unknown_usd"]) and final["billed_usd"] > 0


def pd_isna(value) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def test_a_trickling_answer_is_cut_at_the_time_out(standin, catalog, env):
    standin.trickle_s = 30.0
    standin.page_faults = {MINI: ["trickle"]}
    started = time.monotonic()
    trial = run(standin, catalog, make_pages(env / "pages", 1), [MINI], timeout=1.5)
    assert time.monotonic() - started < 4.0
    assert "timed out" in trial.results.iloc[0]["error"]


def test_a_gzipped_answer_is_read(standin, catalog, env):
    standin.page_faults = {MINI: ["gzip"]}
    trial = run(standin, catalog, make_pages(env / "pages", 1), [MINI])
    row = trial.results.iloc[0]
    assert row["status"] == "ok" and row["text"] == standin.models[MINI].reply
    assert trial.billed_usd == pytest.approx(standin.billed_usd, abs=1e-12)


def test_a_refused_connection_is_retried_freely_and_costs_nothing(catalog, env, monkeypatch):
    import socket

    monkeypatch.setattr(worker, "_backoff", lambda attempt: 0.01)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    trial = vm.run_trial(make_pages(env / "pages", 1), [MINI], catalog=catalog, base_url=f"http://127.0.0.1:{port}/api/v1",
                         progress=False, retries=2)  # fmt: skip
    row = trial.results.iloc[0]
    assert row["cost_status"] == "none" and "not sent" in row["error"]
    assert trial.billed_usd == 0 and trial.unknown_usd == 0 and trial.requests_sent == 0
    # Never sent: a later run sends it.
    assert not store.done_keys([r["key"] for r in stored_rows(env / "trials.sqlite")])


# ---------------------------------------------------------------- bills that are not what they seem


@pytest.mark.parametrize(
    ("fault", "cost_status", "billed_is_ledger"),
    [
        ("usage-negative", "unknown", False),
        ("usage-huge", "unknown", False),
        ("usage-text", "unknown", False),
        ("usage-nan", "unknown", False),
        ("usage-string", "billed", True),
    ],
)
def test_usage_that_is_not_sane_never_credits_the_budget(standin, catalog, env, fault, cost_status, billed_is_ledger):
    standin.page_faults = {MINI: [fault]}
    trial = run(standin, catalog, make_pages(env / "pages", 1), [MINI], max_usd=0.5)
    row = trial.results.iloc[0]
    assert row["cost_status"] == cost_status
    page_bill = standin.ledger[-1]["cost"]
    if billed_is_ledger:
        assert row["billed_usd"] == pytest.approx(page_bill, abs=1e-12) and row["status"] == "ok"
    else:
        assert pd_isna(row["billed_usd"]) and row["unknown_usd"] >= page_bill
        assert "cost unknown" in row["error"] or "not a believable" in row["error"]
        assert pd_isna(row["prompt_tokens"]) or 0 <= row["prompt_tokens"] <= 10**8
    assert trial.billed_usd >= 0 and trial.unknown_usd >= 0
    assert_accounted(standin, env / "trials.sqlite", 0.5)


def test_a_billed_error_is_added_to_the_row_and_its_retry_reserved_anew(standin, catalog, env, monkeypatch):
    monkeypatch.setattr(worker, "_backoff", lambda attempt: 0.01)
    standin.retry_after = "0.01"
    standin.page_faults = {MINI: ["500-billed", "500-billed"]}
    trial = run(standin, catalog, make_pages(env / "pages", 1), [MINI], retries=3)
    row = trial.results.iloc[0]
    page_bills = [e["cost"] for e in standin.ledger if e["images"]]
    assert len(page_bills) == 3 and row["status"] == "ok"
    assert [r["attempts"] for r in stored_rows(env / "trials.sqlite") if r["kind"] == "page"] == [3]
    assert row["billed_usd"] == pytest.approx(sum(page_bills), abs=1e-12)  # added, not replaced
    assert trial.billed_usd == pytest.approx(standin.billed_usd, abs=1e-12)


def test_billed_retries_never_take_the_run_over_its_budget(standin, catalog, env, monkeypatch):
    monkeypatch.setattr(worker, "_backoff", lambda attempt: 0.01)
    standin.retry_after = "0.01"
    standin.page_faults = {MINI: ["500-billed"] * 40}
    pages = make_pages(env / "pages", 6)
    worst = vm.estimate_trial(pages[:1], [MINI], catalog=catalog, max_tokens=64)["worst_case_usd"].iloc[0]
    max_usd = worst * 4.5  # room for a control and about four page attempts, not for 6 pages x 4 attempts
    run(standin, catalog, pages, [MINI], max_usd=max_usd, max_tokens=64, retries=3, concurrency=3)
    assert standin.billed_usd <= max_usd + 1e-12
    assert_accounted(standin, env / "trials.sqlite", max_usd)


def test_the_key_echoed_anywhere_in_an_answer_is_never_stored(standin, catalog, env):
    standin.page_faults = {MINI: ["echo-key"]}
    trial = run(standin, catalog, make_pages(env / "pages", 1), [MINI])
    row = trial.results.iloc[0]
    assert KEY not in row["text"] and "[redacted]" in row["text"]
    for file in env.iterdir():
        if file.name.startswith("trials.sqlite"):
            assert KEY.encode() not in file.read_bytes()
    generation = [r for r in stored_rows(env / "trials.sqlite") if r["kind"] == "page"][0]["generation_id"]
    assert generation == "gen-Bearer [redacted]"


# ---------------------------------------------------------------- surprises cost one request


def test_the_control_and_the_first_page_are_never_in_flight_together(standin, catalog, env):
    standin.latency_s = 0.15
    run(standin, catalog, make_pages(env / "pages", 4), [MINI, FLASH], concurrency=4)
    for name in (MINI, FLASH):
        arrivals = sorted(r["at"] for r in standin.requests if r["model"] == name)
        answers = sorted(f["at"] for f in standin.finished if f["model"] == name)
        # The second request of a model (its first page) arrives only after the answer to the first (its control) began,
        # and the third only after the first page was answered.
        assert arrivals[1] >= answers[0] and arrivals[2] >= answers[1]


def test_a_free_model_that_bills_is_stopped_after_its_first_bill(standin, catalog, env):
    trial = run(standin, catalog, make_pages(env / "pages", 5), [FREE], max_usd=0, concurrency=4)
    assert len([r for r in standin.requests if r["model"] == FREE]) == 1
    assert standin.billed_usd > 0  # the one request it billed, which the store holds
    assert trial.billed_usd == pytest.approx(standin.billed_usd, abs=1e-12)
    reasons = trial.results["error"].dropna()
    assert len(reasons) == 5 and reasons.str.contains("catalog lists it as free|does not fit the budget").all()


# ---------------------------------------------------------------- identical pages


def test_identical_page_files_are_paid_once_and_shown_twice(standin, catalog, env):
    folder = env / "pages"
    (first,) = make_pages(folder, 1)
    twin = folder / "twin.png"
    twin.write_bytes(first.read_bytes())
    plan = vm.estimate_trial([first, twin], [MINI], catalog=catalog)
    assert plan["duplicate_of"].tolist()[1] == first.name and plan.attrs["requests"] == 1
    trial = run(standin, catalog, [first, twin], [MINI])
    assert len(page_requests(standin, MINI)) == 1
    results = trial.results.set_index("page")
    assert set(results.index) == {first.name, twin.name}
    assert results.loc[first.name, "status"] == "ok" and results.loc[twin.name, "status"] == "cached"
    assert results.loc[twin.name, "duplicate_of"] == first.name
    assert results.loc[twin.name, "text"] == results.loc[first.name, "text"]
    assert trial.billed_usd == pytest.approx(standin.billed_usd, abs=1e-12)
    loaded = vm.load_trial(trial.run_id)
    assert loaded.results["page"].tolist() == [first.name, twin.name]


# ---------------------------------------------------------------- interruptions


def test_the_first_ctrl_c_stops_within_two_seconds_and_in_flight_requests_become_unknown(standin, catalog, env):
    standin.hang_s = 20.0
    standin.page_faults = {MINI: ["stall"] * 10}
    pages = make_pages(env / "pages", 4)

    def interrupt_when_sending():
        deadline = time.monotonic() + 10
        while not page_requests(standin, MINI) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_when_sending, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        run(standin, catalog, pages, [MINI], timeout=60, concurrency=2)
    rows = [r for r in stored_rows(env / "trials.sqlite") if r["kind"] == "page"]
    unknown = [r for r in rows if r["cost_status"] == "unknown"]
    assert len(unknown) == len(page_requests(standin, MINI)) >= 1
    assert all("stopped" in r["error"] for r in unknown)
    runs = store.list_runs()
    assert runs["state"].tolist() == ["interrupted"]
    # A resume never sends them again.
    sent = len(page_requests(standin, MINI))
    standin.page_faults = {}
    run(standin, catalog, pages, [MINI], new_budget=True)
    assert len(page_requests(standin, MINI)) == sent + (4 - sent)


def test_ctrl_c_returns_within_two_seconds_of_the_signal(standin, catalog, env):
    standin.hang_s = 20.0
    standin.page_faults = {MINI: ["stall"] * 10}
    pages = make_pages(env / "pages", 3)
    signalled = []

    def interrupt_when_sending():
        deadline = time.monotonic() + 10
        while len(page_requests(standin, MINI)) < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)
        signalled.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_when_sending, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        run(standin, catalog, pages, [MINI], timeout=60)
    assert time.monotonic() - signalled[0] < 2.0


CHILD = textwrap.dedent(
    """
    import sys, json
    sys.path.insert(0, {tests!r})
    import vision_models as vm
    from factories import model
    from vision_models.catalog.frame import models_frame
    catalog = models_frame([model({mini!r}, prompt="0.0000100000", completion="0.0000400000", inputs=("text", "image"))])
    pages = json.loads(sys.argv[1])
    vm.run_trial(pages, [{mini!r}], catalog=catalog, base_url=sys.argv[2], progress=False, timeout=60, concurrency=2,
                 max_usd=float(sys.argv[3]))
    """
)


def start_child(env: Path, pages: list[Path], base_url: str, max_usd: float = 1.0) -> subprocess.Popen:
    script = env / "child.py"
    script.write_text(CHILD.format(tests=str(TESTS), mini=MINI))
    return subprocess.Popen([sys.executable, str(script), json.dumps([str(p) for p in pages]), base_url, str(max_usd)],
                            env={**os.environ, "OPENROUTER_API_KEY": KEY}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


def wait_for_pages(standin: StandIn, count: int, child: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while len(page_requests(standin, MINI)) < count and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.02)
    assert len(page_requests(standin, MINI)) >= count, (
        child.stderr.read().decode()[-2000:] if child.poll() is not None else ""
    )
    time.sleep(0.2)


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_run_resumes_without_paying_twice(standin, catalog, env, how):
    standin.hang_s = 30.0
    # The first page answers (it shows the bill, so the others may go two at a time); the next two are in flight
    # when the process dies.
    standin.page_faults = {MINI: ["ok", "stall", "stall"]}
    pages = make_pages(env / "pages", 5)
    child = start_child(env, pages, standin.base_url)
    wait_for_pages(standin, 3, child)
    killed_at = time.monotonic()
    child.send_signal(how)
    _, err = child.communicate(timeout=20)
    if how == signal.SIGTERM:
        assert time.monotonic() - killed_at < 3.0  # handled like Ctrl-C: stops within the grace
        assert b"Traceback" not in err or b"KeyboardInterrupt" in err
    in_flight = len(page_requests(standin, MINI)) - 1
    runs = store.list_runs()
    assert runs["state"].tolist() == ["interrupted"]
    # The resume sends only the pages that never left: none of those in flight again.
    standin.page_faults = {}
    trial = run(standin, catalog, pages, [MINI], max_usd=1.0)
    sent = [r["body"]["messages"][0]["content"][1]["image_url"]["url"] for r in page_requests(standin, MINI)]
    assert len(sent) == len(set(sent)) == 5
    statuses = trial.results["status"].value_counts().to_dict()
    assert statuses.get("ok", 0) == 5 - in_flight - 1 and in_flight == 2
    rows = [r for r in stored_rows(env / "trials.sqlite") if r["kind"] == "page"]
    assert sum(r["cost_status"] == "unknown" for r in rows) == in_flight
    assert_accounted(standin, env / "trials.sqlite", 1.0)


def test_a_resumed_run_spends_only_what_is_left_of_its_budget(standin, catalog, env):
    pages = make_pages(env / "pages", 8)
    calls = []

    def interrupt(row):
        calls.append(row)
        if len(calls) == 2:
            raise KeyboardInterrupt

    max_usd = 0.1
    with pytest.raises(KeyboardInterrupt):
        run(standin, catalog, pages, [MINI], max_usd=max_usd, concurrency=1, on_row=interrupt)
    spent_first = standin.billed_usd
    assert 0 < spent_first < max_usd
    second = run(standin, catalog, pages, [MINI], max_usd=max_usd, concurrency=1)
    assert second.budget_usd == pytest.approx(max_usd - spent_first, abs=1e-9)
    assert standin.billed_usd <= max_usd + 1e-12  # over both runs
    assert "left of $0.1" in repr(second)
    # Another amount is a new budget; so is new_budget=True.
    third = run(standin, catalog, pages, [MINI], max_usd=0.2)
    assert third.budget_usd == 0.2
    runs = store.list_runs()
    assert runs["budget_usd"].tolist()[1] == pytest.approx(max_usd - spent_first, abs=1e-9)


# ---------------------------------------------------------------- the store fails after a bill


def test_a_save_that_fails_for_a_while_is_retried_and_the_bill_kept(standin, catalog, env, monkeypatch):
    real = store.TrialStore.save
    failures = {"left": 3}

    def flaky(self, row, **kwargs):
        if row.kind == "page" and failures["left"] > 0:
            failures["left"] -= 1
            raise sqlite3.OperationalError("database is locked")
        return real(self, row, **kwargs)

    monkeypatch.setattr(store.TrialStore, "save", flaky)
    trial = run(standin, catalog, make_pages(env / "pages", 2), [MINI])
    assert set(trial.results["status"]) == {"ok"}
    assert_accounted(standin, env / "trials.sqlite", 1.0)


def test_a_save_that_keeps_failing_stops_the_run_with_one_line_and_keeps_the_rows(standin, catalog, env, monkeypatch):
    monkeypatch.setattr(worker, "SAVE_RETRY_S", 0.3)
    real = store.TrialStore.save

    def full(self, row, **kwargs):
        if row.kind == "page":
            raise sqlite3.OperationalError("database or disk is full")
        return real(self, row, **kwargs)

    monkeypatch.setattr(store.TrialStore, "save", full)
    pages = make_pages(env / "pages", 6)
    with pytest.raises(trials.TrialStoreError) as info:
        run(standin, catalog, pages, [MINI], concurrency=1)
    message = str(info.value)
    assert "\n" not in message and str(env / "trials.sqlite") in message and "database or disk is full" in message
    assert "cannot rollback" not in message
    assert info.value.rows and all(r.billed_usd for r in info.value.rows)
    # The run stopped: not every page was sent.
    assert len(page_requests(standin, MINI)) < 6
    billed_pages = sum(e["cost"] for e in standin.ledger if e["images"])
    assert sum(r.billed_usd for r in info.value.rows) == pytest.approx(billed_pages, abs=1e-12)


def test_a_real_lock_held_past_the_wait_stops_the_run_naming_the_file(standin, catalog, env, monkeypatch):
    monkeypatch.setattr(worker, "SAVE_RETRY_S", 0.5)
    monkeypatch.setattr(store.sqlite, "BUSY_TIMEOUT", 0.1)
    pages = make_pages(env / "pages", 3)
    path = env / "trials.sqlite"
    holder: list[sqlite3.Connection] = []

    real_post = trials._Sender.post

    def post_then_lock(self, data):
        outcome = real_post(self, data)
        if b"image_url" in data and not holder:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            conn.execute("BEGIN EXCLUSIVE")
            holder.append(conn)
        return outcome

    monkeypatch.setattr(trials._Sender, "post", post_then_lock)
    try:
        with pytest.raises(vm.trials.TrialStoreError, match="database is locked"):
            run(standin, catalog, pages, [MINI], concurrency=1)
    finally:
        for conn in holder:
            conn.execute("ROLLBACK")
            conn.close()


# ---------------------------------------------------------------- bad numbers


@pytest.mark.parametrize(
    ("option", "value"),
    [("max_usd", 10**400), ("max_usd", float("inf")), ("max_usd", float("nan")), ("max_tokens", 10**400),
     ("timeout", 1e11), ("concurrency", 10**30), ("retry_window_s", float("inf"))],
)  # fmt: skip
def test_absurd_numbers_are_one_line_value_errors(standin, catalog, env, option, value):
    with pytest.raises(ValueError) as info:
        run(standin, catalog, make_pages(env / "pages", 1), [MINI], **{option: value})
    assert "\n" not in str(info.value) and option in str(info.value)
    assert standin.requests == []


# ---------------------------------------------------------------- a store of the previous version

V1_SCHEMA = (  # the trials store as version 1 wrote it
    """CREATE TABLE rows (key TEXT PRIMARY KEY, kind TEXT NOT NULL, page TEXT NOT NULL, path TEXT NOT NULL,
        page_index INTEGER NOT NULL, page_sha256 TEXT NOT NULL, width_px INTEGER, height_px INTEGER, model TEXT NOT NULL,
        prompt_sha256 TEXT NOT NULL, params TEXT NOT NULL, status TEXT NOT NULL, done INTEGER NOT NULL, error TEXT,
        text TEXT, prompt_tokens INTEGER, completion_tokens INTEGER, billed_usd REAL, billed_source TEXT,
        estimated_usd REAL, estimated_image_tokens INTEGER, reserved_usd REAL, latency_s REAL, attempts INTEGER,
        generation_id TEXT, run_id TEXT, claimed_at REAL, finished_at REAL)""",
    "CREATE INDEX rows_model ON rows (model, kind, prompt_sha256)",
    """CREATE TABLE runs (run_id TEXT PRIMARY KEY, started_at REAL NOT NULL, finished_at REAL, state TEXT NOT NULL,
        host TEXT NOT NULL, pid INTEGER NOT NULL, prompt TEXT NOT NULL, params TEXT NOT NULL, models TEXT NOT NULL,
        pages INTEGER NOT NULL, max_usd REAL, billed_usd REAL NOT NULL DEFAULT 0, requests INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE run_rows (run_id TEXT NOT NULL, key TEXT NOT NULL, position INTEGER NOT NULL, status TEXT NOT NULL,
        PRIMARY KEY (run_id, key)) WITHOUT ROWID""",
)


def test_a_version_1_store_is_upgraded_and_its_lost_requests_are_unknown_cost(standin, catalog, env):
    """A v1 store: one page timed out (done, no bill), one left 'sending' by a run whose process is gone."""
    pages = make_pages(env / "pages", 3)
    plan = vm.estimate_trial(pages, [MINI], catalog=catalog)  # the keys this plan uses, from a fresh store
    keys = [t.key for t in trials.prepare_run(pages, [MINI], trials.TrialOptions(), catalog=catalog, source=None,
                                           base_url=None, api_key=None, cache_path=None).tasks
            if isinstance(t, trials.PageTask)]  # fmt: skip
    assert len(plan) == 3
    path = env / "trials.sqlite"
    conn = sqlite3.connect(path)
    for statement in V1_SCHEMA:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    dead_pid = 2**22 + 12345  # above the default pid_max: no such process
    conn.execute("INSERT INTO runs VALUES ('old', 1.0, NULL, 'running', ?, ?, 'p', '{}', '[]', 3, 1.0, 0, 2)",
                 (__import__("socket").gethostname(), dead_pid))  # fmt: skip
    row = ("page", "x.png", "x.png", 0, "sha", 400, 300, MINI, "psha", "{}")
    conn.execute("INSERT INTO rows (key, kind, page, path, page_index, page_sha256, width_px, height_px, model, prompt_sha256,"
                 " params, status, done, error, reserved_usd, run_id) VALUES (?,?,?,?,?,?,?,?,?,?,?, 'error', 1,"
                 " 'no answer within 120 s (timed out)', 0.02, 'old')", (keys[0], *row))  # fmt: skip
    conn.execute("INSERT INTO rows (key, kind, page, path, page_index, page_sha256, width_px, height_px, model, prompt_sha256,"
                 " params, status, done, reserved_usd, run_id, claimed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?, 'sending', 0,"
                 " 0.03, 'old', 2.0)", (keys[1], *row))  # fmt: skip
    conn.commit()
    conn.close()

    runs = store.list_runs(path)  # read after the upgrade; the dead run shows as interrupted
    assert runs["state"].tolist() == ["interrupted"] and runs["unknown_usd"].tolist() == [0.0]
    trial = run(standin, catalog, pages, [MINI])
    assert len(page_requests(standin, MINI)) == 1  # only the page never sent
    by_key = {r["key"]: r for r in stored_rows(path)}
    assert by_key[keys[0]]["cost_status"] == "unknown" and by_key[keys[0]]["unknown_usd"] == 0.02
    assert by_key[keys[1]]["cost_status"] == "unknown" and by_key[keys[1]]["unknown_usd"] == 0.03
    assert sorted(trial.results["status"].tolist()) == ["cached", "cached", "ok"]
    runs = store.list_runs(path).set_index("run_id")
    assert runs.loc["old", "unknown_usd"] == pytest.approx(0.03) and runs.loc["old", "state"] == "interrupted"
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA user_version").fetchone()[0] == 5  # through 2 (reasoning_tokens), 3 (evidence), 4
    assert "reasoning_tokens" in [c[1] for c in check.execute("PRAGMA table_info(rows)")]
    assert check.execute("SELECT repeat, ok FROM rows WHERE key = ?", (keys[0],)).fetchone() == (0, None)
    check.close()


# ---------------------------------------------------------------- the command line


def test_the_command_line_keeps_unknown_cost_apart_and_resends_it_only_when_asked(
    standin, catalog, env, capsys, monkeypatch
):
    from vision_models.cli import main

    catalog_file = env / "catalog.json"
    entries = [
        model(m, prompt=f"{p:.10f}", completion=f"{c:.10f}", inputs=("text", "image")) for m, (p, c) in PRICES.items()
    ]
    catalog_file.write_text(json.dumps({"data": entries}))
    monkeypatch.setenv("OPENROUTER_BASE_URL", standin.base_url)
    standin.page_faults = {MINI: ["reset"]}
    (page,) = make_pages(env / "pages", 1)
    argv = ["try", str(page), "--model", MINI, "--source", str(catalog_file), "--max-usd", "0.5", "--no-progress"]
    assert main(argv) == 1  # the one row failed
    err = capsys.readouterr().err
    assert "of unknown cost" in err and "2 requests sent" in err  # the control and the page
    assert main(["trials", "list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    header, first = listing[:2]
    assert "billed $" in header and "unknown $" in header and "budget $" in header
    billed_at, unknown_at = header.index("billed $"), header.index("unknown $")
    # The reset request's reserve is under "unknown $", not under "billed $" (which holds the control's bill only).
    billed, unknown = first[billed_at:unknown_at].split()[-1], first[unknown_at:].split()[0]
    control = standin.ledger[0]["cost"]
    assert float(billed) == pytest.approx(control, abs=1e-6) and float(unknown) > 0
    assert len(page_requests(standin, MINI)) == 1
    assert main(argv) == 1  # a second run: cached, nothing sent
    capsys.readouterr()
    assert len(page_requests(standin, MINI)) == 1
    with pytest.warns(UserWarning, match="sending again 1 request that may have been billed already"):
        assert main([*argv, "--retry-unknown", "--new-budget"]) == 0
    assert len(page_requests(standin, MINI)) == 2


def test_a_page_that_cannot_be_drawn_is_not_sent_and_holds_no_reserve(standin, catalog, env):
    from PIL import Image

    folder = env / "pages"
    good = make_pages(folder, 2)
    bad = folder / "torn.jpg"
    Image.effect_noise((800, 600), 60).convert("RGB").save(bad, quality=90)
    bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])  # the header is whole; the pixels end half-way
    trial = run(standin, catalog, [*good, bad], [MINI])
    results = trial.results.set_index("page")
    assert results.loc["torn.jpg", "status"] == "error" and "not sent" in results.loc["torn.jpg", "error"]
    assert "torn.jpg" in results.loc["torn.jpg", "error"]
    assert results.loc["torn.jpg", "cost_status"] == "none"
    assert (results.drop(index="torn.jpg")["status"] == "ok").all()
    assert len(page_requests(standin, MINI)) == 2 and trial.unknown_usd == 0
    assert trial.billed_usd == pytest.approx(standin.billed_usd, abs=1e-12)

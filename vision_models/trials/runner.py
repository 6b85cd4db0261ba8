"""Running a trial: the plan sent through a pool of workers within the budget, stopped cleanly, stored as it goes.

What a run guarantees (sending, what a failure costs, the budget, stopping, storage and resume) is told in
:mod:`vision_models.trials`.
"""

from __future__ import annotations

import hashlib
import os
import queue
import signal
import sqlite3
import threading
import time
import uuid
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from ..catalog.source import get_api_key, get_base_url
from ..common import progress_bar
from ..stores import trials as store
from .budget import Budget
from .chat import _Sender
from .plan import (
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_TOKENS,
    DEFAULT_MAX_USD,
    DEFAULT_OUTPUT_TOKENS,
    DEFAULT_PROMPT,
    DEFAULT_RETRIES,
    DEFAULT_RETRY_WINDOW,
    DEFAULT_TIMEOUT,
    MAX_BUDGET_USD,
    MAX_CONCURRENCY,
    MAX_SECONDS,
    TESSERACT,
    _check_count,
    _check_models,
    _check_number,
    _prepare,
    _Run,
    _Task,
    _worst_case,
)
from .results import Trial, results_frame
from .worker import _identity, _Worker


def run_trial(
    pages: Sequence[Any] | Any,
    models: Sequence[str] | str,
    *,
    prompt: str = DEFAULT_PROMPT,
    truth: Any = None,
    max_usd: float = DEFAULT_MAX_USD,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    output_tokens: int = DEFAULT_OUTPUT_TOKENS,
    dpi: int = 200,
    max_side: int = 2048,
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
    retry_window_s: float = DEFAULT_RETRY_WINDOW,
    casefold: bool = False,
    lang: str = "eng",
    catalog: pd.DataFrame | None = None,
    source: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    cache_path: str | os.PathLike | None = None,
    trials_path: str | os.PathLike | None = None,
    progress: bool | None = None,
    retry_unknown: bool = False,
    new_budget: bool = False,
) -> Trial:
    """Send every page to every model within ``max_usd``; rows already in the store come back ``cached``.

    ``pages``: image / PDF paths, a folder, or :class:`~vision_models.trials.pages.Page`
    objects; ``models``: OpenRouter ids and/or ``"tesseract"`` (local OCR, free);
    ``truth``: a folder of ``<page>.txt`` files or a dict, for CER / WER;
    ``progress``: a bar (tqdm.auto) when True, none when False, and by default
    one only in Jupyter or on a terminal. ``retry_unknown``: send again the
    rows a provider may have billed without saying what (a warning says how
    much that may spend). ``new_budget``: spend up to ``max_usd`` afresh even
    when an earlier run of the same plan with the same ``max_usd`` spent some
    of it (a different ``max_usd`` is a new budget too). See the module
    docstring for the budget, retries and storage rules. A remote model without
    a key is a ``ValueError`` before anything is sent.
    """
    _check_number("max_usd", max_usd, high=MAX_BUDGET_USD, unit="USD")
    _check_count("concurrency", concurrency, minimum=1, maximum=MAX_CONCURRENCY)
    _check_count("retries", retries, minimum=0, maximum=100)
    _check_number("timeout", timeout, high=MAX_SECONDS, unit="seconds", above_zero=True)
    _check_number("retry_window_s", retry_window_s, high=MAX_SECONDS, unit="seconds", above_zero=True)
    chosen = _check_models(models)
    key = get_api_key(api_key)
    key = key.strip() if key else None
    if any(m != TESSERACT for m in chosen) and not key:
        raise ValueError(
            "no OpenRouter API key: set OPENROUTER_API_KEY or pass api_key= (a dry run and 'tesseract' need none)"
        )
    run = _prepare(pages, chosen, prompt=prompt, max_tokens=max_tokens, output_tokens=output_tokens, dpi=dpi,
                   max_side=max_side, catalog=catalog, source=source, base_url=base_url, api_key=key,
                   cache_path=cache_path, lang=lang)  # fmt: skip
    from .pages import load_truth

    truths = load_truth(truth, run.pages) if truth is not None else {}
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]
    stop = threading.Event()
    sender = _Sender(base_url=get_base_url(base_url), api_key=key, timeout=float(timeout), retries=retries,
                     retry_window_s=float(retry_window_s), stop=stop)  # fmt: skip
    lease = float(timeout) * (retries + 1) + float(retry_window_s) + 60.0
    with store.TrialStore(trials_path) as db:
        db.recover()
        plan_sha = _plan_sha(run)
        left = float(max_usd) if new_budget else db.budget_left(plan_sha, float(max_usd))
        budget = Budget(left)
        if retry_unknown:
            _warn_retry_unknown(run, db, key)
        db.start_run(run_id, prompt=prompt, params=run.params, models=chosen, pages=len(run.pages), max_usd=float(max_usd),
                     plan_sha256=plan_sha, cap_usd=left)  # fmt: skip
        worker = _Worker(run, db, budget, sender, run_id=run_id, max_tokens=max_tokens, lease=lease, lang=lang, key=key,
                         retry_unknown=retry_unknown)  # fmt: skip
        rows = _execute(run, db, worker, budget, stop, run_id=run_id, concurrency=concurrency, progress=progress,
                        sender=sender)  # fmt: skip
    results = results_frame(rows, run_id=run_id, truths=truths, casefold=casefold)
    return Trial(run_id, results, prompt, float(max_usd), round(budget.billed, 12), sender.requests, str(db.path), truths,
                 unknown_usd=round(budget.unknown, 12), budget_usd=left)  # fmt: skip


def _plan_sha(run: _Run) -> str:
    """What identifies a plan across its runs: the keys of the requests it makes."""
    return hashlib.sha256("\n".join(sorted({t.key for t in run.tasks})).encode("ascii")).hexdigest()


def _warn_retry_unknown(run: _Run, db: store.TrialStore, key: str | None) -> None:
    """Say how many rows of unknown cost will be sent again, and the most that may cost."""
    unknown = db.unknown_keys([t.key for t in run.tasks])
    if not unknown:
        return
    tasks = {t.key: t for t in run.tasks if t.key in unknown}
    worst = sum(
        _worst_case(t, run.prices.get(t.model), int(run.params["max_tokens"]), run.prompt_bound) for t in tasks.values()
    )
    warnings.warn(f"retry_unknown: sending again {len(tasks)} request{'s' if len(tasks) != 1 else ''} that may have been "
                  f"billed already; they may spend up to ${_amount(worst)} more (within the budget)", stacklevel=3)  # fmt: skip


def _amount(usd: float) -> str:
    """USD with six significant digits, written out: 0.0000421 (never 0.000000, never 4.21e-05)."""
    return str(np.format_float_positional(usd, precision=6, unique=False, fractional=False, trim="-"))


#: Seconds a stopped run waits for its requests in flight to be abandoned and recorded.
STOP_GRACE_S = 1.5


def _execute(run: _Run, db: store.TrialStore, worker: _Worker, budget: Budget, stop: threading.Event, *, run_id: str,  # noqa: C901
             concurrency: int, progress: bool | None, sender: _Sender) -> list[dict]:  # fmt: skip
    """Reuse the stored rows, send the others from daemon threads; on any interruption, keep what finished.

    The first Ctrl-C (or SIGTERM) stops sending, abandons what is in flight
    (recorded as ``unknown`` cost) and returns within :data:`STOP_GRACE_S`; a
    second one leaves at once (the threads are daemons: nothing waits for
    them), and what they held is recorded as ``unknown`` on the next start.
    """
    done = db.done_rows([t.key for t in run.tasks], retry_unknown=worker.retry_unknown)
    rows: dict[int, dict] = {}
    pending: list[_Task] = []
    noted: list[tuple[str, int, str, str, str]] = []
    leads: dict[str, _Task] = {}
    followers: list[_Task] = []
    for task in run.tasks:
        if task.key in leads:  # the same request again (identical page files): paid once, shown twice
            followers.append(task)
            continue
        leads[task.key] = task
        stored = done.get(task.key)
        if stored is not None:
            rows[task.position] = {**stored, "status": "cached", "_kind": task.kind, **_identity(task)}
            noted.append((task.key, task.position, "cached", task.fields["page"], task.fields["path"]))
        else:
            pending.append(task)
    db.note_many(run_id, noted)
    worker.know_controls(rows.values())
    bar = progress_bar(sum(t.kind == "page" for t in run.tasks), desc="trial", unit="page", show=progress)
    bar.update(sum(1 for t in run.tasks if t.kind == "page" and t.position in rows))
    state = "interrupted"
    work: queue.SimpleQueue[_Task] = queue.SimpleQueue()
    for task in pending:
        work.put(task)
    finished: queue.SimpleQueue[tuple[_Task, dict]] = queue.SimpleQueue()
    threads = [threading.Thread(target=_drain, args=(work, finished, worker, stop), name=f"vision-models-trial-{i}", daemon=True)
               for i in range(min(concurrency, len(pending)))]  # fmt: skip
    try:
        with _sigterm_as_interrupt():
            for thread in threads:
                thread.start()
            received = 0
            while received < len(pending):
                try:
                    task, row = finished.get(timeout=0.2)
                except queue.Empty:
                    if not any(t.is_alive() for t in threads) and finished.empty():
                        break
                    continue
                received += 1
                rows[task.position] = row
                if task.kind == "page":
                    bar.update(1)
                    _row_finished(rows[task.position])
            state = "stopped" if worker.save_error is not None else "finished"
    finally:
        try:
            if state != "finished":
                budget.stop()
                sender.abort()
                deadline = time.monotonic() + STOP_GRACE_S
                for thread in threads:
                    thread.join(max(0.0, deadline - time.monotonic()))
            while not finished.empty():
                task, row = finished.get()
                rows[task.position] = row
        finally:
            bar.close()
            _finish_run(db, worker, run_id, state="finished" if state == "finished" else "interrupted", budget=budget,
                        requests=sender.requests)  # fmt: skip
    rows.update(_followers(followers, leads, rows))
    db.note_many(run_id, [(t.key, t.position, rows[t.position]["status"], t.fields["page"], t.fields["path"])
                          for t in followers if t.position in rows])  # fmt: skip
    if worker.save_error is not None:
        raise worker.store_error()
    return [rows[t.position] for t in run.tasks if t.position in rows]


def _drain(work: queue.SimpleQueue, finished: queue.SimpleQueue, worker: _Worker, stop: threading.Event) -> None:
    """A pool thread: take tasks until there are none or the run stops."""
    while not stop.is_set():
        try:
            task = work.get_nowait()
        except queue.Empty:
            return
        try:
            row = worker(task)
        except Exception as exc:  # a bug must not lose the row's money: record it as an error of unknown cost
            row = worker.crashed(task, exc)
        finished.put((task, row))


def _finish_run(
    db: store.TrialStore, worker: _Worker, run_id: str, *, state: str, budget: Budget, requests: int
) -> None:
    """Close the run in the store: its totals, and claims still in flight recorded as ``unknown`` cost."""
    worker.flush()
    try:
        db.finish_run(run_id, state=state, billed_usd=round(budget.billed, 12), unknown_usd=round(budget.unknown, 12),
                      requests=requests)  # fmt: skip
    except (sqlite3.Error, OSError, ValueError) as exc:
        if worker.save_error is None:
            worker.save_error = exc


def _followers(followers: list[_Task], leads: dict[str, _Task], rows: dict[int, dict]) -> dict[int, dict]:
    """Rows of pages identical to an earlier one: the earlier row's answer, shown under their own name, not paid again."""
    out: dict[int, dict] = {}
    for task in followers:
        lead = rows.get(leads[task.key].position)
        if lead is None:
            continue
        status = "cached" if lead["status"] in ("ok", "cached") else lead["status"]
        out[task.position] = {
            **lead,
            **_identity(task),
            "status": status,
            "_kind": task.kind,
            "duplicate_of": lead.get("page"),
        }
    return out


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM stops a run as Ctrl-C does (on the main thread, where no one else handles it)."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) not in (
        signal.SIG_DFL,
        None,
    ):
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt("SIGTERM")

    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _row_finished(row: dict) -> None:
    """Called on the main thread after each page row is stored (a seam for progress and for tests)."""

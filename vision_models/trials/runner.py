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
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from ..catalog.source import get_api_key, get_base_url
from ..notices import progress_bar
from ..settings import Settings
from ..stores import trials as store
from ..stores.trial_schema import TrialRow
from .budget import Budget
from .chat import _Sender
from .consensus import MIN_MODELS
from .evidence import add_evidence, check_critical, split_truth
from .options import TrialOptions, connection, trial_options
from .plan import TESSERACT, PageTask, Task, _check_models, _Run, _worst_case, prepare_run
from .results import Trial, results_frame
from .structured import Scoring
from .worker import _as_task, _Worker

#: What ``on_row`` is called with: each page row, on the calling thread, once it is stored.
RowCallback = Callable[[TrialRow], None]


def run_trial(
    pages: Sequence[Any] | Any,
    models: Sequence[str] | str,
    *,
    options: TrialOptions | None = None,
    truth: Any = None,
    catalog: pd.DataFrame | None = None,
    source: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    cache_path: str | os.PathLike | None = None,
    trials_path: str | os.PathLike | None = None,
    settings: Settings | None = None,
    on_row: RowCallback | None = None,
    prompt: str | None = None,
    max_usd: float | None = None,
    max_tokens: int | None = None,
    output_tokens: int | None = None,
    dpi: int | None = None,
    max_side: int | None = None,
    concurrency: int | None = None,
    timeout: float | None = None,
    retries: int | None = None,
    retry_window_s: float | None = None,
    casefold: bool | None = None,
    lang: str | None = None,
    progress: bool | None = None,
    retry_unknown: bool | None = None,
    new_budget: bool | None = None,
    schema: Any = None,
    repeats: int | None = None,
    critical: Sequence[str] = (),
    fields: Mapping[str, str] | None = None,
    parser: Callable[[str, str], Any] | None = None,
) -> Trial:
    """Send every page to every model within ``max_usd``; rows already in the store come back ``cached``.

    ``pages``: image / PDF paths, a folder, or :class:`~vision_models.trials.pages.Page`
    objects; ``models``: OpenRouter ids and/or ``"tesseract"`` (local OCR, free);
    ``options``: a :class:`~vision_models.trials.options.TrialOptions` (what to
    send and how: the prompt, the budget, ...); each option may also be given
    as a keyword, which wins over ``options`` (None: as in ``options``).
    ``settings``: a :class:`~vision_models.Settings` for the connection
    (base URL, key, cache and trials files); ``source``, ``base_url``,
    ``api_key``, ``cache_path`` and ``trials_path`` given as keywords win.
    ``truth``: a folder of ``<page>.txt`` files or a dict, for CER / WER;
    ``on_row``: called with each page row once it is stored, on the calling
    thread (raising ``KeyboardInterrupt`` there stops the run as Ctrl-C does).
    ``progress``: a bar (tqdm.auto) when True, none when False, and by default
    one only in Jupyter or on a terminal. ``retry_unknown``: send again the
    rows a provider may have billed without saying what (a warning says how
    much that may spend). ``new_budget``: spend up to ``max_usd`` afresh even
    when an earlier run of the same plan with the same ``max_usd`` spent some
    of it (a different ``max_usd`` is a new budget too). See the module
    docstring for the budget, retries and storage rules. A remote model without
    a key is a ``ValueError`` before anything is sent.

    Evidence (:mod:`.evidence`): ``schema`` (a JSON Schema dict or a pydantic
    model class) asks for JSON and scores it field by field against ``truth``
    (then a folder of ``<page>.json`` files or a dict of objects); ``critical``
    names the fields that must all be right (``critical_ok``); ``fields`` sets a
    field's kind (``number``, ``date``, ``string``, ``exact``); ``parser``
    (text, page name) -> object reads Tesseract's plain text into an object.
    ``truth="consensus"`` (three or more models) measures agreement instead.
    ``repeats``: each page is sent that many times to each model.
    """
    opts = trial_options(options, prompt=prompt, max_usd=max_usd, max_tokens=max_tokens, output_tokens=output_tokens,
                         dpi=dpi, max_side=max_side, concurrency=concurrency, timeout=timeout, retries=retries,
                         retry_window_s=retry_window_s, casefold=casefold, lang=lang, progress=progress,
                         retry_unknown=retry_unknown, new_budget=new_budget, schema=schema, repeats=repeats)  # fmt: skip
    conn = connection(settings, source=source, base_url=base_url, api_key=api_key, cache_path=cache_path,
                      trials_path=trials_path)  # fmt: skip
    source, base_url, api_key, cache_path, trials_path = (conn[k] for k in conn)
    chosen = _check_models(models)
    if isinstance(truth, str) and truth == "consensus" and len(chosen) < MIN_MODELS:
        raise ValueError(f"truth='consensus' needs {MIN_MODELS} or more models, not {len(chosen)}")
    if isinstance(critical, str):
        critical = [critical]
    key = get_api_key(api_key)
    key = key.strip() if key else None
    if any(m != TESSERACT for m in chosen) and not key:
        raise ValueError(
            "no OpenRouter API key: set OPENROUTER_API_KEY or pass api_key= (a dry run and 'tesseract' need none)"
        )
    run = prepare_run(pages, chosen, opts, catalog=catalog, source=source, base_url=base_url, api_key=key,
                   cache_path=cache_path)  # fmt: skip
    from .pages import load_truth

    truths, objects, consensus = split_truth(truth, run.pages, schema=opts.schema, load_truth=load_truth)
    check_critical(objects, critical)
    run.scoring = Scoring(objects, opts.schema, tuple(critical), fields, parser)
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]
    stop = threading.Event()
    timeout_s, window_s, max_usd_f = float(opts.timeout), float(opts.retry_window_s), float(opts.max_usd)
    sender = _Sender(base_url=get_base_url(base_url), api_key=key, timeout=timeout_s, retries=opts.retries,
                     retry_window_s=window_s, stop=stop)  # fmt: skip
    lease = timeout_s * (opts.retries + 1) + window_s + 60.0
    with store.TrialStore(trials_path) as db:
        db.recover()
        plan_sha = _plan_sha(run)
        left = max_usd_f if opts.new_budget else db.budget_left(plan_sha, max_usd_f)
        budget = Budget(left)
        if opts.retry_unknown:
            _warn_retry_unknown(run, db, key)
        db.start_run(run_id, prompt=opts.prompt, params=run.params, models=chosen, pages=len(run.pages), max_usd=max_usd_f,
                     plan_sha256=plan_sha, cap_usd=left)  # fmt: skip
        worker = _Worker(run, db, budget, sender, run_id=run_id, lease=lease, key=key)
        rows = _execute(run, db, worker, budget, stop, run_id=run_id, sender=sender, on_row=on_row)
    results = results_frame(rows, run_id=run_id, truths=truths, casefold=opts.casefold)
    results = add_evidence(results, truths=objects, schema=opts.schema, critical=critical, fields=fields, parser=parser,
                           consensus=consensus, casefold=opts.casefold)  # fmt: skip
    return Trial(run_id, results, opts.prompt, max_usd_f, round(budget.billed, 12), sender.requests, str(db.path), truths,
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
        _worst_case(t, run.prices.get(t.model), run.options.max_tokens, run.prompt_bound) for t in tasks.values()
    )
    warnings.warn(f"retry_unknown: sending again {len(tasks)} request{'s' if len(tasks) != 1 else ''} that may have been "
                  f"billed already; they may spend up to ${_amount(worst)} more (within the budget)", stacklevel=3)  # fmt: skip


def _amount(usd: float) -> str:
    """USD with six significant digits, written out: 0.0000421 (never 0.000000, never 4.21e-05)."""
    return str(np.format_float_positional(usd, precision=6, unique=False, fractional=False, trim="-"))


#: Seconds a stopped run waits for its requests in flight to be abandoned and recorded.
STOP_GRACE_S = 1.5


def _execute(run: _Run, db: store.TrialStore, worker: _Worker, budget: Budget, stop: threading.Event, *, run_id: str,  # noqa: C901
             sender: _Sender, on_row: RowCallback | None) -> list[TrialRow]:  # fmt: skip
    """Reuse the stored rows, send the others from daemon threads; on any interruption, keep what finished.

    Long because what happens on an interruption (stop, abandon, record, return) must read in one place.

    The first Ctrl-C (or SIGTERM) stops sending, abandons what is in flight
    (recorded as ``unknown`` cost) and returns within :data:`STOP_GRACE_S`; a
    second one leaves at once (the threads are daemons: nothing waits for
    them), and what they held is recorded as ``unknown`` on the next start.
    """
    done = db.done_rows([t.key for t in run.tasks], retry_unknown=worker.retry_unknown)
    rows: dict[int, TrialRow] = {}
    pending: list[Task] = []
    noted: list[tuple[str, int, str, str, str]] = []
    leads: dict[str, Task] = {}
    followers: list[Task] = []
    for task in run.tasks:
        if task.key in leads:  # the same request again (identical page files): paid once, shown twice
            followers.append(task)
            continue
        leads[task.key] = task
        stored = done.get(task.key)
        if stored is not None:
            rows[task.position] = _as_task(stored, task, "cached")
            noted.append((task.key, task.position, "cached", task.row.page, task.row.path))
        else:
            pending.append(task)
    db.note_many(run_id, noted)
    worker.know_controls(rows.values())
    bar = progress_bar(sum(isinstance(t, PageTask) for t in run.tasks), desc="trial", unit="page",
                       show=run.options.progress)  # fmt: skip
    bar.update(sum(1 for t in run.tasks if isinstance(t, PageTask) and t.position in rows))
    state = "interrupted"
    work: queue.SimpleQueue[Task] = queue.SimpleQueue()
    for task in pending:
        work.put(task)
    finished: queue.SimpleQueue[tuple[Task, TrialRow]] = queue.SimpleQueue()
    threads = [threading.Thread(target=_drain, args=(work, finished, worker, stop), name=f"vision-models-trial-{i}", daemon=True)
               for i in range(min(run.options.concurrency, len(pending)))]  # fmt: skip
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
                if isinstance(task, PageTask):
                    bar.update(1)
                    if on_row is not None:
                        on_row(row)
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
    db.note_many(run_id, [(t.key, t.position, rows[t.position].status, t.row.page, t.row.path)
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


def _followers(followers: list[Task], leads: dict[str, Task], rows: dict[int, TrialRow]) -> dict[int, TrialRow]:
    """Rows of pages identical to an earlier one: the earlier row's answer, shown under their own name, not paid again."""
    out: dict[int, TrialRow] = {}
    for task in followers:
        lead = rows.get(leads[task.key].position)
        if lead is None:
            continue
        status = "cached" if lead.status in ("ok", "cached") else str(lead.status)
        out[task.position] = _as_task(lead, task, status, duplicate_of=lead.page)
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

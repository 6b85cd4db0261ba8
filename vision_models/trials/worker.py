"""The worker of a run: sends each task (or runs Tesseract), settles its bill with the budget, stores the row.

A row the store cannot record is kept in memory and retried; on giving up the run stops with
:class:`TrialStoreError`, whose ``rows`` hold what could not be stored. The key is taken out of every stored text.
"""

from __future__ import annotations

import json
import math
import random
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import fields, replace
from datetime import UTC, datetime
from typing import Any

from ..stores import trials as store
from ..stores.trial_schema import TrialRow
from . import client as sending
from .budget import Budget
from .chat import _Answer, _body, _error_message, _json, _read_answer, _Sender, _usage_cost
from .plan import (
    BILLED_FROM_COST,
    MAX_ERROR_CHARS,
    RETRY_STATUSES,
    TESSERACT,
    ControlTask,
    PageTask,
    Task,
    _Prices,
    _Run,
    _worst_case,
)


def _backoff(attempt: int) -> float:
    return min(2.0 ** (attempt - 1), 30.0) * (0.75 + 0.5 * random.random())


def _retry_after(headers: Mapping[str, str], attempt: int) -> float:
    """Seconds to wait: ``Retry-After`` (seconds or an HTTP date), else exponential back-off."""
    value = headers.get("retry-after")
    if value:
        try:
            seconds = float(value)
            if math.isfinite(seconds):
                return max(0.0, seconds)
        except ValueError:
            from email.utils import parsedate_to_datetime

            try:
                when = parsedate_to_datetime(value)
                return max(0.0, (when - datetime.now(UTC)).total_seconds())
            except (TypeError, ValueError, OverflowError):
                pass
    return _backoff(attempt)


class TrialStoreError(store.sqlite.StoreUnavailable):
    """Answers that were billed could not be recorded in the trials store; ``rows`` holds them."""

    def __init__(self, message: str, rows: list[TrialRow]) -> None:
        super().__init__(message)
        self.rows = rows


def _as_task(row: TrialRow, task: Task, status: str, *, duplicate_of: str | None = None) -> TrialRow:
    """A stored row shown for ``task`` (it may have been made for an identical file of another name), with ``status``."""
    own = task.row
    return replace(
        row, page=own.page, path=own.path, page_index=own.page_index, status=status, duplicate_of=duplicate_of
    )


#: How long a row's save is retried (seconds) before the run stops.
SAVE_RETRY_S = 5.0


class _Worker:
    """Runs one task on a pool thread: reserve, claim, send (or OCR), settle, store."""

    def __init__(self, run: _Run, db: store.TrialStore, budget: Budget, sender: _Sender, *, run_id: str, lease: float,
                 key: str | None) -> None:  # fmt: skip
        self.run, self.db, self.budget, self.sender = run, db, budget, sender
        self.run_id, self.lease, self.key = run_id, lease, key
        self.max_tokens, self.lang = run.options.max_tokens, run.options.lang
        self.retry_unknown = run.options.retry_unknown
        self._factors: dict[str, tuple[float, float]] = {}  # model -> (image token factor, price factor) seen
        self._controls: dict[str, int] = {}  # model -> control prompt tokens
        self._lock = threading.Lock()
        self.unsaved: list[tuple[TrialRow, int, str]] = []  # rows whose save failed: (row, position, status)
        self.save_error: BaseException | None = None

    def __call__(self, task: Task) -> TrialRow:
        if self.budget.stopped:
            return self._finish(
                task, _Answer("error", error="not sent: the run was interrupted"), "error", store_row=False
            )
        if isinstance(task, PageTask) and task.model == TESSERACT:
            claim = self.db.claim(task.key, self.run_id, task.row, self.lease)
            if claim.row is not None or claim.busy_run is not None:
                return self._claimed_elsewhere(task, claim)
            return self._finish(task, self._ocr(task), None)
        prices = self.run.prices[task.model]
        return self._send(task, prices)

    def _send(self, task: Task, prices: _Prices) -> TrialRow:  # noqa: C901 (the billing rules, in order)
        """Reserve, claim, then attempt (retrying what may be retried, each retry reserved anew).

        Long because the billing rules are one sequence (reserve, claim, send, settle, record) whose order is
        the money guarantee; split, the order would be spread over functions a reader must hold together.
        """
        page = isinstance(task, PageTask)
        answer = _Answer("error")
        billed, billed_any, unknown, attempts, sent = 0.0, False, 0.0, 0, False
        start = time.monotonic()
        window_end = start + self.sender.retry_window_s
        reserved_total = 0.0
        try:  # the page is drawn here: a file that cannot be read costs nothing and holds no reserve
            prompt, response_format = self.run.request(task.model)
            effort = self.run.options.reasoning_effort
            data = json.dumps(_body(task, prompt, self.max_tokens, effort, response_format)).encode("utf-8")
        except (ValueError, OSError) as exc:
            return self._finish(task, _Answer("error", error=f"not sent: {str(exc)[:MAX_ERROR_CHARS]}"), "error")
        while True:
            reserved = self.budget.acquire(task.model, lambda: self._worst(task, prices))
            if reserved is None:
                if attempts == 0:
                    return self._not_reserved(task, prices)
                answer.error = f"{answer.error}; not retried: {self._why_not(task, prices)}"
                break
            if attempts == 0:
                claim = self.db.claim(task.key, self.run_id, replace(task.row, reserved_usd=reserved), self.lease,
                                      retry_unknown=self.retry_unknown)  # fmt: skip
                if claim.row is not None or claim.busy_run is not None:
                    self.budget.settle(task.model, reserved)
                    return self._claimed_elsewhere(task, claim)
            attempts += 1
            reserved_total += reserved
            outcome = self.sender.post(data)
            sent = sent or outcome.phase != sending.NOT_SENT
            if outcome.phase == sending.NOT_SENT:
                self.budget.settle(task.model, reserved)
                answer = _Answer("error", error=outcome.reason, latency_s=outcome.latency_s)
                if self._may_retry(attempts, window_end, _backoff(attempts)):
                    continue
                break
            if outcome.phase == sending.UNKNOWN:
                self.budget.settle(task.model, reserved, unknown=reserved)
                unknown += reserved
                answer = _Answer("error", error=outcome.reason, latency_s=outcome.latency_s)
                break
            if 200 <= outcome.status < 300:
                answer = _read_answer(outcome.body, prices)
                answer.latency_s = outcome.latency_s
                if answer.billed_usd is None and answer.paid:
                    self.budget.settle(task.model, reserved, unknown=reserved)
                    unknown += reserved
                else:
                    cost = answer.billed_usd or 0.0
                    self.budget.settle(task.model, reserved, billed=cost, priced=page and answer.billed_usd is not None)
                    if answer.billed_usd is not None:
                        billed += cost
                        billed_any = True
                break
            # An error answer: its usage.cost (if any) is billed and added to the row; 408/429/5xx are retried.
            error_cost, given = _usage_cost(_json(outcome.body))
            if given and error_cost is None:  # a cost we cannot read: it may be anything up to the reserve
                self.budget.settle(task.model, reserved, unknown=reserved)
                unknown += reserved
            else:
                self.budget.settle(task.model, reserved, billed=error_cost or 0.0)
                if error_cost:
                    billed += error_cost
                    billed_any = True
            answer = _Answer("error", error=f"{outcome.status}: {_error_message(outcome.status, outcome.body, '')}",
                             latency_s=outcome.latency_s)  # fmt: skip
            if outcome.status in RETRY_STATUSES and self._may_retry(attempts, window_end,
                                                                    _retry_after(outcome.headers, attempts)):  # fmt: skip
                continue
            break
        answer.billed_usd = billed if billed_any else None
        answer.billed_source = (
            answer.billed_source if answer.billed_source else (BILLED_FROM_COST if billed_any else None)
        )
        answer.unknown_usd = unknown
        answer.attempts = attempts
        answer.sent = sent
        answer.paid = answer.paid or billed > 0 or unknown > 0
        if answer.status == "ok" and unknown > 0:
            answer.status = "error"
        self._learn(task, prices, answer)
        return self._finish(task, answer, None, reserved=reserved_total)

    def _may_retry(self, attempts: int, window_end: float, wait: float) -> bool:
        """Another attempt within the retries and the window, after ``wait`` seconds (False if the run stops meanwhile)."""
        if attempts > self.sender.retries or time.monotonic() + wait >= window_end:
            return False
        return not self.sender.stop.wait(wait)

    def _not_reserved(self, task: Task, prices: _Prices) -> TrialRow:
        if self.budget.stopped:
            return self._finish(
                task, _Answer("error", error="not sent: the run was interrupted"), "error", store_row=False
            )
        return self._finish(task, _Answer("error", error=self._why_not(task, prices)), "skipped-budget")

    def _why_not(self, task: Task, prices: _Prices) -> str:
        if self.budget.stopped:
            return "the run was interrupted"
        if task.model in self.budget.blocked:
            return self.budget.blocked[task.model]
        worst = self._worst(task, prices)
        if worst != worst:
            return "the catalog gives no price for this model: cannot reserve"
        left = max(0.0, self.budget.max_usd - self.budget.spent)
        return f"worst case ${worst:.6f} does not fit the budget (${left:.6f} left)"

    def _claimed_elsewhere(self, task: Task, claim: store.Claim) -> TrialRow:
        if claim.row is not None:  # another run finished it meanwhile (or it was left of unknown cost)
            self.db.note(self.run_id, task.key, task.position, "cached", task.row.page, task.row.path)
            return _as_task(claim.row, task, "cached")
        answer = _Answer("error", error=f"being sent by run {claim.busy_run}; run again to collect it")
        return self._finish(task, answer, "error", store_row=False)

    def know_controls(self, rows: Iterable[TrialRow]) -> None:
        """Control answers already stored: their prompt tokens measure the next pages' image tokens."""
        for row in rows:
            if row.kind == "control" and row.prompt_tokens is not None:
                self._controls[row.model] = int(row.prompt_tokens)

    def _worst(self, task: Task, prices: _Prices) -> float:
        token_factor, price_factor = self._factors.get(task.model, (0.0, 0.0))
        return _worst_case(task, prices, self.max_tokens, self.run.prompt_bound, token_factor, price_factor)

    def _learn(self, task: Task, prices: _Prices, answer: _Answer) -> None:
        """Grow the model's reserves by what its bills showed beyond the catalog; stop a 'free' model that bills."""
        with self._lock:
            token_factor, price_factor = self._factors.get(task.model, (0.0, 0.0))
            if answer.prompt_tokens is not None and answer.unknown_usd == 0:
                if isinstance(task, ControlTask):
                    self._controls[task.model] = answer.prompt_tokens
                elif task.estimated_image_tokens and task.estimated_image_tokens == task.estimated_image_tokens:
                    text = self._controls.get(task.model, 0)
                    token_factor = max(token_factor, (answer.prompt_tokens - text) / task.estimated_image_tokens)
            if answer.billed_usd:
                catalog_usd = (prices.prompt * (answer.prompt_tokens or 0) + prices.completion * (answer.completion_tokens or 0)
                               + prices.request)  # fmt: skip
                if not catalog_usd > 0:
                    self.budget.block(task.model, f"it billed ${answer.billed_usd:.6f} although the catalog lists it "
                                                  "as free: nothing more is sent to it")  # fmt: skip
                elif answer.billed_source == BILLED_FROM_COST and answer.completion_tokens is not None:
                    price_factor = max(price_factor, answer.billed_usd / catalog_usd)
            self._factors[task.model] = (token_factor, price_factor)

    def _ocr(self, task: PageTask) -> _Answer:
        from .tesseract import read_page_with_confidence

        start = time.monotonic()
        try:
            text, confidence = read_page_with_confidence(task.page, lang=self.lang)
        except (RuntimeError, ValueError, OSError) as exc:
            return _Answer("error", error=str(exc)[:MAX_ERROR_CHARS], latency_s=time.monotonic() - start)
        return _Answer("ok", text=text, billed_usd=0.0, billed_source="local", paid=True, latency_s=time.monotonic() - start,
                       attempts=1, confidence=confidence)  # fmt: skip

    def crashed(self, task: Task, exc: BaseException) -> TrialRow:
        """A task that raised: recorded as an error; if it may have been sent, its cost is unknown."""
        error = f"internal error: {type(exc).__name__}: {str(exc)[:200]}"
        try:
            return self._finish(task, _Answer("error", error=error), "error", store_row=False)
        except Exception:
            return replace(task.row, status="error", error=error, run_id=self.run_id)

    def _finish(
        self, task: Task, answer: _Answer, status: str | None, *, reserved: float = 0.0, store_row: bool = True
    ) -> TrialRow:
        status = status or answer.status
        row = replace(
            task.row,
            key=task.key,
            status=status,
            done=int(answer.status == "ok" or answer.paid),
            error=answer.error,
            text=answer.text,
            prompt_tokens=answer.prompt_tokens,
            completion_tokens=answer.completion_tokens,
            reasoning_tokens=answer.reasoning_tokens,
            billed_usd=answer.billed_usd,
            billed_source=answer.billed_source,
            unknown_usd=answer.unknown_usd or None,
            cost_status=answer.cost_status,
            reserved_usd=reserved,
            latency_s=answer.latency_s,
            attempts=answer.attempts,
            generation_id=answer.generation_id,
            finish_reason=answer.finish_reason,
            tesseract_confidence=answer.confidence,
            finished_at=time.time(),
            run_id=self.run_id,
        )
        if isinstance(task, PageTask) and store_row:  # the answer's evidence, stored beside it
            row = replace(row, **self.run.scoring.scores(row.page, row.model, row.text, row.finish_reason, row.error))
        row = _redacted(row, self.key)
        if store_row:
            self._save(row, task.position, status)
        else:
            self._note(task, status)
        return row

    def _note(self, task: Task, status: str) -> None:
        try:
            self.db.note(self.run_id, task.key, task.position, status, task.row.page, task.row.path)
        except (sqlite3.Error, OSError, ValueError):
            pass  # a note records no money: the row stays unsent and is sent by the next run

    def _save(self, row: TrialRow, position: int, status: str) -> None:
        """Store a row; a failing store is retried for :data:`SAVE_RETRY_S`, then the row is kept and the run stops."""
        deadline = time.monotonic() + SAVE_RETRY_S
        wait = 0.05
        while True:
            try:
                self.db.save(row, run_id=self.run_id, position=position, run_status=status)
                return
            except (sqlite3.Error, OSError, ValueError) as exc:
                if time.monotonic() + wait > deadline or self.budget.stopped:
                    with self._lock:
                        self.unsaved.append((row, position, status))
                        if self.save_error is None:
                            self.save_error = exc
                    self.budget.stop()
                    self.sender.abort()
                    return
            time.sleep(wait)
            wait = min(wait * 2, 1.0)

    def flush(self) -> None:
        """One more try at the rows whose save failed (the run is over: nothing else is writing)."""
        with self._lock:
            pending, self.unsaved = self.unsaved, []
        for row, position, status in pending:
            try:
                self.db.save(row, run_id=self.run_id, position=position, run_status=status)
            except (sqlite3.Error, OSError, ValueError) as exc:
                self.unsaved.append((row, position, status))
                self.save_error = self.save_error or exc

    def store_error(self) -> TrialStoreError:
        """The one-line error that stops a run whose store failed, with the rows it could not keep."""
        cause = self.save_error
        reason = getattr(cause, "strerror", None) or (str(cause).splitlines() or [type(cause).__name__])[0]
        rows = [row for row, _, _ in self.unsaved]
        money = sum((r.billed_usd or 0.0) + (r.unknown_usd or 0.0) for r in rows)
        lost = (f"; {len(rows)} answer{'s' if len(rows) != 1 else ''} (${money:.6f}) could not be stored: see the error's .rows"
                if rows else "; every answer was stored in the end")  # fmt: skip
        return TrialStoreError(f"the trial stopped: cannot record results in {self.db.path}: {reason}{lost}", rows)


def _redact(text: str | None, key: str | None) -> str | None:
    if text is None or not key:
        return text
    return text.replace(key, "[redacted]")


def _redacted(row: TrialRow, key: str | None) -> TrialRow:
    """The row with the key taken out of every text field (an answer's id or text may echo it)."""
    if not key:
        return row
    changes: dict[str, Any] = {}
    for f in fields(row):
        value = getattr(row, f.name)
        if isinstance(value, str):
            changes[f.name] = _redact(value, key)
    return replace(row, **changes)

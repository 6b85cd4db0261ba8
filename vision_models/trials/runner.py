"""Trials: send your pages to the models you picked, and record what was billed, how long it took, what came back.

>>> plan = vm.estimate_trial(pages, models, prompt=PROMPT)      # dry run: nothing is sent
>>> trial = vm.run_trial(pages, models, prompt=PROMPT, truth="truth/", max_usd=0.50)
>>> trial.results, trial.summary()

Sending
    ``POST {base}/chat/completions``, one user message holding the prompt and
    the page as a base64 ``image_url`` data URL, ``temperature`` 0 and a
    ``max_tokens`` bound, ``concurrency`` requests at once, each on a fresh
    connection (:mod:`vision_models.trials.client`). ``timeout`` bounds each request
    in wall-clock time (connect, send and every read, even while bytes keep
    trickling in); an answer over 16 MB (decoded) is refused unread.

What a failure costs
    Until the request's first byte reaches the socket (DNS, a refused
    connection, the TLS handshake) nothing can have been billed: such a
    failure is retried freely. From then on (a reset, a close before any
    answer, a body that stalls, is cut or never ends, a run stopped or killed)
    the provider may have billed it: the row's cost is ``unknown``, its whole
    reserve is kept as spent (``unknown_usd``, shown apart from ``billed_usd``),
    and it is never sent again unless asked (``retry_unknown=True``, which warns
    how much that may spend). A 408, 429 or 5xx answer is retried (``retries``
    times, after ``Retry-After`` or 1, 2, 4 s..., within ``retry_window_s``),
    each retry reserved against the budget like a new request; a ``usage.cost``
    on an error is added to the row's bill. A model's own failure (400, 402,
    404, a content filter, no choices, malformed JSON, no usage) is recorded on
    its rows; the other models go on. A ``usage`` that is not believable
    (negative, astronomically large, NaN, text that is no number) never credits
    the budget: the cost is unknown; a cost given as numeric text is the bill.

The budget (``max_usd``, default 1.00 USD)
    Before a request is sent, its worst case is reserved against the budget,
    alongside what is already billed, of unknown cost, and in flight::

        worst = (image estimate x margin + prompt bound x prompt price)
                + max_tokens x completion price + request fee

    ``margin`` is 1.5 where the family's rule is known (:data:`MARGIN`) and 3
    where it is uncertain or unknown (:data:`UNCERTAIN_MARGIN`); the prompt
    bound is its UTF-8 bytes + 32 (a token is at least one byte; 32 covers the
    message wrapping). Once a model has answered, its reserve grows when its
    bills showed more image tokens or higher prices than the catalog's
    (x 1.25 / x 1.1 over what was seen). Until a model's first page answer has
    shown its real bill, only one request of that model (its control included)
    is in flight, so a surprise costs one request, not ``concurrency`` of them;
    a model the catalog lists as free that bills anyway gets no further
    request. A request that cannot fit even once everything in flight is
    settled is ``skipped-budget``. After an answer, the reserve is replaced by
    the bill (``usage.cost``, else the tokens at catalog prices); an answer
    whose cost is unknown keeps its whole reserve as spent. The guarantee: the
    sum of bills stays within ``max_usd`` as long as each bill is within its
    reserve, which the margins are there to ensure.

    The budget holds across resumes: a run of the same plan (the same pages,
    models, prompt and parameters) with the same ``max_usd`` may spend only
    what the earlier runs left of it; another amount, or ``new_budget=True``,
    is a new budget.

Stopping
    Ctrl-C or SIGTERM stops sending at once: requests in flight are abandoned
    (``unknown`` cost) and the run is stored as ``interrupted`` within about
    two seconds; a second Ctrl-C leaves at once. A run killed outright leaves
    its requests in flight claimed; the next run of the store records them as
    ``unknown`` cost and never resends them. If the store cannot record a
    billed answer (locked past its wait, a full disk), the row is kept in
    memory and retried; on giving up the run stops with one line naming the
    file and the cause (:class:`TrialStoreError`, whose ``rows`` hold what
    could not be stored).

Storage and resume
    Every row is committed to the trials store (:mod:`vision_models.stores.trials`)
    as it completes, keyed by (page content hash, model, prompt, parameters).
    A row that succeeded, or that a provider may have billed, is never sent
    again: a second run shows it as ``cached``. An interrupted run resumes
    where it stopped. Identical page files (the same content under two names)
    are sent once and shown under both names. The key is taken out of every
    stored text (an answer may echo it); headers and image bytes are never
    stored.

Measured image tokens
    One text-only control request per (model, prompt) (the same message
    without the image, ``max_tokens`` 16) is sent, stored and reused; a page's
    measured image tokens are its billed prompt tokens minus the control's.
"""

from __future__ import annotations

import hashlib
import html
import http.client
import json
import math
import os
import queue
import random
import signal
import sqlite3
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd
from . import client as sending
from ..catalog.source import get_api_key, get_base_url
from .pages import Page
from ..stores import trials as store
from ..text import no_math

TESSERACT = "tesseract"
DEFAULT_PROMPT = "Transcribe all text on this page as plain text. Keep the reading order; output only the text."
DEFAULT_MAX_USD = 1.00
DEFAULT_MAX_TOKENS = 2048
DEFAULT_OUTPUT_TOKENS = 700
DEFAULT_CONCURRENCY = 4
DEFAULT_TIMEOUT = 120.0
CONNECT_TIMEOUT = 10.0
DEFAULT_RETRIES = 3
DEFAULT_RETRY_WINDOW = 120.0
#: Safety margins on the image estimate when reserving the budget.
MARGIN = 1.5
UNCERTAIN_MARGIN = 3.0
#: Growth over what a model's bills showed: image tokens, and price against the catalog.
OBSERVED_TOKEN_MARGIN = 1.25
OBSERVED_PRICE_MARGIN = 1.1
PROMPT_OVERHEAD_TOKENS = 32
CONTROL_MAX_TOKENS = 16
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
STATUSES = ("ok", "error", "skipped-budget", "cached")
BILLED_FROM_COST = "usage.cost"
BILLED_FROM_TOKENS = "tokens x catalog prices"
MAX_ERROR_CHARS = 300
_EPS = 1e-12

RESULT_COLUMNS = {
    "run_id": "str",
    "page": "str",
    "page_sha256": "str",
    "width_px": "Int64",
    "height_px": "Int64",
    "model": "str",
    "status": "str",
    "error": "object",
    "text": "object",
    "prompt_tokens": "Int64",
    "completion_tokens": "Int64",
    "billed_usd": "float64",
    "billed_source": "object",
    "unknown_usd": "float64",
    "cost_status": "object",
    "finish_reason": "object",
    "duplicate_of": "object",
    "estimated_usd": "float64",
    "estimated_image_tokens": "Int64",
    "measured_image_tokens": "Int64",
    "latency_s": "float64",
    "cer": "float64",
    "wer": "float64",
    "finished_at": "datetime64[ns, UTC]",
    "path": "str",
}
PLAN_COLUMNS = (
    "page", "page_sha256", "width_px", "height_px", "model", "method", "uncertain",
    "estimated_image_tokens", "estimated_usd", "worst_case_usd", "cached", "duplicate_of",
)  # fmt: skip


# ---------------------------------------------------------------- the plan


@dataclass(frozen=True)
class _Prices:
    """One model's catalog prices: USD per prompt token, per completion token, per request."""

    prompt: float
    completion: float
    request: float


@dataclass
class _Task:
    """One request to make (or reuse): a page for a model, or a model's text-only control."""

    position: int
    key: str
    kind: str  # "page" | "control"
    model: str
    page: Page | None
    estimated_image_tokens: float = 0.0
    estimated_usd: float = 0.0
    image_usd: float = 0.0  # the image part of the estimate, before margins
    margin: float = MARGIN
    method: str = ""
    uncertain: bool = False
    fields: dict[str, Any] = field(default_factory=dict)


def estimate_trial(
    pages: Sequence[Any] | Any,
    models: Sequence[str] | str,
    *,
    prompt: str = DEFAULT_PROMPT,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    output_tokens: int = DEFAULT_OUTPUT_TOKENS,
    dpi: int = 200,
    max_side: int = 2048,
    catalog: pd.DataFrame | None = None,
    source: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    cache_path: str | os.PathLike | None = None,
    trials_path: str | os.PathLike | None = None,
    max_usd: float | None = None,
    retry_unknown: bool = False,
) -> pd.DataFrame:
    """A dry run: one row per (page, model) with the estimate and the worst case the budget would reserve.

    Nothing is sent and no key is needed. ``cached`` marks rows the trials
    store already holds (they would cost nothing; with ``retry_unknown``, rows
    of unknown cost are to be sent again); ``duplicate_of`` names the earlier
    page a page is identical to (sent once). ``.attrs`` holds the totals over
    the rows to send, the control requests' worst case, and the budget
    (``max_usd``) when given.
    """
    run = _prepare(pages, models, prompt=prompt, max_tokens=max_tokens, output_tokens=output_tokens, dpi=dpi,
                   max_side=max_side, catalog=catalog, source=source, base_url=base_url, api_key=api_key,
                   cache_path=cache_path)  # fmt: skip
    done = store.done_keys([t.key for t in run.tasks], trials_path, retry_unknown=retry_unknown)
    records = []
    control_worst = 0.0
    first_page: dict[str, str] = {}
    for task in run.tasks:
        worst = _worst_case(task, run.prices.get(task.model), max_tokens, run.prompt_bound)
        if task.kind == "control":
            control_worst += 0.0 if task.key in done else worst
            continue
        page = task.page
        lead = first_page.setdefault(task.key, page.name)
        records.append((page.name, page.sha256, page.width_px, page.height_px, task.model, task.method, task.uncertain,
                        task.estimated_image_tokens, task.estimated_usd, worst, task.key in done,
                        lead if lead != page.name else None))  # fmt: skip
    plan = pd.DataFrame.from_records(records, columns=list(PLAN_COLUMNS))
    plan = plan.astype({"page": "str", "page_sha256": "str", "width_px": "int64", "height_px": "int64", "model": "str",
                        "method": "str", "uncertain": "bool", "estimated_image_tokens": "Int64",
                        "estimated_usd": "float64", "worst_case_usd": "float64", "cached": "bool",
                        "duplicate_of": "object"})  # fmt: skip
    to_send = ~plan["cached"].to_numpy(dtype=bool) & plan["duplicate_of"].isna().to_numpy()
    plan.attrs = {
        "requests": int((to_send & (plan["model"] != TESSERACT).to_numpy()).sum()),
        "estimated_usd": float(plan["estimated_usd"].to_numpy()[to_send].sum()),
        "worst_case_usd": float(plan["worst_case_usd"].to_numpy()[to_send].sum()) + control_worst,
        "control_worst_case_usd": control_worst,
        "max_usd": max_usd,
        "prompt": prompt,
        "max_tokens": max_tokens,
    }
    return plan


@dataclass
class _Run:
    pages: list[Page]
    models: list[str]
    prompt: str
    prompt_sha256: str
    prompt_bound: int
    prices: dict[str, _Prices]
    tasks: list[_Task]
    params: dict[str, Any]


def _prepare(
    pages: Any,
    models: Sequence[str] | str,
    *,
    prompt: str,
    max_tokens: int,
    output_tokens: int,
    dpi: int,
    max_side: int,
    catalog: pd.DataFrame | None,
    source: str | None,
    base_url: str | None,
    api_key: str | None,
    cache_path: str | os.PathLike | None,
    lang: str = "eng",
) -> _Run:
    """Check the arguments, load the pages, price the models and list the tasks (controls first)."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError(f"prompt must be non-empty text, not {prompt!r:.80}")
    _check_count("max_tokens", max_tokens, minimum=1)
    _check_count("output_tokens", output_tokens, minimum=0)
    chosen = _check_models(models)
    loaded = _load(pages, dpi=dpi, max_side=max_side)
    remote = [m for m in chosen if m != TESSERACT]
    table = _catalog(catalog, remote, source=source, base_url=base_url, api_key=api_key, cache_path=cache_path)
    prices = {m: _model_prices(table, m) for m in remote}
    prompt_sha = hashlib.sha256(prompt.encode("utf-8")).hexdigest()
    prompt_bound = len(prompt.encode("utf-8")) + PROMPT_OVERHEAD_TOKENS
    text_tokens = math.ceil(len(prompt) / 4) + 8  # a typical English tokenizer; for the estimate only
    estimates = _estimates(table, remote, {(p.width_px, p.height_px) for p in loaded}, text_tokens, output_tokens)

    ocr_version = None
    if TESSERACT in chosen:
        from .tesseract import tesseract_version

        ocr_version = tesseract_version()  # another Tesseract reads differently: another row
    tasks: list[_Task] = []
    for model in remote:
        key = _key("", model, prompt_sha, {"control": True, "max_tokens": CONTROL_MAX_TOKENS, "temperature": 0})
        fields = dict(kind="control", page="", path="", page_index=-1, page_sha256="", model=model,
                      prompt_sha256=prompt_sha, params=json.dumps({"control": True, "max_tokens": CONTROL_MAX_TOKENS}))  # fmt: skip
        tasks.append(_Task(len(tasks), key, "control", model, None, fields=fields))
    for page in loaded:
        for model in chosen:
            if model == TESSERACT:
                params = {"engine": TESSERACT, "version": ocr_version, "lang": lang, "width_px": page.width_px,
                          "height_px": page.height_px}  # fmt: skip
                estimate = (0.0, 0.0, 0.0, "local", False)
            else:
                params = {"max_tokens": max_tokens, "temperature": 0, "width_px": page.width_px, "height_px": page.height_px}
                estimate = estimates[(model, page.width_px, page.height_px)]
            tokens, usd, image_usd, method, uncertain = estimate
            fields = dict(kind="page", page=page.name, path=page.path, page_index=page.page_index, page_sha256=page.sha256,
                          width_px=page.width_px, height_px=page.height_px, model=model, prompt_sha256=prompt_sha,
                          params=json.dumps(params, sort_keys=True), estimated_usd=usd,
                          estimated_image_tokens=None if tokens != tokens else int(tokens))  # fmt: skip
            tasks.append(
                _Task(len(tasks), _key(page.sha256, model, prompt_sha, params), "page", model, page, tokens, usd, image_usd,
                      UNCERTAIN_MARGIN if uncertain else MARGIN, method, uncertain, fields)  # fmt: skip
            )
    params = {"max_tokens": max_tokens, "dpi": dpi, "max_side": max_side, "output_tokens": output_tokens, "temperature": 0}
    return _Run(loaded, chosen, prompt, prompt_sha, prompt_bound, prices, tasks, params)


def _key(page_sha: str, model: str, prompt_sha: str, params: Mapping[str, Any]) -> str:
    text = json.dumps([page_sha, model, prompt_sha, dict(sorted(params.items()))], separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _check_models(models: Sequence[str] | str) -> list[str]:
    wanted = [models] if isinstance(models, str) else list(models)
    if not wanted:
        raise ValueError("no models given: pass at least one model id, such as 'openai/gpt-4o-mini' or 'tesseract'")
    for model in wanted:
        if not isinstance(model, str) or not model.strip():
            raise ValueError(f"a model must be an OpenRouter id or 'tesseract', not {model!r}")
    return list(dict.fromkeys(m.strip() for m in wanted))


def _check_count(name: str, value: object, *, minimum: int, maximum: int = 10_000_000) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not minimum <= value <= maximum:
        raise ValueError(f"bad {name} {_shown(value)}: expected a whole number from {minimum:,} to {maximum:,}")


def _load(pages: Any, *, dpi: int, max_side: int) -> list[Page]:
    """Page objects as given, paths scanned with :func:`vision_models.trials.pages.scan_pages` (rendered when sent)."""
    from .pages import scan_pages

    if isinstance(pages, Page):
        return [pages]
    if isinstance(pages, (str, os.PathLike)):
        return scan_pages(pages, dpi=dpi, max_side=max_side)
    items = list(pages)
    if not items:
        raise ValueError("no pages given: pass image or PDF paths, a folder, or Page objects")
    out: list[Page] = []
    paths: list[Any] = []
    for item in items:
        if isinstance(item, Page):
            if paths:
                out.extend(scan_pages(paths, dpi=dpi, max_side=max_side))
                paths = []
            out.append(item)
        else:
            paths.append(item)
    if paths:
        out.extend(scan_pages(paths, dpi=dpi, max_side=max_side))
    return out


def _catalog(
    catalog: pd.DataFrame | None,
    remote: Sequence[str],
    *,
    source: str | None,
    base_url: str | None,
    api_key: str | None,
    cache_path: str | os.PathLike | None,
) -> pd.DataFrame:
    """The catalog rows of the remote models: ``catalog`` if given, else every model of ``fetch_catalog``."""
    from ..pricing.cost import check_model_ids

    if not remote:
        return pd.DataFrame()
    if catalog is None:
        from ..catalog.api import fetch_catalog

        result = fetch_catalog(source, base_url=base_url, api_key=api_key, cache_path=cache_path)
        if result.models.empty:
            raise ValueError(f"cannot price the models without the catalog: {result.error or 'the catalog is empty'}")
        catalog = result.models
    check_model_ids(catalog, remote)
    return catalog.drop_duplicates("id").set_index("id", drop=False).loc[list(remote)].reset_index(drop=True)


def _model_prices(table: pd.DataFrame, model: str) -> _Prices:
    row = table.loc[table["id"] == model].iloc[0]

    def number(value: object) -> float:
        return float("nan") if value is None or pd.isna(value) else float(value)

    request = number(row.get("request_usd"))
    return _Prices(
        prompt=number(row["prompt_usd_per_mtok"]) / 1e6,
        completion=number(row["completion_usd_per_mtok"]) / 1e6,
        request=0.0 if request != request else request,
    )


def _estimates(
    table: pd.DataFrame, remote: Sequence[str], sizes: set[tuple[int, int]], text_tokens: int, output_tokens: int
) -> dict[tuple[str, int, int], tuple[float, float, float, str, bool]]:
    """(model, width, height) -> (image tokens, estimated USD, image USD, method, uncertain), via cost_per_image."""
    from ..pricing.cost import cost_per_image

    out: dict[tuple[str, int, int], tuple[float, float, float, str, bool]] = {}
    if not remote:
        return out
    for width, height in sorted(sizes):
        costs = cost_per_image(table, width, height, prompt_tokens=text_tokens, output_tokens=output_tokens, measured=False)
        tokens = costs["image_tokens"].to_numpy(dtype="float64", na_value=np.nan)
        for model, n, usd, image_usd, method, uncertain in zip(
            costs["id"].tolist(), tokens.tolist(), costs["usd_per_image"].tolist(), costs["image_usd"].tolist(),
            costs["method"].tolist(), costs["uncertain"].tolist(),
        ):  # fmt: skip
            out[(model, width, height)] = (n, usd, image_usd, method, bool(uncertain))
    return out


def _worst_case(task: _Task, prices: _Prices | None, max_tokens: int, prompt_bound: int,
                token_factor: float = 0.0, price_factor: float = 0.0) -> float:  # fmt: skip
    """The most this request may cost, as the budget reserves it (see the module's docstring)."""
    if task.model == TESSERACT or prices is None:
        return 0.0
    if task.kind == "control":
        worst = prompt_bound * prices.prompt + CONTROL_MAX_TOKENS * prices.completion + prices.request
    else:
        margin = max(task.margin, OBSERVED_TOKEN_MARGIN * token_factor)
        worst = task.image_usd * margin + prompt_bound * prices.prompt + max_tokens * prices.completion + prices.request
    return worst * max(1.0, OBSERVED_PRICE_MARGIN * price_factor)


# ---------------------------------------------------------------- the budget


class Budget:
    """What a run may still spend: billed + unknown + reserved (in flight) never above ``max_usd``.

    ``billed`` is what providers reported (or tokens at catalog prices);
    ``unknown`` is the reserves kept for requests that may have been billed
    without saying what (a reset after sending, a cut or missing answer).
    ``acquire`` waits while a request would fit once in-flight requests settle,
    and while another request of the same model is in flight before that
    model's first page answer showed its real bill (so a surprise costs one
    request); it gives up (None) when the request cannot fit even then, the
    model is blocked, or the run stops.
    """

    def __init__(self, max_usd: float) -> None:
        self.max_usd = float(max_usd)
        self.billed = 0.0
        self.unknown = 0.0
        self.reserved = 0.0
        self._in_flight: dict[str, int] = {}
        self._probed: set[str] = set()
        self.blocked: dict[str, str] = {}
        self._cond = threading.Condition()
        self.stopped = False

    @property
    def spent(self) -> float:
        return self.billed + self.unknown

    def acquire(self, model: str, worst: Callable[[], float]) -> float | None:
        """Reserve ``worst()`` (recomputed as the model's bills are seen) for one request of ``model``."""
        with self._cond:
            while True:
                if self.stopped or model in self.blocked:
                    return None
                amount = worst()
                if not amount == amount or self.spent + amount > self.max_usd + _EPS:
                    return None
                alone = model not in self._probed and self._in_flight.get(model, 0) > 0
                if not alone and self.spent + self.reserved + amount <= self.max_usd + _EPS:
                    self.reserved += amount
                    self._in_flight[model] = self._in_flight.get(model, 0) + 1
                    return amount
                self._cond.wait(timeout=0.5)

    def settle(self, model: str, reserved: float, *, billed: float = 0.0, unknown: float = 0.0, priced: bool = False) -> None:
        """Replace a reserve by what was billed and what may have been (``priced``: a page answer showed the bill)."""
        with self._cond:
            self.reserved = max(0.0, self.reserved - reserved)
            self.billed += billed
            self.unknown += unknown
            self._in_flight[model] = self._in_flight.get(model, 1) - 1
            if priced:
                self._probed.add(model)
            self._cond.notify_all()

    def block(self, model: str, reason: str) -> None:
        """Send nothing more to ``model`` (its bills broke the catalog's promise)."""
        with self._cond:
            self.blocked.setdefault(model, reason)
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self.stopped = True
            self._cond.notify_all()


# ---------------------------------------------------------------- answers


@dataclass
class _Answer:
    """What one request (with its retries) came to, ready to be stored."""

    status: str  # ok | error
    error: str | None = None
    text: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    billed_usd: float | None = None  # what the provider reported (or tokens x catalog prices)
    billed_source: str | None = None
    unknown_usd: float = 0.0  # reserves kept as spent: may have been billed, amount unknown
    paid: bool = False  # the provider may have billed it: never send again unless asked
    latency_s: float | None = None
    attempts: int = 0
    generation_id: str | None = None
    finish_reason: str | None = None
    sent: bool = False  # at least one attempt reached the socket

    @property
    def cost_status(self) -> str:
        """``unknown`` (some of it may have been billed unseen), ``billed``, or ``none`` (nothing billed)."""
        if self.unknown_usd > 0 or (self.paid and self.billed_usd is None):
            return "unknown"
        return "billed" if self.billed_usd is not None else "none"


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
                return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
            except (TypeError, ValueError, OverflowError):
                pass
    return _backoff(attempt)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


#: Bounds of a believable bill: no request has more tokens, no single page costs more.
MAX_SANE_TOKENS = 100_000_000
MAX_SANE_USD = 1_000.0


def _sane_usd(value: object) -> float | None:
    """A bill as given (a number, or text that is one), or None when it is not a believable amount of USD."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        amount = float(value)
    except OverflowError:
        return None
    return amount if math.isfinite(amount) and 0.0 <= amount <= MAX_SANE_USD else None


def _sane_tokens(value: object) -> int | None:
    """A token count: a whole number from 0 to :data:`MAX_SANE_TOKENS`, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and 0 <= value <= MAX_SANE_TOKENS:
        return value
    return None


def _usage_cost(payload: object) -> tuple[float | None, bool]:
    """(the bill in ``usage.cost``, whether a cost was given at all) of an answer's JSON."""
    usage = payload.get("usage") if isinstance(payload, dict) else None
    if not isinstance(usage, dict) or "cost" not in usage or usage.get("cost") is None:
        return None, False
    return _sane_usd(usage["cost"]), True


def _error_message(status: int, body: bytes, reason: str) -> str:
    payload = _json(body)
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:MAX_ERROR_CHARS]
        if isinstance(error, str):
            return error[:MAX_ERROR_CHARS]
    return (reason or http.client.responses.get(status, "error"))[:MAX_ERROR_CHARS]


def _read_answer(body: bytes, prices: _Prices) -> _Answer:
    """A 2xx answer: the text, the usage and the bill (None when unknown); or what is wrong with it."""
    payload = _json(body)
    if not isinstance(payload, dict):
        start = body[:40].decode("utf-8", "replace")
        return _Answer("error", error=f"malformed answer: not a JSON object (starts {start!r}); cost unknown", paid=True)
    usage = payload.get("usage") if isinstance(payload.get("usage"), dict) else {}
    prompt_tokens = _sane_tokens(usage.get("prompt_tokens"))
    completion_tokens = _sane_tokens(usage.get("completion_tokens"))
    cost, cost_given = _usage_cost(payload)
    insane = ""
    if cost is not None:
        billed, source = cost, BILLED_FROM_COST
    elif cost_given:
        billed, source = None, None
        insane = f"usage.cost {str(usage.get('cost'))[:40]!r} is not a believable amount of USD"
    elif prompt_tokens is not None and completion_tokens is not None:
        billed = prompt_tokens * prices.prompt + completion_tokens * prices.completion + prices.request
        source = BILLED_FROM_TOKENS if billed == billed else None
        billed = billed if billed == billed else None
    else:
        billed, source = None, None
        if usage:
            insane = "usage holds no believable token counts"
    answer = _Answer("error", prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, billed_usd=billed,
                     billed_source=source, paid=True,
                     generation_id=str(payload.get("id"))[:100] if payload.get("id") else None)  # fmt: skip
    choices = payload.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        error = payload.get("error")
        message = error.get("message") if isinstance(error, dict) else error
        answer.error = f"no choices in the answer{': ' + str(message)[:MAX_ERROR_CHARS] if message else ''}"
        answer.paid = bool(usage)  # an error without usage was most likely not billed: a later run may try again
        return answer
    choice = choices[0]
    answer.finish_reason = str(choice.get("finish_reason"))[:40] if choice.get("finish_reason") is not None else None
    message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
    text = _content_text(message.get("content"))
    if choice.get("finish_reason") == "content_filter" or (text is None and choice.get("error")):
        answer.error = "content filter: the provider withheld the answer"
        answer.text = text
        return answer
    answer.text = text if text is not None else ""
    if billed is None:
        answer.error = (f"billed cost unknown: {insane} (counted as its reserve)" if insane else
                        "the answer has no usage: billed cost unknown (counted as its reserve)")  # fmt: skip
        return answer
    answer.status = "ok"
    return answer


def _content_text(content: object) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # some providers answer in parts
        parts = [p.get("text") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
        return "".join(parts)
    return None


def _body(task: _Task, prompt: str, max_tokens: int) -> dict:
    content: list[dict] = [{"type": "text", "text": prompt}]
    if task.kind == "page":
        content.append({"type": "image_url", "image_url": {"url": task.page.data_url()}})
    return {
        "model": task.model,
        "messages": [{"role": "user", "content": content}],
        "max_tokens": CONTROL_MAX_TOKENS if task.kind == "control" else max_tokens,
        "temperature": 0,
    }


class _Sender:
    """Posts chat completions one attempt at a time (:mod:`vision_models.trials.client`); shared by the run's threads."""

    def __init__(self, *, base_url: str, api_key: str | None, timeout: float, retries: int, retry_window_s: float,
                 stop: threading.Event) -> None:  # fmt: skip
        self.url = f"{base_url}/chat/completions"
        self.api_key = api_key
        self.timeout = timeout
        self.retries = retries
        self.retry_window_s = retry_window_s
        self.stop = stop
        self.watchdog = sending.Watchdog()
        self.requests = 0
        self._lock = threading.Lock()

    def post(self, data: bytes) -> sending.Outcome:
        headers = {"Content-Type": "application/json", "X-Title": "vision_models trial"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        outcome = sending.post(self.url, data, headers, timeout=self.timeout, connect_timeout=CONNECT_TIMEOUT,
                               watchdog=self.watchdog)  # fmt: skip
        if outcome.phase != sending.NOT_SENT:
            with self._lock:
                self.requests += 1
        return outcome

    def abort(self) -> None:
        """Abandon every request in flight (their rows become ``unknown`` cost) and send no more."""
        self.stop.set()
        self.watchdog.abort()


# ---------------------------------------------------------------- the run


@dataclass
class Trial:
    """A finished (or interrupted) run: ``results`` (one row per page and model) and :meth:`summary`.

    ``billed_usd`` is what providers reported; ``unknown_usd`` the reserves
    kept for requests that may have been billed without a known amount;
    ``budget_usd`` what this run was allowed to spend (``max_usd``, less what
    earlier runs of the same plan spent of the same budget).
    """

    run_id: str
    results: pd.DataFrame
    prompt: str
    max_usd: float
    billed_usd: float
    requests_sent: int
    trials_path: str = ""
    truth: dict[str, str] = field(default_factory=dict, repr=False)
    unknown_usd: float = 0.0
    budget_usd: float = float("nan")

    def summary(self) -> pd.DataFrame:
        """One row per model: pages ok / failed, cost per page, estimate / billed, latency, CER and WER."""
        return summarise(self.results)

    def __repr__(self) -> str:
        counts = self.results["status"].value_counts().to_dict() if not self.results.empty else {}
        unknown = f" + ${self.unknown_usd:.6f} of unknown cost" if self.unknown_usd > 0 else ""
        budget = self.budget_usd if self.budget_usd == self.budget_usd else self.max_usd
        of = f"${budget:.6g} left of ${self.max_usd:.6g}" if budget < self.max_usd - _EPS else f"${self.max_usd:.6g}"
        return (f"Trial({self.run_id!r}, {len(self.results)} rows {counts}, billed ${self.billed_usd:.6f}{unknown} "
                f"of {of}, {self.requests_sent} requests sent)")  # fmt: skip

    def _repr_html_(self) -> str:
        return no_math(f"<p>{html.escape(repr(self))}</p>" + self.summary().to_html(escape=True, index=False))


class TrialStoreError(store.sqlite.StoreUnavailable):
    """Answers that were billed could not be recorded in the trials store; ``rows`` holds them."""

    def __init__(self, message: str, rows: list[dict]) -> None:
        super().__init__(message)
        self.rows = rows


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
        raise ValueError("no OpenRouter API key: set OPENROUTER_API_KEY or pass api_key= (a dry run and 'tesseract' need none)")
    run = _prepare(pages, chosen, prompt=prompt, max_tokens=max_tokens, output_tokens=output_tokens, dpi=dpi,
                   max_side=max_side, catalog=catalog, source=source, base_url=base_url, api_key=key,
                   cache_path=cache_path, lang=lang)  # fmt: skip
    from .pages import load_truth

    truths = load_truth(truth, run.pages) if truth is not None else {}
    run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]
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


#: The most requests a run keeps in flight.
MAX_CONCURRENCY = 64
#: The longest time-out or retry window a run accepts (seconds): a day.
MAX_SECONDS = 86_400.0
#: The largest budget a run accepts (USD).
MAX_BUDGET_USD = 1_000_000.0


def _check_number(name: str, value: object, *, high: float, unit: str, above_zero: bool = False) -> None:
    """A real number from 0 (or above it) to ``high``; else a one-line ``ValueError`` naming it."""
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
    if ok:
        try:
            number = float(value)  # type: ignore[arg-type]
            ok = (number > 0 if above_zero else number >= 0) and number <= high
        except OverflowError:
            ok = False
    if not ok:
        low = "above 0" if above_zero else "from 0"
        raise ValueError(f"bad {name} {_shown(value)}: expected a number of {unit} {low} to {high:,.0f}")


def _shown(value: object) -> str:
    """A bad value as a message quotes it: its repr, cut at 40 characters (a 400-digit number is not printed)."""
    if isinstance(value, int) and abs(value) >= 10**40:
        return "a number with over 40 digits"
    return f"{value!r:.40}"


def _plan_sha(run: _Run) -> str:
    """What identifies a plan across its runs: the keys of the requests it makes."""
    return hashlib.sha256("\n".join(sorted({t.key for t in run.tasks})).encode("ascii")).hexdigest()


def _warn_retry_unknown(run: _Run, db: store.TrialStore, key: str | None) -> None:
    """Say how many rows of unknown cost will be sent again, and the most that may cost."""
    unknown = db.unknown_keys([t.key for t in run.tasks])
    if not unknown:
        return
    tasks = {t.key: t for t in run.tasks if t.key in unknown}
    worst = sum(_worst_case(t, run.prices.get(t.model), int(run.params["max_tokens"]), run.prompt_bound) for t in tasks.values())
    warnings.warn(f"retry_unknown: sending again {len(tasks)} request{'s' if len(tasks) != 1 else ''} that may have been "
                  f"billed already; they may spend up to ${_amount(worst)} more (within the budget)", stacklevel=3)  # fmt: skip


def _amount(usd: float) -> str:
    """USD with six significant digits, written out: 0.0000421 (never 0.000000, never 4.21e-05)."""
    return str(np.format_float_positional(usd, precision=6, unique=False, fractional=False, trim="-"))


#: Seconds a stopped run waits for its requests in flight to be abandoned and recorded.
STOP_GRACE_S = 1.5


def _execute(run: _Run, db: store.TrialStore, worker: _Worker, budget: Budget, stop: threading.Event, *, run_id: str,
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
    bar = _progress_bar(sum(t.kind == "page" for t in run.tasks), progress)
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


def _finish_run(db: store.TrialStore, worker: _Worker, run_id: str, *, state: str, budget: Budget, requests: int) -> None:
    """Close the run in the store: its totals, and claims still in flight recorded as ``unknown`` cost."""
    worker.flush()
    try:
        db.finish_run(run_id, state=state, billed_usd=round(budget.billed, 12), unknown_usd=round(budget.unknown, 12),
                      requests=requests)  # fmt: skip
    except (sqlite3.Error, OSError, ValueError) as exc:
        if worker.save_error is None:
            worker.save_error = exc


def _identity(task: _Task) -> dict[str, Any]:
    """The fields that name a task's page (a stored row may have been made for an identical file of another name)."""
    return {name: task.fields.get(name) for name in ("page", "path", "page_index")}


def _followers(followers: list[_Task], leads: dict[str, _Task], rows: dict[int, dict]) -> dict[int, dict]:
    """Rows of pages identical to an earlier one: the earlier row's answer, shown under their own name, not paid again."""
    out: dict[int, dict] = {}
    for task in followers:
        lead = rows.get(leads[task.key].position)
        if lead is None:
            continue
        status = "cached" if lead["status"] in ("ok", "cached") else lead["status"]
        out[task.position] = {**lead, **_identity(task), "status": status, "_kind": task.kind, "duplicate_of": lead.get("page")}
    return out


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM stops a run as Ctrl-C does (on the main thread, where no one else handles it)."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None):
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


#: How long a row's save is retried (seconds) before the run stops.
SAVE_RETRY_S = 5.0


class _Worker:
    """Runs one task on a pool thread: reserve, claim, send (or OCR), settle, store."""

    def __init__(self, run: _Run, db: store.TrialStore, budget: Budget, sender: _Sender, *, run_id: str, max_tokens: int,
                 lease: float, lang: str, key: str | None, retry_unknown: bool = False) -> None:  # fmt: skip
        self.run, self.db, self.budget, self.sender = run, db, budget, sender
        self.run_id, self.max_tokens, self.lease, self.lang, self.key = run_id, max_tokens, lease, lang, key
        self.retry_unknown = retry_unknown
        self._factors: dict[str, tuple[float, float]] = {}  # model -> (image token factor, price factor) seen
        self._controls: dict[str, int] = {}  # model -> control prompt tokens
        self._lock = threading.Lock()
        self.unsaved: list[tuple[dict, int, str]] = []  # rows whose save failed: (row, position, status)
        self.save_error: BaseException | None = None

    def __call__(self, task: _Task) -> dict:
        if self.budget.stopped:
            return self._finish(task, _Answer("error", error="not sent: the run was interrupted"), "error", store_row=False)
        if task.model == TESSERACT:
            claim = self.db.claim(task.key, self.run_id, task.fields, self.lease)
            if claim.row is not None or claim.busy_run is not None:
                return self._claimed_elsewhere(task, claim)
            return self._finish(task, self._ocr(task), None)
        prices = self.run.prices[task.model]
        return self._send(task, prices)

    def _send(self, task: _Task, prices: _Prices) -> dict:
        """Reserve, claim, then attempt (retrying what may be retried, each retry reserved anew)."""
        page = task.kind == "page"
        answer = _Answer("error")
        billed, billed_any, unknown, attempts, sent = 0.0, False, 0.0, 0, False
        start = time.monotonic()
        window_end = start + self.sender.retry_window_s
        reserved_total = 0.0
        try:  # the page is drawn here: a file that cannot be read costs nothing and holds no reserve
            data = json.dumps(_body(task, self.run.prompt, self.max_tokens)).encode("utf-8")
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
                claim = self.db.claim(task.key, self.run_id, {**task.fields, "reserved_usd": reserved}, self.lease,
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
            cost, given = _usage_cost(_json(outcome.body))
            if given and cost is None:  # a cost we cannot read: it may be anything up to the reserve
                self.budget.settle(task.model, reserved, unknown=reserved)
                unknown += reserved
            else:
                self.budget.settle(task.model, reserved, billed=cost or 0.0)
                if cost:
                    billed += cost
                    billed_any = True
            answer = _Answer("error", error=f"{outcome.status}: {_error_message(outcome.status, outcome.body, '')}",
                             latency_s=outcome.latency_s)  # fmt: skip
            if outcome.status in RETRY_STATUSES and self._may_retry(attempts, window_end,
                                                                    _retry_after(outcome.headers, attempts)):  # fmt: skip
                continue
            break
        answer.billed_usd = billed if billed_any else None
        answer.billed_source = answer.billed_source if answer.billed_source else (BILLED_FROM_COST if billed_any else None)
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

    def _not_reserved(self, task: _Task, prices: _Prices) -> dict:
        if self.budget.stopped:
            return self._finish(task, _Answer("error", error="not sent: the run was interrupted"), "error", store_row=False)
        return self._finish(task, _Answer("error", error=self._why_not(task, prices)), "skipped-budget")

    def _why_not(self, task: _Task, prices: _Prices) -> str:
        if self.budget.stopped:
            return "the run was interrupted"
        if task.model in self.budget.blocked:
            return self.budget.blocked[task.model]
        worst = self._worst(task, prices)
        if worst != worst:
            return "the catalog gives no price for this model: cannot reserve"
        left = max(0.0, self.budget.max_usd - self.budget.spent)
        return f"worst case ${worst:.6f} does not fit the budget (${left:.6f} left)"

    def _claimed_elsewhere(self, task: _Task, claim: store.Claim) -> dict:
        if claim.row is not None:  # another run finished it meanwhile (or it was left of unknown cost)
            self.db.note(self.run_id, task.key, task.position, "cached", task.fields["page"], task.fields["path"])
            return {**claim.row, "status": "cached", "_kind": task.kind, **_identity(task)}
        answer = _Answer("error", error=f"being sent by run {claim.busy_run}; run again to collect it")
        return self._finish(task, answer, "error", store_row=False)

    def know_controls(self, rows) -> None:
        """Control answers already stored: their prompt tokens measure the next pages' image tokens."""
        for row in rows:
            if row.get("_kind") == "control" and row.get("prompt_tokens") is not None:
                self._controls[row["model"]] = int(row["prompt_tokens"])

    def _worst(self, task: _Task, prices: _Prices) -> float:
        token_factor, price_factor = self._factors.get(task.model, (0.0, 0.0))
        return _worst_case(task, prices, self.max_tokens, self.run.prompt_bound, token_factor, price_factor)

    def _learn(self, task: _Task, prices: _Prices, answer: _Answer) -> None:
        """Grow the model's reserves by what its bills showed beyond the catalog; stop a 'free' model that bills."""
        with self._lock:
            token_factor, price_factor = self._factors.get(task.model, (0.0, 0.0))
            if answer.prompt_tokens is not None and answer.unknown_usd == 0:
                if task.kind == "control":
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

    def _ocr(self, task: _Task) -> _Answer:
        from .tesseract import read_page

        start = time.monotonic()
        try:
            text = read_page(task.page, lang=self.lang)
        except (RuntimeError, ValueError, OSError) as exc:
            return _Answer("error", error=str(exc)[:MAX_ERROR_CHARS], latency_s=time.monotonic() - start)
        return _Answer("ok", text=text, billed_usd=0.0, billed_source="local", paid=True, latency_s=time.monotonic() - start,
                       attempts=1)  # fmt: skip

    def crashed(self, task: _Task, exc: BaseException) -> dict:
        """A task that raised: recorded as an error; if it may have been sent, its cost is unknown."""
        error = f"internal error: {type(exc).__name__}: {str(exc)[:200]}"
        try:
            return self._finish(task, _Answer("error", error=error), "error", store_row=False)
        except Exception:
            return {**task.fields, "key": task.key, "status": "error", "error": error, "run_id": self.run_id, "_kind": task.kind}

    def _finish(self, task: _Task, answer: _Answer, status: str | None, *, reserved: float = 0.0, store_row: bool = True) -> dict:
        status = status or answer.status
        row = {
            **task.fields,
            "key": task.key,
            "status": status,
            "done": int(answer.status == "ok" or answer.paid),
            "error": answer.error,
            "text": answer.text,
            "prompt_tokens": answer.prompt_tokens,
            "completion_tokens": answer.completion_tokens,
            "billed_usd": answer.billed_usd,
            "billed_source": answer.billed_source,
            "unknown_usd": answer.unknown_usd or None,
            "cost_status": answer.cost_status,
            "reserved_usd": reserved,
            "latency_s": answer.latency_s,
            "attempts": answer.attempts,
            "generation_id": answer.generation_id,
            "finish_reason": answer.finish_reason,
            "finished_at": time.time(),
        }
        row = _redacted(row, self.key)
        if store_row:
            self._save(row, task.position, status)
        else:
            self._note(task, status)
        return {**row, "run_id": self.run_id, "_kind": task.kind}

    def _note(self, task: _Task, status: str) -> None:
        try:
            self.db.note(self.run_id, task.key, task.position, status, task.fields["page"], task.fields["path"])
        except (sqlite3.Error, OSError, ValueError):
            pass  # a note records no money: the row stays unsent and is sent by the next run

    def _save(self, row: dict, position: int, status: str) -> None:
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
        money = sum((r.get("billed_usd") or 0.0) + (r.get("unknown_usd") or 0.0) for r in rows)
        lost = (f"; {len(rows)} answer{'s' if len(rows) != 1 else ''} (${money:.6f}) could not be stored: see the error's .rows"
                if rows else "; every answer was stored in the end")  # fmt: skip
        return TrialStoreError(f"the trial stopped: cannot record results in {self.db.path}: {reason}{lost}", rows)


def _redact(text: str | None, key: str | None) -> str | None:
    if text is None or not key:
        return text
    return text.replace(key, "[redacted]")


def _redacted(row: dict[str, Any], key: str | None) -> dict[str, Any]:
    """The row with the key taken out of every text field (an answer's id or text may echo it)."""
    if not key:
        return row
    return {name: _redact(value, key) if isinstance(value, str) else value for name, value in row.items()}


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, progress: bool | None):
    """tqdm.auto's bar (a widget in Jupyter, stderr on a terminal); nothing when off or not interactive."""
    if progress is None:
        progress = sys.stderr.isatty() or _in_jupyter()
    if not progress:
        return _NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, desc="trial", unit="page")


def _in_jupyter() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    ip = shell.get_ipython() if hasattr(shell, "get_ipython") else None
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


# ---------------------------------------------------------------- results


def results_frame(rows: Sequence[dict], *, run_id: str, truths: Mapping[str, str] | None = None, casefold: bool = False) -> pd.DataFrame:
    """The page rows as the ``results`` frame (controls give measured image tokens, then are left out)."""
    controls = {r["model"]: r.get("prompt_tokens") for r in rows if r.get("_kind", r.get("kind")) == "control"
                and r.get("prompt_tokens") is not None and r.get("error") is None}  # fmt: skip
    pages = [r for r in rows if r.get("_kind", r.get("kind")) == "page"]
    truths = truths or {}
    cers, wers, measured = [], [], []
    if truths:
        from .accuracy import cer, wer
    for row in pages:
        control = controls.get(row["model"])
        measured.append(row["prompt_tokens"] - control if control is not None and row.get("prompt_tokens") is not None
                        and row["model"] != TESSERACT else None)  # fmt: skip
        truth = truths.get(row["page"])
        text = row.get("text")
        readable = truth is not None and isinstance(text, str) and row.get("error") is None
        cers.append(cer(truth, text, casefold=casefold) if readable else np.nan)
        wers.append(wer(truth, text, casefold=casefold) if readable else np.nan)
    data = {
        "run_id": [run_id] * len(pages),
        **{name: [r.get(name) for r in pages] for name in RESULT_COLUMNS if name not in ("run_id", "measured_image_tokens", "cer", "wer")},
        "measured_image_tokens": measured,
        "cer": cers,
        "wer": wers,
    }
    frame = pd.DataFrame({name: data[name] for name in RESULT_COLUMNS})
    frame["finished_at"] = pd.to_datetime(pd.Series(frame["finished_at"], dtype="float64"), unit="s", utc=True)
    for name in ("billed_usd", "unknown_usd", "estimated_usd", "latency_s", "cer", "wer"):
        frame[name] = pd.to_numeric(pd.Series(frame[name], dtype="object"), errors="coerce").astype("float64")
    for name in ("width_px", "height_px", "prompt_tokens", "completion_tokens", "estimated_image_tokens", "measured_image_tokens"):
        frame[name] = pd.array([None if v is None or v != v else int(v) for v in frame[name].tolist()], dtype="Int64")
    frame = frame.astype({name: dtype for name, dtype in RESULT_COLUMNS.items() if dtype in ("str",)})
    frame["finished_at"] = frame["finished_at"].astype("datetime64[ns, UTC]")
    return frame


SUMMARY_COLUMNS = (
    "model", "pages_ok", "pages_failed", "pages_skipped", "usd_per_page", "usd_per_1k_pages", "estimated_usd_per_page",
    "estimate_ratio",
    "estimated_image_tokens", "measured_image_tokens", "latency_p50_s", "latency_p95_s", "cer_mean", "wer_mean",
    "billed_usd", "unknown_usd",
)  # fmt: skip


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """One row per model (in the order first seen): how many pages, what a page cost, how well it read.

    ``usd_per_page`` is the mean bill over the pages with an answer (cached
    ones included: what the page cost when it was sent); ``estimate_ratio`` is
    the summed estimate over the summed bill of those pages (above 1: the
    estimate was too high); latency percentiles are over the answered pages.
    """
    if results.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in SUMMARY_COLUMNS})
    answered = results["status"].isin(["ok", "cached"]) & results["error"].isna()
    failed = results["status"].eq("error") | (results["status"].eq("cached") & results["error"].notna())
    skipped = results["status"].eq("skipped-budget")
    frame = results.assign(_ok=answered, _failed=failed, _skipped=skipped)
    records = []
    for model, group in frame.groupby("model", sort=False):
        ok = group[group["_ok"]]
        sent = group[~group["status"].eq("cached")]  # what this run spent on the model (cached rows were paid before)
        billed = ok["billed_usd"].dropna()
        estimated = ok.loc[ok["billed_usd"].notna(), "estimated_usd"]
        usd = float(billed.mean()) if len(billed) else np.nan
        ratio = float(estimated.sum() / billed.sum()) if len(billed) and billed.sum() > 0 else np.nan
        latency = ok["latency_s"].dropna().to_numpy(dtype="float64")
        records.append((
            model, int(group["_ok"].sum()), int(group["_failed"].sum()), int(group["_skipped"].sum()), usd,
            usd * 1000 if usd == usd else np.nan, float(estimated.mean()) if len(estimated) else np.nan, ratio,
            _median(ok["estimated_image_tokens"]), _median(ok["measured_image_tokens"]),
            float(np.percentile(latency, 50)) if len(latency) else np.nan,
            float(np.percentile(latency, 95)) if len(latency) else np.nan,
            float(ok["cer"].mean()) if ok["cer"].notna().any() else np.nan,
            float(ok["wer"].mean()) if ok["wer"].notna().any() else np.nan,
            float(sent["billed_usd"].sum()), float(sent["unknown_usd"].sum()),
        ))  # fmt: skip
    summary = pd.DataFrame.from_records(records, columns=list(SUMMARY_COLUMNS))
    return summary.astype({"model": "str", "pages_ok": "int64", "pages_failed": "int64", "pages_skipped": "int64"})


def _median(column: pd.Series) -> float:
    values = column.dropna().to_numpy(dtype="float64")
    return float(np.median(values)) if len(values) else np.nan


# ---------------------------------------------------------------- stored runs and measurements


def load_trial(run_id: str, *, trials_path: str | os.PathLike | None = None, truth: Any = None) -> Trial:
    """A stored run as a :class:`Trial` (its rows as they are now in the store; CER / WER need ``truth``)."""
    rows = store.run_rows(run_id, trials_path)
    runs = store.list_runs(trials_path)
    info = runs.loc[runs["run_id"] == run_id].iloc[0]
    for row in rows:
        row["status"] = row.pop("run_status")
        row["_kind"] = "page"
        if row["status"] not in ("ok", "cached") and row["run_id"] != run_id:  # a later run has answered it since
            row.update(text=None, prompt_tokens=None, completion_tokens=None, billed_usd=None, billed_source=None,
                       latency_s=None, error=f"{row['status']} in this run; answered since by run {row['run_id']}")  # fmt: skip
    controls = [dict(model=m, prompt_tokens=t, _kind="control", error=None) for m, t in store.controls_for_run(run_id, trials_path)]
    truths = {}
    if truth is not None:
        from .pages import load_truth

        truths = _truth_by_name(truth, rows, load_truth)
    results = results_frame(controls + rows, run_id=run_id, truths=truths)
    max_usd = float(info["max_usd"]) if info["max_usd"] == info["max_usd"] else float("nan")
    return Trial(run_id, results, store.run_prompt(run_id, trials_path), max_usd, float(info["billed_usd"]),
                 int(info["requests"]), str(store.get_trials_path(trials_path)), truths,
                 unknown_usd=float(info["unknown_usd"]), budget_usd=float(info["budget_usd"]))  # fmt: skip


def _truth_by_name(truth: Any, rows: Sequence[dict], load_truth) -> dict[str, str]:
    """Ground truth for stored rows: a dict keyed by page name, or a folder read for stand-in pages."""
    if isinstance(truth, Mapping):
        return {str(k): v for k, v in truth.items()}
    stand_ins = {r["page"]: Page(r["page"], r["path"], r["page_index"], r["page_sha256"], b"", "", 1, 1) for r in rows}
    return load_truth(truth, list(stand_ins.values()))


def measured_image_tokens(*, trials_path: str | os.PathLike | None = None, models: Sequence[str] | None = None) -> pd.DataFrame:
    """Per model and size sent: the median measured image tokens (billed prompt tokens minus the control's).

    ``estimate_ratio`` is the median estimate over the median measurement at
    that size (above 1: the estimator counts too many). Read-only: with no
    trials store, an empty frame (no file is created).
    """
    return store.measurements(trials_path, models=models)


# ---------------------------------------------------------------- display helpers


def side_by_side_html(trial: Trial, truth: Mapping[str, str] | None = None, *, limit: int = 2000) -> str:
    """The texts of each page side by side (and the truth: given, else the trial's), every remote text escaped.

    MathJax leaves it alone: a "$" in a page's text stays a dollar sign.
    """
    results = trial.results
    truth = truth if truth is not None else trial.truth
    models = list(dict.fromkeys(results["model"].tolist()))
    head = "".join(f"<th{_LEFT}>{html.escape(m)}</th>" for m in (["truth"] if truth else []) + models)
    body = []
    for page, group in results.groupby("page", sort=False):
        by_model = dict(zip(group["model"].tolist(), group.itertuples(index=False)))
        cells = []
        if truth:
            cells.append(_cell(truth.get(page, ""), limit, None))
        for model in models:
            row = by_model.get(model)
            if row is None:
                cells.append("<td></td>")
            elif isinstance(row.error, str):
                cells.append(f"<td{_LEFT}><em>{html.escape(row.status)}: {html.escape(row.error)}</em></td>")
            else:
                cells.append(_cell(row.text or "", limit, row.cer))
        body.append(f"<tr><th{_LEFT}>{html.escape(str(page))}</th>{''.join(cells)}</tr>")
    return no_math(f"<table><tr><th{_LEFT}>page</th>{head}</tr>{''.join(body)}</table>")


# Transcripts read as text: left-aligned from the top of the cell (notebooks right-align table cells), in monospace.
_LEFT = " style='text-align: left; vertical-align: top'"
_PRE = "white-space: pre-wrap; text-align: left; font-family: monospace; max-width: 40em"


def _cell(text: str, limit: int, cer: float | None) -> str:
    shown = text if len(text) <= limit else text[:limit] + "…"
    score = f"<br><small>CER {cer:.3f}</small>" if cer is not None and cer == cer else ""
    return f"<td{_LEFT}><pre style='{_PRE}'>{html.escape(shown)}</pre>{score}</td>"

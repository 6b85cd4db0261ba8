"""Trials: send your pages to the models you picked, and record what was billed, how long it took, what came back.

>>> plan = vm.estimate_trial(pages, models, prompt=PROMPT)      # dry run: nothing is sent
>>> trial = vm.run_trial(pages, models, prompt=PROMPT, truth="truth/", max_usd=0.50)
>>> trial.results, trial.summary()

Sending
    ``POST {base}/chat/completions``, one user message holding the prompt and
    the page as a base64 ``image_url`` data URL, ``temperature`` 0 and a
    ``max_tokens`` bound. ``concurrency`` requests at once (a thread pool). 408,
    429 and 5xx answers and refused connections are retried (``retries`` times,
    waiting ``Retry-After`` when given, else 1, 2, 4 s...) within
    ``retry_window_s`` in all; each request waits ``timeout`` seconds at most for
    its answer and is not retried after that (it may have been billed). A
    model's own failure (400, 402, 404, a content filter, no choices, malformed
    JSON, no usage) is recorded on its rows; the other models go on.

The budget (``max_usd``, default 1.00 USD)
    Before a request is sent, its worst case is reserved against the budget,
    alongside what is already billed and what is still in flight::

        worst = (image estimate x margin + prompt bound x prompt price)
                + max_tokens x completion price + request fee

    ``margin`` is 1.5 where the family's rule is known (:data:`MARGIN`) and 3
    where it is uncertain or unknown (:data:`UNCERTAIN_MARGIN`); the prompt
    bound is its UTF-8 bytes + 32 (a token is at least one byte; 32 covers the
    message wrapping). Once a model has answered, its reserve grows when its
    bills showed more image tokens or higher prices than the catalog's
    (x 1.25 / x 1.1 over what was seen), and a model's first page request is
    sent alone, before any other of that model, so a surprise costs one
    request, not ``concurrency`` of them. A request that cannot fit even once
    everything in flight is settled is ``skipped-budget``; sending stops once
    nothing fits. After an answer, the reserve is replaced by the bill
    (``usage.cost``, else the tokens at catalog prices); an answer whose cost is
    unknown (no usage, malformed, timed out) keeps its whole reserve as spent.
    The guarantee: the sum of bills stays within ``max_usd`` as long as each
    bill is within its reserve, which the margins are there to ensure.

Storage and resume
    Every row is committed to the trials store (:mod:`vision_models.stores.trials`)
    as it completes, keyed by (page content hash, model, prompt, parameters).
    A row that succeeded, or that a provider may have billed, is never sent
    again: a second run shows it as ``cached``. An interrupted run resumes
    where it stopped. The key, headers and image bytes are never stored.

Measured image tokens
    One text-only control request per (model, prompt) (the same message
    without the image, ``max_tokens`` 16) is sent, stored and reused; a page's
    measured image tokens are its billed prompt tokens minus the control's.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import os
import random
import sys
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd
import requests
from requests.adapters import HTTPAdapter

from .fetch import get_api_key, get_base_url
from .pages import Page
from .stores import trials as store

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
    "estimated_image_tokens", "estimated_usd", "worst_case_usd", "cached",
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
) -> pd.DataFrame:
    """A dry run: one row per (page, model) with the estimate and the worst case the budget would reserve.

    Nothing is sent and no key is needed. ``cached`` marks rows the trials
    store already holds (they would cost nothing). ``.attrs`` holds the totals
    over the rows to send, the control requests' worst case, and the budget
    (``max_usd``) when given.
    """
    run = _prepare(pages, models, prompt=prompt, max_tokens=max_tokens, output_tokens=output_tokens, dpi=dpi,
                   max_side=max_side, catalog=catalog, source=source, base_url=base_url, api_key=api_key,
                   cache_path=cache_path)  # fmt: skip
    done = store.done_keys([t.key for t in run.tasks], trials_path)
    records = []
    control_worst = 0.0
    for task in run.tasks:
        worst = _worst_case(task, run.prices.get(task.model), max_tokens, run.prompt_bound)
        if task.kind == "control":
            control_worst += 0.0 if task.key in done else worst
            continue
        page = task.page
        records.append((page.name, page.sha256, page.width_px, page.height_px, task.model, task.method, task.uncertain,
                        task.estimated_image_tokens, task.estimated_usd, worst, task.key in done))  # fmt: skip
    plan = pd.DataFrame.from_records(records, columns=list(PLAN_COLUMNS))
    plan = plan.astype({"page": "str", "page_sha256": "str", "width_px": "int64", "height_px": "int64", "model": "str",
                        "method": "str", "uncertain": "bool", "estimated_image_tokens": "Int64",
                        "estimated_usd": "float64", "worst_case_usd": "float64", "cached": "bool"})  # fmt: skip
    to_send = ~plan["cached"].to_numpy(dtype=bool)
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


def _check_count(name: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"bad {name} {value!r}: expected a whole number >= {minimum}")


def _load(pages: Any, *, dpi: int, max_side: int) -> list[Page]:
    """Page objects as given, paths scanned with :func:`vision_models.pages.scan_pages` (rendered when sent)."""
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
    from .cost import check_model_ids

    if not remote:
        return pd.DataFrame()
    if catalog is None:
        from .catalog import fetch_catalog

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
    from .cost import cost_per_image

    out: dict[tuple[str, int, int], tuple[float, float, float, str, bool]] = {}
    if not remote:
        return out
    for width, height in sorted(sizes):
        costs = cost_per_image(table, width, height, prompt_tokens=text_tokens, output_tokens=output_tokens)
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
    """What a run may still spend: billed + reserved (in flight) never above ``max_usd``.

    ``acquire`` waits while a request would fit once in-flight requests settle,
    and while a model's first page request is in flight (its probe); it gives
    up (None) when the request cannot fit even then, or the run stops.
    """

    def __init__(self, max_usd: float) -> None:
        self.max_usd = float(max_usd)
        self.billed = 0.0
        self.reserved = 0.0
        self._in_flight: dict[str, int] = {}
        self._probed: set[str] = set()
        self._cond = threading.Condition()
        self.stopped = False

    def acquire(self, model: str, worst, *, probe: bool) -> float | None:
        """Reserve ``worst()`` (recomputed as the model's bills are seen) for one request of ``model``."""
        with self._cond:
            while True:
                if self.stopped:
                    return None
                amount = worst()
                if not amount == amount or self.billed + amount > self.max_usd + _EPS:
                    return None
                waiting_probe = probe and model not in self._probed and self._in_flight.get(model, 0) > 0
                if not waiting_probe and self.billed + self.reserved + amount <= self.max_usd + _EPS:
                    self.reserved += amount
                    if probe:  # only page requests count: a control in flight does not hold back the probe
                        self._in_flight[model] = self._in_flight.get(model, 0) + 1
                    return amount
                self._cond.wait(timeout=0.5)

    def settle(self, model: str, reserved: float, charged: float, *, probe: bool) -> None:
        """Replace a reserve by what was (or may have been) charged."""
        with self._cond:
            self.reserved = max(0.0, self.reserved - reserved)
            self.billed += charged
            if probe:
                self._in_flight[model] = self._in_flight.get(model, 1) - 1
                self._probed.add(model)
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self.stopped = True
            self._cond.notify_all()


# ---------------------------------------------------------------- sending


@dataclass
class _Answer:
    """What one request came to, ready to be stored."""

    status: str  # ok | error
    error: str | None = None
    text: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    billed_usd: float | None = None
    billed_source: str | None = None
    charged: float = 0.0  # what the budget counts as spent
    paid: bool = False  # the provider may have billed it: never send again
    latency_s: float | None = None
    attempts: int = 0
    generation_id: str | None = None


class _Sender:
    """Posts chat completions with retries; shared by the pool's threads."""

    def __init__(self, *, base_url: str, api_key: str | None, timeout: float, retries: int, retry_window_s: float,
                 concurrency: int, stop: threading.Event) -> None:  # fmt: skip
        self.url = f"{base_url}/chat/completions"
        self.api_key = api_key
        self.timeout = timeout
        self.retries = retries
        self.retry_window_s = retry_window_s
        self.stop = stop
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(concurrency, 1), max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.requests = 0
        self._lock = threading.Lock()

    def close(self) -> None:
        self.session.close()

    def send(self, body: dict, prices: _Prices, reserved: float) -> _Answer:
        """One request, retried on 408/429/5xx/refused connections; never raises for the server's faults."""
        data = json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json", "X-Title": "vision_models trial"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        start = time.monotonic()
        deadline = start + self.retry_window_s
        charged = 0.0
        attempt = 0
        while True:
            attempt += 1
            with self._lock:
                self.requests += 1
            sent = time.monotonic()
            try:
                response = self.session.post(self.url, data=data, headers=headers, timeout=(CONNECT_TIMEOUT, self.timeout))
            except requests.exceptions.ConnectionError as exc:  # refused, reset, or no connection in time: never served
                wait = _backoff(attempt)
                if attempt <= self.retries and time.monotonic() + wait < deadline and not self.stop.wait(wait):
                    continue
                return _Answer("error", error=f"network error: {type(exc).__name__}", charged=charged, attempts=attempt,
                               latency_s=time.monotonic() - sent)  # fmt: skip
            except requests.exceptions.Timeout:
                # The request may have been served and billed: keep the reserve as spent, do not resend now.
                return _Answer("error", error=f"no answer within {self.timeout:g} s (timed out)", charged=reserved,
                               attempts=attempt, latency_s=time.monotonic() - sent)  # fmt: skip
            except requests.exceptions.RequestException as exc:
                return _Answer("error", error=f"request failed: {type(exc).__name__}", charged=charged, attempts=attempt)
            latency = time.monotonic() - sent
            status = response.status_code
            if 200 <= status < 300:
                answer = _read_answer(response, prices, reserved)
                answer.charged += charged
                answer.latency_s, answer.attempts = latency, attempt
                return answer
            extra = _error_cost(response)  # an error that carries usage.cost is counted, conservatively
            charged += extra
            if status in RETRY_STATUSES and attempt <= self.retries:
                wait = _retry_after(response, attempt)
                if time.monotonic() + wait < deadline and not self.stop.wait(wait):
                    continue
            return _Answer("error", error=f"{status}: {_error_message(response)}", charged=charged, paid=extra > 0,
                           billed_usd=extra or None, billed_source=BILLED_FROM_COST if extra else None,
                           latency_s=latency, attempts=attempt)  # fmt: skip


def _backoff(attempt: int) -> float:
    return min(2.0 ** (attempt - 1), 30.0) * (0.75 + 0.5 * random.random())


def _retry_after(response: requests.Response, attempt: int) -> float:
    """Seconds to wait: ``Retry-After`` (seconds or an HTTP date), else exponential back-off."""
    value = response.headers.get("Retry-After")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            from email.utils import parsedate_to_datetime

            try:
                when = parsedate_to_datetime(value)
                return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
            except (TypeError, ValueError):
                pass
    return _backoff(attempt)


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error_cost(response: requests.Response) -> float:
    payload = _json(response)
    usage = payload.get("usage") if isinstance(payload, dict) else None
    cost = usage.get("cost") if isinstance(usage, dict) else None
    return float(cost) if _is_number(cost) and cost > 0 else 0.0


def _error_message(response: requests.Response) -> str:
    payload = _json(response)
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:MAX_ERROR_CHARS]
        if isinstance(error, str):
            return error[:MAX_ERROR_CHARS]
    return (response.reason or "error")[:MAX_ERROR_CHARS]


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _read_answer(response: requests.Response, prices: _Prices, reserved: float) -> _Answer:
    """A 2xx answer: the text, the usage and the bill; or what is wrong with it."""
    payload = _json(response)
    if not isinstance(payload, dict):
        start = response.content[:40].decode("utf-8", "replace")
        return _Answer("error", error=f"malformed answer: not a JSON object (starts {start!r})", charged=reserved, paid=True)
    usage = payload.get("usage") if isinstance(payload.get("usage"), dict) else {}
    prompt_tokens = usage.get("prompt_tokens") if _is_number(usage.get("prompt_tokens")) else None
    completion_tokens = usage.get("completion_tokens") if _is_number(usage.get("completion_tokens")) else None
    cost = usage.get("cost")
    if _is_number(cost) and cost >= 0:
        billed, source = float(cost), BILLED_FROM_COST
    elif prompt_tokens is not None and completion_tokens is not None:
        billed = prompt_tokens * prices.prompt + completion_tokens * prices.completion + prices.request
        source = BILLED_FROM_TOKENS if billed == billed else None
        billed = billed if billed == billed else None
    else:
        billed, source = None, None
    answer = _Answer("error", prompt_tokens=_int(prompt_tokens), completion_tokens=_int(completion_tokens),
                     billed_usd=billed, billed_source=source, charged=reserved if billed is None else billed, paid=True,
                     generation_id=str(payload.get("id"))[:100] if payload.get("id") else None)  # fmt: skip
    choices = payload.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        error = payload.get("error")
        message = error.get("message") if isinstance(error, dict) else error
        answer.error = f"no choices in the answer{': ' + str(message)[:MAX_ERROR_CHARS] if message else ''}"
        answer.paid = bool(usage)  # an error without usage was most likely not billed: a later run may try again
        return answer
    choice = choices[0]
    message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
    text = _content_text(message.get("content"))
    if choice.get("finish_reason") == "content_filter" or (text is None and choice.get("error")):
        answer.error = "content filter: the provider withheld the answer"
        answer.text = text
        return answer
    answer.text = text if text is not None else ""
    if billed is None:
        answer.error = "the answer has no usage: billed cost unknown (counted as its reserve)"
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


def _int(value: object) -> int | None:
    return None if value is None else int(value)


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


# ---------------------------------------------------------------- the run


@dataclass
class Trial:
    """A finished (or interrupted) run: ``results`` (one row per page and model) and :meth:`summary`."""

    run_id: str
    results: pd.DataFrame
    prompt: str
    max_usd: float
    billed_usd: float
    requests_sent: int
    trials_path: str = ""
    truth: dict[str, str] = field(default_factory=dict, repr=False)

    def summary(self) -> pd.DataFrame:
        """One row per model: pages ok / failed, cost per page, estimate / billed, latency, CER and WER."""
        return summarise(self.results)

    def __repr__(self) -> str:
        counts = self.results["status"].value_counts().to_dict() if not self.results.empty else {}
        return (f"Trial({self.run_id!r}, {len(self.results)} rows {counts}, billed ${self.billed_usd:.6f} "
                f"of ${self.max_usd:.2f}, {self.requests_sent} requests sent)")  # fmt: skip

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(repr(self))}</p>" + self.summary().to_html(escape=True, index=False)


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
) -> Trial:
    """Send every page to every model within ``max_usd``; rows already in the store come back ``cached``.

    ``pages``: image / PDF paths, a folder, or :class:`~vision_models.pages.Page`
    objects; ``models``: OpenRouter ids and/or ``"tesseract"`` (local OCR, free);
    ``truth``: a folder of ``<page>.txt`` files or a dict, for CER / WER;
    ``progress``: a bar (tqdm.auto) when True, none when False, and by default
    one only in Jupyter or on a terminal. See the module docstring for the
    budget, retries and storage rules. A remote model without a key is a
    ``ValueError`` before anything is sent.
    """
    _check_money("max_usd", max_usd)
    _check_count("concurrency", concurrency, minimum=1)
    _check_count("retries", retries, minimum=0)
    for name, value in (("timeout", timeout), ("retry_window_s", retry_window_s)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"bad {name} {value!r}: expected a number of seconds > 0")
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
    budget = Budget(max_usd)
    stop = threading.Event()
    sender = _Sender(base_url=get_base_url(base_url), api_key=key, timeout=float(timeout), retries=retries,
                     retry_window_s=float(retry_window_s), concurrency=concurrency, stop=stop)  # fmt: skip
    lease = float(timeout) * (retries + 1) + float(retry_window_s) + 60.0
    with store.TrialStore(trials_path) as db:
        db.start_run(run_id, prompt=prompt, params=run.params, models=chosen, pages=len(run.pages), max_usd=float(max_usd))
        worker = _Worker(run, db, budget, sender, run_id=run_id, max_tokens=max_tokens, lease=lease, lang=lang, key=key)
        rows = _execute(run, db, worker, budget, stop, run_id=run_id, concurrency=concurrency, progress=progress,
                        sender=sender)  # fmt: skip
    sender.close()
    results = results_frame(rows, run_id=run_id, truths=truths, casefold=casefold)
    return Trial(run_id, results, prompt, float(max_usd), round(budget.billed, 12), sender.requests, str(db.path), truths)


def _check_money(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"bad {name} {value!r}: expected a finite number of USD >= 0")


def _execute(run: _Run, db: store.TrialStore, worker: _Worker, budget: Budget, stop: threading.Event, *, run_id: str,
             concurrency: int, progress: bool | None, sender: _Sender) -> list[dict]:  # fmt: skip
    """Reuse the stored rows, send the others through the pool; on any interruption, keep what finished."""
    done = db.done_rows([t.key for t in run.tasks])
    rows: dict[int, dict] = {}
    pending: list[_Task] = []
    noted: list[tuple[str, int, str]] = []
    for task in run.tasks:
        stored = done.get(task.key)
        if stored is not None:
            rows[task.position] = {**stored, "status": "cached", "_kind": task.kind}
            noted.append((task.key, task.position, "cached"))
        else:
            pending.append(task)
    db.note_many(run_id, noted)
    worker.know_controls(rows.values())
    bar = _progress_bar(sum(t.kind == "page" for t in run.tasks), progress)
    bar.update(sum(1 for t in run.tasks if t.kind == "page" and t.position in rows))
    state = "interrupted"
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="vision-models-trial")
    try:
        futures = {pool.submit(worker, task): task for task in pending}
        for future in as_completed(futures):
            task = futures[future]
            rows[task.position] = future.result()
            if task.kind == "page":
                bar.update(1)
                _row_finished(rows[task.position])
        state = "finished"
    finally:
        if state != "finished":
            stop.set()
            budget.stop()
        try:
            pool.shutdown(wait=True, cancel_futures=True)  # requests in flight finish (bounded by their time-out), stored
        finally:
            bar.close()
            db.finish_run(run_id, state=state, billed_usd=round(budget.billed, 12), requests=sender.requests)
    return [rows[t.position] for t in run.tasks if t.position in rows]


def _row_finished(row: dict) -> None:
    """Called on the main thread after each page row is stored (a seam for progress and for tests)."""


class _Worker:
    """Runs one task on a pool thread: claim, reserve, send (or OCR), settle, store."""

    def __init__(self, run: _Run, db: store.TrialStore, budget: Budget, sender: _Sender, *, run_id: str, max_tokens: int,
                 lease: float, lang: str, key: str | None) -> None:  # fmt: skip
        self.run, self.db, self.budget, self.sender = run, db, budget, sender
        self.run_id, self.max_tokens, self.lease, self.lang, self.key = run_id, max_tokens, lease, lang, key
        self._factors: dict[str, tuple[float, float]] = {}  # model -> (image token factor, price factor) seen
        self._controls: dict[str, int] = {}  # model -> control prompt tokens
        self._lock = threading.Lock()

    def __call__(self, task: _Task) -> dict:
        if self.budget.stopped:
            return self._finish(task, _Answer("error", error="not sent: the run was interrupted"), "error", store_row=False)
        claim = self.db.claim(task.key, self.run_id, task.fields, self.lease)
        if claim.row is not None:  # another run finished it meanwhile
            self.db.note(self.run_id, task.key, task.position, "cached")
            return {**claim.row, "status": "cached", "_kind": task.kind}
        if claim.busy_run is not None:
            answer = _Answer("error", error=f"being sent by run {claim.busy_run}; run again to collect it")
            return self._finish(task, answer, "error", store_row=False)
        if task.model == TESSERACT:
            return self._finish(task, self._ocr(task), None)
        prices = self.run.prices[task.model]
        probe = task.kind == "page"
        reserved = self.budget.acquire(task.model, lambda: self._worst(task, prices), probe=probe)
        if reserved is None:
            if self.budget.stopped:
                return self._finish(task, _Answer("error", error="not sent: the run was interrupted"), "error")
            worst = self._worst(task, prices)
            reason = ("the catalog gives no price for this model: cannot reserve" if worst != worst else
                      f"worst case ${worst:.6f} does not fit the budget (${self.budget.max_usd - self.budget.billed:.6f} left)")  # fmt: skip
            answer = _Answer("error", error=reason)
            return self._finish(task, answer, "skipped-budget", reserved=0.0)
        answer = _Answer("error", error="not sent")
        try:
            answer = self.sender.send(_body(task, self.run.prompt, self.max_tokens), prices, reserved)
        finally:
            self.budget.settle(task.model, reserved, answer.charged if answer.error != "not sent" else reserved, probe=probe)
        self._learn(task, prices, answer)
        return self._finish(task, answer, None, reserved=reserved)

    def know_controls(self, rows) -> None:
        """Control answers already stored: their prompt tokens measure the next pages' image tokens."""
        for row in rows:
            if row.get("_kind") == "control" and row.get("prompt_tokens") is not None:
                self._controls[row["model"]] = int(row["prompt_tokens"])

    def _worst(self, task: _Task, prices: _Prices) -> float:
        token_factor, price_factor = self._factors.get(task.model, (0.0, 0.0))
        return _worst_case(task, prices, self.max_tokens, self.run.prompt_bound, token_factor, price_factor)

    def _learn(self, task: _Task, prices: _Prices, answer: _Answer) -> None:
        """Grow the model's reserves by what its bills showed beyond the catalog and the estimate."""
        if answer.prompt_tokens is None:
            return
        with self._lock:
            token_factor, price_factor = self._factors.get(task.model, (0.0, 0.0))
            if task.kind == "control":
                self._controls[task.model] = answer.prompt_tokens
            elif task.estimated_image_tokens and task.estimated_image_tokens == task.estimated_image_tokens:
                text = self._controls.get(task.model, 0)
                token_factor = max(token_factor, (answer.prompt_tokens - text) / task.estimated_image_tokens)
            if answer.billed_source == BILLED_FROM_COST and answer.completion_tokens is not None:
                catalog_usd = answer.prompt_tokens * prices.prompt + answer.completion_tokens * prices.completion + prices.request
                if catalog_usd > 0:
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

    def _finish(self, task: _Task, answer: _Answer, status: str | None, *, reserved: float = 0.0, store_row: bool = True) -> dict:
        status = status or answer.status
        row = {
            **task.fields,
            "key": task.key,
            "status": status,
            "done": int(answer.status == "ok" or answer.paid),
            "error": _redact(answer.error, self.key),
            "text": _redact(answer.text, self.key),
            "prompt_tokens": answer.prompt_tokens,
            "completion_tokens": answer.completion_tokens,
            "billed_usd": answer.billed_usd,
            "billed_source": answer.billed_source,
            "reserved_usd": reserved,
            "latency_s": answer.latency_s,
            "attempts": answer.attempts,
            "generation_id": answer.generation_id,
            "finished_at": time.time(),
        }
        if store_row:
            self.db.save(row, run_id=self.run_id, position=task.position, run_status=status)
        else:
            self.db.note(self.run_id, task.key, task.position, status)
        return {**row, "run_id": self.run_id, "_kind": task.kind}


def _redact(text: str | None, key: str | None) -> str | None:
    if text is None or not key:
        return text
    return text.replace(key, "[redacted]")


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
    for name in ("billed_usd", "estimated_usd", "latency_s", "cer", "wer"):
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
                 int(info["requests"]), str(store.get_trials_path(trials_path)), truths)  # fmt: skip


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
    """The texts of each page side by side (and the truth: given, else the trial's), every remote text escaped."""
    results = trial.results
    truth = truth if truth is not None else trial.truth
    models = list(dict.fromkeys(results["model"].tolist()))
    head = "".join(f"<th>{html.escape(m)}</th>" for m in (["truth"] if truth else []) + models)
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
                cells.append(f"<td><em>{html.escape(row.status)}: {html.escape(row.error)}</em></td>")
            else:
                cells.append(_cell(row.text or "", limit, row.cer))
        body.append(f"<tr><th>{html.escape(str(page))}</th>{''.join(cells)}</tr>")
    return f"<table><tr><th>page</th>{head}</tr>{''.join(body)}</table>"


def _cell(text: str, limit: int, cer: float | None) -> str:
    shown = text if len(text) <= limit else text[:limit] + "…"
    score = f"<br><small>CER {cer:.3f}</small>" if cer is not None and cer == cer else ""
    return f"<td><pre style='white-space: pre-wrap; max-width: 40em'>{html.escape(shown)}</pre>{score}</td>"

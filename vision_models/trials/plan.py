"""The plan of a trial: the requests to make, what each is estimated to cost, and the checks of a trial's arguments.

:func:`estimate_trial` is the dry run (nothing is sent); :func:`vision_models.trials.runner.run_trial` runs the same
plan. The constants here are the trial's defaults, margins and result columns.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..settings import Settings
from ..stores import trials as store
from ..stores.trial_schema import TrialRow
from .options import (  # noqa: F401 (the defaults and limits, under the names they have always had here)
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
    TrialOptions,
    _check_count,
    _check_number,
    _shown,
    connection,
    trial_options,
)
from .pages import Page
from .structured import Scoring

TESSERACT = "tesseract"
CONNECT_TIMEOUT = 10.0
#: Safety margins on the image estimate when reserving the budget.
MARGIN = 1.5
UNCERTAIN_MARGIN = 3.0
#: Growth over what a model's bills showed: image tokens, and price against the catalog.
OBSERVED_TOKEN_MARGIN = 1.25
OBSERVED_PRICE_MARGIN = 1.1
PROMPT_OVERHEAD_TOKENS = 32
CONTROL_MAX_TOKENS = 16
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
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
    "reasoning_tokens": "Int64",
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
    "repeat": "Int64",
    "tesseract_confidence": "float64",
}
PLAN_COLUMNS = (
    "page", "page_sha256", "width_px", "height_px", "model", "method", "uncertain",
    "estimated_image_tokens", "estimated_usd", "worst_case_usd", "cached", "duplicate_of", "repeat",
)  # fmt: skip


# ---------------------------------------------------------------- the plan


@dataclass(frozen=True)
class _Prices:
    """One model's catalog prices: USD per prompt token, per completion token, per request."""

    prompt: float
    completion: float
    request: float


@dataclass(slots=True)
class ControlTask:
    """A model's text-only control request (the prompt without an image, ``max_tokens`` 16): it has no page."""

    position: int
    key: str
    model: str
    row: TrialRow  # the row as it is claimed and stored
    kind: ClassVar[str] = "control"


@dataclass(slots=True)
class PageTask:
    """One page for one model, with its estimate (``image_usd``: the image part, before ``margin``)."""

    position: int
    key: str
    model: str
    row: TrialRow  # the row as it is claimed and stored
    page: Page
    estimated_image_tokens: float = 0.0
    estimated_usd: float = 0.0
    image_usd: float = 0.0
    margin: float = MARGIN
    method: str = ""
    uncertain: bool = False
    kind: ClassVar[str] = "page"


#: One request to make (or reuse).
Task = PageTask | ControlTask


def estimate_trial(
    pages: Sequence[Any] | Any,
    models: Sequence[str] | str,
    *,
    options: TrialOptions | None = None,
    prompt: str | None = None,
    max_tokens: int | None = None,
    output_tokens: int | None = None,
    dpi: int | None = None,
    max_side: int | None = None,
    catalog: pd.DataFrame | None = None,
    source: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    cache_path: str | os.PathLike | None = None,
    trials_path: str | os.PathLike | None = None,
    max_usd: float | None = None,
    retry_unknown: bool | None = None,
    settings: Settings | None = None,
    schema: Any = None,
    repeats: int | None = None,
) -> pd.DataFrame:
    """A dry run: one row per (page, model) with the estimate and the worst case the budget would reserve.

    Nothing is sent and no key is needed. ``options`` (a :class:`TrialOptions`)
    holds what to send; a keyword given beside it wins. ``settings`` (a
    :class:`~vision_models.Settings`) holds the connection; the connection
    keywords win over it. ``cached`` marks rows
    the trials store already holds (they would cost nothing; with
    ``retry_unknown``, rows of unknown cost are to be sent again);
    ``duplicate_of`` names the earlier page a page is identical to (sent
    once). ``.attrs`` holds the totals over the rows to send, the control
    requests' worst case, and the budget (``max_usd``) when given.
    """
    chosen = trial_options(options, prompt=prompt, max_tokens=max_tokens, output_tokens=output_tokens, dpi=dpi,
                           max_side=max_side, max_usd=max_usd, retry_unknown=retry_unknown, schema=schema,
                           repeats=repeats)  # fmt: skip
    conn = connection(settings, source=source, base_url=base_url, api_key=api_key, cache_path=cache_path,
                      trials_path=trials_path)  # fmt: skip
    source, base_url, api_key, cache_path, trials_path = (conn[k] for k in conn)
    run = prepare_run(pages, models, chosen, catalog=catalog, source=source, base_url=base_url, api_key=api_key,
                   cache_path=cache_path)  # fmt: skip
    done = store.done_keys([t.key for t in run.tasks], trials_path, retry_unknown=chosen.retry_unknown)
    records = []
    control_worst = 0.0
    first_page: dict[str, str] = {}
    for task in run.tasks:
        worst = _worst_case(task, run.prices.get(task.model), chosen.max_tokens, run.prompt_bound)
        if isinstance(task, ControlTask):
            control_worst += 0.0 if task.key in done else worst
            continue
        page = task.page
        lead = first_page.setdefault(task.key, page.name)
        records.append((page.name, page.sha256, page.width_px, page.height_px, task.model, task.method, task.uncertain,
                        task.estimated_image_tokens, task.estimated_usd, worst, task.key in done,
                        lead if lead != page.name else None, task.row.repeat))  # fmt: skip
    plan = pd.DataFrame.from_records(records, columns=list(PLAN_COLUMNS))
    plan = plan.astype({"page": "str", "page_sha256": "str", "width_px": "int64", "height_px": "int64", "model": "str",
                        "method": "str", "uncertain": "bool", "estimated_image_tokens": "Int64",
                        "estimated_usd": "float64", "worst_case_usd": "float64", "cached": "bool",
                        "duplicate_of": "object", "repeat": "int64"})  # fmt: skip
    to_send = ~plan["cached"].to_numpy(dtype=bool) & plan["duplicate_of"].isna().to_numpy()
    plan.attrs = {
        "requests": int((to_send & (plan["model"] != TESSERACT).to_numpy()).sum()),
        "estimated_usd": float(plan["estimated_usd"].to_numpy()[to_send].sum()),
        "worst_case_usd": float(plan["worst_case_usd"].to_numpy()[to_send].sum()) + control_worst,
        "control_worst_case_usd": control_worst,
        "max_usd": max_usd if max_usd is not None or options is None else chosen.max_usd,
        "prompt": chosen.prompt,
        "max_tokens": chosen.max_tokens,
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
    tasks: list[Task]
    params: dict[str, Any]
    options: TrialOptions
    structured: dict[str, bool] = field(default_factory=dict)  # model -> sent response_format (with a schema)
    scoring: Scoring = field(default_factory=lambda: Scoring())  # what a stored page row is scored against

    def request(self, model: str) -> tuple[str, dict[str, Any] | None]:
        """The prompt text a model is sent, and its ``response_format`` (None: none, or the schema is in the prompt)."""
        schema = self.options.schema
        if schema is None:
            return self.prompt, None
        from .structured import prompt_with_schema, response_format

        if self.structured.get(model):
            return self.prompt, response_format(schema)
        return prompt_with_schema(self.prompt, schema), None


def prepare_run(
    pages: Any,
    models: Sequence[str] | str,
    options: TrialOptions,
    *,
    catalog: pd.DataFrame | None,
    source: str | None,
    base_url: str | None,
    api_key: str | None,
    cache_path: str | os.PathLike | None,
) -> _Run:
    """Load the pages, price the models and list the tasks (controls first); ``options`` were checked when made."""
    prompt, max_tokens, output_tokens = options.prompt, options.max_tokens, options.output_tokens
    chosen = _check_models(models)
    loaded = pages_of(pages, dpi=options.dpi, max_side=options.max_side)
    remote = [m for m in chosen if m != TESSERACT]
    table = _catalog(catalog, remote, source=source, base_url=base_url, api_key=api_key, cache_path=cache_path)
    prices = {m: _model_prices(table, m) for m in remote}
    prompt_sha = hashlib.sha256(prompt.encode("utf-8")).hexdigest()
    structured, schema_params, prompt_bound = _asking(options, table, remote)
    text_tokens = math.ceil(len(prompt) / 4) + 8  # a typical English tokenizer; for the estimate only
    sizes = {(p.width_px, p.height_px) for p in loaded}
    estimates = _estimates(table, remote, sizes, text_tokens, output_tokens, options.reasoning_effort)

    ocr_version = None
    if TESSERACT in chosen:
        from .tesseract import tesseract_version

        ocr_version = tesseract_version()  # another Tesseract reads differently: another row
    tasks: list[Task] = []
    for model in remote:
        asked = {**schema_params, "response_format": structured[model]} if schema_params else {}
        key = _key(
            "", model, prompt_sha, {"control": True, "max_tokens": CONTROL_MAX_TOKENS, "temperature": 0, **asked}
        )
        row = TrialRow(key=key, kind="control", page="", path="", page_index=-1, page_sha256="", model=model,
                       prompt_sha256=prompt_sha, params=json.dumps({"control": True, "max_tokens": CONTROL_MAX_TOKENS}))  # fmt: skip
        tasks.append(ControlTask(len(tasks), key, model, row))
    for page, model, repeat in (
        (p, m, r) for p in loaded for m in chosen for r in range(options.repeats)
    ):  # repeat 0: the key of a trial without repeats
        if model == TESSERACT:
            # "confidence": the row holds Tesseract's word confidence; rows read before it was kept (store
            # version 4) have other keys, so their pages are read again once (Tesseract is free).
            params = {"engine": TESSERACT, "version": ocr_version, "lang": options.lang, "width_px": page.width_px,
                      "height_px": page.height_px, "confidence": True}  # fmt: skip
            estimate = (0.0, 0.0, 0.0, "local", False)
        else:
            params = {
                "max_tokens": max_tokens,
                "temperature": 0,
                "width_px": page.width_px,
                "height_px": page.height_px,
            }
            if options.reasoning_effort is not None:  # absent otherwise: the keys of earlier rows stay
                params["reasoning_effort"] = options.reasoning_effort
            estimate = estimates[(model, page.width_px, page.height_px)]
            if schema_params:
                params.update(schema_params, response_format=structured[model])
        if repeat:
            params["repeat"] = repeat
        tokens, usd, image_usd, method, uncertain = estimate
        key = _key(page.sha256, model, prompt_sha, params)
        row = TrialRow(key=key, kind="page", page=page.name, path=page.path, page_index=page.page_index,
                       page_sha256=page.sha256, width_px=page.width_px, height_px=page.height_px, model=model,
                       prompt_sha256=prompt_sha, params=json.dumps(params, sort_keys=True), estimated_usd=usd,
                       estimated_image_tokens=None if tokens != tokens else int(tokens), repeat=repeat)  # fmt: skip
        tasks.append(PageTask(len(tasks), key, model, row, page, tokens, usd, image_usd,
                              UNCERTAIN_MARGIN if uncertain else MARGIN, method, uncertain))  # fmt: skip
    params = _run_params(options)
    return _Run(loaded, chosen, prompt, prompt_sha, prompt_bound, prices, tasks, params, options, structured)


def _asking(
    options: TrialOptions, table: pd.DataFrame, remote: Sequence[str]
) -> tuple[dict[str, bool], dict[str, Any], int]:
    """How the JSON is asked for: model -> response_format (or the schema in the prompt), the schema's key
    parameters, and the prompt bound (the longer of the two ways to ask, in bytes, + the overhead)."""
    bound = len(options.prompt.encode("utf-8")) + PROMPT_OVERHEAD_TOKENS
    if options.schema is None:
        return {}, {}, bound
    from .structured import prompt_with_schema, schema_json, schema_sha256, structured_models

    bound = len(prompt_with_schema(options.prompt, options.schema).encode("utf-8")) + PROMPT_OVERHEAD_TOKENS
    bound += len(schema_json(options.schema).encode("utf-8"))
    return structured_models(table, remote), {"schema_sha256": schema_sha256(options.schema)}, bound


def _run_params(options: TrialOptions) -> dict[str, Any]:
    """What a run records of its parameters (the schema and repeats when it has them)."""
    params: dict[str, Any] = {"max_tokens": options.max_tokens, "dpi": options.dpi, "max_side": options.max_side,
                              "output_tokens": options.output_tokens, "temperature": 0}  # fmt: skip
    if options.repeats > 1:
        params["repeats"] = options.repeats
    if options.schema is not None:
        from .structured import schema_json

        params["schema"] = schema_json(options.schema)
    return params


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


def pages_of(pages: Any, *, dpi: int, max_side: int) -> list[Page]:
    """The pages of a trial: Page objects as given, paths scanned with :func:`vision_models.trials.pages.scan_pages` (rendered when sent)."""
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

    def number(value: Any) -> float:
        return float("nan") if value is None or pd.isna(value) else float(value)

    request = number(row.get("request_usd"))
    return _Prices(
        prompt=number(row["prompt_usd_per_mtok"]) / 1e6,
        completion=number(row["completion_usd_per_mtok"]) / 1e6,
        request=0.0 if request != request else request,
    )


def _estimates(
    table: pd.DataFrame,
    remote: Sequence[str],
    sizes: set[tuple[int, int]],
    text_tokens: int,
    output_tokens: int,
    reasoning_effort: str | None = None,
) -> dict[tuple[str, int, int], tuple[float, float, float, str, bool]]:
    """(model, width, height) -> (image tokens, estimated USD, image USD, method, uncertain), via price_images.

    The estimate holds the reasoning allowance of ``reasoning_effort`` (None: the default effort) on models
    that reason, so the answer and reasoning together never exceed ``max_tokens``' worth: see :func:`_worst_case`.
    """
    from ..pricing.cost import price_images
    from ..pricing.reasoning import DEFAULT_EFFORT

    out: dict[tuple[str, int, int], tuple[float, float, float, str, bool]] = {}
    if not remote:
        return out
    for width, height in sorted(sizes):
        costs = price_images(
            table, width, height, prompt_tokens=text_tokens, output_tokens=output_tokens, measured=False,
            reasoning_effort=reasoning_effort or DEFAULT_EFFORT,
        )  # fmt: skip
        tokens = costs["image_tokens"].to_numpy(dtype="float64", na_value=np.nan)
        for model, n, usd, image_usd, method, uncertain in zip(
            costs["id"].tolist(), tokens.tolist(), costs["usd_per_image"].tolist(), costs["image_usd"].tolist(),
            costs["method"].tolist(), costs["uncertain"].tolist(),
        ):  # fmt: skip
            out[(model, width, height)] = (n, usd, image_usd, method, bool(uncertain))
    return out


def _worst_case(task: Task, prices: _Prices | None, max_tokens: int, prompt_bound: int,
                token_factor: float = 0.0, price_factor: float = 0.0) -> float:  # fmt: skip
    """The most this request may cost, as the budget reserves it (see the module's docstring)."""
    if task.model == TESSERACT or prices is None:
        return 0.0
    if isinstance(task, ControlTask):
        worst = prompt_bound * prices.prompt + CONTROL_MAX_TOKENS * prices.completion + prices.request
    else:
        margin = max(task.margin, OBSERVED_TOKEN_MARGIN * token_factor)
        worst = task.image_usd * margin + prompt_bound * prices.prompt + max_tokens * prices.completion + prices.request
    return worst * max(1.0, OBSERVED_PRICE_MARGIN * price_factor)

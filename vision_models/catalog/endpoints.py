"""Every provider behind a model: OpenRouter's ``GET /models/{author}/{slug}/endpoints``.

OpenRouter routes a model to one of several providers ("endpoints"), each
with its own prices (sometimes its own image price and a ``discount``),
quantization, limits, status, uptime, latency and throughput. The catalog's
headline price is one of them; the provider that serves a request decides
what it costs. :func:`fetch_endpoints` gives one row per endpoint.

It works like the catalog fetch: the same requests-cache session and expiry
(:func:`vision_models.http.sessions.get_session`, with its retries and time-outs),
failures that never raise but are reported (``frame.attrs["errors"]`` and a
warning), the cached copy served ``stale`` when asking again fails, and a
200 whose body is not an endpoints answer refused by a response hook before
requests-cache stores it, so it never replaces a good entry. The API
reference marks the key as required here: a 401 says to set
``OPENROUTER_API_KEY``. An unknown model id is a ``ValueError`` with close
matches, raised before any endpoint is asked for.
"""

from __future__ import annotations

import os
import re
import sqlite3
import sys
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd
from requests_cache import CachedSession

from ..common import check_known
from ..http.client import fetch_json, parse_json
from ..http.sessions import get_session, reset_session
from ..notices import progress_bar
from ..settings import Settings, resolve
from .frame import _count, _fraction, _lists, _numbers, _price, _provider, _text

#: Uptime windows the API documents (percent of successful requests); others found are added.
UPTIME_WINDOWS = ("uptime_last_5m", "uptime_last_30m", "uptime_last_1d")
PERCENTILES = ("p50", "p75", "p90", "p99")
LATENCY_COLUMNS = tuple(f"latency_last_30m_{p}_ms" for p in PERCENTILES)
THROUGHPUT_COLUMNS = tuple(f"throughput_last_30m_{p}_tokens_per_s" for p in PERCENTILES)

#: Columns of the endpoints frame, in order (extra ``uptime_last_*`` windows follow ``uptime_last_1d``).
ENDPOINT_COLUMNS = [
    "id",
    "name",
    "provider",
    "provider_name",
    "tag",
    "endpoint_name",
    "quantization",
    "context_length",
    "max_completion_tokens",
    "max_prompt_tokens",
    "prompt_usd_per_mtok",
    "completion_usd_per_mtok",
    "image_price",
    "request_usd",
    "discount",
    "cache_read_usd_per_mtok",
    "cache_write_usd_per_mtok",
    "web_search_usd",
    "reasoning_usd_per_mtok",
    "status",
    *UPTIME_WINDOWS,
    *LATENCY_COLUMNS,
    *THROUGHPUT_COLUMNS,
    "supported_parameters",
    "supports_implicit_caching",
    "fetched_at",
    "cached",
    "stale",
]

DEFAULT_WORKERS = 4
MAX_WORKERS = 16
_FAILED = "Failed to fetch endpoints"
_UPTIME_KEY = re.compile(r"uptime_last_\w+")
_PER_MILLION = 1_000_000


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _str_or(value: Any, default: str) -> str:
    return value if isinstance(value, str) else default


class NotAnEndpointsAnswer(ValueError):
    """A body that is not an endpoints answer (``{"data": {"endpoints": [...]}}``)."""


@dataclass(frozen=True)
class EndpointsAnswer:
    """The endpoints of one model and where they came from."""

    model_id: str
    model: dict = field(default_factory=dict, repr=False)
    endpoints: list = field(default_factory=list, repr=False)
    fetched_at: datetime | None = None
    cached: bool = False
    stale: bool = False
    error: str | None = None


def fetch_endpoints(
    ids: str | Iterable[str],
    *,
    models: pd.DataFrame | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    cache_path: str | os.PathLike | None = None,
    expire_after: float | None = None,
    refresh: bool = False,
    timeout: tuple[float, float] | float | None = None,
    deadline: float | None = None,
    max_workers: int = DEFAULT_WORKERS,
    progress: bool | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """One row per (model, provider endpoint) of ``ids``, in the order given, then by provider and tag.

    ``models``: a catalog frame to check the ids against (default: the
    OpenRouter catalog, through the cache); an id it lacks is a
    ``ValueError`` with close matches, before any endpoint is asked for.
    ``max_workers`` requests run at once (1-16); each id's fetch has the
    catalog's ``deadline`` over it (seconds, connect and every read). ``progress``: a tqdm bar
    (when tqdm is installed); ``None`` shows one on a terminal for more
    than five ids. Failures do not raise: ``frame.attrs["errors"]`` maps
    each failed id to its message (a warning says the same); a stale cached
    copy keeps its rows with ``stale`` set. Prices are as listed, before
    ``discount``. ``settings``: a :class:`vision_models.Settings` (default: the environment, read now);
    each keyword given here overrides its field (``source`` is not used: endpoints come from OpenRouter).
    """
    chosen = resolve(
        settings,
        base_url=base_url,
        api_key=api_key,
        cache_path=cache_path,
        expire_after=expire_after,
        timeout=timeout,
        deadline=deadline,
    )
    wanted = check_endpoint_ids(ids, models, settings=chosen)
    workers = _check_workers(max_workers)
    ask = partial(_fetch_one, settings=chosen, refresh=refresh)
    cache_path, expire_after = chosen.cache_path, chosen.expire_after
    try:
        answers = _map(partial(ask, get_session(cache_path, expire_after)), wanted, workers, progress)
    except sqlite3.DatabaseError:  # the cache file broke while in use: start a new one, ask again
        answers = _map(partial(ask, reset_session(cache_path, expire_after)), wanted, workers, progress)
    frame = endpoints_frame(answers)
    errors = {a.model_id: a.error for a in answers if a.error}
    frame.attrs["errors"] = errors
    if errors:
        warnings.warn("; ".join(f"{i}: {e}" for i, e in errors.items()), stacklevel=2)
    return frame


def check_endpoint_ids(
    ids: str | Iterable[str],
    models: pd.DataFrame | None = None,
    *,
    settings: Settings | None = None,
    **catalog_options: Any,
) -> list[str]:
    """The ids, each once, checked against ``models`` (default: the OpenRouter catalog); else ``ValueError``.

    The catalog is fetched with ``settings`` and ``catalog_options`` (keywords of :func:`fetch_catalog`).

    When no catalog can be had at all (offline, nothing cached), the ids are
    not checked here: OpenRouter's 404 will say which it does not know.
    """
    wanted = [ids] if isinstance(ids, str) else list(ids)
    if not wanted:
        raise ValueError("no model ids given: pass at least one id, such as 'openai/gpt-4o-mini'")
    for model_id in wanted:
        if not isinstance(model_id, str) or "/" not in model_id.strip("/"):
            raise ValueError(
                f"bad model id {model_id!r}: expected OpenRouter's author/slug, such as 'openai/gpt-4o-mini'"
            )
    if models is None:
        from .api import fetch_catalog

        models = fetch_catalog("openrouter", rules="seed", settings=settings, **catalog_options).models
        if models.empty:
            return list(dict.fromkeys(wanted))
    check_known(wanted, models["id"].tolist())
    return list(dict.fromkeys(wanted))


def endpoints_url(base_url: str, model_id: str) -> str:
    """``{base}/models/{author}/{slug}/endpoints`` for an id ``author/slug``, each part URL-quoted."""
    author, _, slug = model_id.partition("/")
    return f"{base_url.rstrip('/')}/models/{quote(author, safe='~')}/{quote(slug, safe=':~')}/endpoints"


def endpoints_answer(body: bytes | str) -> tuple[dict, list]:
    """The model fields and ``endpoints`` list of an answer body, or ``NotAnEndpointsAnswer`` saying why not."""
    try:
        parsed = parse_json(body)  # deep nesting refused, lone surrogates replaced, as for the catalog
    except ValueError as exc:
        raise NotAnEndpointsAnswer(str(exc).replace("to be a catalog", "to be an endpoints answer")) from None
    data = parsed.get("data") if isinstance(parsed, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("endpoints"), list):
        raise NotAnEndpointsAnswer("the body is not an endpoints answer (no data.endpoints list)")
    return data, data["endpoints"]


def endpoints_frame(answers: Sequence[EndpointsAnswer]) -> pd.DataFrame:
    """The endpoints of several answers as one typed frame (columns as in ``ENDPOINT_COLUMNS``).

    Built column by column from the whole list; endpoints that are not
    objects are skipped (with a warning); any field may be missing or junk
    and becomes a missing value in its own cell.
    """
    rows = [(a, e) for a in answers for e in a.endpoints if isinstance(e, dict)]
    skipped = sum(len(a.endpoints) for a in answers) - len(rows)
    if skipped:
        warnings.warn(f"skipped {skipped} endpoints that are not objects", stacklevel=2)
    order = {a.model_id: n for n, a in enumerate(answers)}
    ids = [a.model_id for a, _ in rows]
    ends = [e for _, e in rows]
    pricing = [_mapping(e.get("pricing")) for e in ends]
    columns: dict[str, Any] = {
        "id": _text(ids),
        "name": _text([_str_or(a.model.get("name"), a.model_id) for a, _ in rows]),
        "provider": _text([_provider(i) for i in ids]),
        "provider_name": _text([_str_or(e.get("provider_name"), "") for e in ends]),
        "tag": _text([_str_or(e.get("tag"), "") for e in ends]),
        "endpoint_name": _text([_str_or(e.get("name"), "") for e in ends]),
        "quantization": _text([_str_or(e.get("quantization"), "") for e in ends]),
        "context_length": _count([e.get("context_length") for e in ends]),
        "max_completion_tokens": _count([e.get("max_completion_tokens") for e in ends]),
        "max_prompt_tokens": _count([e.get("max_prompt_tokens") for e in ends]),
        "prompt_usd_per_mtok": _price([p.get("prompt") for p in pricing], _PER_MILLION),
        "completion_usd_per_mtok": _price([p.get("completion") for p in pricing], _PER_MILLION),
        "image_price": _price([p.get("image") for p in pricing]),
        "request_usd": _price([p.get("request") for p in pricing]),
        "discount": _fraction([p.get("discount") for p in pricing]),
        "cache_read_usd_per_mtok": _price([p.get("input_cache_read") for p in pricing], _PER_MILLION),
        "cache_write_usd_per_mtok": _price([p.get("input_cache_write") for p in pricing], _PER_MILLION),
        "web_search_usd": _price([p.get("web_search") for p in pricing]),
        "reasoning_usd_per_mtok": _price([p.get("internal_reasoning") for p in pricing], _PER_MILLION),
        "status": _whole([e.get("status") for e in ends]),
    }
    extra = sorted({k for e in ends for k in e if _UPTIME_KEY.fullmatch(k)} - set(UPTIME_WINDOWS))
    for window in (*UPTIME_WINDOWS, *extra):
        columns[window] = _numbers([e.get(window) for e in ends])
    for key, names in (("latency_last_30m", LATENCY_COLUMNS), ("throughput_last_30m", THROUGHPUT_COLUMNS)):
        stats = [_mapping(e.get(key)) for e in ends]
        for percentile, name in zip(PERCENTILES, names):
            columns[name] = _numbers([s.get(percentile) for s in stats])
    columns["supported_parameters"] = _lists([e.get("supported_parameters") for e in ends])
    caching = [e.get("supports_implicit_caching") for e in ends]
    columns["supports_implicit_caching"] = pd.array(
        [v if isinstance(v, bool) else None for v in caching], dtype="boolean"
    )
    columns["fetched_at"] = pd.DatetimeIndex(pd.to_datetime([a.fetched_at for a, _ in rows], utc=True)).as_unit("us")
    columns["cached"] = np.array([a.cached for a, _ in rows], dtype=bool)
    columns["stale"] = np.array([a.stale for a, _ in rows], dtype=bool)
    keys = [
        (order[i], p.lower(), t.lower(), n)
        for n, (i, p, t) in enumerate(zip(ids, columns["provider_name"], columns["tag"]))
    ]
    rank = np.array(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.intp)
    return pd.DataFrame({name: values[rank] for name, values in columns.items()}, index=pd.RangeIndex(len(rank)))


# ---------------------------------------------------------------- fetching


def _fetch_one(session: CachedSession, model_id: str, *, settings: Settings, refresh: bool) -> EndpointsAnswer:
    """One model's endpoints through :func:`vision_models.http.client.fetch_json`.

    So the catalog's rules hold here too: one deadline over the whole fetch, a
    capped body, a body that is not an endpoints answer refused before the
    cache stores it, and on failure the cached copy, stale.
    """
    answer = fetch_json(
        endpoints_url(settings.base_url, model_id),
        session=session,
        read=endpoints_answer,
        api_key=settings.api_key,
        refresh=refresh,
        timeout=settings.timeout,
        deadline=settings.deadline,
        what="endpoints",
    )
    error = _explain(answer.error, sent_key=bool(settings.api_key)) if answer.error else None
    if answer.value is None:
        return EndpointsAnswer(model_id, error=error)
    model, endpoints = answer.value
    return EndpointsAnswer(
        model_id, model, endpoints, fetched_at=answer.fetched_at, cached=answer.cached, stale=answer.stale, error=error
    )


def _explain(error: str, *, sent_key: bool) -> str:
    """The failure in words; a 401 says what to do about the key, without ever showing it."""
    if error.startswith(f"{_FAILED}: 401"):
        if sent_key:
            return f"{error} (OpenRouter refused the API key: check OPENROUTER_API_KEY)"
        return f"{error} (this API needs an OpenRouter API key: set OPENROUTER_API_KEY or pass api_key=)"
    if error.startswith(f"{_FAILED}: 404"):
        return f"{error} (OpenRouter lists no endpoints for this model)"
    return error


def _map(
    fn: Callable[[str], EndpointsAnswer], ids: list[str], workers: int, progress: bool | None
) -> list[EndpointsAnswer]:
    """``fn`` over ``ids``, at most ``workers`` at once, answers in the order of ``ids``."""
    with ThreadPoolExecutor(max_workers=min(workers, len(ids)), thread_name_prefix="endpoints") as pool:
        show = progress if progress is not None else (len(ids) > 5 and sys.stderr.isatty())
        bar = progress_bar(len(ids), desc="endpoints", unit="model", show=show)
        answers = []
        try:
            for answer in pool.map(fn, ids):
                answers.append(answer)
                bar.update(1)
        finally:
            bar.close()
        return answers


def _check_workers(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= MAX_WORKERS:
        raise ValueError(f"bad max_workers {value!r}: expected a whole number from 1 to {MAX_WORKERS}")
    return int(value)


# ---------------------------------------------------------------- columns


def _whole(values: list[Any]) -> pd.arrays.IntegerArray:
    """Whole numbers of either sign (the endpoint ``status``: 0 online, negative degraded or down) as Int64."""
    numbers = _numbers(values)
    missing = ~np.isfinite(numbers) | (numbers != np.floor(numbers)) | (np.abs(numbers) >= 2**53)
    return pd.arrays.IntegerArray(np.where(missing, 0, numbers).astype("int64"), missing)

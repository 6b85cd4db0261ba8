"""The parts of one page's bill besides the image and the instruction: answer, reasoning, fees, range, caching.

:func:`bill_parts` gives them as columns (before any discount, which :mod:`.estimate` takes off
every part alike) for :func:`vision_models.pricing.estimate.image_costs`. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from .fees import cache_saving, web_search_fee
from .ranges import TokenRange, find_range, token_range
from .reasoning import SOURCE_MEASURED, reasoning_allowance, reasoning_price

#: What ``reasoning_source`` says where a measured completion already holds the model's reasoning.
SOURCE_INSIDE = "inside the measured completion tokens"
#: A measurement of answer length counts for a page when its pixel area is within this fraction of the page's.
_COMPARABLE_AREA = 0.25


@dataclass(frozen=True)
class Request:
    """What one page sends and expects back, as the caller gave it (checked)."""

    width: int
    height: int
    detail: str
    prompt_tokens: int
    output_tokens: int
    reasoning_effort: str
    reasoning_tokens: int | None


def bill_parts(
    models: pd.DataFrame,
    tokens: np.ndarray,
    by_rule: np.ndarray,
    image_token_price: np.ndarray,
    request: Request,
    measured: pd.DataFrame | None = None,
) -> dict[str, np.ndarray]:
    """Columns of the rest of the bill, row for row with ``models`` (USD before discount).

    ``tokens``: each row's image tokens; ``by_rule``: rows whose tokens come from
    their family rule (a range applies only to those). ``measured``: trial
    measurements; a ``reasoning_tokens`` column in it (a median per model)
    replaces the reasoning allowance, and a ``completion_tokens`` column (the
    median billed completion at a comparable page size, which holds any
    reasoning) the answer: answer = completion - measured reasoning, and with no
    reasoning measured the allowance is 0 (it is inside the completion).
    """
    completion = models["completion_usd_per_mtok"].to_numpy(dtype="float64", na_value=np.nan) / 1_000_000
    billed = _measured_completion(models, request, measured)  # answer and reasoning, as billed
    reasoning, reasoning_source = reasoning_allowance(
        models, effort=request.reasoning_effort, reasoning_tokens=request.reasoning_tokens, measured=measured
    )
    measured_reasoning = reasoning_source == SOURCE_MEASURED
    # A measured completion holds the reasoning: the answer is the rest; unmeasured reasoning is inside it.
    inside = ~np.isnan(billed) & ~measured_reasoning & (reasoning > 0)
    reasoning = np.where(inside, 0.0, reasoning)
    reasoning_source[inside] = SOURCE_INSIDE
    output_tokens = np.where(
        np.isnan(billed),
        float(request.output_tokens),
        np.maximum(billed - np.where(measured_reasoning, reasoning, 0), 0),
    )
    low, high, range_sources = _ranges(models, tokens, by_rule, request)
    return {
        "output_tokens": output_tokens,
        "output_usd": np.where(output_tokens == 0, 0.0, output_tokens * completion),
        "reasoning_tokens": reasoning,
        "reasoning_source": reasoning_source,
        "reasoning_usd": np.where(reasoning == 0, 0.0, reasoning * reasoning_price(models)),
        "web_search_usd": web_search_fee(models),
        "image_tokens_low": low,
        "image_tokens_high": high,
        # what the image costs more (or less) at each end of the range than at the point
        "image_usd_low_delta": np.where(low == tokens, 0.0, (low - tokens) * image_token_price),
        "image_usd_high_delta": np.where(high == tokens, 0.0, (high - tokens) * image_token_price),
        "range_sources": range_sources,
        "cache_saving_usd": cache_saving(models, request.prompt_tokens),
    }


def _measured_completion(models: pd.DataFrame, request: Request, measured: pd.DataFrame | None) -> np.ndarray:
    """A trial's median completion tokens per model at a comparable page size; NaN where there is none."""
    if measured is None or measured.empty or "completion_tokens" not in measured:
        return np.full(len(models), np.nan)
    rows = measured.dropna(subset=["completion_tokens"])
    if "pixels" in rows:
        area = request.width * request.height
        rows = rows[(rows["pixels"] - area).abs() <= _COMPARABLE_AREA * area]
    medians = rows.groupby("model")["completion_tokens"].median()
    return models["id"].map(medians).to_numpy(dtype="float64", na_value=np.nan)


def _ranges(
    models: pd.DataFrame, tokens: np.ndarray, by_rule: np.ndarray, request: Request
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Low and high image tokens per row (the point where no range applies), and the sources bounding each range."""
    low, high = tokens.copy(), tokens.copy()
    sources = np.full(len(models), "", dtype=object)
    ids = models["id"].tolist()
    for row in np.flatnonzero(by_rule).tolist():  # a lookup per model; the counts are cached per (range, point)
        entry = find_range(ids[row])
        if entry is None:
            continue
        low[row], high[row] = _counted(entry, int(tokens[row]), request.width, request.height, request.detail)
        sources[row] = entry.sources
    return low, high, sources


@lru_cache(maxsize=4096)
def _counted(entry: TokenRange, point: int, width: int, height: int, detail: str) -> tuple[int, int]:
    return token_range(entry, point, width, height, detail)

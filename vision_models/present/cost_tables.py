"""``vm.cost_per_image``: the pure cost table, with what a user has at hand read or fetched for it.

:func:`vision_models.pricing.cost.price_images` reads nothing and fetches nothing. This convenience
reads the trial measurements from the trials store (when ``measured`` is None) and fetches the provider
endpoints (``by_provider=True`` without ``endpoints``), then calls it. Library code that has its
measurements or endpoints already calls :func:`price_images` itself.
"""

from __future__ import annotations

import os
import sqlite3
import warnings

import pandas as pd

from ..catalog.endpoints import endpoints_frame, fetch_endpoints
from ..common import models_frame_of
from ..pricing.cost import price_images
from ..pricing.estimate import _token_count, resolve_size
from ..pricing.image_tokens import check_detail
from ..pricing.reasoning import DEFAULT_EFFORT
from ..stores.trials import get_trials_path, measurements


def cost_per_image(
    models: pd.DataFrame,
    width: int | None = None,
    height: int | None = None,
    *,
    prompt_tokens: int = 0,
    output_tokens: int = 0,
    detail: str = "high",
    preset: str | None = None,
    include_generators: bool = False,
    by_provider: bool = False,
    endpoints: pd.DataFrame | None = None,
    measured: pd.DataFrame | bool | None = None,
    prefer_measured: bool = False,
    trials_path: str | os.PathLike | None = None,
    reasoning_effort: str = DEFAULT_EFFORT,
    reasoning_tokens: int | None = None,
    cached_instruction: bool = False,
) -> pd.DataFrame:
    """One row per model: the image's tokens and the USD cost of one call, cheapest first.

    The table of :func:`vision_models.pricing.cost.price_images` (every
    argument and column as there), with two conveniences: ``by_provider=True``
    without ``endpoints`` fetches them for the models' ids (one request each:
    filter first), and ``measured`` None reads the trial measurements from the
    trials store at ``trials_path`` (default: the usual one) if there is one
    (False reads none). A trials store that cannot be read is one warning: the
    table goes on without it.
    """
    models = models_frame_of(models)
    if by_provider:
        if endpoints is None:
            resolve_size(width, height, preset)  # a bad request says so before any is sent
            _token_count("prompt_tokens", prompt_tokens), _token_count("output_tokens", output_tokens)
            check_detail(detail)
            endpoints = fetch_endpoints(models["id"].tolist(), models=models) if len(models) else endpoints_frame([])
        measured = False  # endpoint rows show no measurement
    elif measured is None:
        measured = stored_measurements(trials_path)
    return price_images(
        models,
        width,
        height,
        prompt_tokens=prompt_tokens,
        output_tokens=output_tokens,
        detail=detail,
        preset=preset,
        include_generators=include_generators,
        by_provider=by_provider,
        endpoints=endpoints,
        measured=measured,
        prefer_measured=prefer_measured,
        reasoning_effort=reasoning_effort,
        reasoning_tokens=reasoning_tokens,
        cached_instruction=cached_instruction,
    )


def stored_measurements(trials_path: str | os.PathLike | None = None) -> pd.DataFrame | None:
    """The measurements in the trials store; None when there is none, or it cannot be read.

    A cost table never needs the store, so a store that cannot be read (a
    directory, another file, a newer schema) is one warning, not an error.
    """
    path = get_trials_path(trials_path)
    if not path.exists():
        return None
    try:
        return measurements(path)
    except (ValueError, OSError, sqlite3.Error) as exc:
        warnings.warn(f"cost table without trial measurements: {exc}", stacklevel=3)
        return None

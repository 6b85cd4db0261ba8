"""The JSON contract of the seed's ``GET /api/models`` endpoint.

Shapes: fresh ``{"models", "cached": false, "count"}``; from cache
``{"models", "cached": true, "cacheAge"}``; failure ``{"error", "models": []}``;
a stale fallback is the cached shape plus ``error``.

Units keep the seed's names for compatibility: ``promptPer1k`` and
``completionPer1k`` are USD per *million* tokens, ``imagePer1k`` USD per
thousand images, always: a per-image ``pricing.image`` times 1,000, a
per-image-token one (equal to the prompt price, Gemini in 2026) times the
family's tokens for a 1024x1024 image times 1,000 (see
:func:`vision_models.pricing.listing.get_image_usd_per_1k`). Unknown is null, and so is a
listed ``"0"``: images are then billed as prompt tokens, not free.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from ..pricing.listing import get_image_usd_per_1k

_DECIMALS = 10


def build_api_payload(
    models: pd.DataFrame,
    *,
    cached: bool = False,
    cache_age: int | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """The endpoint's answer for ``models`` (a catalog frame) and how it was obtained."""
    payload = payload_envelope(len(models), cached=cached, cache_age=cache_age, error=error)
    payload["models"] = api_models(models) if payload["models"] is None else []
    return payload


def payload_envelope(
    count: int,
    *,
    cached: bool = False,
    cache_age: int | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """The answer's keys in order, with ``"models"`` left as None for the caller to fill.

    A failure with nothing to serve gets ``[]`` there already.
    """
    if error and count == 0:
        return {"error": error, "models": []}
    envelope: dict[str, Any] = {"models": None}
    if cached:
        envelope.update(cached=True, cacheAge=int(cache_age or 0))
    else:
        envelope.update(cached=False, count=count)
    if error:
        envelope["error"] = error
    return envelope


def encode_api_payload(envelope: dict[str, Any], models_json: str) -> str:
    """The answer as JSON text, splicing in ``models_json`` already encoded.

    A server encodes a catalog's models once and answers each request with a
    new envelope (its own ``cacheAge``) around the same text.
    """
    parts = [
        f"{json.dumps(key)}: {models_json if key == 'models' and value is None else json.dumps(value)}"
        for key, value in envelope.items()
    ]
    return "{" + ", ".join(parts) + "}"


def api_models(models: pd.DataFrame) -> list[dict[str, Any]]:
    """Each row as the endpoint's model object, built column-wise."""
    image_per_1k = pd.Series(get_image_usd_per_1k(models), index=models.index).round(_DECIMALS)
    columns = zip(
        models["id"].tolist(),
        models["name"].tolist(),
        models["description"].tolist(),
        _plain(models["context_length"]),
        _plain(models["prompt_usd_per_mtok"]),
        _plain(models["completion_usd_per_mtok"]),
        _plain(image_per_1k),
        models["provider"].tolist(),
        models["is_vision"].tolist(),
    )
    return [
        {
            "id": model_id,
            "name": name,
            "description": description,
            "contextLength": context,
            "pricing": {"promptPer1k": prompt, "completionPer1k": completion, "imagePer1k": image},
            "provider": provider,
            "isVision": bool(is_vision),
        }
        for model_id, name, description, context, prompt, completion, image, provider, is_vision in columns
    ]


def _plain(column: pd.Series) -> list:
    """Python numbers with None for missing (NaN and NA are not JSON)."""
    values = column.astype(object)
    return values.where(column.notna(), None).tolist()

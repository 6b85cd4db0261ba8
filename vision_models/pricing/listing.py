"""Reading a model's price listing: its prices per token, its ``pricing.image`` (per image or per image token),
discount, fees and limits, as arrays over a catalog frame; and the family rule that counts its image tokens.

Pure: no I/O. :func:`get_image_usd_per_1k` is the payload's ``imagePer1k``.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd

from .image_tokens import FALLBACK, FamilyRule, check_size, find_family, image_tokens

#: The image that a per-token ``pricing.image`` is priced at to give USD per 1,000 images.
REFERENCE_IMAGE = (1024, 1024)
# A listed image price within this factor of the prompt price is a rate per image token.
_PER_TOKEN_BAND = (0.5, 2.0)
_USD_DECIMALS = 12


@lru_cache(maxsize=8192)
def get_family(model_id: str, name: str = "") -> FamilyRule:
    """The image-token rule of a model: by its id, else by its name written like an id.

    OpenRouter names read "Vendor: Model Name"; ``"Acme: Qwen2.5 VL 72B"`` reads
    as ``/qwen2.5-vl-72b``, which the Qwen rule recognises even under an id
    that says nothing of the family.
    """
    rule = find_family(model_id)
    if rule is FALLBACK and name.strip():
        rule = find_family("/" + re.sub(r"\s+", "-", name.split(":", 1)[-1].strip().lower()))
    return rule


def get_image_usd_per_1k(
    models: pd.DataFrame, width: int = REFERENCE_IMAGE[0], height: int = REFERENCE_IMAGE[1]
) -> np.ndarray:
    """USD per 1,000 images as each model's catalog listing prices them; NaN where it does not.

    A per-image ``pricing.image`` times 1,000; a per-image-token one (equal to
    the prompt price, Gemini in 2026) or a listed ``pricing.image_token``,
    times the family's tokens for a ``width`` x ``height`` image (1024x1024 by
    default), times 1,000. No listing, a listed ``"0"`` (images are then billed
    as prompt tokens, not free), or a per-token rate on a family no rule knows:
    NaN.
    """
    width, height = check_size(width, height)
    listed, _, per_token, per_image = _read_listing(models)
    token_rate = np.where(per_token, listed, np.nan)
    if "image_token_usd_per_mtok" in models:
        image_token = _per_token(models["image_token_usd_per_mtok"])
        listed_rate = ~per_image & ~per_token & (image_token > 0)
        token_rate = np.where(listed_rate, image_token, token_rate)
    per_1k = np.where(per_image, listed * 1000, np.nan)
    wanted = np.flatnonzero(~np.isnan(token_rate))
    if len(wanted):
        ids, names = models["id"].to_numpy(dtype=object), models["name"].to_numpy(dtype=object)
        rules = [get_family(ids[i], names[i]) for i in wanted.tolist()]
        tokens = np.array([np.nan if r is FALLBACK else image_tokens(r, width, height) for r in rules], dtype="float64")
        per_1k[wanted] = token_rate[wanted] * tokens * 1000
    return _usd(per_1k)


def _read_listing(models: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``pricing.image`` read against the prompt price: (listed, ratio, per_token, per_image).

    Only a price above zero is a listing; within ``_PER_TOKEN_BAND`` of the
    prompt price it is a rate per image token, otherwise a price per image.
    """
    listed = models["image_price"].to_numpy(dtype="float64", na_value=np.nan)
    prompt = _per_token(models["prompt_usd_per_mtok"])
    ratio = np.divide(listed, prompt, out=np.full(len(listed), np.nan), where=prompt > 0)
    per_token = (listed > 0) & (ratio >= _PER_TOKEN_BAND[0]) & (ratio <= _PER_TOKEN_BAND[1])
    per_image = (listed > 0) & ~per_token
    return listed, ratio, per_token, per_image


def _image_token_price(models: pd.DataFrame, prompt: np.ndarray) -> np.ndarray:
    """USD per image token: a listed ``pricing.image_token`` above zero, else the prompt price."""
    if "image_token_usd_per_mtok" not in models:
        return prompt
    image_token = _per_token(models["image_token_usd_per_mtok"])
    return np.where(image_token > 0, image_token, prompt)


def _discount_factor(models: pd.DataFrame) -> np.ndarray:
    """1 - ``discount`` where one is listed (a fraction from 0 to 1), else 1."""
    if "discount" not in models:
        return np.ones(len(models))
    discount = models["discount"].to_numpy(dtype="float64", na_value=np.nan)
    return np.where(np.isnan(discount), 1.0, 1.0 - discount)


def _flag(models: pd.DataFrame, column: str) -> np.ndarray:
    """A boolean column of the frame, all False when a hand-made frame lacks it."""
    if column not in models:
        return np.zeros(len(models), dtype=bool)
    return models[column].to_numpy(dtype=bool, na_value=False)


def _free(models: pd.DataFrame, prompt: np.ndarray, completion: np.ndarray, request: np.ndarray) -> np.ndarray:
    """The frame's ``free`` (every listed price zero); for a frame without it, the prices it has."""
    if "free" in models:
        return _flag(models, "free")
    listed_image = models["image_price"].to_numpy(dtype="float64", na_value=np.nan)
    return (prompt == 0) & (completion == 0) & (request == 0) & ~(listed_image > 0)


def _limit(models: pd.DataFrame, column: str) -> np.ndarray:
    """A token limit of each model as floats, NaN where unlisted (or the frame lacks the column)."""
    if column not in models:
        return np.full(len(models), np.nan)
    return _floats(models[column])


def _floats(values: pd.Series | np.ndarray) -> np.ndarray:
    """Numbers (nullable or not) as float64, missing as NaN."""
    return pd.Series(values, copy=False).to_numpy(dtype="float64", na_value=np.nan)


def _per_token(column: pd.Series) -> np.ndarray:
    return column.to_numpy(dtype="float64", na_value=np.nan) / 1_000_000


def _times(count: int, price: np.ndarray) -> np.ndarray:
    """``count * price``, where no tokens cost nothing even at an unknown price."""
    return np.zeros_like(price) if count == 0 else count * price


def _usd(values: np.ndarray) -> np.ndarray:
    return np.round(values, _USD_DECIMALS)

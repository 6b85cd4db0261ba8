"""The parts of a bill besides tokens: per-request fees, web search, a discount, and what caching would save.

- ``request``: a fee per call, on every call (``request_usd``).
- ``web_search``: a fee per search. Most models search only when asked (OpenRouter's web plugin),
  but some search on every request: Perplexity's Sonar family and models named ``*-search``
  (:data:`ALWAYS_SEARCH`); on those every page pays it (``web_search_usd``).
- ``discount``: a fraction taken off every price (price x (1 - discount)).
- ``input_cache_read``: where a provider caches the prompt, the instruction repeated on every page
  is read from the cache at this price after the first page. The saving per 1,000 pages is shown
  (``cache_saving_usd_per_1k_images``), never taken off the total unless asked: whether a provider
  caches a prompt depends on its length and on the provider.

Pure: no I/O; whole-column arithmetic over a catalog or endpoints frame.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = ["ALWAYS_SEARCH", "cache_saving", "discount_factor", "searches_every_request", "web_search_fee"]

#: Models whose every request runs a web search (and pays ``pricing.web_search``): Perplexity's Sonar
#: family (its own docs: every Sonar request searches) and search-only models such as
#: ``openai/gpt-4o-search-preview``.
ALWAYS_SEARCH = re.compile(r"^perplexity/sonar|-search(?:-preview)?(?:-|$)")


def _column(models: pd.DataFrame, name: str, scale: float = 1.0) -> np.ndarray:
    """A price column as float64 (NaN where unlisted or where the frame lacks it), divided by ``scale``."""
    if name not in models:
        return np.full(len(models), np.nan)
    return models[name].to_numpy(dtype="float64", na_value=np.nan) / scale


def searches_every_request(models: pd.DataFrame) -> np.ndarray:
    """Whether each model searches the web on every request (:data:`ALWAYS_SEARCH` on its id, ``:variant`` dropped)."""
    ids = models["id"].astype("str").str.lower().str.split(":", n=1).str[0].str.lstrip("~")
    return ids.str.contains(ALWAYS_SEARCH).to_numpy(dtype=bool, na_value=False)


def web_search_fee(models: pd.DataFrame) -> np.ndarray:
    """USD per page for web search: the listed ``web_search`` price on models that always search, else 0."""
    price = _column(models, "web_search_usd")
    return np.where(searches_every_request(models) & (price > 0), price, 0.0)


def discount_factor(models: pd.DataFrame) -> np.ndarray:
    """1 - ``discount`` where one is listed (a fraction from 0 to 1), else 1."""
    discount = _column(models, "discount")
    return np.where(np.isnan(discount), 1.0, 1.0 - discount)


def cache_saving(models: pd.DataFrame, prompt_tokens: int) -> np.ndarray:
    """USD saved per page if the ``prompt_tokens`` instruction were read from the provider's cache.

    ``prompt_tokens x (prompt price - cache-read price)``, never below 0; NaN
    where no cache-read price is listed (the provider does not say it caches).
    """
    prompt = _column(models, "prompt_usd_per_mtok", 1_000_000)
    cached = _column(models, "cache_read_usd_per_mtok", 1_000_000)
    saving = np.where(np.isnan(cached), np.nan, np.maximum(prompt - cached, 0.0) * prompt_tokens)
    return np.where(np.isnan(prompt), np.nan, saving)

"""Narrowing a catalog frame: provider, minimum context, maximum prompt price, free text.

Shared by the CLI, the widgets and the server so that all three filter alike.
An unknown price or context never passes a bound on it: unknown is not cheap.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..common import check_number


def filter_models(
    frame: pd.DataFrame,
    *,
    providers: Iterable[str] | str | None = None,
    min_context: int | None = None,
    max_prompt_price: float | None = None,
    search: str | None = None,
) -> pd.DataFrame:
    """Rows of ``frame`` that pass every given filter, in their order.

    ``providers``: provider names (the id's prefix), any case; ``min_context``:
    tokens; ``max_prompt_price``: USD per million prompt tokens; ``search``:
    case-insensitive plain text found in the id or the name.
    """
    keep = filter_mask(
        frame, providers=providers, min_context=min_context, max_prompt_price=max_prompt_price, search=search
    )
    return frame[keep]


def filter_mask(
    frame: pd.DataFrame,
    *,
    providers: Iterable[str] | str | None = None,
    min_context: int | None = None,
    max_prompt_price: float | None = None,
    search: str | None = None,
) -> np.ndarray:
    """Which rows of ``frame`` pass every given filter (a boolean array): the one rule behind every filter.

    The frame needs only the columns a given filter reads (``provider``,
    ``context_length``, ``prompt_usd_per_mtok``, ``id`` and ``name``), so the
    server can keep a small frame of them and ask again for each query.
    """
    keep = np.ones(len(frame), dtype=bool)
    wanted = check_providers(providers)
    if wanted:
        keep &= frame["provider"].str.lower().isin(wanted).to_numpy(dtype=bool)
    if min_context is not None:
        context = frame["context_length"].to_numpy(dtype="float64", na_value=np.nan)
        keep &= context >= check_min_context(min_context)  # NaN (unknown) compares False
    if max_prompt_price is not None:
        price = frame["prompt_usd_per_mtok"].to_numpy(dtype="float64", na_value=np.nan)
        keep &= price <= check_max_price(max_prompt_price)
    if search and search.strip():
        needle = re.escape(search.strip())
        found = (frame["id"] + " " + frame["name"]).str.contains(needle, case=False)
        keep &= found.fillna(False).to_numpy(dtype=bool)
    return keep


def check_providers(providers: Iterable[str] | str | None) -> list[str]:
    """Lower-cased provider names; a blank or non-text name is a ``ValueError``."""
    if providers is None:
        return []
    names = [providers] if isinstance(providers, str) else list(providers)
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"bad provider {name!r}: expected a provider name such as 'openai'")
    return [name.strip().lower() for name in names]


def check_min_context(value: object, name: str = "min_context") -> int:
    """A whole, non-negative number of tokens; ``name`` is the parameter as the caller's interface spells it."""
    return int(check_number(value, name, low=0, whole=True, expected="a whole number of tokens >= 0"))


def check_max_price(value: object, name: str = "max_prompt_price") -> float:
    """A non-negative USD amount per million prompt tokens; ``name`` as in :func:`check_min_context`."""
    return check_number(value, name, low=0, expected="USD per million tokens >= 0")

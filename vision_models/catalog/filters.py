"""Narrowing a catalog frame: provider, minimum context, maximum prompt price, free text.

Shared by the CLI, the widgets and the server so that all three filter alike.
An unknown price or context never passes a bound on it: unknown is not cheap.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import pandas as pd


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
    keep = pd.Series(True, index=frame.index)
    wanted = check_providers(providers)
    if wanted:
        keep &= frame["provider"].str.lower().isin(wanted)
    if min_context is not None:
        keep &= frame["context_length"].ge(check_min_context(min_context)).fillna(False).astype(bool)
    if max_prompt_price is not None:
        keep &= frame["prompt_usd_per_mtok"].le(check_max_price(max_prompt_price))
    if search and search.strip():
        needle = re.escape(search.strip())
        keep &= (frame["id"] + " " + frame["name"]).str.contains(needle, case=False)
    return frame[keep.to_numpy()]


def check_providers(providers: Iterable[str] | str | None) -> list[str]:
    """Lower-cased provider names; a blank or non-text name is a ``ValueError``."""
    if providers is None:
        return []
    names = [providers] if isinstance(providers, str) else list(providers)
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"bad provider {name!r}: expected a provider name such as 'openai'")
    return [name.strip().lower() for name in names]


def check_min_context(value: object) -> int:
    """A whole, non-negative number of tokens."""
    number = _number(value, "min_context")
    if number < 0 or number != int(number):
        raise ValueError(f"bad min_context {value!r}: expected a whole number of tokens >= 0")
    return int(number)


def check_max_price(value: object) -> float:
    """A non-negative USD amount per million prompt tokens."""
    number = _number(value, "max_prompt_price")
    if number < 0:
        raise ValueError(f"bad max_prompt_price {value!r}: expected USD per million tokens >= 0")
    return number


def _number(value: object, name: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"bad {name} {value!r}: expected a number") from None
    if isinstance(value, bool) or not math.isfinite(number):
        raise ValueError(f"bad {name} {value!r}: expected a finite number")
    return number

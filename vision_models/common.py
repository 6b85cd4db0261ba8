"""Small pure rules every layer shares, kept once at the bottom: number and unknown-value checks, UTC moments.

What talks to the user as work goes (warn once, progress bars) is in :mod:`vision_models.notices`.

Each interface (the Python API, the CLI, the server's query string) words a
parameter its own way (``min_context``, ``--min-context``, ``minContext``), so
the checks take the parameter's name and every message has one shape:
``bad NAME VALUE: expected WHAT``.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import numpy as np
import pandas as pd

#: How alike (``difflib`` ratio, 0-1) a known value must be to an unknown one to be offered as a close match.
CLOSE_MATCH_CUTOFF = 0.5


def check_number(
    value: object,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    above_zero: bool = False,
    whole: bool = False,
    expected: str | None = None,
) -> float:
    """``value`` as a finite ``float`` within the bounds, else a one-line ``ValueError`` naming ``name``.

    ``low``/``high``: inclusive bounds; ``above_zero``: 0 itself is refused;
    ``whole``: no fraction. ``True`` and ``False`` are not numbers here, and
    neither are text that does not read as one, NaN or infinity.
    """
    want = expected or "a finite number"
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"bad {name} {shown(value)}: expected {want}") from None
    if isinstance(value, bool) or not math.isfinite(number):
        raise ValueError(f"bad {name} {shown(value)}: expected {want}")
    out_of_range = (
        (low is not None and number < low)
        or (high is not None and number > high)
        or (above_zero and number <= 0)
        or (whole and not number.is_integer())
    )
    if out_of_range:
        raise ValueError(f"bad {name} {shown(value)}: expected {want}")
    return number


def shown(value: object) -> str:
    """A bad value as a message quotes it: its repr, cut at 40 characters (a 400-digit number is not printed)."""
    if isinstance(value, int) and abs(value) >= 10**40:
        return "a number with over 40 digits"
    return f"{value!r:.40}"


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC ``datetime``; a naive one is read as UTC (what requests-cache and SQLite store)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def utc_index(microseconds: np.ndarray) -> pd.DatetimeIndex:
    """Microseconds since the epoch (how the stores keep moments) as a UTC ``DatetimeIndex``."""
    return pd.DatetimeIndex(np.asarray(microseconds).astype("datetime64[us]")).tz_localize("UTC")


def check_known(values: Iterable[object], known: Sequence[str], what: str = "model id", where: str = "") -> None:
    """A ``ValueError`` for the first of ``values`` not in ``known``, with up to three close matches.

    ``what`` names the kind of value (``"model id"``), ``where`` says what
    ``known`` is (``": not in the history"``), so every interface says it alike:
    ``unknown model id 'openai/gpt4o': not in the history; close matches: openai/gpt-4o``.
    """
    present = set(known)
    for value in values:
        if value not in present:
            close = difflib.get_close_matches(str(value), list(known), n=3, cutoff=CLOSE_MATCH_CUTOFF)
            hint = f"; close matches: {', '.join(close)}" if close else ""
            raise ValueError(f"unknown {what} {value!r}{where}{hint}")


def models_frame_of(models: object) -> pd.DataFrame:
    """The models frame a pricing call was given: a DataFrame, or the ``.models`` of what ``fetch_vision_models`` returns.

    Anything else is a ``ValueError`` naming its type, rather than a ``TypeError`` deep in pandas.
    """
    if isinstance(models, pd.DataFrame):
        return models
    inner = getattr(models, "models", None)
    if isinstance(inner, pd.DataFrame):
        return inner
    raise ValueError(
        f"bad models {type(models).__name__!r}: expected a DataFrame of models (vm.fetch_vision_models(...).models)"
    )


def check_choice(value: object, choices: Sequence[str], what: str) -> str:
    """``value`` if it is one of ``choices``, else a ``ValueError``: ``unknown <what> 'x': expected one of a, b``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"unknown {what} {value!r}: expected one of {', '.join(choices)}")
    return value

"""Turn the entries of an OpenRouter catalog response into one typed DataFrame.

Each column is built from the whole list of entries at once (one list
comprehension per field, then a vectorised conversion), never row by row
through ``apply`` or ``json_normalize``: that is what keeps a warm
``fetch_vision_models()`` close to the cost of reading the cached body.
Odd fields (nulls, numbers where strings belong, nested junk) become missing
values in their own cell and never drop the other models.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .vision import DEFAULT_RULES, vision_columns

#: Columns of the catalog frame, in order (``is_vision`` and
#: ``vision_evidence`` are added by :mod:`vision_models.vision`).
BASE_COLUMNS = [
    "id",
    "name",
    "description",
    "provider",
    "context_length",
    "modality",
    "input_modalities",
    "output_modalities",
    "prompt_usd_per_mtok",
    "completion_usd_per_mtok",
    "image_price",
    "request_usd",
    "max_completion_tokens",
    "created",
]

_EMPTY: dict = {}
_PER_MILLION = 1_000_000
# Per-token prices scaled to per-million carry float noise (2.4999999999999996);
# ten decimals of a dollar per million tokens keep every real price exact.
_PRICE_DECIMALS = 10


def build_frame(entries: list[Any]) -> pd.DataFrame:
    """Return one row per model of a catalog's ``data`` list, columns as in ``BASE_COLUMNS``."""
    return pd.DataFrame(catalog_columns(entries), copy=False)


def catalog_columns(entries: list[Any]) -> dict[str, Any]:
    """The catalog's columns as typed arrays, ready for one ``DataFrame`` call.

    Entries that are not objects or have no string ``id`` cannot be models and
    are skipped; a repeated id keeps its first entry. Both cases warn.
    """
    models = _usable_entries(entries)
    ids = [m["id"] for m in models]
    arch = [_mapping(m.get("architecture")) for m in models]
    pricing = [_mapping(m.get("pricing")) for m in models]
    top = [_mapping(m.get("top_provider")) for m in models]
    return {
        "id": _text(ids),
        "name": _text([_str_or(m.get("name"), i) for m, i in zip(models, ids)]),
        "description": _text([_str_or(m.get("description"), "") for m in models]),
        "provider": _text([_provider(i) for i in ids]),
        "context_length": _count([m.get("context_length") for m in models]),
        "modality": _text([_str_or(a.get("modality"), "") for a in arch]),
        "input_modalities": _lists([a.get("input_modalities") for a in arch]),
        "output_modalities": _lists([a.get("output_modalities") for a in arch]),
        "prompt_usd_per_mtok": _price([p.get("prompt") for p in pricing], _PER_MILLION),
        "completion_usd_per_mtok": _price([p.get("completion") for p in pricing], _PER_MILLION),
        "image_price": _price([p.get("image") for p in pricing]),
        "request_usd": _price([p.get("request") for p in pricing]),
        "max_completion_tokens": _count([t.get("max_completion_tokens") for t in top]),
        "created": _timestamps([m.get("created") for m in models]),
    }


def _usable_entries(entries: list[Any]) -> list[dict]:
    models = [m for m in entries if isinstance(m, dict) and isinstance(m.get("id"), str) and m["id"]]
    if len(models) < len(entries):
        warnings.warn(
            f"skipped {len(entries) - len(models)} catalog entries without a string id",
            stacklevel=3,
        )
    seen: set[str] = set()
    unique = [m for m in models if not (m["id"] in seen or seen.add(m["id"]))]
    if len(unique) < len(models):
        warnings.warn(
            f"skipped {len(models) - len(unique)} catalog entries with a repeated id (kept the first)",
            stacklevel=3,
        )
    return unique


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else _EMPTY


def _str_or(value: Any, default: str) -> str:
    return value if isinstance(value, str) else default


def _provider(model_id: str) -> str:
    """The id's prefix (``openai`` of ``openai/gpt-4o``); a ``~`` alias marker is dropped."""
    return model_id.partition("/")[0].lstrip("~")


def _text(values: list[str]):
    return pd.array(values, dtype="str")


def _lists(values: list[Any]) -> np.ndarray:
    """Lists of text, one per model; members that are not text become text."""
    lists = [x if type(x) is list else [] for x in values]
    try:
        for _ in map("|".join, lists):  # one pass in C: every member is text, the usual case
            pass
    except TypeError:
        lists = [[str(v) for v in x] for x in lists]
    column = np.empty(len(lists), dtype=object)
    column[:] = lists
    return column


_PLAIN_TYPES = {str, int, float, type(None)}


def _numbers(values: list[Any]) -> np.ndarray:
    """Floats from strings or numbers; anything else (bools, dicts, junk) is NaN."""
    numbers = None
    if set(map(type, values)) <= _PLAIN_TYPES:
        try:  # the usual case, parsed in C: numeric strings, numbers, nulls
            numbers = np.array(values, dtype="float64")
        except (ValueError, OverflowError):
            pass
    if numbers is None:
        plain = np.array([v if type(v) in (str, int, float) else None for v in values], dtype=object)
        numbers = pd.to_numeric(plain, errors="coerce").astype("float64")
    numbers[~np.isfinite(numbers)] = np.nan
    return numbers


def _price(values: list[Any], scale: int = 1) -> np.ndarray:
    """A price column: negative (``"-1"``: variable) and unparseable values are NaN, never 0."""
    prices = _numbers(values)
    prices[prices < 0] = np.nan
    if scale != 1:
        prices = np.round(prices * scale, _PRICE_DECIMALS)
    return prices


def _count(values: list[Any]) -> pd.arrays.IntegerArray:
    """A non-negative whole number (token counts) as nullable Int64."""
    numbers = _numbers(values)
    missing = ~((numbers >= 0) & (numbers < 2**53)) | (numbers != np.floor(numbers))
    return pd.arrays.IntegerArray(np.where(missing, 0, numbers).astype("int64"), missing)


def _timestamps(values: list[Any]) -> pd.DatetimeIndex:
    """Unix seconds as UTC datetimes; junk and dates beyond the year 5000 are NaT."""
    seconds = _numbers(values)
    seconds[np.abs(seconds) >= 1e11] = np.nan
    return pd.DatetimeIndex(np.round(seconds * 1e6).astype("datetime64[us]")).tz_localize("UTC")


def models_frame(entries: list[Any], rules: str = DEFAULT_RULES, *, vision_only: bool = False) -> pd.DataFrame:
    """The sorted catalog frame of a ``data`` list, vision columns included.

    Rows are chosen and ordered on the column arrays, so the ``DataFrame`` is
    built once, already in its final shape.
    """
    columns = catalog_columns(entries)
    columns.update(vision_columns(columns, rules))
    rows = sort_order(columns)
    if vision_only:
        rows = rows[columns["is_vision"][rows]]
    return pd.DataFrame({name: values[rows] for name, values in columns.items()}, index=pd.RangeIndex(len(rows)))


def sort_models(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` by provider, then name, both case-insensitive, then id; a fresh 0..n-1 index."""
    ordered = frame.take(sort_order(frame))
    ordered.index = pd.RangeIndex(len(ordered))
    return ordered


def sort_order(columns: Mapping[str, Any] | pd.DataFrame) -> np.ndarray:
    """Row positions in catalog order: provider, name (case-insensitive), id."""
    ids, names, providers = (np.asarray(columns[c], dtype=object).tolist() for c in ("id", "name", "provider"))
    keys = list(zip([p.lower() for p in providers], [n.lower() for n in names], ids))
    return np.array(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.intp)

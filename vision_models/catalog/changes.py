"""The history's runs read back as frames: what changed between two dates, and each model's prices over time."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ..common import utc_index
from ..stores.versions import ATTRIBUTES, PRICES
from .snapshots import _same, _text, _typed

CHANGE_COLUMNS = ("date", "id", "name", "kind", "field", "old", "new", "pct_change", "is_vision")
PRICE_HISTORY_COLUMNS = ("date", "id", "name", *PRICES)
KINDS = ("added", "removed", "price", "context", "gained_image_input", "lost_image_input", "renamed")
#: The columns of the changes a reader is shown (:func:`readable_changes`), in order.
READABLE_CHANGE_COLUMNS = ("date", "kind", "id", "field", "old", "new", "pct_change")


def _changes_frame(starts: list[tuple], ends: list[tuple]) -> pd.DataFrame:
    """The change rows of paired runs (``starts``) and of runs nobody continues (``ends``)."""
    old_names = [f"old_{a}" for a in ATTRIBUTES]
    frame = pd.DataFrame.from_records(starts, columns=["id", "date", *ATTRIBUTES, "has_old", *old_names])
    new = _typed(frame[list(ATTRIBUTES)])
    old = _typed(frame[old_names].set_axis(list(ATTRIBUTES), axis=1))
    has_old = frame["has_old"].to_numpy(dtype=bool)
    gone = pd.DataFrame.from_records(ends, columns=["id", "date", *ATTRIBUTES])
    gone_attrs = _typed(gone[list(ATTRIBUTES)])
    either_vision = new["is_vision"].to_numpy() | (has_old & old["is_vision"].to_numpy())
    everyone, gone_vision = np.ones(len(gone), dtype=bool), gone_attrs["is_vision"].to_numpy()
    pieces = [
        _piece(frame, new, ~has_old, "added", None, None, None, either_vision),
        _piece(gone, gone_attrs, everyone, "removed", None, None, None, gone_vision),
    ]
    for field in (*PRICES, "context_length"):
        moved = has_old & ~_same(old[field], new[field])
        kind = "context" if field == "context_length" else "price"
        pieces.append(_piece(frame, new, moved, kind, field, old[field], new[field], either_vision, pct=True))
    had_image = old["input_modalities"].str.contains('"image"', regex=False).to_numpy(dtype=bool)
    has_image = new["input_modalities"].str.contains('"image"', regex=False).to_numpy(dtype=bool)
    listed_old, listed_new = _joined(old["input_modalities"]), _joined(new["input_modalities"])
    for kind, moved in (("gained_image_input", ~had_image & has_image), ("lost_image_input", had_image & ~has_image)):
        moved &= has_old
        pieces.append(_piece(frame, new, moved, kind, "input_modalities", listed_old, listed_new, either_vision))
    renamed = has_old & ~_same(old["name"], new["name"])
    pieces.append(_piece(frame, new, renamed, "renamed", "name", old["name"], new["name"], either_vision))
    changes = pd.concat(pieces, ignore_index=True)
    order = ["date", "id", "kind", "field"]
    changes = changes.sort_values(order, kind="stable", na_position="first", ignore_index=True)
    return _finish_changes(changes)


def _piece(
    rows: pd.DataFrame,
    attrs: pd.DataFrame,
    mask: np.ndarray,
    kind: str,
    field: str | None,
    old: pd.Series | None,
    new: pd.Series | None,
    vision: np.ndarray,
    *,
    pct: bool = False,
) -> pd.DataFrame:
    """The change rows of one kind (and field) for the rows where ``mask`` holds."""
    count = int(mask.sum())
    none = np.full(count, None, dtype=object)
    before = none if old is None else old.to_numpy(dtype=object, na_value=None)[mask]
    after = none if new is None else new.to_numpy(dtype=object, na_value=None)[mask]
    return pd.DataFrame(
        {
            "date": rows["date"].to_numpy(dtype="int64")[mask],
            "id": rows["id"].to_numpy(dtype=object)[mask],
            "name": attrs["name"].to_numpy(dtype=object)[mask],
            "kind": [kind] * count,
            "field": [field] * count,
            "old": before,
            "new": after,
            "pct_change": _pct(old, new, mask) if pct else np.full(count, np.nan),
            "is_vision": vision[mask],
        }
    )


def _pct(old: pd.Series, new: pd.Series, mask: np.ndarray) -> np.ndarray:
    """Percent change; NaN from or to 0 or a missing value."""
    before = old.to_numpy(dtype="float64", na_value=np.nan)[mask]
    after = new.to_numpy(dtype="float64", na_value=np.nan)[mask]
    usable = (before != 0) & (after != 0) & np.isfinite(before) & np.isfinite(after)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(usable, np.round((after - before) / before * 100, 6), np.nan)


def _joined(listed: pd.Series) -> pd.Series:
    """JSON lists as ``text+image`` strings, the way OpenRouter writes modalities."""
    texts = listed.to_numpy(dtype=object, na_value=None)
    values = ["+".join(json.loads(x)) if isinstance(x, str) else None for x in texts]
    return pd.Series(values, index=listed.index, dtype=object)


def _finish_changes(changes: pd.DataFrame) -> pd.DataFrame:
    """Final dtypes: UTC datetimes, text columns as ``str``, old/new as objects."""
    return changes.assign(
        date=utc_index(changes["date"].to_numpy(dtype="int64")),
        id=_text(changes["id"]),
        name=_text(changes["name"]),
        kind=_text(changes["kind"]),
        field=_text(changes["field"]),
        old=changes["old"].astype(object),
        new=changes["new"].astype(object),
        pct_change=changes["pct_change"].astype("float64"),
        is_vision=changes["is_vision"].astype(bool),
    )[list(CHANGE_COLUMNS)]


def _empty_changes() -> pd.DataFrame:
    return _changes_frame([], [])


def _prices_frame(runs: list[tuple], times: np.ndarray) -> pd.DataFrame:
    """Each run's prices at every snapshot it covers: an as-of join of snapshot times onto run starts."""
    versions = pd.DataFrame.from_records(runs, columns=["id", "valid_from", "valid_to", "name", *PRICES])
    versions = _typed(versions).astype({"id": "str"})
    if versions.empty or not len(times):
        return _empty_prices()
    ids = versions["id"].unique()
    grid = pd.DataFrame({"at": np.repeat(times, len(ids)), "id": np.tile(ids, len(times))}).astype({"id": "str"})
    versions = versions.assign(valid_from=versions["valid_from"].astype("int64"))
    joined = pd.merge_asof(grid, versions, left_on="at", right_on="valid_from", by="id", direction="backward")
    ends = joined["valid_to"].to_numpy(dtype="float64", na_value=np.inf)
    starts = joined["valid_from"].to_numpy(dtype="float64", na_value=np.nan)
    present = np.isfinite(starts) & (joined["at"].to_numpy() < ends)
    rows = joined.loc[present].sort_values(["at", "id"], ignore_index=True)
    return rows.assign(date=utc_index(rows["at"].to_numpy(dtype="int64")))[list(PRICE_HISTORY_COLUMNS)]


def _empty_prices() -> pd.DataFrame:
    text = pd.array([], dtype="str")
    frame = pd.DataFrame({"date": utc_index(np.array([], dtype="int64")), "id": text, "name": text})
    return frame.assign(**{p: np.array([], dtype="float64") for p in PRICES})

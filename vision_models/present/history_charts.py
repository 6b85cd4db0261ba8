"""Charts of the catalog's history: a model's prices over time, and the models added per week."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..catalog.frame import is_alias_id
from .chart_style import (
    _PRICE_WORDS,
    LINE_COLOURS,
    LINE_STYLES,
    PROVIDER_COLOURS,
    _axis_format,
    _new_axes,
    _nothing_to_draw,
    plural,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes


def plot_price_history(
    history: pd.DataFrame | str | list[str],
    price: str = "prompt_usd_per_mtok",
    ax: Axes | None = None,
    *,
    path: str | None = None,
    what: str = "model",
    why: str = "",
) -> Axes:
    """A step chart of one price per model over the snapshot dates; returns the ``Axes`` (``ax`` if given).

    ``history`` is a :func:`price_history` frame or the ids to look up. Each
    line has a colour of its own (:data:`LINE_COLOURS`; past ten lines the
    colours come round with another line style). The title names the price,
    how many models and the period; ``what`` (a singular noun, "vision model")
    and ``why`` (how they were chosen, "with the most price changes") make it
    say which: "Prompt price of the 4 vision models with the most price
    changes, 2026-03-02 to 2026-05-01". The x axis is a real date axis with
    concise date labels; the price axis reads in dollars from 0.
    """
    import matplotlib.dates as mdates

    from ..catalog.history import PRICES, price_history

    if price not in PRICES:
        raise ValueError(f"unknown price {price!r}: expected one of {', '.join(PRICES)}")
    frame = history if isinstance(history, pd.DataFrame) else price_history(history, path=path)
    if ax is None:
        ax = _new_axes((9, 4.5))
    name, unit = _PRICE_WORDS[price]
    ids = sorted(frame["id"].unique().tolist())
    if not ids:
        return _nothing_to_draw(ax, "No models to show: the price history is empty.", f"{name}: no price history")
    dates = frame["date"].dt.tz_convert("UTC")
    models = plural(len(ids), what)
    first, last = dates.min().strftime("%Y-%m-%d"), dates.max().strftime("%Y-%m-%d")
    title = f"{name} of the {models} {why}" if why else f"{name} of {models}"
    period = f"on {first}" if first == last else f"{first} to {last}"
    for nth, model_id in enumerate(ids):
        rows = frame[(frame["id"] == model_id).to_numpy()]
        ax.step(
            rows["date"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(),
            rows[price].to_numpy(dtype="float64"),
            where="post",
            label=model_id,
            color=LINE_COLOURS[nth % len(LINE_COLOURS)],
            linestyle=LINE_STYLES[nth // len(LINE_COLOURS) % len(LINE_STYLES)],
            linewidth=1.6,
        )
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    _axis_format(ax, "y", "usd", False, frame[price].to_numpy(dtype="float64", na_value=np.nan))
    ax.set_ylim(bottom=0)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    ax.grid(alpha=0.3)
    ax.set_ylabel(unit)
    ax.set_xlabel("snapshot date (UTC)")
    ax.set_title(textwrap.fill(f"{title}, {period}", 80), fontsize=10)
    return ax


#: How a week the history covers only in part is drawn: a lighter, hatched bar.
PARTIAL_HATCH = "//"
PARTIAL_ALPHA = 0.45
_WEEK = pd.Timedelta(days=7)
_ONE_US = pd.Timedelta(microseconds=1)


def models_added_per_week(
    changes: pd.DataFrame,
    *,
    since: pd.Timestamp | str | None = None,
    until: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """How many models were added each week (weeks start on Monday, UTC), and which weeks are partial.

    ``changes`` is a :func:`catalog_changes` frame (its ``added`` rows count)
    or just those rows. Aliases (``~`` ids such as ``~openai/gpt-latest``, see
    :func:`vision_models.catalog.frame.is_alias_id`) are new names for models, not new
    models: they are not counted.

    One row per week, indexed by its Monday (a date, ``week_starting``), weeks
    with none included: ``models_added`` (int64) and ``partial`` (bool): the
    history does not cover the whole week, so its count may be short. The
    range covered is ``since`` .. ``until`` (UTC instants, both inclusive), by
    default the one :func:`catalog_changes` puts in ``changes.attrs``; the
    weeks then span the whole range, a last week with no additions included.
    Without a range (a frame made by hand), the weeks span the first to the
    last addition, and those two weeks are marked partial: nothing says the
    history covered them whole.
    """
    added = changes[changes["kind"] == "added"] if "kind" in changes else changes
    added = added[~is_alias_id(added["id"].tolist())] if "id" in added else added
    dates = pd.to_datetime(added["date"], utc=True)
    low = _utc_instant(changes.attrs.get("since") if since is None else since, "since")
    high = _utc_instant(changes.attrs.get("until") if until is None else until, "until")
    if low is not None and high is not None and low > high:
        raise ValueError(f"the range is reversed: since {low} is after until {high}")
    known = (low, high) if low is not None and high is not None else None
    if dates.empty and known is None:
        return _weekly_frame(pd.Index([], dtype=object), np.array([], dtype="int64"), np.array([], dtype=bool))
    mondays = _monday(dates)
    ends = [*_monday(pd.Series(list(known or ()), dtype=object)).tolist(), *mondays.unique().tolist()]
    weeks = pd.date_range(min(ends), max(ends), freq="7D").date
    counts = mondays.value_counts().reindex(weeks, fill_value=0).to_numpy(dtype="int64")
    if known is not None:  # whole when every instant of the week lies in the range
        starts = pd.DatetimeIndex(weeks).tz_localize("UTC")
        partial = np.asarray((starts < known[0]) | (starts + _WEEK - _ONE_US > known[1]), dtype=bool)
    else:
        partial = np.zeros(len(weeks), dtype=bool)
        partial[[0, -1]] = True
    return _weekly_frame(pd.Index(weeks, dtype=object), counts, partial)


def _weekly_frame(weeks: pd.Index, counts: np.ndarray, partial: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame({"models_added": counts.astype("int64"), "partial": partial.astype(bool)}, index=weeks)
    frame.index.name = "week_starting"
    return frame


def _monday(dates: pd.Series) -> pd.Series:
    """Each instant's week, as the date of its Monday (UTC)."""
    days = pd.to_datetime(dates, utc=True).dt.tz_localize(None).dt.normalize()
    return (days - pd.to_timedelta(days.dt.day_of_week, unit="D")).dt.date


def _utc_instant(value: object, name: str) -> pd.Timestamp | None:
    """An instant as a UTC ``Timestamp`` (naive read as UTC); a ``ValueError`` naming what cannot be read."""
    if value is None:
        return None
    try:
        moment = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ValueError(f"bad {name} {value!r}: expected an ISO date or datetime, such as 2026-03-02") from None
    if moment is pd.NaT:
        raise ValueError(f"bad {name} {value!r}: expected an ISO date or datetime, such as 2026-03-02")
    return moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")


def plot_models_added_per_week(
    per_week: pd.Series | pd.DataFrame, *, ax: Axes | None = None, what: str = "vision models"
) -> Axes:
    """Bars of models added per week, labelled with each week's Monday (from the index, not a date axis).

    ``per_week`` is :func:`models_added_per_week` or a changes frame (a
    Series of counts is read as weeks all whole). Weeks the history covers only
    in part are drawn lighter and hatched, with a legend entry "partial week".
    The labels are written from the index, so they are the same under pandas 2 and 3.
    """
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    if isinstance(per_week, pd.DataFrame) and "models_added" not in per_week:
        per_week = models_added_per_week(per_week)
    if isinstance(per_week, pd.Series):
        per_week = _weekly_frame(per_week.index, per_week.to_numpy(dtype="int64"), np.zeros(len(per_week), dtype=bool))
    if ax is None:
        ax = _new_axes((8, 3.2))
    if per_week.empty:
        return _nothing_to_draw(ax, f"No {what} added in this period.", f"{what.capitalize()} added per week: none")
    counts = per_week["models_added"].to_numpy(dtype="int64")
    partial = per_week["partial"].to_numpy(dtype=bool)
    positions = np.arange(len(per_week))
    colour = PROVIDER_COLOURS["openai"]
    bars = ax.bar(positions, counts, color=colour, width=0.7)
    for bar, is_partial in zip(bars, partial.tolist()):
        if is_partial:
            bar.set_alpha(PARTIAL_ALPHA)
            bar.set_hatch(PARTIAL_HATCH)
            bar.set_edgecolor(colour)
    ax.bar_label(bars, fontsize=7)
    labels = [pd.Timestamp(week).strftime("%Y-%m-%d") for week in per_week.index]
    ax.set_xticks(positions, labels, rotation=45, ha="right", fontsize=8)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(bottom=0, top=max(1, int(counts.max(initial=0))) * 1.15)  # room for the labels
    ax.set_xlabel("week starting (Monday, UTC)")
    ax.set_ylabel(f"{what} added")
    total = int(counts.sum())
    note = f" ({int(partial.sum())} partial)" if partial.any() else ""
    ax.set_title(f"{what.capitalize()} added per week: {total:,} in {plural(len(per_week), 'week')}{note}")
    if partial.any():
        whole = Patch(facecolor=colour, label="whole week")
        part = Patch(facecolor=colour, alpha=PARTIAL_ALPHA, hatch=PARTIAL_HATCH, edgecolor=colour, label="partial week")
        ax.legend(handles=[whole, part], fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    return ax

"""Charts of cost per image and of the catalog's history: each takes ``ax=`` and returns the Axes.

matplotlib is imported when a chart is drawn, not when the package loads, so
the CLI and the server start without it. Every cost chart colours a provider
the same way (:data:`PROVIDER_COLOURS`), groups the long tail as "other", and
its legend lists only what it drew; the price history gives each line a colour
of its own. A cost axis whose values span more than two decades is
logarithmic, otherwise linear from zero; either way its ticks read in dollars
($0.10, $2, $50) and context lengths in tokens (32k, 1M). A chart with nothing
to draw says so on its axes instead of raising.

Given no ``ax``, a chart makes its own figure with pyplot. In a Jupyter kernel
whose matplotlib backend shows nothing by itself (``MPLBACKEND=Agg``), that
figure is displayed when the cell ends and then closed, as the inline backend
does with every figure; under inline, ipympl or a GUI backend the backend
shows it, and outside IPython nothing else happens.
"""

from __future__ import annotations

import math
import sys
import textwrap
from collections.abc import Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..pricing.measured import MEASURED_METHOD
from ..catalog.frame import is_alias_id

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis
    from matplotlib.figure import Figure

UNCERTAIN_HATCH = "///"
#: How heavy the outline of a bar priced from trial measurements is.
MEASURED_LINEWIDTH = 2.0
#: A cost axis whose positive values span more than this many decades (max / min > 100) is logarithmic.
LOG_DECADES = 2.0

#: One colour per main provider, the same in every chart (tab10 without its grey, plus one),
#: in legend order. Any other provider is drawn as :data:`OTHER`.
PROVIDER_COLOURS: dict[str, str] = {
    "openai": "#1f77b4",
    "google": "#ff7f0e",
    "anthropic": "#2ca02c",
    "qwen": "#d62728",
    "mistralai": "#9467bd",
    "meta-llama": "#8c564b",
    "x-ai": "#e377c2",
    "amazon": "#bcbd22",
    "z-ai": "#17becf",
    "bytedance-seed": "#393b79",
}
OTHER = "other"
OTHER_COLOUR = "#a0a0a0"
FREE_LISTED = 4  # free models named in a cost chart's title before "and N more"
#: The price history's line colours (matplotlib's qualitative tab10), one per line; past ten, the
#: colours come round again with the next of :data:`LINE_STYLES`.
LINE_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
LINE_STYLES = ["-", "--", ":", "-."]

_PRICE_WORDS = {
    "prompt_usd_per_mtok": ("Prompt price", "USD per million prompt tokens"),
    "completion_usd_per_mtok": ("Completion price", "USD per million completion tokens"),
    "image_price": ("Listed image price", "USD (pricing.image as listed)"),
    "request_usd": ("Price per request", "USD per request"),
}
_SILENT_BACKENDS = frozenset({"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"})


def plot_cost_per_image(costs: pd.DataFrame, top: int = 25, *, ax: Axes | None = None) -> Axes:
    """Horizontal bars of USD per 1,000 images (pages) for the cheapest priced models, cheapest at the top.

    Bars are coloured by provider; estimates marked ``uncertain`` are hatched;
    rows priced from trial measurements (``method == "measured"``, see
    ``cost_per_image(prefer_measured=True)``) have a heavy outline and say so
    next to their value. The cost axis is logarithmic when the bars span more
    than two decades (bars then start at the axis floor), else linear from 0.
    Free models would be empty bars at the top: they are counted and named in
    the title instead. Models with an unknown price, and models the request
    does not fit (``fits`` False: its context or maximum output), are left out
    and counted.
    The subtitle counts every row of ``costs``, not just the bars drawn.
    """
    from matplotlib.patches import Patch

    _need_columns(costs, ["id", "provider", "usd_per_1k_images", "uncertain"])
    if not isinstance(top, int) or isinstance(top, bool) or top < 1:
        raise ValueError(f"bad top {top!r}: expected a whole number of models >= 1")
    usd = costs["usd_per_1k_images"]
    fits = costs["fits"].fillna(True).astype(bool) if "fits" in costs else pd.Series(True, index=costs.index)
    free_mask = _free_mask(costs) & fits
    free = costs[free_mask]
    priced = costs[usd.notna() & ~free_mask & fits]
    shown = priced.sort_values(["usd_per_1k_images", "id"], kind="stable").head(top)

    if ax is None:
        ax = _new_axes((10, max(2.5, 0.3 * len(shown) + 1.4)))
    title = f"{cost_title(costs)}\n{_bars_subtitle(costs, shown, free, priced)}"
    if shown.empty:
        if costs.empty:
            message = "No models to show: the cost table is empty."
        elif len(free):
            message = f"Every model here is free ({len(free)}): no cost to chart."
        elif not fits.any():
            message = "No models to show: the request fits no model here (context or maximum output)."
        else:
            message = "No models to show: none has a known price."
        return _nothing_to_draw(ax, message, title)

    values = shown["usd_per_1k_images"].to_numpy(dtype="float64")
    log = _spans_decades(values)
    low, high = _value_limits(values, log)
    positions = np.arange(len(shown))
    groups = provider_groups(shown["provider"])
    faces = [group_colour(g) for g in groups]
    bars = ax.barh(positions, values - low, left=low, color=faces, edgecolor="0.25", linewidth=0.6)
    measured = (shown["method"] == MEASURED_METHOD).to_numpy(dtype=bool) if "method" in shown else np.zeros(len(shown), bool)
    for bar, face, uncertain, was_measured in zip(bars, faces, shown["uncertain"].tolist(), measured.tolist()):
        if uncertain:
            bar.set_hatch(UNCERTAIN_HATCH)
            _hatch_contrast(bar, face)
        if was_measured:
            bar.set_edgecolor("black")
            bar.set_linewidth(MEASURED_LINEWIDTH)
    ax.set_yticks(positions, shown["id"].tolist(), fontsize=8)
    ax.set_ylim(len(shown) - 0.4, -0.6)  # cheapest at the top, no empty rows above or below
    _axis_format(ax, "x", "usd", log, values)
    ax.set_xlim(low, high)
    ax.set_xlabel("USD per 1,000 images" + (" (log scale)" if log else ""))
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    for position, value, was_measured in zip(positions, values.tolist(), measured.tolist()):
        note = " measured" if was_measured else ""
        ax.annotate(f" {_usd_label(value)}{note}", (value, position), va="center", fontsize=7)
    ax.set_title(title, fontsize=10)
    handles = [Patch(facecolor=group_colour(g), edgecolor="0.25", label=g) for g in _legend_order(groups)]
    if shown["uncertain"].any():
        handles.append(Patch(facecolor="white", edgecolor="0.25", hatch=UNCERTAIN_HATCH, label="uncertain estimate"))
    if measured.any():
        handles.append(
            Patch(facecolor="white", edgecolor="black", linewidth=MEASURED_LINEWIDTH, label="measured in your trials")
        )
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return ax


def _bars_subtitle(costs: pd.DataFrame, shown: pd.DataFrame, free: pd.DataFrame, priced: pd.DataFrame) -> str:
    """"cheapest 25 of 140 priced models; 3 free: a, b, c; 2 with unknown price not shown"."""
    if len(shown) and len(shown) < len(priced):
        parts = [f"cheapest {len(shown)} of {len(priced)} priced models"]
    elif len(shown):
        parts = [plural(len(shown), "priced model")]
    else:
        parts = [plural(len(costs), "model")]
    unfit = ~costs["fits"].fillna(True).astype(bool) if "fits" in costs else pd.Series(False, index=costs.index)
    unknown = int((costs["usd_per_1k_images"].isna() & ~unfit).sum())
    if unknown:
        parts.append(f"{unknown} with unknown price not shown")
    if unfit.any():
        parts.append(f"{int(unfit.sum())} too small for the request not shown")
    if not len(free):
        return "; ".join(parts)
    names = free["id"].tolist()
    more = f" and {len(names) - FREE_LISTED} more" if len(names) > FREE_LISTED else ""
    listed = f"{len(names)} free, not drawn: {', '.join(names[:FREE_LISTED])}{more}"
    return "; ".join(parts) + "\n" + textwrap.fill(listed, 110)


def plot_cost_vs_context(costs: pd.DataFrame, *, ax: Axes | None = None, label_front: bool = True) -> Axes:
    """Scatter of USD per 1,000 images against context length.

    Each axis is logarithmic when its values span more than two decades, else
    linear from 0. The Pareto front (no other model has at least the context
    for less) is joined and labelled. Free models and unknown prices or
    contexts are left out and counted in the title.
    """
    _need_columns(costs, ["id", "provider", "usd_per_1k_images", "context_length", "uncertain"])
    context = costs["context_length"].astype("float64")
    usd = costs["usd_per_1k_images"]
    drawn = ((usd > 0) & (context > 0)).to_numpy()
    plotted = costs[drawn]
    groups = pd.Series(provider_groups(plotted["provider"]), index=plotted.index, dtype=object)

    if ax is None:
        ax = _new_axes((9, 6))
    free_left_out = (_free_mask(costs) | usd.eq(0)).to_numpy() & ~drawn
    free = int(free_left_out.sum())
    unknown = int((~drawn & ~free_left_out).sum())
    left_out = [f"{free} free" if free else "", f"{unknown} with unknown price or context" if unknown else ""]
    note = " and ".join(part for part in left_out if part)
    title = f"{cost_title(costs)}\n{plural(len(plotted), 'model')}{f'; {note} not shown' if note else ''}"
    if plotted.empty:
        message = "No models to show: the cost table is empty." if costs.empty else "No priced model with a known context."
        return _nothing_to_draw(ax, message, title)

    for group in _legend_order(groups):
        rows = plotted[(groups == group).to_numpy()]
        ax.scatter(
            rows["context_length"].astype("float64"),
            rows["usd_per_1k_images"],
            s=28,
            color=group_colour(group),
            edgecolor="0.2",
            linewidth=0.4,
            label=group,
        )
    front = pareto_front(plotted)
    ax.plot(
        front["context_length"].astype("float64"),
        front["usd_per_1k_images"],
        color="0.3",
        linewidth=1,
        linestyle="--",
        drawstyle="steps-post",
        label="cheapest for its context",
    )
    if label_front:
        for row, line in zip(front.itertuples(index=False), _label_lines(front["context_length"]), strict=True):
            ax.annotate(
                row.id,
                (float(row.context_length), row.usd_per_1k_images),
                xytext=(4, -9 - 9 * line),
                textcoords="offset points",
                fontsize=7,
                parse_math=False,
            )
    tokens = plotted["context_length"].to_numpy(dtype="float64")
    cost = plotted["usd_per_1k_images"].to_numpy(dtype="float64")
    log_x, log_y = _spans_decades(tokens), _spans_decades(cost)
    _axis_format(ax, "x", "tokens", log_x, tokens)
    _axis_format(ax, "y", "usd", log_y, cost)
    if not log_x:
        ax.set_xlim(0, float(tokens.max()) * 1.1)
    if not log_y:
        ax.set_ylim(0, float(cost.max()) * 1.1)
    ax.set_xlabel("context length (tokens)" + (", log scale" if log_x else ""))
    ax.set_ylabel("USD per 1,000 images" + (" (log scale)" if log_y else ""))
    ax.grid(alpha=0.3)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, ncols=1, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return ax


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
        moment = pd.Timestamp(value)  # type: ignore[arg-type]
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


def pareto_front(costs: pd.DataFrame) -> pd.DataFrame:
    """Rows no other row beats: none has at least the context for a lower cost.

    Sorted by context, descending cost at equal context dropped: walking from
    the longest context down, a model joins the front when it is cheaper than
    every model with more context.
    """
    priced = costs.dropna(subset=["usd_per_1k_images", "context_length"])
    ordered = priced.sort_values(["context_length", "usd_per_1k_images", "id"], ascending=[False, True, True])
    cost = ordered["usd_per_1k_images"].to_numpy()
    cheapest_with_more = np.minimum.accumulate(np.concatenate([[np.inf], cost[:-1]])) if len(cost) else cost
    on_front = cost < cheapest_with_more
    return ordered[on_front].sort_values("context_length").reset_index(drop=True)


def cost_title(costs: pd.DataFrame) -> str:
    """The inputs of a cost table in words: image size, instruction and answer length."""
    attrs = costs.attrs
    if not attrs.get("width"):
        return "Cost per image"
    preset = f" ({attrs['preset']})" if attrs.get("preset") else ""
    detail = ", detail=low" if attrs.get("detail") == "low" else ""
    return (
        f"One {attrs['width']}x{attrs['height']} px image{preset}{detail}, "
        f"{attrs.get('prompt_tokens', 0):,} instruction + {attrs.get('output_tokens', 0):,} answer tokens"
    )


def provider_groups(providers: Iterable[str]) -> list[str]:
    """Each provider's legend group: itself for a main provider, ``"other"`` for the long tail."""
    return [p if p in PROVIDER_COLOURS else OTHER for p in providers]


def group_colour(group: str) -> str:
    """The colour of a provider group; the long tail shares one light grey."""
    return PROVIDER_COLOURS.get(group, OTHER_COLOUR)


def provider_colours(providers: Iterable[str]) -> dict[str, str]:
    """A colour per provider, the same whatever else is in the chart: main providers fixed, the rest grey."""
    names = list(providers)
    return {p: group_colour(g) for p, g in zip(names, provider_groups(names))}


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """``"1 model"``, ``"2 models"``, ``"1,200 models"``: a count with its noun in the right number."""
    return f"{count:,} {noun if count == 1 else plural_form or noun + 's'}"


def usd_ticks(values: Sequence[float], *, uniform: bool = True) -> list[str]:
    """Dollar tick labels: ``$0.10``, ``$0.002``, ``$5``, ``$1,000``.

    Whole dollars have no decimals, other amounts at least two (cents) and
    more below a cent. ``uniform`` (a linear axis) gives every label the
    decimals the finest one needs ($0.00, $0.50, $1.00); otherwise (a log
    axis) each label has its own ($0.50, $1, $2).
    """
    places = [_decimals(float(v)) for v in values]
    if uniform:
        places = [max(places, default=0)] * len(places)
    return [("-" if v < 0 else "") + f"${abs(float(v)):,.{d}f}" for v, d in zip(values, places)]


def tokens_tick(value: float) -> str:
    """A token count for a tick: ``500``, ``32k``, ``128k``, ``1M``, ``1.5M``."""
    if abs(value) >= 1e6:
        return f"{value / 1e6:g}M"
    if abs(value) >= 1e3:
        return f"{value / 1e3:g}k"
    return f"{value:g}"


def _decimals(value: float) -> int:
    if value == 0 or (abs(value) >= 1 and value.is_integer()):
        return 0
    for places in range(2, 9):
        if abs(round(value, places) - value) <= abs(value) * 1e-6:
            return places
    return 8


def _spans_decades(values: np.ndarray) -> bool:
    """Whether the positive values span more than :data:`LOG_DECADES` decades (max / min > 100)."""
    values = np.asarray(values, dtype="float64")
    positive = values[np.isfinite(values) & (values > 0)]
    return len(positive) > 1 and math.log10(positive.max() / positive.min()) > LOG_DECADES


def _value_limits(values: np.ndarray, log: bool) -> tuple[float, float]:
    """The value axis of a bar chart: from 0 (linear) or the decade below the smallest (log), with room for labels."""
    top = float(values.max())
    if not log:
        return 0.0, top * 1.15
    low = 10.0 ** math.floor(math.log10(float(values.min())) - 0.1)
    return low, 10.0 ** (math.log10(top) + 0.16 * math.log10(top / low))


def _axis_format(ax: Axes, which: str, kind: str, log: bool, values: np.ndarray) -> None:
    """Scale and tick labels of one axis: ``usd`` in dollars, ``tokens`` as 32k / 1M; log ticks at 1, 2, 5 x 10^n."""
    from matplotlib.ticker import LogLocator, NullFormatter

    axis: Axis = ax.xaxis if which == "x" else ax.yaxis
    if log:
        (ax.set_xscale if which == "x" else ax.set_yscale)("log")
        values = np.asarray(values, dtype="float64")
        positive = values[np.isfinite(values) & (values > 0)]
        decades = math.log10(positive.max() / positive.min()) if len(positive) else 0.0
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0) if decades <= 3.5 else (1.0,), numticks=40))
        axis.set_minor_formatter(NullFormatter())
    axis.set_major_formatter(_tick_formatter(kind, uniform=not log))


def _tick_formatter(kind: str, *, uniform: bool) -> Any:
    return _formatter_class()(kind, uniform)


@cache
def _formatter_class() -> type:
    from matplotlib.ticker import Formatter

    class TickFormatter(Formatter):
        """Dollars or token counts, written the same way on every chart."""

        def __init__(self, kind: str, uniform: bool) -> None:
            self.kind, self.uniform = kind, uniform

        def __call__(self, x: float, pos: int | None = None) -> str:
            return self.format_ticks([x])[0]

        def format_ticks(self, values: Sequence[float]) -> list[str]:
            if self.kind == "tokens":
                return [tokens_tick(float(v)) for v in values]
            return usd_ticks(values, uniform=self.uniform)

    return TickFormatter


def _hatch_contrast(bar: Any, face: str) -> None:
    """Hatch lines that show on the bar's colour: white on a dark bar, near-black on a light one.

    matplotlib 3.10+ sets the hatch colour on its own; before, the hatch takes
    the edge colour, so a dark bar gets a white outline to carry white hatching.
    """
    from matplotlib.colors import to_rgb

    red, green, blue = to_rgb(face)
    dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.45
    if hasattr(bar, "set_hatchcolor"):
        bar.set_hatchcolor("white" if dark else "0.15")
    elif dark:
        bar.set_edgecolor("white")


def _label_lines(context: pd.Series) -> list[int]:
    """Which line under its point each front label takes: 0, or one more than its neighbour's when the two points
    are within 30% of each other's context (1M and 1.05M), so neighbouring labels stack instead of overprinting."""
    lines: list[int] = []
    previous = None
    for value in context.astype("float64").tolist():
        close = previous is not None and value <= previous * 1.3
        lines.append(lines[-1] + 1 if close and lines else 0)
        previous = value
    return lines


def _nothing_to_draw(ax: Axes, message: str, title: str) -> Axes:
    """A chart with nothing to draw: the message in the middle of bare axes, and the title."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.text(0.5, 0.5, textwrap.fill(message, 60), ha="center", va="center", transform=ax.transAxes)
    ax.set_title(title, fontsize=10)
    return ax


def _new_axes(size: tuple[float, float]) -> Axes:
    """A new pyplot figure's Axes for a chart called without ``ax=``, shown in a notebook under any backend."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=size, layout="constrained")
    _show_at_cell_end(fig)
    return ax


_pending: list[Figure] = []
_hooked: list[Any] = []  # the IPython shell whose post_execute event displays _pending


def _show_at_cell_end(fig: Figure) -> None:
    """In a Jupyter kernel with a backend that shows nothing (Agg, pdf, svg ...), display ``fig`` when the cell ends.

    Inline, ipympl and GUI backends show their figures themselves, and outside
    a kernel (a script, the CLI, a terminal IPython) there is nowhere to display
    it: nothing is done then. IPython is never imported here.
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or getattr(shell, "kernel", None) is None:
        return
    import matplotlib

    backend = matplotlib.get_backend().lower().rsplit(".", 1)[-1].removeprefix("backend_")
    if backend not in _SILENT_BACKENDS:
        return
    if shell not in _hooked:
        shell.events.register("post_execute", _display_pending)
        _hooked.append(shell)
    _pending.append(fig)


def _display_pending() -> None:
    """Display, then close, the charts' figures of the cell that just ran (those the cell did not close itself)."""
    import matplotlib.pyplot as plt
    from IPython.display import display
    from matplotlib._pylab_helpers import Gcf

    figures, _pending[:] = list(_pending), []
    open_figures = [manager.canvas.figure for manager in Gcf.get_all_fig_managers()]
    for fig in figures:
        if any(fig is other for other in open_figures):
            display(_FigurePng(fig))
            plt.close(fig)


class _FigurePng:
    """A figure as IPython displays it under the inline backend: a PNG, its repr as the text."""

    def __init__(self, fig: Figure) -> None:
        self.fig = fig

    def __repr__(self) -> str:
        return repr(self.fig)

    def _repr_png_(self) -> bytes:
        import io

        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()


def _legend_order(groups: Iterable[str]) -> list[str]:
    """The drawn groups in palette order, ``other`` last."""
    drawn = set(groups)
    return [g for g in PROVIDER_COLOURS if g in drawn] + ([OTHER] if OTHER in drawn else [])


def _free_mask(costs: pd.DataFrame) -> pd.Series:
    if "free" in costs:
        return costs["free"].fillna(False).astype(bool)
    return costs["usd_per_1k_images"].eq(0)


def _usd_label(value: float) -> str:
    return f"${value:,.2f}" if value >= 0.1 else f"${value:,.3f}"


def _need_columns(frame: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame]
    if missing:
        raise ValueError(f"not a cost table: missing column(s) {', '.join(missing)}; make it with vm.cost_per_image")


# ---------------------------------------------------------------- trials


def _trial_summary(trial) -> pd.DataFrame:
    """A trial's per-model summary: from a Trial, its results frame, or a summary frame itself."""
    if hasattr(trial, "summary") and callable(trial.summary):
        return trial.summary()
    if isinstance(trial, pd.DataFrame) and "pages_ok" in trial:
        return trial
    if isinstance(trial, pd.DataFrame) and "status" in trial:
        from ..trials.results import summarise

        return summarise(trial)
    raise ValueError(f"not a trial: expected a Trial from vm.run_trial (or its results), got {type(trial).__name__}")


def plot_cost_vs_accuracy(trial, *, ax: Axes | None = None) -> Axes:
    """Billed USD per 1,000 pages against mean CER, one point per model; the Pareto front joined and labelled.

    A model is on the front when no other reads with a lower CER for less
    (lower left is better). Models without a CER (no ground truth, or no page
    read) are left out and counted in the title; free models (Tesseract) sit at
    $0. Costs spanning more than two decades are drawn on a symmetric log
    axis (linear near 0, so $0 stays on it). With no model to draw, the axes
    say why.
    """
    summary = _trial_summary(trial)
    shown = summary[summary["cer_mean"].notna() & summary["usd_per_1k_pages"].notna()]
    if ax is None:
        ax = _new_axes((8, 5))
    if shown.empty:
        why = "No models to show: none has both a billed cost and a CER; run the trial with truth= to measure the CER."
        return _nothing_to_draw(ax, why, "Cost against accuracy")
    cost = shown["usd_per_1k_pages"].to_numpy(dtype="float64")
    cer = shown["cer_mean"].to_numpy(dtype="float64")
    front = accuracy_front(shown)
    on_front = shown["model"].isin(front["model"]).to_numpy()
    if (~on_front).any():
        ax.scatter(cost[~on_front], cer[~on_front], color="0.6", s=30, label="dominated: another reads better for less", zorder=2)
    ax.scatter(cost[on_front], cer[on_front], color="tab:blue", s=45, label="Pareto front", zorder=3)
    ax.plot(front["usd_per_1k_pages"], front["cer_mean"], color="tab:blue", linewidth=1, zorder=1)
    for name, x, y, front_point in zip(shown["model"].tolist(), cost.tolist(), cer.tolist(), on_front.tolist()):
        ax.annotate(name, (x, y), xytext=(4, 4), textcoords="offset points", fontsize=7,
                    color="black" if front_point else "0.45", parse_math=False)  # fmt: skip
    positive = cost[cost > 0]
    if _spans_decades(positive):
        from matplotlib.ticker import SymmetricalLogLocator

        threshold = float(positive.min()) / 2
        ax.set_xscale("symlog", linthresh=threshold)
        ax.set_xlim(left=0, right=float(cost.max()) * 2)
        ax.xaxis.set_major_locator(SymmetricalLogLocator(base=10, linthresh=threshold, subs=[1.0]))
        ax.xaxis.set_major_formatter(_tick_formatter("usd", uniform=False))
        scale = " (log scale above $" + usd_ticks([threshold], uniform=False)[0].lstrip("$") + ")"
    else:
        right = float(cost.max()) * 1.3 or 1.0  # room for the labels; all free: an axis of 0-1 USD
        ax.set_xlim(-0.03 * right, right)
        ax.xaxis.set_major_formatter(_tick_formatter("usd", uniform=True))
        scale = ""
    ax.set_ylim(0, max(float(cer.max()) * 1.15, 0.01))
    ax.set_xlabel("billed USD per 1,000 pages" + scale)
    ax.set_ylabel("mean character error rate (lower is better)")
    ax.grid(alpha=0.3)
    left_out = len(summary) - len(shown)
    note = f"; {plural(left_out, 'model')} without a CER not shown" if left_out else ""
    pages = int(shown["pages_ok"].max())
    ax.set_title(f"Cost against accuracy, measured on up to {plural(pages, 'page')}{note}", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    return ax


def accuracy_front(summary: pd.DataFrame) -> pd.DataFrame:
    """Models no other beats on both: none reads with a lower CER for at most the cost."""
    ordered = summary.dropna(subset=["usd_per_1k_pages", "cer_mean"]).sort_values(["usd_per_1k_pages", "cer_mean", "model"])
    cer = ordered["cer_mean"].to_numpy()
    best_cheaper = np.minimum.accumulate(np.concatenate([[np.inf], cer[:-1]])) if len(cer) else cer
    return ordered[cer < best_cheaper].reset_index(drop=True)


def plot_estimate_vs_billed(trial, *, ax: Axes | None = None) -> Axes:
    """Estimated against billed USD per page, one point per model, log-log with the line of agreement.

    Above the diagonal the bill was higher than the estimate; the dashed lines
    mark 2x either way. Each point is labelled with its estimate / billed ratio.
    Free models and models without an answer are left out (counted in the
    title); with none left, the axes say so.
    """
    summary = _trial_summary(trial)
    estimated = summary["estimated_usd_per_page"].to_numpy(dtype="float64", na_value=np.nan)
    billed = summary["usd_per_page"].to_numpy(dtype="float64", na_value=np.nan)
    keep = (estimated > 0) & (billed > 0)
    if ax is None:
        ax = _new_axes((7, 6))
    if not keep.any():
        why = "No models to show: none has both an estimate and a bill above zero (free models are left out)."
        return _nothing_to_draw(ax, why, "Estimate against bill per model")
    x, y = estimated[keep], billed[keep]
    names = summary["model"].to_numpy()[keep]
    low, high = min(x.min(), y.min()) / 3, max(x.max(), y.max()) * 3
    line = np.array([low, high])
    ax.plot(line, line, color="0.3", linewidth=1, label="billed = estimate")
    ax.plot(line, line * 2, color="0.6", linewidth=0.8, linestyle="--", label="2x either way")
    ax.plot(line, line / 2, color="0.6", linewidth=0.8, linestyle="--")
    over = y > x
    ax.scatter(x[over], y[over], color="tab:red", s=40, label="billed more than estimated", zorder=3)
    ax.scatter(x[~over], y[~over], color="tab:green", s=40, label="billed at most the estimate", zorder=3)
    for name, xi, yi in zip(names.tolist(), x.tolist(), y.tolist()):
        ax.annotate(f"{name} ({xi / yi:.2f}x)", (xi, yi), xytext=(4, 4), textcoords="offset points", fontsize=7,
                    parse_math=False)  # fmt: skip
    span = np.array([low, high])
    _axis_format(ax, "x", "usd", True, span)
    _axis_format(ax, "y", "usd", True, span)
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_xlabel("estimated USD per page (log scale)")
    ax.set_ylabel("billed USD per page (log scale)")
    ax.grid(alpha=0.3)
    left_out = len(summary) - int(keep.sum())
    note = f"; {plural(left_out, 'model')} free or without a bill not shown" if left_out else ""
    ax.set_title(f"Estimate against bill per model\nlabel: estimate / billed{note}", fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    return ax

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

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..catalog.kinds import READER, kind_counts
from ..pricing.cost import rank_costs
from ..pricing.measured import MEASURED_METHOD
from .chart_style import (
    FREE_LISTED,
    LINE_COLOURS,
    LINE_STYLES,
    LOG_DECADES,
    MEASURED_LINEWIDTH,
    OTHER,
    OTHER_COLOUR,
    PROVIDER_COLOURS,
    UNCERTAIN_HATCH,
    _axis_format,
    _free_mask,
    _hatch_contrast,
    _label_lines,
    _legend_order,
    _need_columns,
    _new_axes,
    _nothing_to_draw,
    _spans_decades,
    _usd_label,
    _value_limits,
    group_colour,
    plural,
    provider_groups,
    tokens_tick,
    usd_ticks,
)
from .history_charts import (
    PARTIAL_ALPHA,
    PARTIAL_HATCH,
    models_added_per_week,
    plot_models_added_per_week,
    plot_price_history,
)
from .prior_charts import plot_cost_vs_prior, prior_front, with_prior
from .trial_charts import accuracy_front, plot_cost_vs_accuracy, plot_estimate_vs_billed, plot_page_heatmap

#: vm.charts: the cost charts here, and every public name the module had before the history, trial and style
#: helpers moved out.
__all__ = [
    "FREE_LISTED",
    "LINE_COLOURS",
    "LINE_STYLES",
    "LOG_DECADES",
    "MEASURED_LINEWIDTH",
    "OTHER",
    "OTHER_COLOUR",
    "PARTIAL_ALPHA",
    "PARTIAL_HATCH",
    "PROVIDER_COLOURS",
    "UNCERTAIN_HATCH",
    "accuracy_front",
    "cost_title",
    "group_colour",
    "models_added_per_week",
    "pareto_front",
    "plot_cost_per_image",
    "plot_cost_vs_accuracy",
    "plot_cost_vs_context",
    "plot_cost_vs_prior",
    "plot_estimate_vs_billed",
    "plot_models_added_per_week",
    "plot_page_heatmap",
    "plot_price_history",
    "plural",
    "prior_front",
    "provider_groups",
    "tokens_tick",
    "usd_ticks",
    "with_prior",
]

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes


def plot_cost_per_image(
    costs: pd.DataFrame,
    top: int = 25,
    *,
    ax: Axes | None = None,
    kinds: str | Sequence[str] | None = (READER,),
    one_per_base: bool = True,
) -> Axes:
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

    The bars are what :func:`rank_costs` ranks: page readers (``kinds``;
    ``None`` draws every kind) and one listing per base model
    (``one_per_base``). Guards, agents, routers, aliases and generators, and
    the dearer snapshots of a drawn model, are counted in the subtitle, which
    counts every row of ``costs``, not just the bars drawn.
    """
    from matplotlib.patches import Patch

    _need_columns(costs, ["id", "provider", "usd_per_1k_images", "uncertain"])
    if not isinstance(top, int) or isinstance(top, bool) or top < 1:
        raise ValueError(f"bad top {top!r}: expected a whole number of models >= 1")
    given = len(costs)
    costs, not_ranked = _ranked_for_chart(costs, kinds, one_per_base)
    usd = costs["usd_per_1k_images"]
    fits = costs["fits"].fillna(True).astype(bool) if "fits" in costs else pd.Series(True, index=costs.index)
    free_mask = _free_mask(costs) & fits
    free = costs[free_mask]
    priced = costs[usd.notna() & ~free_mask & fits]
    shown = priced.sort_values(["usd_per_1k_images", "id"], kind="stable").head(top)

    if ax is None:
        ax = _new_axes((10, max(2.5, 0.3 * len(shown) + 1.4)))
    title = f"{cost_title(costs)}\n{_bars_subtitle(costs, shown, free, priced, not_ranked, given)}"
    if shown.empty:
        return _nothing_to_draw(ax, _no_bars_message(costs, len(free), bool(fits.any()), bool(not_ranked)), title)

    values = shown["usd_per_1k_images"].to_numpy(dtype="float64")
    log = _spans_decades(values)
    low, high = _value_limits(values, log)
    positions = np.arange(len(shown))
    groups = provider_groups(shown["provider"])
    faces = [group_colour(g) for g in groups]
    bars = ax.barh(positions, values - low, left=low, color=faces, edgecolor="0.25", linewidth=0.6)
    measured = (
        (shown["method"] == MEASURED_METHOD).to_numpy(dtype=bool) if "method" in shown else np.zeros(len(shown), bool)
    )
    for bar, face, uncertain, was_measured in zip(bars, faces, shown["uncertain"].tolist(), measured.tolist()):
        if uncertain:
            bar.set_hatch(UNCERTAIN_HATCH)
            _hatch_contrast(bar, face)
        if was_measured:
            bar.set_edgecolor("black")
            bar.set_linewidth(MEASURED_LINEWIDTH)
    whiskers, right = _draw_ranges(ax, shown, positions, low, values)
    ax.set_yticks(positions, shown["id"].tolist(), fontsize=8)
    ax.set_ylim(len(shown) - 0.4, -0.6)  # cheapest at the top, no empty rows above or below
    _axis_format(ax, "x", "usd", log, values)
    ax.set_xlim(low, high)
    ax.set_xlabel("USD per 1,000 images" + (" (log scale)" if log else ""))
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    for position, value, end, was_measured in zip(positions, values.tolist(), right.tolist(), measured.tolist()):
        note = " measured" if was_measured else ""
        ax.annotate(f" {_usd_label(value)}{note}", (end, position), va="center", fontsize=7)
    ax.set_title(title, fontsize=10)
    handles: list[Artist] = [Patch(facecolor=group_colour(g), edgecolor="0.25", label=g) for g in _legend_order(groups)]
    if shown["uncertain"].any():
        handles.append(Patch(facecolor="white", edgecolor="0.25", hatch=UNCERTAIN_HATCH, label="uncertain estimate"))
    if measured.any():
        handles.append(
            Patch(facecolor="white", edgecolor="black", linewidth=MEASURED_LINEWIDTH, label="measured in your trials")
        )
    handles.extend(_range_handles(whiskers))
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return ax


def _no_bars_message(costs: pd.DataFrame, free: int, any_fits: bool, any_not_ranked: bool) -> str:
    """Why a cost-per-image chart has no bar to draw, in one sentence."""
    if costs.empty and any_not_ranked:
        return "No models to show: none here reads pages into text (kinds=None shows every kind)."
    if costs.empty:
        return "No models to show: the cost table is empty."
    if free:
        return f"Every model here is free ({free}): no cost to chart."
    if not any_fits:
        return "No models to show: the request fits no model here (context or maximum output)."
    return "No models to show: none has a known price."


def _draw_ranges(
    ax: Axes, shown: pd.DataFrame, positions: np.ndarray, floor: float, values: np.ndarray
) -> tuple[int, np.ndarray]:
    """A whisker from low to high USD per 1,000 images on each bar whose sources disagree.

    Returns how many were drawn, and where each bar's label starts (after its whisker). The x limits are set
    from the point values, so a whisker beyond them is clipped, never rescaling the chart.
    """
    if "usd_per_image_low" not in shown:
        return 0, values
    low = shown["usd_per_image_low"].to_numpy(dtype="float64") * 1000
    high = shown["usd_per_image_high"].to_numpy(dtype="float64") * 1000
    ranged = low < high  # NaN compares False
    if not ranged.any():
        return 0, values
    ax.hlines(positions[ranged], np.maximum(low[ranged], floor), high[ranged], color="black", linewidth=1.5, zorder=3)
    for ends in (low, high):
        ax.plot(
            np.maximum(ends[ranged], floor),
            positions[ranged],
            "|",
            color="black",
            markersize=8,
            markeredgewidth=1.5,
            zorder=3,
        )
    return int(ranged.sum()), np.fmax(values, np.where(ranged, high, values))


def _range_handles(whiskers: int) -> list[Artist]:
    """The legend entry of the whiskers, where any was drawn."""
    from matplotlib.lines import Line2D

    return [Line2D([], [], color="black", marker="|", linewidth=1, label="range: sources disagree")] if whiskers else []


def _ranked_for_chart(
    costs: pd.DataFrame, kinds: str | Sequence[str] | None, one_per_base: bool
) -> tuple[pd.DataFrame, str]:
    """The rows a cost chart may draw (:func:`rank_costs`, free and unfit rows kept for the chart to count), and
    a clause counting the rest: "3 non-readers (2 guards, 1 agent) and 12 dearer listings of a drawn model".

    A table ranked before (it carries ``ranking_left_out``) has what that ranking left out counted too.
    """
    ranked = rank_costs(costs, include_free=True, include_unfit=True, kinds=kinds, one_per_base=one_per_base)
    left_out = ranked.attrs["ranking_left_out"]  # with what a ranking before this one left out
    others, known = left_out["other_kinds"], ranked.attrs["ranking_left_out_kinds"]
    same, variants, unfit = (len(left_out[name]) for name in ("same_base", "free_variants", "does_not_fit"))
    parts = []
    if others:
        detail = kind_counts(known) if len(known) == len(others) else ""
        if detail and len(set(known)) == 1:  # "1 router": the kind says it is not a reader
            parts.append(detail)
        else:
            kinds_named = detail or "guards, agents, routers, aliases, generators"
            parts.append(f"{plural(len(others), 'non-reader')} ({kinds_named})")
    if same:
        parts.append(f"{same} dearer listing{'s' if same != 1 else ''} of a drawn model")
    if variants:  # left out by the ranking before (this one keeps them, to name them as free)
        parts.append(plural(variants, ":free variant"))
    if unfit:
        parts.append(f"{unfit} too small for the request")
    return ranked, ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else "".join(parts)


def _bars_subtitle(
    costs: pd.DataFrame,
    shown: pd.DataFrame,
    free: pd.DataFrame,
    priced: pd.DataFrame,
    not_ranked: str = "",
    given: int | None = None,
) -> str:
    """ "cheapest 25 of 140 priced models; 3 free: a, b, c; 2 with unknown price not shown"."""
    if len(shown) and len(shown) < len(priced):
        parts = [f"cheapest {len(shown)} of {len(priced)} priced models"]
    elif len(shown):
        parts = [plural(len(shown), "priced model")]
    else:
        parts = [plural(len(costs) if given is None else given, "model")]
    unfit = ~costs["fits"].fillna(True).astype(bool) if "fits" in costs else pd.Series(False, index=costs.index)
    unknown = int((costs["usd_per_1k_images"].isna() & ~unfit).sum())
    if unknown:
        parts.append(f"{unknown} with unknown price not shown")
    if unfit.any():
        parts.append(f"{int(unfit.sum())} too small for the request not shown")
    if not_ranked:
        parts.append(f"{not_ranked} not shown")
    counted = textwrap.fill("; ".join(parts), 110, break_on_hyphens=False)
    if not len(free):
        return counted
    names = free["id"].tolist()
    more = f" and {len(names) - FREE_LISTED} more" if len(names) > FREE_LISTED else ""
    listed = f"{len(names)} free, not drawn: {', '.join(names[:FREE_LISTED])}{more}"
    return counted + "\n" + textwrap.fill(listed, 110)


def plot_cost_vs_context(
    costs: pd.DataFrame,
    *,
    ax: Axes | None = None,
    label_front: bool = True,
    kinds: str | Sequence[str] | None = (READER,),
    one_per_base: bool = True,
) -> Axes:
    """Scatter of USD per 1,000 images against context length.

    Each axis is logarithmic when its values span more than two decades, else
    linear from 0. The Pareto front (no other model has at least the context
    for less) is joined and labelled. Free models and unknown prices or
    contexts are left out and counted in the title; so are the models
    :func:`rank_costs` does not rank (``kinds``, ``one_per_base``: as in
    :func:`plot_cost_per_image`). Long because the drawing
    reads in the order a reader sees it (points, front, labels, axes, title);
    the rules it draws by are in helpers.
    """
    _need_columns(costs, ["id", "provider", "usd_per_1k_images", "context_length", "uncertain"])
    costs, not_ranked = _ranked_for_chart(costs, kinds, one_per_base)
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
    note = "; ".join(part for part in [" and ".join(part for part in left_out if part), not_ranked] if part)
    counted = textwrap.fill(
        f"{plural(len(plotted), 'model')}{f'; {note} not shown' if note else ''}", 110, break_on_hyphens=False
    )
    title = f"{cost_title(costs)}\n{counted}"
    if plotted.empty:
        if costs.empty:
            message = _no_bars_message(costs, 0, True, bool(not_ranked))
        else:
            message = "No priced model with a known context."
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
    """The inputs of a cost table in words: image size, instruction and answer length, reasoning where any model reasons."""
    attrs = costs.attrs
    if not attrs.get("width"):
        return "Cost per image"
    preset = f" ({attrs['preset']})" if attrs.get("preset") else ""
    detail = ", detail=low" if attrs.get("detail") == "low" else ""
    reasoning = ""
    reasons = "reasoning_tokens" in costs and bool((costs["reasoning_tokens"] > 0).any())  # said where it counts
    if reasons and attrs.get("reasoning_tokens") is not None:
        reasoning = f", {attrs['reasoning_tokens']:,} reasoning"
    elif reasons and attrs.get("reasoning_effort") == "default":
        reasoning = ", reasoning as each model does unasked"
    elif reasons and attrs.get("reasoning_effort") not in (None, "none"):
        reasoning = f", {attrs['reasoning_effort']} reasoning effort"
    return (
        f"One {attrs['width']}x{attrs['height']} px image{preset}{detail}, "
        f"{attrs.get('prompt_tokens', 0):,} instruction + {attrs.get('output_tokens', 0):,} answer tokens{reasoning}"
    )

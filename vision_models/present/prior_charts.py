"""Cost against a published score: which page readers public evidence says are worth a trial, and at what price."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..catalog.benchmarks import DEFAULT_PRIOR
from ..trials.shortlist import prior_front, with_prior
from .chart_style import _axis_format, _new_axes, _nothing_to_draw, _spans_decades, plural

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

#: How many of the cheapest readers without a public score are named on the chart.
NAMED_WITHOUT_SCORE = 4


def plot_cost_vs_prior(
    costs: pd.DataFrame, benchmark: str = DEFAULT_PRIOR[0], metric: str = DEFAULT_PRIOR[1], *, ax: Axes | None = None
) -> Axes:
    """Estimated USD per 1,000 pages against a published score, one point per page reader; the Pareto front marked.

    ``costs``: a :func:`vision_models.cost_per_image` table; its ranked readers
    are drawn (:func:`rank_costs`: no guards, agents, routers, aliases or
    generators; requests that fit; one listing per base model). A model on the
    front has no other that scores better for less. Readers without a public
    score are drawn apart, in a band along the bottom ("no public score"), at
    their cost, the cheapest named: a low price there is not evidence of good
    reading. Free models cannot sit on the log cost axis and are counted in
    the title. An edit distance (lower is better) is drawn with better up.
    """
    ranked = with_prior(costs, benchmark, metric)
    higher = bool(ranked.attrs["higher_is_better"])
    if ax is None:
        ax = _new_axes((9, 6))
    priced = ranked[(ranked["usd_per_1k_images"] > 0).to_numpy()]
    scored = priced[priced["prior_score"].notna().to_numpy()]
    unscored = priced[priced["prior_score"].isna().to_numpy()]
    free = len(ranked) - len(priced)
    title = f"Estimated cost against {benchmark}: {metric}"
    if scored.empty:
        return _nothing_to_draw(ax, f"No ranked reader of this table has a published {benchmark} score.", title)
    cost_all = priced["usd_per_1k_images"].to_numpy(dtype="float64")
    score = scored["prior_score"].to_numpy(dtype="float64")
    front = prior_front(scored, higher)
    on_front = scored["id"].isin(front["id"]).to_numpy()
    ax.scatter(scored["usd_per_1k_images"][~on_front], score[~on_front], color="0.6", s=30, zorder=2,
               label="dominated: another scores better for less")  # fmt: skip
    ax.scatter(front["usd_per_1k_images"], front["prior_score"], color="tab:blue", s=45, zorder=3, label="Pareto front")
    ax.plot(
        front["usd_per_1k_images"],
        front["prior_score"],
        color="tab:blue",
        linewidth=1,
        drawstyle="steps-post",
        zorder=1,
    )
    log_x = _spans_decades(cost_all)
    cost = scored["usd_per_1k_images"].to_numpy(dtype="float64")
    span = float(score.max() - score.min()) or abs(float(score.max())) or 1.0
    # Label room in axis units: the figure is about 800 px wide and 450 px high for the data; 7-pt text is
    # about 4.3 px a character and 11 px a line.
    x_units = np.log10(cost) if log_x else cost
    x_range = math.log10(float(cost_all.max()) * 4) if log_x else float(cost_all.max()) * 1.25
    if log_x:
        x_range -= math.log10(float(cost_all.min()) / 1.6)
    order = np.argsort(-score if higher else score, kind="stable")  # the best placed first
    placed = _label_lines(x_units[order], (score if higher else -score)[order],
                          [len(i) for i in scored["id"].to_numpy()[order]], 4.3 * x_range / 800, 11 * 1.55 * span / 450)  # fmt: skip
    lines = np.empty(len(order), dtype=int)
    lines[order] = placed
    for row_id, x, y, strong, line in zip(scored["id"], cost, score, on_front.tolist(), lines, strict=True):
        leader = {"arrowstyle": "-", "color": "0.7", "linewidth": 0.5, "shrinkA": 0} if line else None
        ax.annotate(row_id, (float(x), float(y)), xytext=(4, 3 - 11 * line), textcoords="offset points", fontsize=7,
                    color="black" if strong else "0.45", parse_math=False, arrowprops=leader)  # fmt: skip
    _no_score_band(ax, unscored)
    _axis_format(ax, "x", "usd", log_x, cost_all)
    if log_x:
        ax.set_xlim(float(cost_all.min()) / 1.6, float(cost_all.max()) * 2.5)
    else:
        ax.set_xlim(0, float(cost_all.max()) * 1.25)
    _score_axis(ax, score, span, higher)
    ax.set_xlabel("estimated USD per 1,000 pages" + (", log scale" if log_x else ""))
    ax.set_ylabel(f"{metric} ({'higher' if higher else 'lower'} is better{'' if higher else ', drawn upwards'})")
    ax.grid(alpha=0.3)
    counts = f"{plural(len(scored), 'reader')} with a published score, {len(unscored)} without"
    free_note = f"; {free} free not shown" if free else ""
    ax.set_title(
        f"{title}\n{counts}{free_note}. A public score is a prior: try the front on your own pages", fontsize=10
    )
    ax.legend(fontsize=7, loc="upper left", frameon=False)
    return ax


def _score_axis(ax: Axes, score: np.ndarray, span: float, higher: bool) -> None:
    """Better up, with room at the bottom for the band; ticks only where scores are, none in the band."""
    best, worst = (float(score.max()), float(score.min())) if higher else (float(score.min()), float(score.max()))
    away = 1.0 if higher else -1.0  # the direction of "better" in score units
    bottom, top = worst - away * 0.45 * span, best + away * 0.1 * span
    ax.set_ylim(bottom, top)
    lowest_tick = worst - away * 0.08 * span
    ticks = [t for t in ax.get_yticks() if min(lowest_tick, top) <= t <= max(lowest_tick, top)]
    ax.set_yticks(ticks)
    ax.set_ylim(bottom, top)


def _label_lines(x: np.ndarray, y: np.ndarray, chars: list[int], per_char: float, per_line: float) -> list[int]:
    """How many lines down each label goes so that no two labels overprint (greedy, in axis units).

    A label starts at its point's ``x`` and is ``chars * per_char`` wide,
    one ``per_line`` high; a label moved down one line is ``per_line`` lower.
    """
    boxes: list[tuple[float, float, float]] = []  # left, right, bottom
    lines = []
    for px, py, n in zip(x.tolist(), y.tolist(), chars, strict=True):
        line = 0
        while any(
            px < right and left < px + n * per_char and abs((py - line * per_line) - bottom) < per_line
            for left, right, bottom in boxes
        ):
            line += 1
        boxes.append((px, px + n * per_char, py - line * per_line))
        lines.append(line)
    return lines


def _no_score_band(ax: Axes, unscored: pd.DataFrame) -> None:
    """Readers without a published score as ticks in a shaded band at the bottom, at their cost; the cheapest named."""
    from matplotlib.transforms import blended_transform_factory

    band = blended_transform_factory(ax.transData, ax.transAxes)
    ax.fill_between([0, 1], 0, 0.2, transform=ax.transAxes, color="0.93", zorder=0)
    ax.text(0.995, 0.185, f"no public score ({len(unscored)} readers)", transform=ax.transAxes, fontsize=8,
            color="0.3", va="top", ha="right")  # fmt: skip
    if unscored.empty:
        return
    x = unscored["usd_per_1k_images"].to_numpy(dtype="float64")
    ax.scatter(x, np.full(len(x), 0.06), transform=band, marker="|", s=120, color="tab:orange", zorder=2,
               label="no public score: untested, not bad")  # fmt: skip
    cheapest = unscored.nsmallest(NAMED_WITHOUT_SCORE, "usd_per_1k_images")
    for line, (row_id, cost) in enumerate(zip(cheapest["id"], cheapest["usd_per_1k_images"], strict=True)):
        ax.annotate(row_id, (float(cost), 0.085), xycoords=band, xytext=(6, 6 + 9 * line), textcoords="offset points",
                    fontsize=6.5, color="0.25", parse_math=False,
                    arrowprops={"arrowstyle": "-", "color": "0.6", "linewidth": 0.5})  # fmt: skip

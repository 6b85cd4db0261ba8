"""Charts of a trial: cost against accuracy (with its front), and the estimate against the bill."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .chart_style import _axis_format, _new_axes, _nothing_to_draw, _spans_decades, _tick_formatter, plural, usd_ticks

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

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

    When the summary has the bootstrap intervals (``cer_ci_low`` / ``_high``,
    ``usd_per_page_ci_low`` / ``_high``), each point carries its 95% interval
    as error bars in both directions.

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
        ax.scatter(
            cost[~on_front],
            cer[~on_front],
            color="0.6",
            s=30,
            label="dominated: another reads better for less",
            zorder=2,
        )
    ax.scatter(cost[on_front], cer[on_front], color="tab:blue", s=45, label="Pareto front", zorder=3)
    top = _error_bars(ax, shown, cost, cer)
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
    ax.set_ylim(0, max(float(cer.max()) * 1.15, top * 1.05, 0.01))
    ax.set_xlabel("billed USD per 1,000 pages" + scale)
    ax.set_ylabel("mean character error rate (lower is better)")
    ax.grid(alpha=0.3)
    left_out = len(summary) - len(shown)
    note = f"; {plural(left_out, 'model')} without a CER not shown" if left_out else ""
    pages = int(shown["pages_ok"].max())
    ax.set_title(f"Cost against accuracy, measured on up to {plural(pages, 'page')}{note}", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    return ax


def _error_bars(ax: Axes, shown: pd.DataFrame, cost: np.ndarray, cer: np.ndarray) -> float:
    """The 95% intervals of CER (vertical) and cost per 1,000 pages (horizontal), where the summary has them;
    returns the highest CER drawn (0 when none)."""
    names = ("cer_ci_low", "cer_ci_high", "usd_per_page_ci_low", "usd_per_page_ci_high")
    if not set(names) <= set(shown):
        return 0.0
    low, high, cost_low, cost_high = (shown[n].to_numpy(dtype="float64", na_value=np.nan) for n in names)
    yerr = np.nan_to_num(np.vstack([cer - low, high - cer]), nan=0.0).clip(min=0)
    xerr = np.nan_to_num(np.vstack([cost - cost_low * 1000, cost_high * 1000 - cost]), nan=0.0).clip(min=0)
    if not (yerr.any() or xerr.any()):
        return 0.0
    ax.errorbar(cost, cer, xerr=xerr, yerr=yerr, fmt="none", ecolor="0.55", elinewidth=0.8, capsize=2, zorder=1,
                label="95% interval (bootstrap over pages)")  # fmt: skip
    return float(np.nanmax(cer + yerr[1]))


def plot_page_heatmap(trial, *, metric: str = "cer", ax: Axes | None = None) -> Axes:
    """Model x page of ``metric`` (``cer`` or ``field_accuracy``; repeats averaged), darker where a model reads worse.

    A cell left blank is a page the model gave no usable answer for. The values are written in the cells when
    there are at most 400 of them.
    """
    if metric not in ("cer", "field_accuracy"):
        raise ValueError(f"metric must be 'cer' or 'field_accuracy', not {metric!r}")
    results = getattr(trial, "results", trial)
    if ax is None:
        ax = _new_axes((9, 4))
    title = f"{'CER' if metric == 'cer' else 'Field accuracy'} per page and model"
    if not isinstance(results, pd.DataFrame) or metric not in results or results[metric].isna().all():
        return _nothing_to_draw(ax, f"No {metric} to show: run the trial with truth= to measure it.", title)
    from ..trials.stats import per_page

    table = per_page(results, metric).T  # models x pages
    values = table.to_numpy(dtype="float64")
    worse = values if metric == "cer" else 1 - values
    image = ax.imshow(np.clip(worse, 0, 1), cmap="Reds", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(table.shape[1]), [str(p) for p in table.columns], rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(table.shape[0]), [str(m) for m in table.index], fontsize=7)
    for label in (*ax.get_xticklabels(), *ax.get_yticklabels()):
        label.set_parse_math(False)
    if values.size <= 400:
        for (i, j), value in np.ndenumerate(values):
            if value == value:
                shade = "white" if np.clip(worse[i, j], 0, 1) > 0.6 else "black"
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6, color=shade)
    bar = ax.figure.colorbar(image, ax=ax, fraction=0.04)
    bar.set_label("CER (clipped at 1)" if metric == "cer" else "1 - field accuracy", fontsize=8)
    ax.set_title(f"{title}: darker reads worse; blank: no usable answer", fontsize=10)
    return ax


def accuracy_front(summary: pd.DataFrame) -> pd.DataFrame:
    """Models no other beats on both: none reads with a lower CER for at most the cost."""
    ordered = summary.dropna(subset=["usd_per_1k_pages", "cer_mean"]).sort_values(
        ["usd_per_1k_pages", "cer_mean", "model"]
    )
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

"""Charts of cost per image, seaborn-style: each takes ``ax=`` and returns the Axes.

matplotlib is imported when a chart is drawn, not when the package loads, so
the CLI and the server start without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

UNCERTAIN_HATCH = "///"


def plot_cost_per_image(costs: pd.DataFrame, top: int = 25, *, ax: Axes | None = None) -> Axes:
    """Horizontal bars of USD per 1,000 images (pages), cheapest at the top.

    Bars are coloured by provider; estimates marked ``uncertain`` are hatched.
    Models with an unknown price are left out (and counted in the title).
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    _need_columns(costs, ["id", "provider", "usd_per_1k_images", "uncertain"])
    if not isinstance(top, int) or isinstance(top, bool) or top < 1:
        raise ValueError(f"bad top {top!r}: expected a whole number of models >= 1")
    priced = costs[costs["usd_per_1k_images"].notna()]
    shown = priced.nsmallest(top, "usd_per_1k_images", keep="first") if len(priced) > top else priced
    shown = shown.sort_values(["usd_per_1k_images", "id"], kind="stable")
    colours = provider_colours(costs["provider"])

    if ax is None:
        _, ax = plt.subplots(figsize=(10, max(2.5, 0.3 * len(shown) + 1.2)), layout="constrained")
    positions = np.arange(len(shown))
    bars = ax.barh(
        positions,
        shown["usd_per_1k_images"],
        color=[colours[p] for p in shown["provider"]],
        edgecolor="0.25",
        linewidth=0.4,
    )
    for bar, uncertain in zip(bars, shown["uncertain"].tolist()):
        if uncertain:
            bar.set_hatch(UNCERTAIN_HATCH)
    ax.set_yticks(positions, shown["id"].tolist(), fontsize=8)
    ax.invert_yaxis()  # cheapest at the top
    ax.set_xlabel("USD per 1,000 images")
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    free = shown["free"].tolist() if "free" in shown else [False] * len(shown)
    for position, value, is_free in zip(positions, shown["usd_per_1k_images"].tolist(), free):
        ax.annotate(" free" if is_free else f" {_usd_label(value)}", (value, position), va="center", fontsize=7)
    left_out = len(costs) - len(priced)
    note = f"; {left_out} with unknown price not shown" if left_out else ""
    ax.set_title(f"{cost_title(costs)}\ncheapest {len(shown)} of {len(costs)} models{note}", fontsize=10)
    providers = list(dict.fromkeys(shown["provider"]))
    handles = [Patch(facecolor=colours[p], edgecolor="0.25", label=p) for p in providers]
    if shown["uncertain"].any():
        handles.append(Patch(facecolor="white", edgecolor="0.25", hatch=UNCERTAIN_HATCH, label="uncertain estimate"))
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return ax


def plot_cost_vs_context(costs: pd.DataFrame, *, ax: Axes | None = None, label_front: bool = True) -> Axes:
    """Scatter of USD per 1,000 images against context length, both log scale.

    The Pareto front (no other model has at least the context for less) is
    joined and labelled. Free models and unknown prices or contexts cannot sit
    on a log scale; the title counts them.
    """
    import matplotlib.pyplot as plt

    _need_columns(costs, ["id", "provider", "usd_per_1k_images", "context_length", "uncertain"])
    context = costs["context_length"].astype("float64")
    usd = costs["usd_per_1k_images"]
    plotted = costs[(usd > 0) & (context > 0)]
    colours = provider_colours(costs["provider"])

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 6), layout="constrained")
    for provider, group in plotted.groupby("provider", sort=True):
        ax.scatter(
            group["context_length"].astype("float64"),
            group["usd_per_1k_images"],
            s=28,
            color=colours[provider],
            edgecolor="0.2",
            linewidth=0.4,
            label=provider,
        )
    front = pareto_front(plotted)
    if not front.empty:
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
            for row in front.itertuples(index=False):
                ax.annotate(
                    row.id,
                    (float(row.context_length), row.usd_per_1k_images),
                    xytext=(4, -9),
                    textcoords="offset points",
                    fontsize=7,
                )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("context length (tokens)")
    ax.set_ylabel("USD per 1,000 images")
    ax.grid(alpha=0.3, which="both")
    left_out = len(costs) - len(plotted)
    note = f"; {left_out} free or unknown not shown" if left_out else ""
    ax.set_title(f"{cost_title(costs)}\n{len(plotted)} models{note}", fontsize=10)
    ax.legend(fontsize=7, ncols=1, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return ax


def plot_price_history(
    history: pd.DataFrame | str | list[str],
    price: str = "prompt_usd_per_mtok",
    ax: Axes | None = None,
    *,
    path: str | None = None,
) -> Axes:
    """A step chart of one price per model; returns the matplotlib ``Axes`` (drawn on ``ax`` if given).

    ``history`` is a :func:`price_history` frame or the ids to look up.
    matplotlib is imported here, not with the package, so the CLI starts fast.
    """
    from .stores.history import PRICES, price_history

    if price not in PRICES:
        raise ValueError(f"unknown price {price!r}: expected one of {', '.join(PRICES)}")
    frame = history if isinstance(history, pd.DataFrame) else price_history(history, path=path)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(9, 4.5))
    for model_id, rows in frame.groupby("id", sort=True):
        dates = rows["date"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
        ax.step(dates, rows[price].to_numpy(dtype="float64"), where="post", label=model_id)
    if frame.empty:
        ax.text(0.5, 0.5, "no price history", ha="center", va="center", transform=ax.transAxes)
    else:
        ax.legend(fontsize="small")
    unit = "USD per million tokens" if price.endswith("per_mtok") else "USD"
    ax.set_ylabel(f"{price} ({unit})")
    ax.set_xlabel("snapshot date (UTC)")
    ax.set_title(f"{price} over time")
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


def provider_colours(providers: pd.Series | list[str]) -> dict[str, tuple]:
    """A colour per provider, assigned in alphabetical order so both charts of one table agree."""
    import matplotlib as mpl

    names = sorted(set(providers))
    palette = mpl.colormaps["tab20"].colors
    return {name: palette[i % len(palette)] for i, name in enumerate(names)}


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
        from .trials import summarise

        return summarise(trial)
    raise ValueError(f"not a trial: expected a Trial from vm.run_trial (or its results), got {type(trial).__name__}")


def plot_cost_vs_accuracy(trial, *, ax: Axes | None = None) -> Axes:
    """Billed USD per 1,000 pages against mean CER, one point per model; the Pareto front joined and labelled.

    A model is on the front when no other reads with a lower CER for less
    (lower left is better). Models without a CER (no ground truth, or no page
    read) are left out and counted in the title; free models (Tesseract) sit at 0.
    """
    import matplotlib.pyplot as plt

    summary = _trial_summary(trial)
    shown = summary[summary["cer_mean"].notna() & summary["usd_per_1k_pages"].notna()]
    if shown.empty:
        raise ValueError("nothing to plot: no model has both a billed cost and a CER; run the trial with truth=")
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 5), layout="constrained")
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
    if len(positive) and positive.max() / positive.min() > 30:
        ax.set_xscale("symlog", linthresh=float(positive.min()) / 2)
        ax.set_xlim(left=0, right=float(cost.max()) * 2)
    else:
        right = float(cost.max()) * 1.3 or 1.0  # room for the labels; all free: an axis of 0-1 USD
        ax.set_xlim(-0.03 * right, right)
    ax.set_ylim(0, max(float(cer.max()) * 1.15, 0.01))
    ax.set_xlabel("billed USD per 1,000 pages")
    ax.set_ylabel("mean character error rate (lower is better)")
    ax.grid(alpha=0.3)
    left_out = len(summary) - len(shown)
    note = f"; {left_out} model(s) without a CER not shown" if left_out else ""
    pages = int(shown["pages_ok"].max())
    ax.set_title(f"Cost against accuracy, measured on up to {pages} page(s){note}", fontsize=10)
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
    Free models and models without an answer are left out (counted in the title).
    """
    import matplotlib.pyplot as plt

    summary = _trial_summary(trial)
    estimated = summary["estimated_usd_per_page"].to_numpy(dtype="float64", na_value=np.nan)
    billed = summary["usd_per_page"].to_numpy(dtype="float64", na_value=np.nan)
    keep = (estimated > 0) & (billed > 0)
    if not keep.any():
        raise ValueError("nothing to plot: no model has both an estimate and a bill above zero")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 6), layout="constrained")
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
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_xlabel("estimated USD per page")
    ax.set_ylabel("billed USD per page")
    ax.grid(alpha=0.3, which="both")
    left_out = len(summary) - int(keep.sum())
    note = f"; {left_out} model(s) free or without a bill not shown" if left_out else ""
    ax.set_title(f"Estimate against bill per model\nlabel: estimate / billed{note}", fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    return ax

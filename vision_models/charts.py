"""Charts of cost per image and of the catalog's history: each takes ``ax=`` and returns the Axes.

matplotlib is imported when a chart is drawn, not when the package loads, so
the CLI and the server start without it. Every chart colours a provider the
same way (:data:`PROVIDER_COLOURS`), groups the long tail as "other", and its
legend lists only what it drew.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .cost import MEASURED_METHOD
from .frame import is_alias_id

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

UNCERTAIN_HATCH = "///"
#: How heavy the outline of a bar priced from trial measurements is.
MEASURED_LINEWIDTH = 2.0

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

_PRICE_WORDS = {
    "prompt_usd_per_mtok": ("Prompt price", "USD per million prompt tokens"),
    "completion_usd_per_mtok": ("Completion price", "USD per million completion tokens"),
    "image_price": ("Listed image price", "USD (pricing.image as listed)"),
    "request_usd": ("Price per request", "USD per request"),
}


def plot_cost_per_image(costs: pd.DataFrame, top: int = 25, *, ax: Axes | None = None) -> Axes:
    """Horizontal bars of USD per 1,000 images (pages) for the cheapest priced models, cheapest at the top.

    Bars are coloured by provider; estimates marked ``uncertain`` are hatched;
    rows priced from trial measurements (``method == "measured"``, see
    ``cost_per_image(prefer_measured=True)``) have a heavy outline and say so
    next to their value. Free models would be empty bars at the top: they are counted and named in
    the title instead. Models with an unknown price, and models the request does not fit
    (``fits`` False: its context or maximum output), are left out and counted.
    The subtitle counts every row of ``costs``, not just the bars drawn.
    """
    import matplotlib.pyplot as plt
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
        _, ax = plt.subplots(figsize=(10, max(2.5, 0.3 * len(shown) + 1.4)), layout="constrained")
    positions = np.arange(len(shown))
    groups = provider_groups(shown["provider"])
    bars = ax.barh(
        positions,
        shown["usd_per_1k_images"],
        color=[group_colour(g) for g in groups],
        edgecolor="0.25",
        linewidth=0.4,
    )
    measured = (shown["method"] == MEASURED_METHOD).to_numpy(dtype=bool) if "method" in shown else np.zeros(len(shown), bool)
    for bar, uncertain, was_measured in zip(bars, shown["uncertain"].tolist(), measured.tolist()):
        if uncertain:
            bar.set_hatch(UNCERTAIN_HATCH)
        if was_measured:
            bar.set_edgecolor("black")
            bar.set_linewidth(MEASURED_LINEWIDTH)
    ax.set_yticks(positions, shown["id"].tolist(), fontsize=8)
    ax.invert_yaxis()  # cheapest at the top
    ax.set_xlabel("USD per 1,000 images")
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    for position, value, was_measured in zip(positions, shown["usd_per_1k_images"].tolist(), measured.tolist()):
        note = " measured" if was_measured else ""
        ax.annotate(f" {_usd_label(value)}{note}", (value, position), va="center", fontsize=7)
    if shown.empty:
        ax.set_yticks([])
        ax.set_xticks([])
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        message = f"Every model here is free ({len(free)}): no cost to chart." if len(free) else "No model has a known price."
        if not len(free) and len(costs) and not fits.any():
            message = "The request fits no model here (context or maximum output)."
        ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    else:
        ax.set_xlim(0, float(shown["usd_per_1k_images"].max()) * 1.15)  # room for the value labels; never negative
    ax.set_title(f"{cost_title(costs)}\n{_bars_subtitle(costs, shown, free, priced)}", fontsize=10)
    handles = [Patch(facecolor=group_colour(g), edgecolor="0.25", label=g) for g in _legend_order(groups)]
    if shown["uncertain"].any():
        handles.append(Patch(facecolor="white", edgecolor="0.25", hatch=UNCERTAIN_HATCH, label="uncertain estimate"))
    if measured.any():
        handles.append(
            Patch(facecolor="white", edgecolor="black", linewidth=MEASURED_LINEWIDTH, label="measured in your trials")
        )
    if handles:
        ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return ax


def _bars_subtitle(costs: pd.DataFrame, shown: pd.DataFrame, free: pd.DataFrame, priced: pd.DataFrame) -> str:
    """"cheapest 25 of 140 priced models; 3 free: a, b, c; 2 with unknown price not shown"."""
    parts = [f"cheapest {len(shown)} of {len(priced)} priced models" if len(shown) else f"{len(costs)} models"]
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
    """Scatter of USD per 1,000 images against context length, both log scale.

    The Pareto front (no other model has at least the context for less) is
    joined and labelled. Free models and unknown prices or contexts cannot sit
    on a log scale; the title counts them.
    """
    import matplotlib.pyplot as plt

    _need_columns(costs, ["id", "provider", "usd_per_1k_images", "context_length", "uncertain"])
    context = costs["context_length"].astype("float64")
    usd = costs["usd_per_1k_images"]
    plotted = costs[((usd > 0) & (context > 0)).to_numpy()]
    groups = pd.Series(provider_groups(plotted["provider"]), index=plotted.index, dtype=object)

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 6), layout="constrained")
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
    if len(plotted):
        ax.legend(fontsize=7, ncols=1, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    else:
        ax.text(0.5, 0.5, "No priced model with a known context.", ha="center", va="center", transform=ax.transAxes)
    return ax


def plot_price_history(
    history: pd.DataFrame | str | list[str],
    price: str = "prompt_usd_per_mtok",
    ax: Axes | None = None,
    *,
    path: str | None = None,
) -> Axes:
    """A step chart of one price per model over the snapshot dates; returns the ``Axes`` (``ax`` if given).

    ``history`` is a :func:`price_history` frame or the ids to look up. Lines
    take their provider's colour; models of one provider differ by line style.
    The x axis is a real date axis with concise date labels.
    """
    import matplotlib.dates as mdates

    from .stores.history import PRICES, price_history

    if price not in PRICES:
        raise ValueError(f"unknown price {price!r}: expected one of {', '.join(PRICES)}")
    frame = history if isinstance(history, pd.DataFrame) else price_history(history, path=path)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")
    styles = ["-", "--", ":", "-."]
    used: dict[str, int] = {}
    for model_id, rows in frame.groupby("id", sort=True):
        group = provider_groups([str(model_id).split("/")[0].lstrip("~")])[0]
        nth = used.get(group, 0)
        used[group] = nth + 1
        dates = rows["date"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
        ax.step(
            dates,
            rows[price].to_numpy(dtype="float64"),
            where="post",
            label=model_id,
            color=group_colour(group),
            linestyle=styles[nth % len(styles)],
            linewidth=1.6,
        )
    title, unit = _PRICE_WORDS[price]
    if frame.empty:
        ax.text(0.5, 0.5, "no price history", ha="center", va="center", transform=ax.transAxes)
    else:
        locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.set_ylim(bottom=0)
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    ax.grid(alpha=0.3)
    ax.set_ylabel(unit)
    ax.set_xlabel("snapshot date (UTC)")
    ax.set_title(f"{title} over time")
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
    :func:`vision_models.frame.is_alias_id`) are new names for models, not new
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
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(8, 3.2), layout="constrained")
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
    weeks = f"{len(per_week)} week" + ("" if len(per_week) == 1 else "s")
    note = f" ({int(partial.sum())} partial)" if partial.any() else ""
    ax.set_title(f"{what.capitalize()} added per week: {total:,} in {weeks}{note}")
    if per_week.empty:
        ax.text(0.5, 0.5, f"no {what} added", ha="center", va="center", transform=ax.transAxes)
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

"""How sure a trial's numbers are: bootstrap intervals over pages, paired comparisons, and pages needed.

Intervals (:func:`bootstrap_means`)
    Percentile bootstrap of the mean over pages: ``resamples`` (1,000) draws of
    the pages with replacement, seeded (``seed=0``) so a run gives the same
    interval every time. All models are resampled with the same draws (pages are
    the unit: a hard page is hard for every model). A model's mean in a draw is
    over the drawn pages it has a value for; the interval is the 2.5th and 97.5th
    percentile of those means. With fewer than two pages there is no interval (NaN).
Comparisons (:func:`compare_models`)
    On the pages both models read, the per-page difference ``b - a`` (repeats of a
    page averaged first), its mean and its bootstrap interval, with a sentence.
Pages needed (:func:`pages_needed`)
    The normal approximation for a paired test: ``n = ((z(1 - alpha/2) + z(power)) x sd / margin)^2``,
    where ``sd`` is the standard deviation of the observed per-page differences.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0
LEVEL = 0.95

#: metric -> (results column, lower is better, unit word, scale shown in sentences).
METRICS = {
    "cer": ("cer", True, "points of CER", 100.0),
    "field_accuracy": ("field_accuracy", False, "points of field accuracy", 100.0),
    "usd_per_page": ("billed_usd", True, "USD per page", 1.0),
}


def bootstrap_means(values: np.ndarray, *, resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
                    level: float = LEVEL) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """(low, high, pages) per column of ``values`` (pages x models, NaN where a model has no value).

    Vectorised: the draws are counted per page (a resamples x pages matrix of
    counts), and each draw's means are one matrix product.
    """
    data = np.asarray(values, dtype="float64")
    if data.ndim == 1:
        data = data[:, None]
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, not {level!r}")
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 1:
        raise ValueError(f"resamples must be a positive whole number, not {resamples!r}")
    pages, models = data.shape
    present = ~np.isnan(data)
    counts_per_model = present.sum(axis=0)
    low = np.full(models, np.nan)
    high = np.full(models, np.nan)
    if pages < 2:
        return low, high, counts_per_model
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, pages, size=(resamples, pages))
    offsets = (draws + (np.arange(resamples) * pages)[:, None]).ravel()
    weights = np.bincount(offsets, minlength=resamples * pages).reshape(resamples, pages).astype("float64")
    sums = weights @ np.where(present, data, 0.0)
    totals = weights @ present.astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / totals
    tail = (1 - level) / 2 * 100
    enough = counts_per_model >= 2
    if enough.any():
        quantiles = np.nanpercentile(means[:, enough], [tail, 100 - tail], axis=0)
        low[enough], high[enough] = quantiles[0], quantiles[1]
    return low, high, counts_per_model


def per_page(results: pd.DataFrame, column: str) -> pd.DataFrame:
    """Pages x models of ``column``, repeats of a page averaged (only answered rows)."""
    answered = results["error"].isna() & results["status"].isin(["ok", "cached"])
    frame = results.loc[answered, ["page", "model", column]]
    values = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    frame = frame.assign(**{column: values})
    return frame.pivot_table(index="page", columns="model", values=column, aggfunc="mean", sort=False, dropna=False)


def intervals(results: pd.DataFrame, column: str, models: list[str], **options: Any) -> pd.DataFrame:
    """Per model: the interval of the mean of ``column`` over pages (``low``, ``high``, ``pages``)."""
    if column not in results or results.empty:
        return pd.DataFrame({"low": np.nan, "high": np.nan, "pages": 0}, index=pd.Index(models, name="model"))
    table = per_page(results, column).reindex(columns=models)
    low, high, pages = bootstrap_means(table.to_numpy(dtype="float64"), **options)
    return pd.DataFrame(
        {"low": low, "high": high, "pages": pages.astype("int64")}, index=pd.Index(models, name="model")
    )


@dataclass(frozen=True)
class Comparison:
    """One metric compared between two models on the pages both read."""

    metric: str
    a: str
    b: str
    pages: int
    mean_a: float
    mean_b: float
    difference: float  # b - a, in the metric's own units
    ci_low: float
    ci_high: float
    sentence: str


def compare_models(trial: Any, a: str, b: str, *, resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
                   level: float = LEVEL) -> pd.DataFrame:  # fmt: skip
    """Per metric (CER, field accuracy, USD per page): the paired difference b - a with its interval and a sentence."""
    results = _results(trial)
    known = set(results["model"].tolist())
    for name in (a, b):
        if name not in known:
            raise ValueError(f"model {name!r} is not in the trial (models: {', '.join(sorted(known))})")
    rows = []
    for metric, (column, lower_better, unit, scale) in METRICS.items():
        if column not in results:
            continue
        pair = _paired(results, column, a, b)
        if pair.empty:
            continue
        diff = (pair[b] - pair[a]).to_numpy(dtype="float64")
        low, high, _ = bootstrap_means(diff, resamples=resamples, seed=seed, level=level)
        mean = float(diff.mean())
        sentence = _sentence(a, b, mean, float(low[0]), float(high[0]), len(diff), lower_better, unit, scale, level)
        rows.append(Comparison(metric, a, b, len(diff), float(pair[a].mean()), float(pair[b].mean()), mean,
                               float(low[0]), float(high[0]), sentence))  # fmt: skip
    columns = list(Comparison.__dataclass_fields__)
    return pd.DataFrame([r.__dict__ for r in rows], columns=columns)


def _paired(results: pd.DataFrame, column: str, a: str, b: str) -> pd.DataFrame:
    table = per_page(results, column)
    if a not in table or b not in table:
        return pd.DataFrame(columns=[a, b])
    return table[[a, b]].dropna()


def _sentence(a: str, b: str, mean: float, low: float, high: float, pages: int, lower_better: bool, unit: str,
              scale: float, level: float) -> str:  # fmt: skip
    """ "b reads 1.2 points of CER better than a, 95% interval 0.4 to 2.0, on 40 pages"."""
    gain, glo, ghi = (-mean, -high, -low) if lower_better else (mean, low, high)  # how much better b is than a
    better = gain >= 0
    shown, lo, hi = (gain, glo, ghi) if better else (-gain, -ghi, -glo)
    if unit.startswith("USD"):
        text = f"{b} costs ${shown * scale:.6g} {'less' if better else 'more'} per page than {a}"
        bounds = f"${lo * scale:.6g} to ${hi * scale:.6g}"
    else:
        text = f"{b} reads {shown * scale:.1f} {unit} {'better' if better else 'worse'} than {a}"
        bounds = f"{lo * scale:.1f} to {hi * scale:.1f}"
    if low != low:
        return f"{text}, on {pages} page{'s' if pages != 1 else ''} (too few for an interval)"
    unsure = " (not distinguishable)" if low <= 0 <= high else ""
    return f"{text}, {level:.0%} interval {bounds}, on {pages} pages{unsure}"


def pages_needed(trial: Any, a: str, b: str, *, margin: float, metric: str = "cer", alpha: float = 0.05,
                 power: float = 0.8) -> int:  # fmt: skip
    """Pages a trial needs to tell ``a`` from ``b`` when they differ by ``margin`` (in the metric's units, e.g.
    0.01 of CER), from the spread of their per-page differences in ``trial``."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, not {metric!r}")
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 < margin < math.inf:
        raise ValueError(f"margin must be a positive number, not {margin!r}")
    for name, value in (("alpha", alpha), ("power", power)):
        if not 0 < value < 1:
            raise ValueError(f"{name} must be between 0 and 1, not {value!r}")
    pair = _paired(_results(trial), METRICS[metric][0], a, b)
    if len(pair) < 2:
        raise ValueError(
            f"pages_needed needs two or more pages read by both {a!r} and {b!r}; the trial has {len(pair)}"
        )
    sd = float(np.std((pair[b] - pair[a]).to_numpy(dtype="float64"), ddof=1))
    z = NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)
    return max(2, math.ceil((z * sd / margin) ** 2))


def _results(trial: Any) -> pd.DataFrame:
    results = getattr(trial, "results", trial)
    if not isinstance(results, pd.DataFrame):
        raise TypeError(f"trial must be a Trial or its results frame, not {type(trial).__name__}")
    return results

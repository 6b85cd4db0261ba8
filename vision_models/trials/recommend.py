"""Which model to use, from a trial's evidence: the cheapest one that meets every target, and why the others lost.

The rule (:func:`recommend`)
    A model qualifies when, at ``confidence`` (0.95):

    - CER: the upper bound of its interval is under ``max_cer``;
    - field accuracy: the lower bound of its interval is over ``min_field_accuracy``;
    - success: its observed success rate (rows ``ok``: not failed, truncated, looped, empty, refused or invalid
      JSON, over the rows sent) is at least ``min_success_rate``. A failure seen is a failure: the rate is the
      observed share, not an interval (proving 98% from below would take some 190 flawless pages);
    - budget: its billed USD per 1,000 successful pages is at most ``budget_per_1k_pages``.

    Among those, the cheapest by billed USD per 1,000 successful pages wins (everything billed for the model's
    rows divided by the rows that succeeded: failures are paid for too).
Intervals
    The percentile bootstrap over pages of :mod:`.stats` (seeded, 1,000 resamples) at ``confidence``, two-sided.
Verdicts in the table
    ``chosen``; ``target missed`` (the whole interval is on the wrong side); ``failures`` (the success rate is
    under the floor); ``too dear`` (over the budget, or qualifies but costs more than the chosen one);
    ``not enough pages to be sure`` (the interval straddles the target); ``no data`` (nothing to measure: no
    page with a truth, no answer, no bill). ``why`` gives every reason, the verdict the most decisive one.
More pages (``more_pages``)
    For a straddling target whose mean meets it: the pages at which, if the model goes on reading as it did, the
    interval would clear the target four times in five: ``n = ((z(1 - alpha/2) + z(0.8)) x sd / |mean - target|)^2``
    (the normal approximation of :func:`.stats.pages_needed`, one model against a fixed target), less the pages
    already read. None when the mean itself misses the target (more pages cannot help) or sits on it.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from ..text import no_math
from .evidence import evidence_summary, failure_columns
from .failures import FAILURE_KINDS
from .stats import DEFAULT_RESAMPLES, DEFAULT_SEED, compare_models, intervals, per_page

CHOSEN, DEAR, MISSED, FAILURES, UNSURE, NO_DATA = (
    "chosen", "too dear", "target missed", "failures", "not enough pages to be sure", "no data",
)  # fmt: skip
#: The most decisive first: a model's verdict is the first that applies.
VERDICT_ORDER = (MISSED, FAILURES, DEAR, NO_DATA, UNSURE)
POWER = 0.8
RECOMMEND_COLUMNS = {
    "model": "str", "verdict": "str", "why": "str", "usd_per_1k_successful_pages": "float64",
    "success_rate": "float64", "rows": "int64", "failures": "str", "cer_mean": "float64", "cer_ci_low": "float64",
    "cer_ci_high": "float64", "cer_pages": "int64", "field_accuracy_mean": "float64",
    "field_accuracy_ci_low": "float64", "field_accuracy_ci_high": "float64", "field_accuracy_pages": "int64",
    "more_pages": "Int64",
}  # fmt: skip


@dataclass(frozen=True)
class Recommendation:
    """What :func:`recommend` found: ``model`` (None when none qualifies), ``table`` (every candidate, cheapest
    first, with its verdict and why), ``justification`` (a paragraph), and the ``closest`` model when none
    qualifies with ``more_pages`` that would settle its unsure target (None when more pages cannot help)."""

    model: str | None
    table: pd.DataFrame
    justification: str
    targets: dict[str, float | None] = field(default_factory=dict)
    closest: str | None = None
    more_pages: int | None = None

    def __repr__(self) -> str:
        shown = self.table[["model", "verdict", "usd_per_1k_successful_pages", "why"]]
        return f"{self.justification}\n\n{shown.to_string(index=False)}"

    def _repr_html_(self) -> str:
        return no_math(f"<p>{html.escape(self.justification)}</p>" + self.table.to_html(escape=True, index=False))


@dataclass(frozen=True)
class _Targets:
    max_cer: float | None
    min_field_accuracy: float | None
    min_success_rate: float
    confidence: float
    budget_per_1k_pages: float | None


def recommend(trial: Any, *, max_cer: float | None = None, min_field_accuracy: float | None = None,
              min_success_rate: float = 0.98, confidence: float = 0.95, budget_per_1k_pages: float | None = None,
              resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> Recommendation:  # fmt: skip
    """The cheapest model of ``trial`` (a Trial or its results frame) whose evidence meets every target (see the
    module): a :class:`Recommendation` with the candidates' table and a justification a manager can read.

    A bad target is a ``ValueError`` naming it; so is a target the trial cannot measure (``max_cer`` on a trial
    run without a truth, ``min_field_accuracy`` without a schema and truth) and a trial with no page rows.
    """
    targets = _check_targets(max_cer, min_field_accuracy, min_success_rate, confidence, budget_per_1k_pages)
    results = _results(trial)
    for name, column, need in (("max_cer", "cer", "its truth (truth=)"),
                               ("min_field_accuracy", "field_accuracy", "a schema and its truth")):  # fmt: skip
        if getattr(targets, name) is not None and (column not in results or results[column].isna().all()):
            raise ValueError(f"{name} is set but the trial has no {column.replace('_', ' ')}: load it with {need}")
    table = candidates(results, targets, resamples=resamples, seed=seed)
    qualifying = table[table["why"].eq("")]
    chosen = str(qualifying.iloc[0]["model"]) if len(qualifying) else None
    table = _with_verdicts(table, chosen)
    closest, more = (None, None) if chosen else _closest(table, targets)
    text = (_chosen_text(table, chosen, targets, results, resamples, seed) if chosen
            else _none_text(table, closest, more))  # fmt: skip
    shown = {k: getattr(targets, k) for k in targets.__dataclass_fields__}
    return Recommendation(chosen, table.reset_index(drop=True), text, shown, closest[0] if closest else None, more)


# ---------------------------------------------------------------- the candidates' evidence


def candidates(results: pd.DataFrame, targets: _Targets, *, resamples: int = DEFAULT_RESAMPLES,
               seed: int = DEFAULT_SEED) -> pd.DataFrame:  # fmt: skip
    """One row per model, cheapest first: cost, success, intervals, and ``why`` it fails the targets ("" if not)."""
    if "ok" not in results:
        results = pd.concat([results, failure_columns(results)], axis=1)
    models = list(dict.fromkeys(results["model"].astype(str).tolist()))
    evidence = evidence_summary(results, models, resamples=1, seed=seed).set_index("model")
    counted = results[~results["status"].eq("skipped-budget")]
    table = pd.DataFrame(index=pd.Index(models, name="model"))
    table["usd_per_1k_successful_pages"] = evidence["usd_per_1k_successful_pages"]
    table["success_rate"] = evidence["success_rate"]
    table["rows"] = counted.groupby("model", sort=False).size().reindex(models, fill_value=0).astype("int64")
    succeeded = counted.groupby("model", sort=False)["ok"].sum().reindex(models, fill_value=0)
    table["succeeded"] = succeeded.astype("int64")
    kinds = [(kind, evidence[f"failed_{kind}"]) for kind in FAILURE_KINDS]
    table["failures"] = [", ".join(f"{int(c[m])} {k}" for k, c in kinds if c[m] > 0) for m in models]
    for metric in ("cer", "field_accuracy"):
        measured = _measured(results, metric, models, targets.confidence, resamples, seed)
        table = table.join(measured)
    why, more = _reasons(table, targets)
    table["why"], table["more_pages"] = why, pd.array(more, dtype="Int64")
    table = table.reset_index().sort_values(["usd_per_1k_successful_pages", "model"], na_position="last",
                                            kind="stable")  # fmt: skip
    return table


def _measured(results: pd.DataFrame, metric: str, models: list[str], confidence: float, resamples: int,
              seed: int) -> pd.DataFrame:  # fmt: skip
    """``<metric>_mean``, ``_ci_low``, ``_ci_high``, ``_pages`` and ``_sd`` (per page, repeats averaged)."""
    out = pd.DataFrame(index=pd.Index(models, name="model"))
    if metric not in results or results[metric].isna().all():
        out[f"{metric}_mean"] = out[f"{metric}_ci_low"] = out[f"{metric}_ci_high"] = np.nan
        out[f"{metric}_pages"], out[f"{metric}_sd"] = 0, np.nan
        return out
    pages = per_page(results, metric).reindex(columns=models)
    found = intervals(results, metric, models, level=confidence, resamples=resamples, seed=seed)
    out[f"{metric}_mean"] = pages.mean(axis=0).astype("float64")
    out[f"{metric}_ci_low"], out[f"{metric}_ci_high"] = found["low"], found["high"]
    out[f"{metric}_pages"] = found["pages"].astype("int64")
    out[f"{metric}_sd"] = pages.std(axis=0, ddof=1).astype("float64")
    return out


def _reasons(table: pd.DataFrame, t: _Targets) -> tuple[list[str], list[int | None]]:
    """Per model: its reasons ("verdict: detail", joined by "; ") and the more pages that would settle it."""
    z = NormalDist().inv_cdf(1 - (1 - t.confidence) / 2) + NormalDist().inv_cdf(POWER)
    whys: list[str] = []
    mores: list[int | None] = []
    for _, row in table.astype({"rows": "object", "succeeded": "object"}).iterrows():
        reasons: list[str] = []
        more: int | None = None
        for metric, target, lower_better in (("cer", t.max_cer, True), ("field_accuracy", t.min_field_accuracy,
                                                                        False)):  # fmt: skip
            if target is None:
                continue
            reason, needed = _against(row, metric, target, lower_better, z, t.confidence)
            if reason:
                reasons.append(reason)
            if needed is not None:
                more = needed if more is None else max(more, needed)
        if row["rows"] == 0:
            reasons.append(f"{NO_DATA}: no request was sent (every one skipped: the budget was spent)")
        elif row["succeeded"] == 0:
            reasons.append(f"{FAILURES}: none of its {row['rows']} requests succeeded ({row['failures'] or 'no rows'})")
        elif row["success_rate"] < t.min_success_rate:
            failed = row["rows"] - row["succeeded"]
            reasons.append(f"{FAILURES}: {failed} of {row['rows']} requests failed ({row['failures']}), success "
                           f"{_pct(row['success_rate'], 1)} under {_pct(t.min_success_rate, 1)}")  # fmt: skip
        cost = row["usd_per_1k_successful_pages"]
        if row["succeeded"] > 0 and cost != cost:  # answered, but no bill known
            reasons.append(f"{NO_DATA}: no billed cost recorded")
        elif t.budget_per_1k_pages is not None and cost > t.budget_per_1k_pages:
            reasons.append(f"{DEAR}: ${cost:.4g} per 1,000 successful pages, over the budget of "
                           f"${t.budget_per_1k_pages:.4g}")  # fmt: skip
        whys.append("; ".join(reasons))
        mores.append(more)
    return whys, mores


def _against(row: pd.Series, metric: str, target: float, lower_better: bool, z: float,
             confidence: float) -> tuple[str, int | None]:  # fmt: skip
    """(reason, more pages) for one model against one accuracy target; ("", None) when met."""
    name = "CER" if metric == "cer" else "field accuracy"
    mean, low, high = row[f"{metric}_mean"], row[f"{metric}_ci_low"], row[f"{metric}_ci_high"]
    pages, sd = int(row[f"{metric}_pages"]), row[f"{metric}_sd"]
    if pages == 0 or mean != mean:
        return f"{NO_DATA}: no page with a {name} to judge by", None
    bound, word = (high, "upper") if lower_better else (low, "lower")
    shown = f"{name} {_pct(mean)} ({confidence:.0%} interval {_pct(low)} to {_pct(high)}, {pages} pages)"
    if low == low and (high < target if lower_better else low > target):
        return "", None
    if low == low and (low >= target if lower_better else high <= target):
        side = "over" if lower_better else "under"
        return f"{MISSED}: {shown}, wholly {side} the target {_pct(target)}", None
    mean_meets = mean < target if lower_better else mean > target
    if pages < 2:
        return f"{UNSURE}: {name} {_pct(mean)} on 1 page, too few for an interval", None
    more = None
    if mean_meets and sd == sd and sd > 0:
        total = math.ceil((z * sd / abs(mean - target)) ** 2)
        more = max(total - pages, 1)
    tail = (f", and about {more:,} more pages would settle it" if more is not None
            else ", and its mean misses the target: more pages would not help unless it reads better")  # fmt: skip
    return f"{UNSURE}: {shown}: the {word} bound {_pct(bound)} is past the target {_pct(target)}{tail}", more


def _with_verdicts(table: pd.DataFrame, chosen: str | None) -> pd.DataFrame:
    """The ``verdict`` column: ``chosen``, ``too dear`` for the other qualifying ones, else the first reason."""
    verdicts = []
    whys = []
    cost = dict(zip(table["model"], table["usd_per_1k_successful_pages"]))
    for model, why in zip(table["model"].tolist(), table["why"].tolist()):
        if model == chosen:
            verdicts.append(CHOSEN)
            whys.append("the cheapest that meets every target")
        elif not why:
            verdicts.append(DEAR)
            whys.append(f"{DEAR}: meets every target but costs ${cost[model]:.4g} per 1,000 successful pages, more "
                        f"than {chosen}'s ${cost[chosen]:.4g}")  # fmt: skip
        else:
            kinds = [part.split(":", 1)[0] for part in why.split("; ")]
            verdicts.append(next(v for v in VERDICT_ORDER if v in kinds))
            whys.append(why)
    table = table.assign(verdict=verdicts, why=whys)
    return table[list(RECOMMEND_COLUMNS)].astype(RECOMMEND_COLUMNS)


# ---------------------------------------------------------------- the justification


def _chosen_text(table: pd.DataFrame, chosen: str, t: _Targets, results: pd.DataFrame, resamples: int,
                 seed: int) -> str:  # fmt: skip
    row = table.set_index("model").loc[chosen]
    met = []
    if t.max_cer is not None:
        met.append(f"its CER is {_pct(row['cer_mean'])}, and even the upper bound of its {t.confidence:.0%} interval "
                   f"({_pct(row['cer_ci_high'])}, over {row['cer_pages']} pages) is under the {_pct(t.max_cer)} "
                   "ceiling")  # fmt: skip
    if t.min_field_accuracy is not None:
        met.append(f"its field accuracy is {_pct(row['field_accuracy_mean'])}, and even the lower bound of its "
                   f"interval ({_pct(row['field_accuracy_ci_low'])}, over {row['field_accuracy_pages']} pages) is "
                   f"over the {_pct(t.min_field_accuracy)} floor")  # fmt: skip
    failed = row["rows"] - int(round(row["success_rate"] * row["rows"]))
    met.append(f"{failed} of its {row['rows']} requests failed (success {_pct(row['success_rate'], 1)}, at least "
               f"{_pct(t.min_success_rate, 1)} required)")  # fmt: skip
    text = (f"Use {chosen}: it is the cheapest model in this trial that meets every target, at "
            f"${row['usd_per_1k_successful_pages']:.4g} per 1,000 successful pages (billed, failures included). "
            f"{_sentence_case('; '.join(met))}.")  # fmt: skip
    if t.max_cer is None and t.min_field_accuracy is None:
        text += " No accuracy target was set: only success and cost decided."
    position = table["model"].tolist().index(chosen)
    cheaper = table.iloc[:position]
    if len(cheaper):
        lost = "; ".join(f"{m} ({_first_reason(w)})" for m, w in zip(cheaper["model"], cheaper["why"]))
        text += f" Cheaper models were set aside: {lost}."
    rivals = table[table["verdict"].eq(DEAR) & table["why"].str.startswith(f"{DEAR}: meets every")]
    if len(rivals):
        text += " " + _rival_sentence(results, chosen, str(rivals.iloc[0]["model"]), t, resamples, seed)
    return text


def _rival_sentence(results: pd.DataFrame, chosen: str, rival: str, t: _Targets, resamples: int, seed: int) -> str:
    """How the chosen model compares with the next qualifying one (which costs more), in the trial's words."""
    metric = "cer" if t.max_cer is not None else "field_accuracy" if t.min_field_accuracy is not None else None
    if metric is None:
        return f"{rival} also qualifies, at a higher price."
    found = compare_models(results, rival, chosen, resamples=resamples, seed=seed, level=t.confidence)
    found = found[found["metric"].eq(metric)]
    if found.empty:
        return f"{rival} also qualifies, at a higher price."
    row = found.iloc[0]
    if row["difference"] == 0 and row["ci_low"] == 0 and row["ci_high"] == 0:
        return f"{rival} also qualifies but costs more, and reads no better on the {row['pages']} pages both read."
    return f"{rival} also qualifies but costs more; on the pages both read, {row['sentence']}."


def _none_text(table: pd.DataFrame, closest: tuple[str, str, str] | None, more: int | None) -> str:
    counts = table["verdict"].value_counts()
    tally = ", ".join(f"{n} {v}" for v, n in counts.items())
    text = f"No model meets every target ({tally})."
    if closest is None:
        return text + " None has the data to judge it by."
    model, target, detail = closest
    text += f" Closest: {model}, on {target} ({detail})."
    if more is not None:
        text += (f" About {more:,} more pages would settle it: its mean meets the target, the interval is only too "
                 "wide.")  # fmt: skip
    else:
        text += " More pages alone would not settle it: its mean misses the target."
    return text


def _closest(table: pd.DataFrame, t: _Targets) -> tuple[tuple[str, str, str] | None, int | None]:
    """The target nearest to being met, and by whom: the smallest shortfall relative to its target, among the
    models that fall short on one target only (else among all); (model, target, detail) and its more pages."""
    found: list[tuple[int, float, str, str, str, int | None]] = []  # (targets missed, gap, model, target, detail)
    for row in table.itertuples(index=False):
        gaps = []
        if t.max_cer is not None and row.cer_pages > 0:
            bound = _value(row.cer_ci_high, row.cer_mean)
            gaps.append(((bound - t.max_cer) / t.max_cer, f"CER under {_pct(t.max_cer)}",
                         f"upper bound {_pct(bound)}, mean {_pct(row.cer_mean)}"))  # fmt: skip
        if t.min_field_accuracy is not None and row.field_accuracy_pages > 0:
            bound = _value(row.field_accuracy_ci_low, row.field_accuracy_mean)
            gaps.append(((t.min_field_accuracy - bound) / max(t.min_field_accuracy, 1e-9),
                         f"field accuracy over {_pct(t.min_field_accuracy)}",
                         f"lower bound {_pct(bound)}, mean {_pct(row.field_accuracy_mean)}"))  # fmt: skip
        if row.success_rate == row.success_rate:
            gaps.append(((t.min_success_rate - row.success_rate) / max(t.min_success_rate, 1e-9),
                         f"success of at least {_pct(t.min_success_rate, 1)}",
                         f"success {_pct(row.success_rate, 1)}"))  # fmt: skip
        cost = row.usd_per_1k_successful_pages
        if t.budget_per_1k_pages is not None and cost == cost:
            gaps.append(((cost - t.budget_per_1k_pages) / t.budget_per_1k_pages,
                         f"the budget of ${t.budget_per_1k_pages:.4g} per 1,000 pages", f"${cost:.4g}"))  # fmt: skip
        missed = [g for g in gaps if g[0] >= 0]
        if not missed:
            continue
        gap, target, detail = min(missed, key=lambda g: g[0])
        more = None if row.more_pages is pd.NA or not target.startswith(("CER", "field")) else int(row.more_pages)
        found.append((len(missed), gap, str(row.model), target, detail, more))
    if not found:
        return None, None
    _, _, model, target, detail, more = min(found, key=lambda f: (f[0], f[1]))
    return (model, target, detail), more


# ---------------------------------------------------------------- helpers


def _check_targets(max_cer: Any, min_field_accuracy: Any, min_success_rate: Any, confidence: Any,
                   budget: Any) -> _Targets:  # fmt: skip
    def number(name: str, value: Any, low: float, high: float, *, open_low: bool = True) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ValueError(f"bad {name} {value!r}: expected a number")
        value = float(value)
        if not ((low < value) if open_low else (low <= value)) or not value <= high:
            raise ValueError(f"bad {name} {value!r}: expected a number {'above' if open_low else 'from'} {low:g} "
                             f"{'and at most' if open_low else 'to'} {high:g}")  # fmt: skip
        return value

    return _Targets(
        None if max_cer is None else number("max_cer", max_cer, 0, 10),
        None if min_field_accuracy is None else number("min_field_accuracy", min_field_accuracy, 0, 1, open_low=False),
        number("min_success_rate", min_success_rate, 0, 1, open_low=False),
        number("confidence", confidence, 0, 0.999999),
        None if budget is None else number("budget_per_1k_pages", budget, 0, 1e9),
    )


def _results(trial: Any) -> pd.DataFrame:
    results = getattr(trial, "results", trial)
    if not isinstance(results, pd.DataFrame):
        raise TypeError(f"trial must be a Trial or its results frame, not {type(trial).__name__}")
    if results.empty:
        raise ValueError("the trial has no page rows: nothing to recommend from")
    return results


def _pct(value: float, digits: int = 2) -> str:
    return "n/a" if value != value else f"{value * 100:.{digits}f}%"


def _value(bound: float, mean: float) -> float:
    return bound if bound == bound else mean


def _first_reason(why: str) -> str:
    return why.split("; ")[0]


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]

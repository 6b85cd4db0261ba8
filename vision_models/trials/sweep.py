"""The cheapest resolution: one model run at several ``max_side`` sizes, cost and accuracy per size, and the
cheapest size whose interval meets a target.

>>> sweep = vm.sweep_resolution(pages, "openai/gpt-4o-mini", truth="truth/", target={"max_cer": 0.02}, max_usd=0.50)
>>> sweep.table, sweep.best_max_side, sweep.sentence

Each size is a trial of its own (:func:`~vision_models.trials.runner.run_trial`): the budget, resume and
billing rules hold for it. A page shrunk to another size is another image, so another request key: each
size is paid once, and a second sweep pays nothing for a size already done. A page whose long side is
under two sizes is the same image at both: it is sent once and shown ``cached`` at the larger size.

The budget (``max_usd``, else ``options.max_usd``, default 1.00 USD) is the whole sweep's, over every call:
the sizes run from the smallest, and before each the trials store is read for what the sweep's rows so far
(this size and the smaller ones, each request once) already cost, billed or of unknown cost, whichever call
paid it; the size may spend only what is left of ``max_usd`` after that. A size reached with nothing left is
run with a budget of 0 (its rows already stored still come back; the others are ``skipped-budget``). So a
sweep stopped half-way and run again never pays twice for a row, and all its calls together stay within
``max_usd``.

The target (``target``): ``{"max_cer": 0.02}`` (the upper bound of the CER interval at or under it) or,
with a ``schema``, ``{"min_field_accuracy": 0.95}`` (the lower bound at or over it), and optionally
``"min_success_rate"`` (the share of ok answers). The intervals are :mod:`.stats`' 95% bootstrap over
pages; fewer than two scored pages give no interval, so the target cannot be shown met.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..text import no_math
from .options import TrialOptions, trial_options
from .plan import TESSERACT

DEFAULT_MAX_SIDES = (768, 1024, 1536, 2048)
#: The target keys a sweep understands.
TARGET_KEYS = ("max_cer", "min_field_accuracy", "min_success_rate")
SWEEP_COLUMNS = (
    "max_side", "pages", "pages_ok", "width_px_max", "estimated_image_tokens", "measured_image_tokens",
    "estimated_usd_per_1k_pages", "billed_usd", "usd_per_1k_pages", "spent_usd", "success_rate", "metric", "mean", "ci_low", "ci_high",
    "meets_target", "why",
)  # fmt: skip


@dataclass(frozen=True)
class Sweep:
    """A resolution sweep: ``table`` (one row per size), ``best_max_side`` (None when no size meets the target),
    ``sentence`` (the answer in words), ``trials`` (each size's :class:`~.results.Trial`)."""

    model: str
    table: pd.DataFrame
    best_max_side: int | None
    sentence: str
    trials: dict[int, Any]

    def __repr__(self) -> str:
        return f"Sweep({self.model!r}, sizes {list(self.trials)}, best_max_side={self.best_max_side})"

    def _repr_html_(self) -> str:
        return no_math(f"<p>{html.escape(self.sentence)}</p>" + self.table.to_html(escape=True, index=False))


def sweep_resolution(pages: Any, model: str, *, max_sides: Sequence[int] = DEFAULT_MAX_SIDES, truth: Any = None,
                     target: Mapping[str, float] | None = None, max_usd: float | None = None,
                     **run_options: Any) -> Sweep:  # fmt: skip
    """Run ``model`` on ``pages`` at each of ``max_sides`` (within one ``max_usd`` for the whole sweep) and name
    the cheapest size whose interval meets ``target``. ``run_options`` go to :func:`run_trial` as they are
    (``catalog``, ``base_url``, ``schema``, ``prompt``...). See the module for the budget and target rules."""
    sizes = _check_sizes(max_sides)
    if not isinstance(model, str) or not model.strip() or model == TESSERACT:
        raise ValueError(f"model must be one remote model id (Tesseract has no image size to sweep), not {model!r:.80}")
    for name in ("max_side", "models", "new_budget"):
        if name in run_options:
            raise TypeError(f"sweep_resolution sets {name} itself; do not pass it")
    schema = run_options.get("schema", getattr(run_options.get("options"), "schema", None))
    goal = _check_target(target, schema=schema)
    if truth is None:
        raise ValueError("sweep_resolution needs truth= (a folder or dict of the right answers) to measure accuracy")
    given = run_options.get("options")
    total = float(trial_options(given if isinstance(given, TrialOptions) else None, max_usd=max_usd).max_usd)
    if not isinstance(pages, (str, bytes, os.PathLike, Sequence)):
        pages = list(pages)  # read once, sent at every size
    from .runner import run_trial

    spent = 0.0
    trials: dict[int, Any] = {}
    rows = []
    keys: set[str] = set()
    for size in sizes:
        left = max(0.0, total - _stored_usd(pages, model, size, run_options, keys))
        trial = run_trial(pages, [model], max_side=size, max_usd=left, new_budget=True, truth=truth, **run_options)
        trials[size] = trial
        paid = float(trial.billed_usd) + float(trial.unknown_usd)
        spent += paid
        rows.append(_size_row(size, trial, paid, goal))
    table = pd.DataFrame.from_records(rows, columns=list(SWEEP_COLUMNS))
    table = table.astype({"max_side": "int64", "pages": "int64", "pages_ok": "int64", "width_px_max": "Int64",
                          "estimated_image_tokens": "float64", "measured_image_tokens": "float64",
                          "estimated_usd_per_1k_pages": "float64", "billed_usd": "float64",
                          "usd_per_1k_pages": "float64", "spent_usd": "float64",
                          "success_rate": "float64", "metric": "str", "mean": "float64", "ci_low": "float64",
                          "ci_high": "float64", "meets_target": "bool", "why": "str"})  # fmt: skip
    best = _cheapest(table)
    return Sweep(model, table, best, _sentence(model, table, best, goal, spent, total), trials)


def _check_sizes(max_sides: Sequence[int]) -> list[int]:
    if isinstance(max_sides, (str, bytes)) or not isinstance(max_sides, Sequence) or not max_sides:
        raise ValueError(f"max_sides must be a non-empty list of whole numbers of pixels, not {max_sides!r:.80}")
    for size in max_sides:
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 16 <= size <= 100_000:
            raise ValueError(f"bad max_side {size!r:.40}: expected a whole number of pixels from 16 to 100,000")
    return sorted({int(s) for s in max_sides})


def _check_target(target: Mapping[str, float] | None, *, schema: Any) -> dict[str, float]:
    """The target as a dict: one accuracy goal (``max_cer``, or ``min_field_accuracy`` with a schema)."""
    if not isinstance(target, Mapping) or not target:
        raise ValueError(f"target must be a dict such as {{'max_cer': 0.02}}, not {target!r:.80}")
    unknown = sorted(set(map(str, target)) - set(TARGET_KEYS))
    if unknown:
        raise ValueError(f"unknown target {', '.join(unknown)}: expected {', '.join(TARGET_KEYS)}")
    for key, value in target.items():
        ok = not isinstance(value, bool) and isinstance(value, (int, float)) and 0 <= float(value) <= 1
        if not ok:
            raise ValueError(f"bad target {key}={value!r:.40}: expected a share from 0 to 1")
    accuracy = [k for k in ("max_cer", "min_field_accuracy") if k in target]
    if len(accuracy) != 1:
        raise ValueError("target needs exactly one of max_cer and min_field_accuracy")
    if accuracy[0] == "min_field_accuracy" and schema is None:
        raise ValueError("min_field_accuracy needs a schema= (field accuracy is scored on JSON answers)")
    if accuracy[0] == "max_cer" and schema is not None:
        raise ValueError("with a schema the answers are JSON: use min_field_accuracy, not max_cer")
    return {str(k): float(v) for k, v in target.items()}


def _size_row(size: int, trial: Any, paid: float, goal: dict[str, float]) -> tuple[Any, ...]:
    """One size's line of the table, and whether (and why not) it meets the goal."""
    results = trial.results
    summary = trial.summary()
    row = summary.iloc[0] if len(summary) else pd.Series(dtype="object")
    answered = results["status"].isin(["ok", "cached"]) & results["error"].isna()
    bills = results.loc[answered, "billed_usd"].to_numpy(dtype="float64")
    per_1k = float(np.nanmean(bills)) * 1000 if np.isfinite(bills).any() else math.nan
    metric = "cer" if "max_cer" in goal else "field_accuracy"
    values = pd.to_numeric(results.loc[answered, metric], errors="coerce") if metric in results else pd.Series([])
    mean = float(values.mean()) if values.notna().any() else math.nan
    low, high = float(row.get(f"{metric}_ci_low", math.nan)), float(row.get(f"{metric}_ci_high", math.nan))
    success = float(row.get("success_rate", math.nan))
    meets, why = _meets(goal, metric, low, high, success)
    width = results["width_px"].max() if len(results) else pd.NA
    estimated = _mean_of(results["estimated_usd"]) * 1000  # every row: the estimate needs no answer
    return (size, len(results), int(answered.sum()), width, _mean_of(results["estimated_image_tokens"]),
            _mean_of(results.loc[answered, "measured_image_tokens"]), estimated, float(np.nansum(bills)), per_1k,
            paid, success, metric, mean, low, high, meets, why)  # fmt: skip


def _mean_of(column: pd.Series) -> float:
    values = pd.to_numeric(column, errors="coerce").astype("float64")
    return float(values.mean()) if values.notna().any() else math.nan


def _meets(goal: dict[str, float], metric: str, low: float, high: float, success: float) -> tuple[bool, str]:
    """Whether the interval's bound meets the goal, and if not, why not."""
    if low != low or high != high:
        return False, "too few pages for an interval"
    if "max_cer" in goal and high > goal["max_cer"]:
        return False, f"CER up to {high:.2%} (target {goal['max_cer']:.2%})"
    if "min_field_accuracy" in goal and low < goal["min_field_accuracy"]:
        return False, f"field accuracy down to {low:.1%} (target {goal['min_field_accuracy']:.1%})"
    if "min_success_rate" in goal and not success >= goal["min_success_rate"]:
        return False, f"success rate {success:.1%} (target {goal['min_success_rate']:.1%})"
    return True, ""


def _cheapest(table: pd.DataFrame) -> int | None:
    """The size meeting the target at the lowest billed USD per 1,000 pages (the smaller size on a tie)."""
    ok = table[table["meets_target"] & table["usd_per_1k_pages"].notna()]
    if ok.empty:
        return None
    return int(ok.sort_values(["usd_per_1k_pages", "max_side"], kind="stable").iloc[0]["max_side"])


def _sentence(model: str, table: pd.DataFrame, best: int | None, goal: dict[str, float], spent: float,
              total: float) -> str:  # fmt: skip
    """The sweep in one sentence: the cheapest size meeting the target, or that none does and why."""
    paid = f"this sweep paid ${spent:.6g} of ${total:.6g}"
    wanted = ", ".join(f"{k}={v:g}" for k, v in goal.items())
    if best is None:
        closest = table.loc[table["ci_high" if "max_cer" in goal else "ci_low"].notna()]
        hint = ""
        if not closest.empty:
            pick = (
                closest.loc[closest["ci_high"].idxmin()]
                if "max_cer" in goal
                else closest.loc[closest["ci_low"].idxmax()]
            )
            hint = f"; closest: max_side {int(pick['max_side'])} ({pick['why']})"
        return f"No size of {model} meets {wanted} at its interval's bound{hint}; {paid}."
    row = table.loc[table["max_side"].eq(best)].iloc[0]
    shown = "CER" if row["metric"] == "cer" else "field accuracy"
    return (f"{model} at max_side {best} is the cheapest size meeting {wanted}: ${row['usd_per_1k_pages']:.4g} per "
            f"1,000 pages, {shown} {row['mean']:.2%} (95% interval {row['ci_low']:.2%} to {row['ci_high']:.2%}); "
            f"{paid}.")  # fmt: skip


def _stored_usd(pages: Any, model: str, size: int, run_options: Mapping[str, Any], keys: set[str]) -> float:
    """What the trials store holds as spent on the sweep's requests so far: ``keys`` gains this size's, and the
    stored cost of them all (billed, or reserved as of unknown cost) is summed, each request once."""
    from ..stores import trials as store
    from .options import OPTION_NAMES, connection
    from .plan import PageTask, prepare_run

    given = {name: value for name, value in run_options.items() if name in OPTION_NAMES and name != "options"}
    options = trial_options(run_options.get("options"), **{**given, "max_side": size})
    where = connection(run_options.get("settings"), **{name: run_options.get(name) for name in _CONNECTION})
    run = prepare_run(pages, [model], options, catalog=run_options.get("catalog"), source=where["source"],
                   base_url=where["base_url"], api_key=where["api_key"], cache_path=where["cache_path"])  # fmt: skip
    keys.update(task.key for task in run.tasks if isinstance(task, PageTask))
    with store.TrialStore(where["trials_path"]) as db:
        rows = db.done_rows(sorted(keys))
    return sum(float(row.billed_usd or 0.0) + float(row.unknown_usd or 0.0) for row in rows.values())


#: The connection keywords of :func:`run_trial` (where the requests go and where the rows are kept).
_CONNECTION = ("source", "base_url", "api_key", "cache_path", "trials_path")

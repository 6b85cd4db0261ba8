"""Plan a trial before any page is read: which models to try, how many pages it takes, and what it will cost.

The shortlist
    :func:`vision_models.shortlist` on the cost table of the pages' largest size (the page that costs the most):
    the front of a published score against estimated cost among readers whose request fits, the cheapest readers
    without a published score, and Tesseract. ``candidates=`` replaces it with models of your choosing.
Pages needed
    The normal approximation of :func:`.stats.pages_needed`, with an assumed spread since there is no data yet::

        n = ((z(1 - alpha/2) + z(power)) x sd / margin)^2

    ``margin`` (default half the ``target``) is the distance to tell apart: a model whose true CER is
    ``target - margin`` is shown under ``target`` four times in five (``power`` 0.8, ``confidence`` 0.95), and
    two models whose CER differs by ``margin`` are told apart as often. ``sd`` is the per-page standard
    deviation of CER (for a pair, of their per-page difference): :data:`DEFAULT_CER_SD`, 0.05, is an
    assumption, not a measurement: most pages of clean print read within a point or two of CER while a
    hard page (a stamp, a table, handwriting) reads at 10 to 20%, which spreads per-page CER by about five
    points. Once a first trial has data, :func:`.stats.pages_needed` uses the observed spread instead.
The cost
    :func:`.plan.estimate_trial` prices each shortlisted model on your pages (with ``catalog``): the mean
    estimate per page and the mean worst case the budget would reserve per page (the range, from the estimate
    to what the budget holds back), times the pages needed. With only ``costs`` (no catalog), the cost table's
    ``usd_per_1k_images`` is the point estimate, and its ``usd_per_1k_images_low`` / ``_high`` columns the
    range when it has them.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from ..text import no_math
from .plan import TESSERACT, estimate_trial
from .shortlist import shortlist

#: The per-page standard deviation of CER assumed before any data (see the module).
DEFAULT_CER_SD = 0.05
DEFAULT_OUTPUT_TOKENS = 700


@dataclass(frozen=True)
class TrialPlan:
    """What :func:`plan_trial` proposes: ``models`` (the shortlist with each one's estimated cost for the trial),
    ``pages_needed``, ``pages_available``, the totals (``estimated_usd``, ``worst_case_usd``) against
    ``budget_usd``, and ``explanation`` (a paragraph, the assumption included)."""

    models: pd.DataFrame
    pages_needed: int
    pages_available: int
    estimated_usd: float
    worst_case_usd: float
    budget_usd: float
    explanation: str

    @property
    def fits_budget(self) -> bool:
        """Whether the trial's estimate is within ``budget_usd`` (the high end may not be: see ``explanation``)."""
        return bool(self.estimated_usd <= self.budget_usd)

    def __repr__(self) -> str:
        return f"{self.explanation}\n\n{self.models.to_string(index=False)}"

    def _repr_html_(self) -> str:
        return no_math(f"<p>{html.escape(self.explanation)}</p>" + self.models.to_html(escape=True, index=False))


def sample_size(margin: float, *, sd: float = DEFAULT_CER_SD, confidence: float = 0.95, power: float = 0.8) -> int:
    """Pages to tell a difference of ``margin`` at ``confidence`` with ``power``, for a per-page spread ``sd``."""
    for name, value, low, high in (("margin", margin, 0, math.inf), ("sd", sd, 0, math.inf),
                                   ("confidence", confidence, 0, 1), ("power", power, 0, 1)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low < value < high:
            raise ValueError(f"bad {name} {value!r}: expected a number above {low:g} and below {high:g}")
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2) + NormalDist().inv_cdf(power)
    return max(2, math.ceil((z * sd / margin) ** 2))


def plan_trial(pages: Any, *, candidates: Sequence[str] | None = None, budget_usd: float = 1.0,
               target: float = 0.02, margin: float | None = None, sd: float = DEFAULT_CER_SD,
               confidence: float = 0.95, power: float = 0.8, catalog: pd.DataFrame | None = None,
               costs: pd.DataFrame | None = None, output_tokens: int = DEFAULT_OUTPUT_TOKENS,
               max_tokens: int | None = None, prompt: str | None = None, dpi: int = 200, max_side: int = 2048,
               without_prior: int = 3, source: str | None = None, cache_path: Any = None,
               trials_path: Any = None) -> TrialPlan:  # fmt: skip
    """The shortlist, the pages needed to tell it apart at ``target`` (a CER), and the trial's cost (see the module).

    ``pages``: image or PDF paths, a folder, or Page objects (their sizes price the models). ``catalog`` (a
    models frame) or ``costs`` (a cost table) keep it offline; with neither, the catalog is fetched
    (``source``, ``cache_path``). A bad value is a ``ValueError`` naming it.
    """
    if isinstance(budget_usd, bool) or not isinstance(budget_usd, (int, float)) or not 0 <= budget_usd < math.inf:
        raise ValueError(f"bad budget_usd {budget_usd!r}: expected a number of USD, 0 or more")
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not 0 < target < math.inf:
        raise ValueError(f"bad target {target!r}: expected a CER above 0, such as 0.02")
    margin = target / 2 if margin is None else margin
    needed = sample_size(margin, sd=sd, confidence=confidence, power=power)
    from .plan import pages_of

    loaded = pages_of(pages, dpi=dpi, max_side=max_side)
    if costs is None:
        catalog = _vision_catalog(catalog, source, cache_path)
        from ..pricing.cost import price_images

        largest = max(loaded, key=lambda p: p.width_px * p.height_px)
        costs = price_images(catalog, largest.width_px, largest.height_px, output_tokens=output_tokens)
    if candidates is None:
        chosen = shortlist(costs, without_prior=without_prior)
    else:
        ids = [str(c) for c in candidates]
        if not ids:
            raise ValueError("bad candidates []: name one model or more, or None for the shortlist")
        priced = costs.drop_duplicates("id").set_index("id")["usd_per_1k_images"].reindex(ids)
        priced = priced.where(np.array([i != TESSERACT for i in ids]), 0.0)
        chosen = pd.DataFrame({"id": ids, "why": "chosen by you", "usd_per_1k_images": priced.to_numpy("float64"),
                               "prior_score": np.nan})  # fmt: skip
    models = _priced(chosen, loaded, needed, costs=costs, catalog=catalog, prompt=prompt, max_tokens=max_tokens,
                     trials_path=trials_path, source=source, cache_path=cache_path)  # fmt: skip
    estimated, worst = _total(models["trial_usd"]), _total(models["trial_usd_high"])
    text = _explain(models, needed, len(loaded), estimated, worst, budget_usd, target, margin, sd, confidence, power)
    return TrialPlan(models, needed, len(loaded), estimated, worst, float(budget_usd), text)


def _vision_catalog(catalog: pd.DataFrame | None, source: str | None, cache_path: Any) -> pd.DataFrame:
    if catalog is not None:
        return catalog
    from ..catalog.api import fetch_vision_models

    result = fetch_vision_models(source, cache_path=cache_path)
    if result.models.empty:
        raise ValueError(f"cannot price the models without the catalog: {result.error or 'the catalog is empty'}")
    return result.models


def _priced(chosen: pd.DataFrame, pages: list, needed: int, *, costs: pd.DataFrame, catalog: pd.DataFrame | None,
            prompt: str | None, max_tokens: int | None, trials_path: Any, source: str | None,
            cache_path: Any) -> pd.DataFrame:  # fmt: skip
    """The shortlist with ``usd_per_page`` (the estimate), its range (``usd_per_page_low`` / ``_high``) and the
    trial's cost over ``needed`` pages (``trial_usd``, ``trial_usd_high``)."""
    ids = chosen["id"].tolist()
    if catalog is not None:
        plan = estimate_trial(pages, ids, catalog=catalog, prompt=prompt, max_tokens=max_tokens,
                              trials_path=trials_path, source=source, cache_path=cache_path)  # fmt: skip
        per_model = plan.groupby("model", sort=False)[["estimated_usd", "worst_case_usd"]].mean().reindex(ids)
        estimate = per_model["estimated_usd"].to_numpy("float64")
        low, high = estimate, per_model["worst_case_usd"].to_numpy("float64")
    else:
        by_id = costs.drop_duplicates("id").set_index("id").reindex(ids)
        local = np.array([i == TESSERACT for i in ids])
        estimate = chosen["usd_per_1k_images"].to_numpy("float64") / 1000
        low, high = (
            np.where(local, 0.0, by_id[f"usd_per_1k_images_{end}"].to_numpy("float64") / 1000)
            if f"usd_per_1k_images_{end}" in by_id else np.where(local, 0.0, np.nan)
            for end in ("low", "high")
        )  # fmt: skip
    return chosen.assign(usd_per_page=estimate, usd_per_page_low=low, usd_per_page_high=high,
                         trial_usd=estimate * needed, trial_usd_high=high * needed)  # fmt: skip


def _total(column: pd.Series) -> float:
    """The sum, or NaN when a model's part is unknown."""
    return float(column.sum()) if column.notna().all() else float("nan")


def _explain(models: pd.DataFrame, needed: int, available: int, estimated: float, worst: float, budget: float,
             target: float, margin: float, sd: float, confidence: float, power: float) -> str:  # fmt: skip
    names = ", ".join(models["id"].tolist())
    text = (f"Try {len(models)} models ({names}) on {needed:,} pages: enough to show a model reading at a CER of "
            f"{target - margin:.2%} is under the {target:.2%} target ({confidence:.0%} confidence, power "
            f"{power:.0%}), and to tell apart two models {margin:.2%} of CER apart, assuming a per-page CER spread "
            f"of {sd:.2%} (an assumption until a first trial measures it).")  # fmt: skip
    if available < needed:
        text += f" You gave {available:,} pages: add {needed - available:,} more like them."
    if estimated == estimated:
        range_ = f" (up to ${worst:.4g} at the high end)" if worst == worst and worst > estimated else ""
        fits = estimated <= budget
        text += f" Estimated cost ${estimated:.4g}{range_}: {'within' if fits else 'over'} the budget of ${budget:.4g}."
        per_page = float(models["usd_per_page"].sum())
        if not fits and per_page > 0:
            text += f" The budget pays for about {math.floor(budget / per_page):,} pages of every model."
        elif worst == worst and worst > budget:
            text += " The high end is over it: a run may stop short of the last pages, within the budget."
    return text

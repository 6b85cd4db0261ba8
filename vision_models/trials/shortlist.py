"""Which models to try first: the published-score front, the cheapest readers nobody has scored, and Tesseract.

Before any page of yours is read, a shortlist rests on public evidence and
price only: the readers on the Pareto front of a published score against the
estimated cost (none scores better for less), the cheapest readers without a
published score (a low price there is no evidence either way: only a trial
tells), and Tesseract, the free local baseline. How many pages the trial needs
to tell them apart is the quality statistics' business (``pages_needed``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..catalog.benchmarks import DEFAULT_PRIOR, prior_scores
from ..pricing.cost import rank_costs
from .plan import TESSERACT

#: Columns of :func:`shortlist`.
SHORTLIST_COLUMNS = ["id", "why", "usd_per_1k_images", "prior_score"]


def with_prior(costs: pd.DataFrame, benchmark: str, metric: str) -> pd.DataFrame:
    """The ranked readers of a cost table (``rank_costs``) with ``prior_score``: the published score, or NaN.

    Ids are matched exactly, as the benchmarks table maps them; a snapshot or
    variant gets no score from its base model.
    """
    scores = prior_scores(benchmark, metric)
    ranked = rank_costs(costs)
    ranked = ranked.assign(prior_score=ranked["id"].astype(object).map(scores).astype("float64"))
    ranked.attrs = {**ranked.attrs, "prior": scores.name, "higher_is_better": scores.attrs["higher_is_better"]}
    return ranked


def prior_front(scored: pd.DataFrame, higher_is_better: bool = True) -> pd.DataFrame:
    """Rows no other row beats: none has a better ``prior_score`` for at most the cost (cheapest first)."""
    ordered = scored.dropna(subset=["usd_per_1k_images", "prior_score"])
    better = ordered["prior_score"] if higher_is_better else -ordered["prior_score"]
    ordered = ordered.assign(_better=better).sort_values(
        ["usd_per_1k_images", "_better", "id"], ascending=[True, False, True]
    )
    value = ordered["_better"].to_numpy(dtype="float64")
    best_cheaper = np.maximum.accumulate(np.concatenate([[-np.inf], value[:-1]])) if len(value) else value
    return ordered[value > best_cheaper].drop(columns="_better").reset_index(drop=True)


def shortlist(
    costs: pd.DataFrame,
    *,
    benchmark: str = DEFAULT_PRIOR[0],
    metric: str = DEFAULT_PRIOR[1],
    without_prior: int = 3,
    tesseract: bool = True,
) -> pd.DataFrame:
    """The models worth a first trial, each with why: ``id``, ``why``, ``usd_per_1k_images``, ``prior_score``.

    ``costs``: a cost table (``vm.cost_per_image``) for the pages' size; its
    ranked readers are considered (``rank_costs``: page readers whose request
    fits, one listing per base model). In order: the front of ``benchmark`` /
    ``metric`` against cost (cheapest first), the ``without_prior`` cheapest
    priced readers without a published score, then ``"tesseract"`` (free,
    local) when ``tesseract``. A bad count is a ``ValueError`` naming it.
    """
    if isinstance(without_prior, bool) or not isinstance(without_prior, int | np.integer) or without_prior < 0:
        raise ValueError(f"bad without_prior {without_prior!r}: expected a whole number >= 0")
    ranked = with_prior(costs, benchmark, metric)
    front = prior_front(ranked, bool(ranked.attrs["higher_is_better"]))
    prior = f"{benchmark}: {metric}"
    unscored = ranked[ranked["prior_score"].isna().to_numpy() & ranked["usd_per_1k_images"].notna().to_numpy()]
    cheapest = unscored.head(without_prior)  # a cost table is cheapest first
    parts = [
        front.assign(why=f"on the front of {prior} against cost: none scores better for less"),
        cheapest.assign(why=f"among the {without_prior} cheapest readers without a published {benchmark} score"),
    ]
    if tesseract:
        parts.append(pd.DataFrame({"id": [TESSERACT], "why": ["local OCR, free: the baseline to beat"],
                                   "usd_per_1k_images": [0.0], "prior_score": [np.nan]}))  # fmt: skip
    table = pd.concat([part[SHORTLIST_COLUMNS] for part in parts], ignore_index=True)
    table = table.astype({"id": "str", "why": "str", "usd_per_1k_images": "float64", "prior_score": "float64"})
    table.attrs = {"prior": prior, "higher_is_better": ranked.attrs["higher_is_better"]}
    return table

"""The reasoning allowance of a page: the hidden tokens a reasoning model writes before its answer, billed as output.

OpenRouter bills reasoning tokens as output tokens (``usage.completion_tokens_details.reasoning_tokens``
is inside ``completion_tokens``), at the ``internal_reasoning`` price where a model lists one, else at
its completion price. A model reasons when its ``supported_parameters`` list ``reasoning`` or
``include_reasoning``. How many tokens it spends on a page is not published anywhere; this module
holds the project's stated default per effort level (:data:`REASONING_TOKENS_PER_PAGE`), which a
caller overrides with ``reasoning_tokens=`` and a trial's measured median replaces.

Pure: no I/O. Every function works on whole columns of a catalog (or endpoints) frame.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
import pandas as pd

from ..catalog.feasibility import REASONING_PARAMETERS, reasons_before_answering
from ..common import check_choice

__all__ = [
    "ASKED_ONLY",
    "DEFAULT_EFFORT",
    "EFFORTS",
    "PRICED_EFFORTS",
    "REASONING_PARAMETERS",
    "REASONING_TOKENS_PER_PAGE",
    "check_effort",
    "check_reasoning_tokens",
    "reasoning_allowance",
    "reasoning_price",
    "reasons",
]


#: OpenRouter's ``reasoning.effort`` values, least to most.
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")

#: What is priced when no effort is chosen: what each model does when the request carries no ``reasoning``
#: parameter (as a trial without ``reasoning_effort`` sends it). A model that reasons by default is priced at
#: :data:`UNASKED_EFFORT`; one that reasons only when asked (:data:`ASKED_ONLY`) at none.
DEFAULT_EFFORT = "default"

#: The efforts a cost table can price: the model's own default, then OpenRouter's values.
PRICED_EFFORTS = (DEFAULT_EFFORT, *EFFORTS)

#: The effort a model that reasons by default is assumed to spend: OpenAI's default, which OpenRouter passes on.
UNASKED_EFFORT = "medium"

#: Model ids (prefixes) that reason only when the request asks: Anthropic's extended thinking is off unless the
#: request enables it ("To turn on extended thinking, add a thinking object", Anthropic's "Building with extended
#: thinking" guide; OpenRouter sends it only for a ``reasoning`` parameter).
ASKED_ONLY = ("anthropic/",)

#: Reasoning tokens allowed for reading one page, by effort: the project's stated defaults.
#: Reading a page is a light task, so these sit well below the budgets routers give a hard problem
#: (OpenRouter maps an effort to a share of ``max_tokens``: high about 80 %, medium 50 %, low 20 %);
#: each doubles the one before, ``none`` is no reasoning. A trial's measured median replaces them.
REASONING_TOKENS_PER_PAGE: Mapping[str, int] = MappingProxyType(
    {"none": 0, "minimal": 256, "low": 1024, "medium": 2048, "high": 4096, "xhigh": 8192}
)

#: What ``reasoning_source`` says for each way the allowance was set.
SOURCE_NONE = "does not reason"
SOURCE_UNASKED = "reasons only when asked: none without reasoning_effort"
SOURCE_GIVEN = "given (reasoning_tokens)"
SOURCE_MEASURED = "measured: median of the model's trial rows"


def check_effort(effort: object) -> str:
    """``effort`` if it is one of :data:`EFFORTS`, else a ``ValueError`` naming it."""
    return check_choice(effort, EFFORTS, "reasoning effort")


def check_priced_effort(effort: object) -> str:
    """``effort`` if a cost table can price it (:data:`PRICED_EFFORTS`: ``"default"`` or one of :data:`EFFORTS`)."""
    return check_choice(effort, PRICED_EFFORTS, "reasoning effort")


def reasons_only_when_asked(models: pd.DataFrame) -> np.ndarray:
    """Which models reason only when the request asks (:data:`ASKED_ONLY`), by id."""
    ids = models["id"].astype("object").fillna("").astype(str)
    return ids.str.startswith(ASKED_ONLY).to_numpy(dtype=bool)


def check_reasoning_tokens(value: object) -> int | None:
    """``None`` (use the default per effort) or a whole number of tokens >= 0; else a ``ValueError`` naming it."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"bad reasoning_tokens {value!r}: expected a whole number of tokens >= 0, or None")
    return int(value)


def reasons(models: pd.DataFrame) -> np.ndarray:
    """Whether each model reasons: its ``supported_parameters`` list ``reasoning`` or ``include_reasoning``.

    The one rule of :func:`vision_models.catalog.feasibility.reasons_before_answering`; a frame without the
    column (made by hand) has no reasoning model.
    """
    return reasons_before_answering(models)


def reasoning_allowance(
    models: pd.DataFrame,
    *,
    effort: str = DEFAULT_EFFORT,
    reasoning_tokens: int | None = None,
    measured: pd.DataFrame | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Reasoning tokens allowed per page on each model, and where the number comes from.

    0 on a model that does not reason. On one that does: ``reasoning_tokens``
    when given, else the default of ``effort`` (:data:`REASONING_TOKENS_PER_PAGE`);
    ``effort="default"`` (no effort chosen) prices what each model does unasked:
    :data:`UNASKED_EFFORT` where it reasons by default, none where it reasons
    only when asked (:data:`ASKED_ONLY`).
    ``measured``: a frame with ``model`` and ``reasoning_tokens`` (a trial's median
    per model); where it has a model, its number replaces either (a measurement
    says the model reasons, whatever its parameters list).
    """
    effort = check_priced_effort(effort)
    given = check_reasoning_tokens(reasoning_tokens)
    thinking = reasons(models)
    unasked = effort == DEFAULT_EFFORT and given is None
    level = UNASKED_EFFORT if effort == DEFAULT_EFFORT else effort
    default = REASONING_TOKENS_PER_PAGE[level] if given is None else given
    tokens = np.where(thinking, float(default), 0.0)
    label = SOURCE_GIVEN if given is not None else f"default for {level} effort"
    source = np.where(thinking, label, SOURCE_NONE).astype(object)
    if unasked:
        quiet = thinking & reasons_only_when_asked(models)
        tokens = np.where(quiet, 0.0, tokens)
        source[quiet] = SOURCE_UNASKED
    if measured is not None and not measured.empty and "reasoning_tokens" in measured:
        medians = measured.dropna(subset=["reasoning_tokens"]).groupby("model")["reasoning_tokens"].median()
        found = models["id"].map(medians).to_numpy(dtype="float64", na_value=np.nan)
        use = ~np.isnan(found)
        tokens = np.where(use, found, tokens)
        source[use] = SOURCE_MEASURED
    return tokens, source


def reasoning_price(models: pd.DataFrame) -> np.ndarray:
    """USD per reasoning token: a listed ``internal_reasoning`` price above zero, else the completion price."""
    completion = models["completion_usd_per_mtok"].to_numpy(dtype="float64", na_value=np.nan) / 1_000_000
    if "reasoning_usd_per_mtok" not in models:
        return completion
    listed = models["reasoning_usd_per_mtok"].to_numpy(dtype="float64", na_value=np.nan) / 1_000_000
    return np.where(listed > 0, listed, completion)

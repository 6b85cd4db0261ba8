"""Trials: send your pages to the models you picked, and record what was billed, how long it took, what came back.

The narrative (sending, what a failure costs, the budget, stopping, storage) is in :mod:`.runner`. The public
names are re-exported here, so ``vision_models.trials`` names what it always named.
"""

from typing import Any

from . import runner
from .runner import (
    BILLED_FROM_COST,
    BILLED_FROM_TOKENS,
    Budget,
    CONNECT_TIMEOUT,
    CONTROL_MAX_TOKENS,
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_TOKENS,
    DEFAULT_MAX_USD,
    DEFAULT_OUTPUT_TOKENS,
    DEFAULT_PROMPT,
    DEFAULT_RETRIES,
    DEFAULT_RETRY_WINDOW,
    DEFAULT_TIMEOUT,
    MARGIN,
    MAX_BUDGET_USD,
    MAX_CONCURRENCY,
    MAX_ERROR_CHARS,
    MAX_SANE_TOKENS,
    MAX_SANE_USD,
    MAX_SECONDS,
    OBSERVED_PRICE_MARGIN,
    OBSERVED_TOKEN_MARGIN,
    PLAN_COLUMNS,
    PROMPT_OVERHEAD_TOKENS,
    RESULT_COLUMNS,
    RETRY_STATUSES,
    SAVE_RETRY_S,
    STATUSES,
    STOP_GRACE_S,
    SUMMARY_COLUMNS,
    TESSERACT,
    Trial,
    TrialStoreError,
    UNCERTAIN_MARGIN,
    estimate_trial,
    load_trial,
    measured_image_tokens,
    results_frame,
    run_trial,
    side_by_side_html,
    summarise,
)

__all__ = [
    "BILLED_FROM_COST",
    "BILLED_FROM_TOKENS",
    "Budget",
    "CONNECT_TIMEOUT",
    "CONTROL_MAX_TOKENS",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_MAX_USD",
    "DEFAULT_OUTPUT_TOKENS",
    "DEFAULT_PROMPT",
    "DEFAULT_RETRIES",
    "DEFAULT_RETRY_WINDOW",
    "DEFAULT_TIMEOUT",
    "MARGIN",
    "MAX_BUDGET_USD",
    "MAX_CONCURRENCY",
    "MAX_ERROR_CHARS",
    "MAX_SANE_TOKENS",
    "MAX_SANE_USD",
    "MAX_SECONDS",
    "OBSERVED_PRICE_MARGIN",
    "OBSERVED_TOKEN_MARGIN",
    "PLAN_COLUMNS",
    "PROMPT_OVERHEAD_TOKENS",
    "RESULT_COLUMNS",
    "RETRY_STATUSES",
    "SAVE_RETRY_S",
    "STATUSES",
    "STOP_GRACE_S",
    "SUMMARY_COLUMNS",
    "TESSERACT",
    "Trial",
    "TrialStoreError",
    "UNCERTAIN_MARGIN",
    "estimate_trial",
    "load_trial",
    "measured_image_tokens",
    "results_frame",
    "run_trial",
    "side_by_side_html",
    "summarise",
]


def __getattr__(name: str) -> Any:
    """The rest of the flat module's names (``vm.trials.results_frame``), from their homes."""
    try:
        return getattr(runner, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None

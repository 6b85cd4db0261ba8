"""Trials: send your pages to the models you picked, and record what was billed, how long it took, what came back.

>>> plan = vm.estimate_trial(pages, models, prompt=PROMPT)      # dry run: nothing is sent
>>> trial = vm.run_trial(pages, models, prompt=PROMPT, truth="truth/", max_usd=0.50)
>>> trial.results, trial.summary()

Sending
    ``POST {base}/chat/completions``, one user message holding the prompt and
    the page as a base64 ``image_url`` data URL, ``temperature`` 0 and a
    ``max_tokens`` bound, ``concurrency`` requests at once, each on a fresh
    connection (:mod:`.client`, :mod:`.chat`). ``timeout`` bounds each request
    in wall-clock time (connect, send and every read, even while bytes keep
    trickling in); an answer over 16 MB (decoded) is refused unread.

What a failure costs
    Until the request's first byte reaches the socket (DNS, a refused
    connection, the TLS handshake) nothing can have been billed: such a
    failure is retried freely. From then on (a reset, a close before any
    answer, a body that stalls, is cut or never ends, a run stopped or killed)
    the provider may have billed it: the row's cost is ``unknown``, its whole
    reserve is kept as spent (``unknown_usd``, shown apart from ``billed_usd``),
    and it is never sent again unless asked (``retry_unknown=True``, which warns
    how much that may spend). A 408, 429 or 5xx answer is retried (``retries``
    times, after ``Retry-After`` or 1, 2, 4 s..., within ``retry_window_s``),
    each retry reserved against the budget like a new request; a ``usage.cost``
    on an error is added to the row's bill. A model's own failure (400, 402,
    404, a content filter, no choices, malformed JSON, no usage) is recorded on
    its rows; the other models go on. A ``usage`` that is not believable
    (negative, astronomically large, NaN, text that is no number) never credits
    the budget: the cost is unknown; a cost given as numeric text is the bill.

The budget (``max_usd``, default 1.00 USD)
    Before a request is sent, its worst case is reserved against the budget,
    alongside what is already billed, of unknown cost, and in flight::

        worst = (image estimate x margin + prompt bound x prompt price)
                + max_tokens x completion price + request fee

    ``margin`` is 1.5 where the family's rule is known (:data:`MARGIN`) and 3
    where it is uncertain or unknown (:data:`UNCERTAIN_MARGIN`); the prompt
    bound is its UTF-8 bytes + 32 (a token is at least one byte; 32 covers the
    message wrapping). Once a model has answered, its reserve grows when its
    bills showed more image tokens or higher prices than the catalog's
    (x 1.25 / x 1.1 over what was seen). Until a model's first page answer has
    shown its real bill, only one request of that model (its control included)
    is in flight, so a surprise costs one request, not ``concurrency`` of them;
    a model the catalog lists as free that bills anyway gets no further
    request. A request that cannot fit even once everything in flight is
    settled is ``skipped-budget``. After an answer, the reserve is replaced by
    the bill (``usage.cost``, else the tokens at catalog prices); an answer
    whose cost is unknown keeps its whole reserve as spent. The guarantee: the
    sum of bills stays within ``max_usd`` as long as each bill is within its
    reserve, which the margins are there to ensure.

    The budget holds across resumes: a run of the same plan (the same pages,
    models, prompt and parameters) with the same ``max_usd`` may spend only
    what the earlier runs left of it; another amount, or ``new_budget=True``,
    is a new budget.

Stopping
    Ctrl-C or SIGTERM stops sending at once: requests in flight are abandoned
    (``unknown`` cost) and the run is stored as ``interrupted`` within about
    two seconds; a second Ctrl-C leaves at once. A run killed outright leaves
    its requests in flight claimed; the next run of the store records them as
    ``unknown`` cost and never resends them. If the store cannot record a
    billed answer (locked past its wait, a full disk), the row is kept in
    memory and retried; on giving up the run stops with one line naming the
    file and the cause (:class:`TrialStoreError`, whose ``rows`` hold what
    could not be stored).

Storage and resume
    Every row is committed to the trials store (:mod:`vision_models.stores.trials`)
    as it completes, keyed by (page content hash, model, prompt, parameters).
    A row that succeeded, or that a provider may have billed, is never sent
    again: a second run shows it as ``cached``. An interrupted run resumes
    where it stopped. Identical page files (the same content under two names)
    are sent once and shown under both names. The key is taken out of every
    stored text (an answer may echo it); headers and image bytes are never
    stored.

Measured image tokens
    One text-only control request per (model, prompt) (the same message
    without the image, ``max_tokens`` 16) is sent, stored and reused; a page's
    measured image tokens are its billed prompt tokens minus the control's.

Where things are
    :mod:`.options` (:class:`TrialOptions`: what a trial sends and how), :mod:`.plan` (the requests, typed
    :class:`~.plan.PageTask` and :class:`~.plan.ControlTask`, and their estimates, :func:`estimate_trial`;
    each request's row is a :class:`TrialRow`), :mod:`.budget`, :mod:`.chat`
    (the request body, the sender, reading a bill), :mod:`.worker` (one task at a time), :mod:`.runner`
    (:func:`run_trial`), :mod:`.results` (frames, summaries, :func:`load_trial`); :mod:`.pages`,
    :mod:`.tesseract` and :mod:`.accuracy` beside them; the evidence: :mod:`.extraction` (field scores),
    :mod:`.normalise`, :mod:`.schema_check`, :mod:`.structured` (asking for JSON), :mod:`.failures`,
    :mod:`.stats` (intervals, :func:`compare_models`, :func:`pages_needed`), :mod:`.consensus`,
    :mod:`.evidence` (the columns and summary) and :mod:`.samples`; choosing: :mod:`.sweep` (the cheapest
    resolution, :func:`sweep_resolution`) and :mod:`.cascade` (a cheap model first, :func:`simulate_cascade`). Every public name is re-exported here.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

#: Every public name -> the module of this package it lives in; each module loads on first use, so importing
#: one of them (``vision_models.trials.accuracy``) does not load the others (and their optional extras).
_PUBLIC = {
    "Budget": "budget",
    "MAX_SANE_TOKENS": "chat",
    "MAX_SANE_USD": "chat",
    "BILLED_FROM_COST": "plan",
    "BILLED_FROM_TOKENS": "plan",
    "CONNECT_TIMEOUT": "plan",
    "CONTROL_MAX_TOKENS": "plan",
    "DEFAULT_CONCURRENCY": "plan",
    "DEFAULT_MAX_TOKENS": "plan",
    "DEFAULT_MAX_USD": "plan",
    "DEFAULT_OUTPUT_TOKENS": "plan",
    "DEFAULT_PROMPT": "plan",
    "DEFAULT_RETRIES": "plan",
    "DEFAULT_RETRY_WINDOW": "plan",
    "DEFAULT_TIMEOUT": "plan",
    "MARGIN": "plan",
    "MAX_BUDGET_USD": "plan",
    "MAX_CONCURRENCY": "plan",
    "MAX_ERROR_CHARS": "plan",
    "MAX_SECONDS": "plan",
    "OBSERVED_PRICE_MARGIN": "plan",
    "OBSERVED_TOKEN_MARGIN": "plan",
    "PLAN_COLUMNS": "plan",
    "PROMPT_OVERHEAD_TOKENS": "plan",
    "RESULT_COLUMNS": "plan",
    "RETRY_STATUSES": "plan",
    "TESSERACT": "plan",
    "ControlTask": "plan",
    "PageTask": "plan",
    "TrialRow": "plan",
    "UNCERTAIN_MARGIN": "plan",
    "estimate_trial": "plan",
    "TrialOptions": "options",
    "trial_options": "options",
    "SUMMARY_COLUMNS": "results",
    "Trial": "results",
    "load_trial": "results",
    "measured_image_tokens": "results",
    "results_frame": "results",
    "side_by_side_html": "results",
    "summarise": "results",
    "compare_models": "stats",
    "pages_needed": "stats",
    "bootstrap_means": "stats",
    "FieldScore": "extraction",
    "score_answer": "extraction",
    "score_fields": "extraction",
    "parse_answer": "extraction",
    "FAILURE_KINDS": "failures",
    "Failures": "failures",
    "classify": "failures",
    "repetition_share": "failures",
    "consensus_page": "consensus",
    "consensus_object": "consensus",
    "schema_errors": "schema_check",
    "parse_number": "normalise",
    "parse_date": "normalise",
    "INVOICE_SCHEMA": "samples",
    "DELIVERY_NOTE_SCHEMA": "samples",
    "sample_truth": "samples",
    "parse_sample_text": "samples",
    "STOP_GRACE_S": "runner",
    "run_trial": "runner",
    "SAVE_RETRY_S": "worker",
    "Sweep": "sweep",
    "sweep_resolution": "sweep",
    "Cascade": "cascade",
    "simulate_cascade": "cascade",
    "TrialStoreError": "worker",
}

#: Where the flat module's other names (``_prepare``, ``store``) are looked for, in this order.
_HOMES = ("plan", "options", "budget", "chat", "worker", "runner", "results")

__all__ = sorted(_PUBLIC)

#: Names that are going away: name -> (their value, what to say).
_DEPRECATED = {
    "STATUSES": (("ok", "error", "skipped-budget", "cached"), "vision_models.trials.STATUSES is unused and will be "
                 "removed; a row's statuses are listed in docs/api.md"),
}  # fmt: skip


def __getattr__(name: str) -> Any:
    """A public name from its home; any other name of the flat module this package was, from the first home
    that has it."""
    if name in _PUBLIC:
        return getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
    if name in _DEPRECATED:
        import warnings

        value, message = _DEPRECATED[name]
        warnings.warn(message, DeprecationWarning, stacklevel=2)
        return value
    if name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return importlib.import_module(f".{name}", __name__)  # a submodule (``from . import client``)
    for home in _HOMES:
        found = vars(importlib.import_module(f".{home}", __name__))
        if name in found:
            return found[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})

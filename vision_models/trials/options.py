"""A trial's options: what to send and how, in one :class:`TrialOptions`, each checked once, where it is made.

:func:`~vision_models.trials.plan.estimate_trial` and :func:`~vision_models.trials.runner.run_trial` take
``options=TrialOptions(...)``; a keyword given beside it wins (:func:`trial_options`). Where the requests go
(``base_url``, ``api_key``, the catalog and the stores) is not an option of the trial.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from ..pricing.reasoning import check_effort
from ..settings import Settings
from .schema_check import check_schema_refs

DEFAULT_PROMPT = "Transcribe all text on this page as plain text. Keep the reading order; output only the text."
DEFAULT_MAX_USD = 1.00
DEFAULT_MAX_TOKENS = 2048
DEFAULT_OUTPUT_TOKENS = 700
DEFAULT_CONCURRENCY = 4
DEFAULT_TIMEOUT = 120.0
DEFAULT_RETRIES = 3
DEFAULT_RETRY_WINDOW = 120.0
DEFAULT_DPI = 200
DEFAULT_MAX_SIDE = 2048
#: The most requests a run keeps in flight.
MAX_CONCURRENCY = 64
#: The longest time-out or retry window a run accepts (seconds): a day.
MAX_SECONDS = 86_400.0
#: The most times a page may be sent to a model in one trial.
MAX_REPEATS = 100
#: The largest budget a run accepts (USD).
MAX_BUDGET_USD = 1_000_000.0


@dataclass(frozen=True, slots=True)
class TrialOptions:
    """What a trial sends and how (every field checked when made: a bad one is a one-line ``ValueError`` naming it).

    ``prompt``: the instruction sent with each page; ``max_usd``: the budget;
    ``max_tokens``: the answer bound per page; ``output_tokens``: the answer
    length the estimate assumes; ``dpi``, ``max_side``: PDF rendering and the
    largest side sent; ``concurrency``: requests at once; ``timeout``: seconds
    per request; ``retries``, ``retry_window_s``: retries of 408, 429 and 5xx
    and the time they may take; ``casefold``: CER / WER ignore case; ``lang``:
    Tesseract's language; ``retry_unknown``: send again rows of unknown cost;
    ``new_budget``: spend ``max_usd`` afresh; ``progress``: a bar (None: only
    in Jupyter or on a terminal); ``reasoning_effort``: sent as OpenRouter's
    ``reasoning`` parameter (``{"effort": ...}``) with every page (None: not
    sent, the model's own default; the estimate then assumes the default effort).
    Reasoning tokens count within ``max_tokens``, so the budget's reserve holds.
    ``schema``: a JSON Schema dict or a pydantic
    model class: the answer is asked for as JSON matching it
    (:mod:`~vision_models.trials.structured`); ``repeats``: how many times each
    page is sent to each model (each send a row of its own, paid once).
    """

    prompt: str = DEFAULT_PROMPT
    max_usd: float = DEFAULT_MAX_USD
    max_tokens: int = DEFAULT_MAX_TOKENS
    output_tokens: int = DEFAULT_OUTPUT_TOKENS
    dpi: int = DEFAULT_DPI
    max_side: int = DEFAULT_MAX_SIDE
    concurrency: int = DEFAULT_CONCURRENCY
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    retry_window_s: float = DEFAULT_RETRY_WINDOW
    casefold: bool = False
    lang: str = "eng"
    retry_unknown: bool = False
    new_budget: bool = False
    progress: bool | None = None
    reasoning_effort: str | None = None
    schema: Any = None
    repeats: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise ValueError(f"prompt must be non-empty text, not {self.prompt!r:.80}")
        _check_number("max_usd", self.max_usd, high=MAX_BUDGET_USD, unit="USD")
        _check_count("max_tokens", self.max_tokens, minimum=1)
        _check_count("output_tokens", self.output_tokens, minimum=0)
        for name in ("dpi", "max_side"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive whole number, not {value!r}")
        _check_count("concurrency", self.concurrency, minimum=1, maximum=MAX_CONCURRENCY)
        _check_count("retries", self.retries, minimum=0, maximum=100)
        _check_number("timeout", self.timeout, high=MAX_SECONDS, unit="seconds", above_zero=True)
        _check_number("retry_window_s", self.retry_window_s, high=MAX_SECONDS, unit="seconds", above_zero=True)
        if not isinstance(self.lang, str) or not self.lang.strip():
            raise ValueError(f"lang must be a Tesseract language such as 'eng', not {_shown(self.lang)}")
        if self.reasoning_effort is not None:
            check_effort(self.reasoning_effort)
        _check_count("repeats", self.repeats, minimum=1, maximum=MAX_REPEATS)
        if (
            self.schema is not None
            and not isinstance(self.schema, dict)
            and not hasattr(self.schema, "model_json_schema")
        ):
            raise ValueError(f"schema must be a JSON Schema dict or a pydantic model class, not {_shown(self.schema)}")
        if self.schema is not None:
            check_schema_refs(self.schema)  # before anything is sent: answers must be scorable against it
        for name in ("casefold", "retry_unknown", "new_budget", "progress"):
            value = getattr(self, name)
            if not isinstance(value, (bool, np.bool_)) and not (name == "progress" and value is None):
                allowed = "True, False or None" if name == "progress" else "True or False"
                raise ValueError(f"bad {name} {_shown(value)}: expected {allowed}")


#: The names of the options, in order.
OPTION_NAMES = tuple(f.name for f in fields(TrialOptions))


def trial_options(options: TrialOptions | None = None, **given: Any) -> TrialOptions:
    """``options`` (else the defaults) with each keyword given (not None) in its place: a keyword wins."""
    if options is not None and not isinstance(options, TrialOptions):
        raise TypeError(f"options must be a TrialOptions, not {type(options).__name__}")
    unknown = sorted(set(given) - set(OPTION_NAMES))
    if unknown:
        raise TypeError(f"not an option of a trial: {', '.join(unknown)}")
    chosen = {name: value for name, value in given.items() if value is not None}
    base = options if options is not None else TrialOptions()
    return replace(base, **chosen) if chosen else base


def _check_count(name: str, value: object, *, minimum: int, maximum: int = 10_000_000) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not minimum <= value <= maximum:
        raise ValueError(f"bad {name} {_shown(value)}: expected a whole number from {minimum:,} to {maximum:,}")


def _check_number(name: str, value: object, *, high: float, unit: str, above_zero: bool = False) -> None:
    """A real number from 0 (or above it) to ``high``; else a one-line ``ValueError`` naming it."""
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
    if ok:
        try:
            number = float(value)  # type: ignore[arg-type]
            ok = (number > 0 if above_zero else number >= 0) and number <= high
        except OverflowError:
            ok = False
    if not ok:
        low = "above 0" if above_zero else "from 0"
        raise ValueError(f"bad {name} {_shown(value)}: expected a number of {unit} {low} to {high:,.0f}")


def _shown(value: object) -> str:
    """A bad value as a message quotes it: its repr, cut at 40 characters (a 400-digit number is not printed)."""
    if isinstance(value, int) and abs(value) >= 10**40:
        return "a number with over 40 digits"
    return f"{value!r:.40}"


def connection(settings: Settings | None, **given: Any) -> dict[str, Any]:
    """The connection keywords a trial passes on: each one given, else the ``settings`` field of that name.

    A keyword wins over ``settings``; with neither, None (the environment, then the default, decides where the
    value is used, as before ``settings=`` existed).
    """
    if settings is not None and not isinstance(settings, Settings):
        raise TypeError(f"bad settings {settings!r}: expected a vision_models.Settings")
    return {
        name: value if value is not None or settings is None else getattr(settings, name)
        for name, value in given.items()
    }

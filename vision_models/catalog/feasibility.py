"""Whether one page's request fits each model: the context window and the longest answer it gives.

A request needs the page's image tokens + the instruction + the answer (+ the
reasoning a reasoning model spends before it answers, billed and counted as
output) within ``context_length``, and the answer (+ reasoning) within the
model's maximum output (the catalog's ``top_provider.max_completion_tokens``).
A model the request does not fit is infeasible for it, whatever it costs:
rankings leave it out and say why. A limit the catalog does not list is not
checked (unknown is not "too small").

:func:`request_fits` is the one implementation; the cost tables'
``fits``/``does_not_fit`` columns and :func:`feasibility` both use it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .frame import optional_text

#: ``supported_parameters`` that say a model reasons before it answers (its reasoning tokens are output tokens).
REASONING_PARAMETERS = frozenset({"reasoning", "include_reasoning"})


def request_fits(
    image_tokens: pd.Series | np.ndarray,
    context_length: pd.Series | np.ndarray,
    max_output: pd.Series | np.ndarray,
    prompt_tokens: int,
    output_tokens: int,
    reasoning_tokens: int | np.ndarray = 0,
) -> tuple[np.ndarray, pd.Series]:
    """Whether one request fits each model, and what does not where it does not.

    ``reasoning_tokens``: a number, or one per model (0 where a model does not
    reason). Unknown image tokens count as none; an unknown limit is not
    checked. Returns a bool array and a text column, ``"needs 9,100 tokens;
    context 8,192"`` and/or ``"answer 700 tokens; max output 512"`` (with
    ``" + 2,000 reasoning"`` where there is an allowance), joined by " / ",
    missing where the request fits.
    """
    image = np.nan_to_num(_floats(image_tokens), nan=0.0)
    reasoning = np.broadcast_to(np.asarray(reasoning_tokens, dtype="float64"), image.shape)
    answer = output_tokens + reasoning
    needed = image + prompt_tokens + answer
    context, most = _floats(context_length), _floats(max_output)
    too_long = needed > context  # NaN (unknown) compares False
    too_much = answer > most
    fits = ~(too_long | too_much)
    reasons = np.full(len(fits), None, dtype=object)
    for row in np.flatnonzero(~fits).tolist():  # the few rows that do not fit
        parts = []
        if too_long[row]:
            parts.append(f"needs {needed[row]:,.0f} tokens; context {context[row]:,.0f}")
        if too_much[row]:
            extra = f" + {reasoning[row]:,.0f} reasoning" if reasoning[row] else ""
            parts.append(f"answer {output_tokens:,}{extra} tokens; max output {most[row]:,.0f}")
        reasons[row] = " / ".join(parts)
    return fits, pd.Series(optional_text(reasons.tolist()), copy=False)


def reasons_before_answering(models: pd.DataFrame) -> np.ndarray:
    """Which models list a reasoning parameter (``reasoning``, ``include_reasoning``) in ``supported_parameters``."""
    if "supported_parameters" not in models:
        return np.zeros(len(models), dtype=bool)
    listed = models["supported_parameters"].tolist()
    return np.fromiter(
        (isinstance(p, list | tuple | np.ndarray) and not REASONING_PARAMETERS.isdisjoint(p) for p in listed),
        dtype=bool,
        count=len(listed),
    )


def feasibility(
    models: pd.DataFrame,
    image_tokens: int | pd.Series | np.ndarray,
    *,
    prompt_tokens: int = 0,
    output_tokens: int = 0,
    reasoning_tokens: int = 0,
) -> pd.DataFrame:
    """One row per model of a catalog frame: ``tokens_needed``, ``feasible`` and ``infeasible_reason``.

    ``image_tokens``: the page's image tokens, one number or one per model (a
    cost table's ``image_tokens``, aligned with ``models``);
    ``reasoning_tokens``: the allowance for models that reason (see
    :func:`reasons_before_answering`), 0 for the others. A negative count is a
    ``ValueError`` naming it.
    """
    for name, value in (("prompt_tokens", prompt_tokens), ("output_tokens", output_tokens),
                        ("reasoning_tokens", reasoning_tokens)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise ValueError(f"bad {name} {value!r}: expected a whole number of tokens >= 0")
    n = len(models)
    if isinstance(image_tokens, pd.Series | np.ndarray):
        image = _floats(image_tokens)
    else:
        image = np.full(n, float(image_tokens))
    reasoning = np.where(reasons_before_answering(models), float(reasoning_tokens), 0.0)
    context = models["context_length"] if "context_length" in models else np.full(n, np.nan)
    most = models["max_completion_tokens"] if "max_completion_tokens" in models else np.full(n, np.nan)
    fits, why = request_fits(image, context, most, prompt_tokens, output_tokens, reasoning)
    needed = np.nan_to_num(image, nan=0.0) + prompt_tokens + output_tokens + reasoning
    return pd.DataFrame(
        {
            "id": models["id"].to_numpy(),
            "tokens_needed": pd.array(np.round(needed).astype("int64"), dtype="Int64"),
            "reasoning_tokens": pd.array(reasoning.astype("int64"), dtype="Int64"),
            "feasible": fits,
            "infeasible_reason": why.array,
        },
        index=models.index,
    )


def _floats(values: pd.Series | np.ndarray) -> np.ndarray:
    """Floats with missing values as NaN (nullable integer columns included)."""
    return pd.Series(values, copy=False).to_numpy(dtype="float64", na_value=np.nan)

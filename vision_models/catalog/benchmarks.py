"""Published document-reading scores: a prior on how well a model reads pages, before any trial of your own.

:func:`benchmarks` is a small table shipped with the package
(``vision_models/data/benchmarks.csv``): each row is one score that a public
source published (olmOCR-Bench, ParseBench, OmniDocBench as run by the IDP Leaderboard),
with the source's own name for the model, its URL, and the OpenRouter id it
maps to. The mapping is written by hand, one row at a time, never guessed
from names; a row whose model is not on OpenRouter, or whose version the
source leaves unclear, keeps an empty ``openrouter_id``. ``retired`` marks
ids that were in earlier catalogs and are gone. docs/benchmarks.md says how
the rows were gathered.

A benchmark's pages are not your pages: a prior says which models are worth
a trial, not which one to use.
"""

from __future__ import annotations

import functools
import io
from importlib import resources

import pandas as pd

from .frame import optional_text

BENCHMARKS_FILE = "benchmarks.csv"
#: The prior charts use unless told: the one that scores the most models of the 2026-05-01 catalog.
DEFAULT_PRIOR = ("OmniDocBench v1.5 (IDP Leaderboard)", "overall")

#: Columns of :func:`benchmarks`, in order.
BENCHMARK_COLUMNS = [
    "benchmark",
    "metric",
    "score",
    "higher_is_better",
    "date",
    "source_url",
    "source_model",
    "openrouter_id",
    "retired",
    "notes",
]


@functools.cache
def _table() -> pd.DataFrame:
    body = resources.files("vision_models").joinpath("data", BENCHMARKS_FILE).read_text(encoding="utf-8")
    table = pd.read_csv(io.StringIO(body), dtype=str, keep_default_na=False)  # every cell text, then typed here
    return pd.DataFrame(
        {
            "benchmark": table["benchmark"].astype("str"),
            "metric": table["metric"].astype("str"),
            "score": pd.to_numeric(table["score"]).astype("float64"),
            "higher_is_better": _flags(table["higher_is_better"]),
            "date": pd.to_datetime(table["date"].replace("", None), format="%Y-%m-%d"),
            "source_url": table["source_url"].astype("str"),
            "source_model": table["source_model"].astype("str"),
            "openrouter_id": optional_text([i or None for i in table["openrouter_id"].tolist()]),
            "retired": _flags(table["retired"]),
            "notes": table["notes"].astype("str"),
        },
        columns=BENCHMARK_COLUMNS,
    )


def benchmarks(benchmark: str | None = None, metric: str | None = None) -> pd.DataFrame:
    """The shipped table of published scores (a copy), optionally one ``benchmark`` and ``metric``.

    An unknown benchmark or metric is a ``ValueError`` naming the known ones.
    """
    table = _table().copy()
    if benchmark is not None:
        table = table[table["benchmark"] == _known(benchmark, table["benchmark"], "benchmark")]
    if metric is not None:
        table = table[table["metric"] == _known(metric, table["metric"], "metric")]
    return table.reset_index(drop=True)


def prior_scores(benchmark: str, metric: str) -> pd.Series:
    """One published score per OpenRouter id for ``benchmark`` and ``metric`` (rows without an id left out).

    Named ``"<benchmark>: <metric>"``; ``.attrs["higher_is_better"]`` says which way is better.
    """
    table = benchmarks(benchmark, metric)
    mapped = table[table["openrouter_id"].notna()]
    scores = pd.Series(
        mapped["score"].to_numpy(dtype="float64"),
        index=mapped["openrouter_id"].astype(object),
        name=f"{benchmark}: {metric}",
    )
    scores = scores[~scores.index.duplicated()]
    scores.attrs["higher_is_better"] = bool(table["higher_is_better"].iloc[0]) if len(table) else True
    return scores


def _flags(column: pd.Series) -> pd.Series:
    """``True``/``False`` cells as bools; anything else is an error in the shipped file."""
    bad = ~column.isin(["True", "False"])
    if bad.any():
        raise ValueError(f"bad flag {column[bad].iloc[0]!r} in {BENCHMARKS_FILE}: expected True or False")
    return column.eq("True")


def _known(value: object, column: pd.Series, what: str) -> str:
    known = list(dict.fromkeys(column.tolist()))
    if not isinstance(value, str) or value not in known:
        raise ValueError(f"unknown {what} {value!r}; known: {', '.join(known)}")
    return value

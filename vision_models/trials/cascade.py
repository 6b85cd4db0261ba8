"""A cascade simulated from a trial's stored rows (nothing is sent): a cheap model reads every page, and a page
escalates to a stronger one when a signal fires.

>>> cascade = vm.simulate_cascade(trial, "google/gemini-2.5-flash", "openai/gpt-4o", escalate_when=("truncated", "empty"))
>>> cascade.table, cascade.escalation_rate, cascade.cannot_simulate

Signals (``escalate_when``)
    ``error`` (``first`` gave no answer), ``truncated``, ``looped``, ``empty``, ``refused`` (the failure
    columns, :mod:`.failures`), ``invalid_json`` (with a schema: the answer does not parse or match it),
    ``low_confidence`` (Tesseract's mean word confidence on the page, 0-100, under ``min_confidence``: from
    ``first``'s rows when ``first`` is Tesseract, else from the trial's Tesseract rows of the same page; a page
    without one does not fire), ``disagreement`` (the CER between ``first``'s text and
    ``checker``'s is over ``disagree_above``). The checker must have read every page the cascade is
    simulated on, and its bill is paid on every page (Tesseract, the default checker, is free); a checker
    equal to ``then`` means ``then`` reads every page, so its whole cost is paid: the simulation says so.
What a page costs
    ``first``'s bill (plus any unknown cost it kept), plus the checker's, plus ``then``'s when it escalates.
    Accuracy is ``then``'s score on escalated pages and ``first``'s on the others (CER, else field accuracy).
Pages left out
    Pages that ``first`` or ``then`` did not read (no row, or skipped for the budget) cannot be simulated:
    they are named in ``cannot_simulate`` and left out of every line of the table, so the three lines
    (``first`` alone, ``then`` alone, the cascade) are over the same pages. With repeats, repeat 0 is used.
Intervals
    :func:`~.stats.bootstrap_means` over pages, the three lines with the same draws.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..text import no_math
from .plan import TESSERACT
from .stats import DEFAULT_RESAMPLES, DEFAULT_SEED, LEVEL, bootstrap_means

#: The signals a cascade understands.
SIGNALS = ("error", "truncated", "looped", "empty", "refused", "invalid_json", "low_confidence", "disagreement")
DEFAULT_SIGNALS = ("error", "truncated", "looped", "empty", "refused")
DEFAULT_DISAGREE_ABOVE = 0.10
CASCADE_COLUMNS = ("strategy", "pages", "usd_per_1k_pages", "usd_per_1k_pages_ci_low", "usd_per_1k_pages_ci_high",
                   "metric", "mean", "ci_low", "ci_high", "success_rate", "escalation_rate")  # fmt: skip


@dataclass(frozen=True)
class Cascade:
    """A simulated cascade: ``table`` (first alone, then alone, the cascade), ``pages`` (per page: the signals
    that fired, escalated or not, cost, score), ``escalation_rate``, ``cannot_simulate`` (page names) and a
    ``sentence``."""

    first: str
    then: str
    table: pd.DataFrame
    pages: pd.DataFrame
    escalation_rate: float
    cannot_simulate: list[str] = field(default_factory=list)
    sentence: str = ""

    def _repr_html_(self) -> str:
        return no_math(f"<p>{html.escape(self.sentence)}</p>" + self.table.to_html(escape=True, index=False))


def simulate_cascade(trial: Any, first: str, then: str, *, escalate_when: Sequence[str] = DEFAULT_SIGNALS,
                     checker: str = TESSERACT, disagree_above: float = DEFAULT_DISAGREE_ABOVE,
                     min_confidence: float | None = None, resamples: int = DEFAULT_RESAMPLES,
                     seed: int = DEFAULT_SEED, level: float = LEVEL) -> Cascade:  # fmt: skip
    """``first`` on every page, ``then`` where a signal of ``escalate_when`` fires, from ``trial``'s rows only;
    blended USD per 1,000 pages and accuracy with intervals (see the module)."""
    results = getattr(trial, "results", trial)
    if not isinstance(results, pd.DataFrame):
        raise TypeError(f"trial must be a Trial or its results frame, not {type(trial).__name__}")
    signals = _check_signals(escalate_when, results, checker=checker, min_confidence=min_confidence)
    a, b, check, left_out = _aligned(results, first, then, checker if "disagreement" in signals else None)
    if "low_confidence" in signals:
        a = a.assign(tesseract_confidence=_confidence(results, first, a))
    fired = _fired(a, signals, check, disagree_above, min_confidence)
    escalated = fired.any(axis=1).to_numpy(dtype=bool)
    metric = (
        "cer"
        if any(_scored(f, "cer") for f in (a, b)) or not any(_scored(f, "field_accuracy") for f in (a, b))
        else "field_accuracy"
    )
    first_usd, then_usd = _usd(a), _usd(b)
    if check is not None and checker == then:
        cascade_usd = first_usd + then_usd  # then reads every page to be compared
    else:
        checker_usd = _usd(check) if check is not None else np.zeros(len(a))
        cascade_usd = first_usd + checker_usd + np.where(escalated, then_usd, 0.0)
    scores = [_scores(a, metric), _scores(b, metric)]
    scores.append(np.where(escalated, scores[1], scores[0]))
    oks = [_ok(a), _ok(b)]
    oks.append(np.where(escalated, oks[1], oks[0]))
    usd = np.column_stack([first_usd, then_usd, cascade_usd]) * 1000
    score = np.column_stack(scores)
    usd_low, usd_high, _ = bootstrap_means(usd, resamples=resamples, seed=seed, level=level)
    low, high, _ = bootstrap_means(score, resamples=resamples, seed=seed, level=level)
    rate = float(escalated.mean())
    table = pd.DataFrame({
        "strategy": [f"{first} alone", f"{then} alone", f"cascade {first} -> {then}"],
        "pages": np.full(3, len(a), dtype="int64"), "usd_per_1k_pages": usd.mean(axis=0),
        "usd_per_1k_pages_ci_low": usd_low, "usd_per_1k_pages_ci_high": usd_high, "metric": metric,
        "mean": _nanmean(score), "ci_low": low, "ci_high": high,
        "success_rate": [float(ok.mean()) for ok in oks], "escalation_rate": [0.0, 1.0, rate],
    }, columns=list(CASCADE_COLUMNS))  # fmt: skip
    per_page = pd.DataFrame({"page": a.index.astype(str), "escalated": escalated,
                             "signals": [", ".join(fired.columns[row]) for row in fired.to_numpy(dtype=bool)],
                             "usd": cascade_usd, metric: scores[2]})  # fmt: skip
    sentence = _sentence(table, rate, left_out, checker, then, signals)
    return Cascade(first, then, table, per_page, rate, left_out, sentence)


def _aligned(results: pd.DataFrame, first: str, then: str,
             checker: str | None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None, list[str]]:  # fmt: skip
    """The rows of ``first``, ``then`` (and the checker) on the pages all of them read, in the trial's page
    order, and the names of the pages left out."""
    known = set(results["model"].astype(str).tolist())
    for role, name in (("first", first), ("then", then)):
        if name not in known:
            raise ValueError(f"{role} model {name!r:.80} is not in the trial (models: {', '.join(sorted(known))})")
    if first == then:
        raise ValueError(f"first and then must be two models, not {first!r:.80} twice")
    if checker == first:
        raise ValueError(f"checker {checker!r:.80} is the first model: it cannot disagree with itself")
    if checker is not None and checker not in known:
        raise ValueError(f"checker {checker!r:.80} is not in the trial: 'disagreement' needs its answers")
    if "repeat" in results:
        results = results[pd.to_numeric(results["repeat"], errors="coerce").fillna(0).eq(0)]
    a, b = _rows(results, first), _rows(results, then)
    check = _rows(results, checker) if checker is not None else None
    read = set(a.index) & set(b.index) & (set(check.index) if check is not None else set(a.index))
    every = list(dict.fromkeys(results["page"].astype(str).tolist()))
    left_out = [p for p in every if p not in read]
    pages = pd.Index([p for p in every if p in read], name="page")
    if len(pages) == 0:
        raise ValueError(f"no page was read by both {first!r:.80} and {then!r:.80}: nothing to simulate")
    return a.loc[pages], b.loc[pages], check.loc[pages] if check is not None else None, left_out


def _scores(rows: pd.DataFrame, metric: str) -> np.ndarray:
    if metric not in rows:
        return np.full(len(rows), np.nan)
    return pd.to_numeric(rows[metric], errors="coerce").to_numpy(dtype="float64")


def _check_signals(escalate_when: Sequence[str], results: pd.DataFrame, *, checker: str,
                   min_confidence: float | None) -> list[str]:  # fmt: skip
    if isinstance(escalate_when, str):
        escalate_when = [escalate_when]
    chosen = list(dict.fromkeys(escalate_when))
    if not chosen:
        raise ValueError(f"escalate_when needs one or more of {', '.join(SIGNALS)}")
    for signal in chosen:
        if signal not in SIGNALS:
            raise ValueError(f"unknown signal {signal!r:.40}: expected one of {', '.join(SIGNALS)}")
    missing = [s for s in ("truncated", "looped", "empty", "refused") if s in chosen and s not in results]
    if missing:
        raise ValueError(f"the trial has no failure columns for {', '.join(missing)} (load it with load_trial)")
    if "invalid_json" in chosen and "json_valid" not in results:
        raise ValueError("'invalid_json' needs a trial run with a schema (no json_valid column)")
    if "low_confidence" in chosen:
        tesseract = results[results["model"].astype(str).eq(TESSERACT)]
        if tesseract.empty:
            raise ValueError("'low_confidence' needs Tesseract's confidence: the trial has no tesseract rows "
                             "(add 'tesseract' to its models)")  # fmt: skip
        if "tesseract_confidence" not in results or tesseract["tesseract_confidence"].isna().all():
            raise ValueError("'low_confidence' needs Tesseract's confidence, which this trial's tesseract rows do "
                             "not hold (read before it was stored): a new trial with tesseract on these pages reads "
                             "them again, free")  # fmt: skip
        if (
            isinstance(min_confidence, bool)
            or not isinstance(min_confidence, (int, float))
            or not 0 <= min_confidence <= 100
        ):
            raise ValueError(f"'low_confidence' needs min_confidence=X, X from 0 to 100 (escalate under it), not "
                             f"{min_confidence!r:.40}")  # fmt: skip
    if "disagreement" in chosen and not isinstance(checker, str):
        raise ValueError(f"checker must be a model id, not {checker!r:.40}")
    return chosen


def _confidence(results: pd.DataFrame, first: str, rows: pd.DataFrame) -> pd.Series:
    """Tesseract's confidence on each of ``rows``' pages: its own when ``first`` is Tesseract, else from the
    trial's Tesseract rows (repeat 0) of the same page; NaN where it read none."""
    if first == TESSERACT:
        return pd.to_numeric(rows["tesseract_confidence"], errors="coerce")
    if "repeat" in results:
        results = results[pd.to_numeric(results["repeat"], errors="coerce").fillna(0).eq(0)]
    mine = _rows(results, TESSERACT)["tesseract_confidence"]
    return pd.to_numeric(mine, errors="coerce").reindex(rows.index)


def _rows(results: pd.DataFrame, model: str) -> pd.DataFrame:
    """One model's rows that were sent or stored (not skipped for the budget), one per page, indexed by page."""
    rows = results[results["model"].eq(model) & ~results["status"].eq("skipped-budget")]
    return rows.drop_duplicates("page").set_index("page")


def _fired(rows: pd.DataFrame, signals: list[str], check: pd.DataFrame | None, disagree_above: float,
           min_confidence: float | None) -> pd.DataFrame:  # fmt: skip
    """Pages x signals: which fired on ``first``'s rows."""
    from .accuracy import cer

    out = pd.DataFrame(index=rows.index)
    for signal in signals:
        if signal == "error":
            out[signal] = rows["error"].notna() | ~rows["status"].isin(["ok", "cached"])
        elif signal in ("truncated", "looped", "empty", "refused"):
            out[signal] = rows[signal].fillna(False).astype(bool)
        elif signal == "invalid_json":
            out[signal] = rows["json_valid"].astype("boolean").eq(False).fillna(False).astype(bool)
        elif signal == "low_confidence":
            confidence = pd.to_numeric(rows["tesseract_confidence"], errors="coerce")
            out[signal] = confidence.lt(float(min_confidence or 0)).fillna(False).astype(bool)
        elif signal == "disagreement" and check is not None:
            texts = zip(rows["text"].tolist(), check["text"].tolist())
            out[signal] = [not (isinstance(x, str) and isinstance(y, str)) or cer(y, x) > disagree_above
                           for x, y in texts]  # fmt: skip
    return out.astype("bool")


def _scored(rows: pd.DataFrame, column: str) -> bool:
    """Whether ``column`` holds any score in ``rows``."""
    return column in rows and bool(pd.to_numeric(rows[column], errors="coerce").notna().any())


def _ok(rows: pd.DataFrame) -> np.ndarray:
    """Whether each row is an answer to use: the ``ok`` column, else answered without an error."""
    if "ok" in rows:
        return rows["ok"].fillna(False).to_numpy(dtype=bool)
    return (rows["error"].isna() & rows["status"].isin(["ok", "cached"])).to_numpy(dtype=bool)


def _usd(rows: pd.DataFrame) -> np.ndarray:
    """What each page cost: the bill, plus any reserve kept for an unknown cost (0 where neither is known)."""
    billed = pd.to_numeric(rows["billed_usd"], errors="coerce").fillna(0.0).to_numpy(dtype="float64")
    unknown = pd.to_numeric(rows.get("unknown_usd", pd.Series(0.0, index=rows.index)), errors="coerce")
    return billed + unknown.fillna(0.0).to_numpy(dtype="float64")


def _nanmean(values: np.ndarray) -> np.ndarray:
    present = ~np.isnan(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(present, values, 0.0).sum(axis=0) / present.sum(axis=0)


def _sentence(table: pd.DataFrame, rate: float, left_out: list[str], checker: str, then: str,
              signals: list[str]) -> str:  # fmt: skip
    cascade = table.iloc[2]
    shown = "CER" if cascade["metric"] == "cer" else "field accuracy"
    text = (f"The cascade escalates {rate:.0%} of {int(cascade['pages'])} pages on {', '.join(signals)}: "
            f"${cascade['usd_per_1k_pages']:.4g} per 1,000 pages, {shown} {cascade['mean']:.2%}")  # fmt: skip
    if "disagreement" in signals and checker == then:
        text += f" (the checker is {then}, so it reads, and is paid for, every page)"
    if left_out:
        text += (
            f"; {len(left_out)} page{'s' if len(left_out) != 1 else ''} cannot be simulated: {', '.join(left_out[:5])}"
        )
    return text + "."

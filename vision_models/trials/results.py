"""A trial's results: the rows as a frame, the summary per model, stored runs and measurements, and the
side-by-side HTML of the texts.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ..stores import trials as store
from ..stores.trial_schema import TrialRow
from ..text import no_math
from .pages import Page
from .plan import _EPS, RESULT_COLUMNS, TESSERACT

# ---------------------------------------------------------------- the run


@dataclass
class Trial:
    """A finished (or interrupted) run: ``results`` (one row per page and model) and :meth:`summary`.

    ``billed_usd`` is what providers reported; ``unknown_usd`` the reserves
    kept for requests that may have been billed without a known amount;
    ``budget_usd`` what this run was allowed to spend (``max_usd``, less what
    earlier runs of the same plan spent of the same budget).
    """

    run_id: str
    results: pd.DataFrame
    prompt: str
    max_usd: float
    billed_usd: float
    requests_sent: int
    trials_path: str = ""
    truth: dict[str, str] = field(default_factory=dict, repr=False)
    unknown_usd: float = 0.0
    budget_usd: float = float("nan")

    def summary(self, *, pass_cer_below: float | None = None) -> pd.DataFrame:
        """One row per model: pages ok / failed, cost per page, estimate / billed, latency, CER and WER, and the
        evidence columns (success, failures, intervals, field accuracy, repeats: :mod:`.evidence`).

        ``pass_cer_below``: with repeats, a page passes a run when its CER is below this (else when its
        critical fields are right, else when the answer is ok).
        """
        return summarise(self.results, pass_cer_below=pass_cer_below)

    def __repr__(self) -> str:
        counts = self.results["status"].value_counts().to_dict() if not self.results.empty else {}
        unknown = f" + ${self.unknown_usd:.6f} of unknown cost" if self.unknown_usd > 0 else ""
        budget = self.budget_usd if self.budget_usd == self.budget_usd else self.max_usd
        of = f"${budget:.6g} left of ${self.max_usd:.6g}" if budget < self.max_usd - _EPS else f"${self.max_usd:.6g}"
        return (f"Trial({self.run_id!r}, {len(self.results)} rows {counts}, billed ${self.billed_usd:.6f}{unknown} "
                f"of {of}, {self.requests_sent} requests sent)")  # fmt: skip

    def _repr_html_(self) -> str:
        return no_math(f"<p>{html.escape(repr(self))}</p>" + self.summary().to_html(escape=True, index=False))


# ---------------------------------------------------------------- results


def results_frame(
    rows: Sequence[TrialRow | Mapping[str, Any]],
    *,
    run_id: str,
    truths: Mapping[str, str] | None = None,
    casefold: bool = False,
) -> pd.DataFrame:
    """The page rows as the ``results`` frame (controls give measured image tokens, then are left out)."""
    records = [r.as_dict() if isinstance(r, TrialRow) else TrialRow.from_mapping(r).as_dict() for r in rows]
    controls = {r["model"]: r["prompt_tokens"] for r in records if r["kind"] == "control"
                and r["prompt_tokens"] is not None and r["error"] is None}  # fmt: skip
    pages = [r for r in records if r["kind"] == "page"]
    truths = truths or {}
    cers, wers, measured = [], [], []
    if truths:
        from .accuracy import cer, wer
    for row in pages:
        control = controls.get(row["model"])
        measured.append(row["prompt_tokens"] - control if control is not None and row.get("prompt_tokens") is not None
                        and row["model"] != TESSERACT else None)  # fmt: skip
        truth = truths.get(row["page"])
        text = row.get("text")
        if truth is not None and isinstance(text, str) and row.get("error") is None:  # readable
            cers.append(cer(truth, text, casefold=casefold))
            wers.append(wer(truth, text, casefold=casefold))
        else:
            cers.append(np.nan)
            wers.append(np.nan)
    data = {
        "run_id": [run_id] * len(pages),
        **{
            name: [r.get(name) for r in pages]
            for name in RESULT_COLUMNS
            if name not in ("run_id", "measured_image_tokens", "cer", "wer")
        },
        "measured_image_tokens": measured,
        "cer": cers,
        "wer": wers,
    }
    frame = pd.DataFrame({name: data[name] for name in RESULT_COLUMNS})
    frame["finished_at"] = pd.to_datetime(pd.Series(frame["finished_at"], dtype="float64"), unit="s", utc=True)
    for name in ("billed_usd", "unknown_usd", "estimated_usd", "latency_s", "cer", "wer", "tesseract_confidence"):
        frame[name] = pd.to_numeric(pd.Series(frame[name], dtype="object"), errors="coerce").astype("float64")
    for name in (
        "width_px",
        "height_px",
        "prompt_tokens",
        "completion_tokens",
        "reasoning_tokens",
        "estimated_image_tokens",
        "measured_image_tokens",
        "repeat",
    ):
        frame[name] = pd.array([None if v is None or v != v else int(v) for v in frame[name].tolist()], dtype="Int64")
    frame = frame.astype({name: dtype for name, dtype in RESULT_COLUMNS.items() if dtype in ("str",)})
    frame["finished_at"] = frame["finished_at"].astype("datetime64[ns, UTC]")
    return frame


SUMMARY_COLUMNS = (
    "model", "pages_ok", "pages_failed", "pages_skipped", "usd_per_page", "usd_per_1k_pages", "estimated_usd_per_page",
    "estimate_ratio",
    "estimated_image_tokens", "measured_image_tokens", "latency_p50_s", "latency_p95_s", "cer_mean", "wer_mean",
    "billed_usd", "unknown_usd",
)  # fmt: skip


def summarise(results: pd.DataFrame, *, pass_cer_below: float | None = None) -> pd.DataFrame:
    """One row per model (in the order first seen): how many pages, what a page cost, how well it read.

    ``usd_per_page`` is the mean bill over the pages with an answer (cached
    ones included: what the page cost when it was sent); ``estimate_ratio`` is
    the summed estimate over the summed bill of those pages (above 1: the
    estimate was too high); latency percentiles are over the answered pages.
    """
    if results.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in SUMMARY_COLUMNS})
    answered = results["status"].isin(["ok", "cached"]) & results["error"].isna()
    failed = results["status"].eq("error") | (results["status"].eq("cached") & results["error"].notna())
    skipped = results["status"].eq("skipped-budget")
    frame = results.assign(_ok=answered, _failed=failed, _skipped=skipped)
    records = []
    for model, group in frame.groupby("model", sort=False):
        ok = group[group["_ok"]]
        sent = group[~group["status"].eq("cached")]  # what this run spent on the model (cached rows were paid before)
        billed = ok["billed_usd"].dropna()
        estimated = ok.loc[ok["billed_usd"].notna(), "estimated_usd"]
        usd = float(billed.mean()) if len(billed) else np.nan
        ratio = float(estimated.sum() / billed.sum()) if len(billed) and billed.sum() > 0 else np.nan
        latency = ok["latency_s"].dropna().to_numpy(dtype="float64")
        records.append((
            model, int(group["_ok"].sum()), int(group["_failed"].sum()), int(group["_skipped"].sum()), usd,
            usd * 1000 if usd == usd else np.nan, float(estimated.mean()) if len(estimated) else np.nan, ratio,
            _median(ok["estimated_image_tokens"]), _median(ok["measured_image_tokens"]),
            float(np.percentile(latency, 50)) if len(latency) else np.nan,
            float(np.percentile(latency, 95)) if len(latency) else np.nan,
            float(ok["cer"].mean()) if ok["cer"].notna().any() else np.nan,
            float(ok["wer"].mean()) if ok["wer"].notna().any() else np.nan,
            float(sent["billed_usd"].sum()), float(sent["unknown_usd"].sum()),
        ))  # fmt: skip
    summary = pd.DataFrame.from_records(records, columns=list(SUMMARY_COLUMNS))
    summary = summary.astype({"model": "str", "pages_ok": "int64", "pages_failed": "int64", "pages_skipped": "int64"})
    if "ok" in results:  # the evidence columns (results from run_trial / load_trial have them)
        from .evidence import evidence_summary

        extra = evidence_summary(results, summary["model"].tolist(), pass_cer_below=pass_cer_below)
        summary = summary.merge(extra, on="model", how="left")
        if "agreement" in results:
            agreement = results.groupby("model", sort=False)[["agreement"]].mean()
            dissents = results["dissents"].fillna(False).astype(bool).groupby(results["model"], sort=False).sum()
            summary = summary.assign(agreement_mean=summary["model"].map(agreement["agreement"]).astype("float64"),
                                     pages_dissenting=summary["model"].map(dissents).fillna(0).astype("int64"))  # fmt: skip
    return summary


def _median(column: pd.Series) -> float:
    values = column.dropna().to_numpy(dtype="float64")
    return float(np.median(values)) if len(values) else np.nan


# ---------------------------------------------------------------- stored runs and measurements


def load_trial(run_id: str, *, trials_path: str | os.PathLike | None = None, truth: Any = None, schema: Any = None,
               critical: Sequence[str] = (), fields: Mapping[str, str] | None = None,
               parser: Callable[[str, str], Any] | None = None) -> Trial:  # fmt: skip
    """A stored run as a :class:`Trial` (its rows as they are now in the store; CER / WER need ``truth``).

    A run that asked for JSON is scored against its own schema unless ``schema`` is given; ``truth`` is then
    a folder of ``<page>.json`` files or a dict of objects (or ``"consensus"``).
    """
    rows = [_as_in_run(row, run_id) for row in store.run_rows(run_id, trials_path)]
    runs = store.list_runs(trials_path)
    info = runs.loc[runs["run_id"] == run_id].iloc[0]
    controls = [
        TrialRow(kind="control", model=m, prompt_tokens=t) for m, t in store.controls_for_run(run_id, trials_path)
    ]
    from .evidence import add_evidence, split_truth
    from .pages import load_truth

    if schema is None and "schema" in (params := store.run_params(run_id, trials_path)):
        schema = json.loads(params["schema"])
    stand_ins = list(
        {r.page: Page(r.page, r.path, int(r.page_index or 0), r.page_sha256, b"", "", 1, 1) for r in rows}.values()
    )
    if isinstance(truth, Mapping) and schema is None:  # keyed by page name, as the run's pages were named
        objects: dict[str, Any] = {}
        truths, consensus = {str(k): v for k, v in truth.items()}, False
    else:
        truths, objects, consensus = split_truth(truth, stand_ins, schema=schema, load_truth=load_truth)
    results = results_frame(controls + rows, run_id=run_id, truths=truths)
    results = add_evidence(results, truths=objects, schema=schema, critical=critical, fields=fields, parser=parser,
                           consensus=consensus)  # fmt: skip
    max_usd = float(info["max_usd"]) if info["max_usd"] == info["max_usd"] else float("nan")
    return Trial(run_id, results, store.run_prompt(run_id, trials_path), max_usd, float(info["billed_usd"]),
                 int(info["requests"]), str(store.get_trials_path(trials_path)), truths,
                 unknown_usd=float(info["unknown_usd"]), budget_usd=float(info["budget_usd"]))  # fmt: skip


def _as_in_run(row: TrialRow, run_id: str) -> TrialRow:
    """A stored row as run ``run_id`` left it: a failure since answered by a later run shows no answer."""
    if row.status in ("ok", "cached") or row.run_id == run_id:
        return row
    return replace(row, text=None, prompt_tokens=None, completion_tokens=None, reasoning_tokens=None, billed_usd=None,
                   billed_source=None, tesseract_confidence=None,
                   latency_s=None, error=f"{row.status} in this run; answered since by run {row.run_id}")  # fmt: skip


def measured_image_tokens(
    *, trials_path: str | os.PathLike | None = None, models: Sequence[str] | None = None
) -> pd.DataFrame:
    """Per model and size sent: the median measured image tokens (billed prompt tokens minus the control's).

    ``estimate_ratio`` is the median estimate over the median measurement at
    that size (above 1: the estimator counts too many). Read-only: with no
    trials store, an empty frame (no file is created).
    """
    return store.measurements(trials_path, models=models)


# ---------------------------------------------------------------- display helpers


def side_by_side_html(trial: Trial, truth: Mapping[str, str] | None = None, *, limit: int = 2000) -> str:
    """The texts of each page side by side (and the truth: given, else the trial's), every remote text escaped.

    MathJax leaves it alone: a "$" in a page's text stays a dollar sign.
    """
    results = trial.results
    truth = truth if truth is not None else trial.truth
    models = list(dict.fromkeys(results["model"].tolist()))
    head = "".join(f"<th{_LEFT}>{html.escape(m)}</th>" for m in (["truth"] if truth else []) + models)
    body = []
    for page, group in results.groupby("page", sort=False):
        by_model = dict(zip(group["model"].tolist(), group.itertuples(index=False)))
        cells = []
        if truth:
            cells.append(_cell(truth.get(page, ""), limit, None))
        for model in models:
            row = by_model.get(model)
            if row is None:
                cells.append("<td></td>")
            elif isinstance(row.error, str):
                cells.append(f"<td{_LEFT}><em>{html.escape(row.status)}: {html.escape(row.error)}</em></td>")
            else:
                cells.append(_cell(row.text or "", limit, row.cer))
        body.append(f"<tr><th{_LEFT}>{html.escape(str(page))}</th>{''.join(cells)}</tr>")
    return no_math(f"<table><tr><th{_LEFT}>page</th>{head}</tr>{''.join(body)}</table>")


# Transcripts read as text: left-aligned from the top of the cell (notebooks right-align table cells), in monospace.
_LEFT = " style='text-align: left; vertical-align: top'"
_PRE = "white-space: pre-wrap; text-align: left; font-family: monospace; max-width: 40em"


def _cell(text: str, limit: int, cer: float | None) -> str:
    shown = text if len(text) <= limit else text[:limit] + "…"
    score = f"<br><small>CER {cer:.3f}</small>" if cer is not None and cer == cer else ""
    return f"<td{_LEFT}><pre style='{_PRE}'>{html.escape(shown)}</pre>{score}</td>"

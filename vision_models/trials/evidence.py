"""The evidence a trial's rows carry beyond cost and CER: extraction scores, failures, repeats, intervals.

Columns added to the results (:func:`extraction_columns`, :func:`failure_columns`)
    ``parsed`` (the JSON object read from the answer), ``json_valid``, ``fields_total``, ``fields_correct``,
    ``field_accuracy``, ``critical_ok``, ``field_errors`` (:mod:`.extraction`); ``truncated``, ``looped``,
    ``empty``, ``refused``, ``repetition`` and ``ok`` (:mod:`.failures`); ``failure`` names the kinds that
    apply (``""`` when the row is ok).
Summary columns (:func:`evidence_summary`), per model
    ``success_rate`` (ok rows over rows, skipped ones left out), ``usd_per_1k_successful_pages`` (everything
    billed for the model's rows divided by the rows that succeeded, x 1000), ``failed_<kind>`` counts, the 95%
    bootstrap intervals ``cer_ci_low``/``_high``, ``field_accuracy_ci_low``/``_high`` and
    ``usd_per_page_ci_low``/``_high`` with the pages behind each (``*_pages``), and with repeats
    ``pass_all_k`` (the share of pages that pass in every repeat) and the mean per-page standard deviation of
    CER and field accuracy across repeats (``cer_repeat_sd``, ``field_accuracy_repeat_sd``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .extraction import score_answer
from .failures import FAILURE_KINDS, classify_many
from .stats import DEFAULT_RESAMPLES, DEFAULT_SEED, intervals

EXTRACTION_COLUMNS = {"parsed": "object", "json_valid": "boolean", "fields_total": "Int64", "fields_correct": "Int64",
                      "field_accuracy": "float64", "critical_ok": "boolean", "field_errors": "object"}  # fmt: skip
FAILURE_COLUMNS = {"truncated": "bool", "looped": "bool", "empty": "bool", "refused": "bool", "repetition": "float64",
                   "failure": "str", "ok": "bool"}  # fmt: skip
MAX_TRUTH_BYTES = 10_000_000


def load_object_truth(truth: Any, pages: Sequence[Any]) -> dict[str, Any]:
    """Expected objects per page name: a folder of ``<page>.json`` files, or a dict keyed by page name or stem."""
    if isinstance(truth, (str, os.PathLike)):
        folder = Path(truth)
        if not folder.is_dir():
            raise ValueError(f"truth folder not found (a folder of <page>.json files or a dict): {str(folder)!r}")
        out: dict[str, Any] = {}
        for page in pages:
            file = folder / f"{page.truth_stem()}.json"
            if not file.is_file():
                continue
            if file.stat().st_size > MAX_TRUTH_BYTES:
                raise ValueError(f"truth file too large (over {MAX_TRUTH_BYTES:,} bytes): {str(file)!r}")
            try:
                out[page.name] = json.loads(file.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError) as exc:
                raise ValueError(f"truth file is not JSON: {str(file)!r}: {str(exc)[:80]}") from None
        return out
    if isinstance(truth, Mapping):
        by_key = {key: page.name for page in pages for key in (page.name, page.truth_stem())}
        out = {}
        for key, value in truth.items():
            if not isinstance(key, str) or key not in by_key:
                raise ValueError(f"truth key {key!r:.80} names no page (pages: {', '.join(list(by_key)[:5])})")
            if not isinstance(value, (dict, list)):
                raise ValueError(f"truth for {key!r:.80} must be a JSON object, not {type(value).__name__}")
            out[by_key[key]] = value
        return out
    raise ValueError(f"truth with a schema must be a folder of .json files or a dict, not {type(truth).__name__}")


def check_critical(objects: Mapping[str, Any], critical: Sequence[str]) -> None:
    """Each ``critical`` field is a field of every expected object: a misspelt one is refused before anything is paid
    for (scoring would refuse every row)."""
    from .extraction import score_fields

    for page, expected in objects.items():
        try:
            score_fields(expected, expected, critical=critical)
        except ValueError as exc:
            raise ValueError(f"page {page!r:.80}: {exc}") from None


def add_evidence(results: pd.DataFrame, *, truths: Mapping[str, Any] | None = None, schema: Any = None,
                 critical: Sequence[str] = (), fields: Mapping[str, str] | None = None,
                 parser: Callable[[str, str], Any] | None = None, consensus: bool = False,
                 casefold: bool = False) -> pd.DataFrame:  # fmt: skip
    """``results`` with the evidence columns: extraction (with a schema), failures, and agreement (``consensus``)."""
    parts = [results]
    valid = None
    if schema is not None:
        extracted = extraction_columns(results, truths or {}, schema=schema, fields=fields, critical=critical,
                                       parser=parser)  # fmt: skip
        valid = extracted["json_valid"].tolist()
        parts.append(extracted)
    parts.append(failure_columns(results, valid))
    if consensus:
        from .consensus import consensus_columns

        parsed = parts[1]["parsed"].tolist() if schema is not None else None
        parts.append(consensus_columns(results, parsed=parsed, casefold=casefold))
    return pd.concat(parts, axis=1)


def split_truth(truth: Any, pages: Sequence[Any], *, schema: Any, load_truth: Callable) -> tuple[dict, dict, bool]:
    """(text truths for CER, object truths for fields, whether the reference is the models' consensus)."""
    if truth is None:
        return {}, {}, False
    if isinstance(truth, str) and truth == "consensus":
        return {}, {}, True
    if schema is not None:
        return {}, load_object_truth(truth, pages), False
    return load_truth(truth, pages), {}, False


def extraction_columns(results: pd.DataFrame, truths: Mapping[str, Any], *, schema: Any = None,
                       fields: Mapping[str, str] | None = None, critical: Sequence[str] = (),
                       dayfirst: bool = True, parser: Callable[[str, str], Any] | None = None) -> pd.DataFrame:  # fmt: skip
    """The extraction columns for ``results`` (aligned with its index): parsed, valid, and scored where a truth is.

    ``parser`` (text, page name) -> object reads the plain text of Tesseract's rows.
    """
    records: list[tuple[Any, ...]] = []
    models = results["model"].tolist()
    for n, (page, text, error) in enumerate(zip(results["page"].tolist(), results["text"].tolist(),
                                                results["error"].tolist())):  # fmt: skip
        if isinstance(error, str) or not isinstance(text, str):
            records.append((None, pd.NA, pd.NA, pd.NA, np.nan, pd.NA, None))
            continue
        if parser is not None and models[n] == "tesseract":
            text = json.dumps(parser(text, page), ensure_ascii=False, default=str)
        truth = truths.get(page)
        parsed, score = score_answer(text, truth if truth is not None else {}, schema=schema, fields=fields,
                                     critical=critical if truth is not None else (), dayfirst=dayfirst)  # fmt: skip
        valid = pd.NA if score.json_valid is None else score.json_valid
        if truth is None:
            records.append((parsed, valid, pd.NA, pd.NA, np.nan, pd.NA, None))
        else:
            records.append((parsed, valid, score.fields_total, score.fields_correct, score.field_accuracy,
                            score.critical_ok, score.field_errors))  # fmt: skip
    frame = pd.DataFrame.from_records(records, columns=list(EXTRACTION_COLUMNS), index=results.index)
    return frame.astype({k: v for k, v in EXTRACTION_COLUMNS.items() if k != "parsed"})


def failure_columns(results: pd.DataFrame, json_valid: Sequence[Any] | None = None) -> pd.DataFrame:
    """The failure columns for ``results`` (aligned with its index); skipped rows are neither ok nor failed."""
    valid = None if json_valid is None else [None if v is pd.NA or v is None else bool(v) for v in json_valid]
    reasons = results["finish_reason"].tolist() if "finish_reason" in results else [None] * len(results)
    errors = [e if isinstance(e, str) else None for e in results["error"].tolist()]
    found = classify_many(results["text"].tolist(), reasons, errors, valid)
    skipped = results["status"].eq("skipped-budget").to_numpy()
    frame = pd.DataFrame({
        "truncated": [f.truncated for f in found], "looped": [f.looped for f in found],
        "empty": [f.empty for f in found], "refused": [f.refused for f in found],
        "repetition": [f.repetition for f in found],
        "failure": [", ".join(f.kinds) for f in found], "ok": [f.ok for f in found],
    }, index=results.index)  # fmt: skip
    frame.loc[skipped, "ok"] = False
    frame.loc[skipped, "failure"] = "skipped"
    return frame.astype(FAILURE_COLUMNS)


def evidence_summary(results: pd.DataFrame, models: list[str], *, pass_cer_below: float | None = None,
                     resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> pd.DataFrame:  # fmt: skip
    """Per model (in ``models`` order): success, failures, intervals and repeat agreement (see the module)."""
    out = pd.DataFrame(index=pd.Index(models, name="model"))
    if results.empty or "ok" not in results:
        return out.reset_index()
    counted = results[~results["status"].eq("skipped-budget")]
    grouped = counted.groupby("model", sort=False)
    rows = grouped.size().reindex(models, fill_value=0)
    succeeded = grouped["ok"].sum().reindex(models, fill_value=0)
    billed = results.groupby("model", sort=False)["billed_usd"].sum(min_count=1).reindex(models)
    out["success_rate"] = (succeeded / rows.where(rows > 0)).astype("float64")
    out["usd_per_1k_successful_pages"] = (billed / succeeded.where(succeeded > 0) * 1000).astype("float64")
    failures = results["failure"].fillna("")
    for kind in FAILURE_KINDS:
        hit = failures.str.contains(rf"\b{kind}\b", regex=True)
        out[f"failed_{kind}"] = (
            hit.groupby(results["model"], sort=False).sum().reindex(models, fill_value=0).astype("int64")
        )
    for name, column in (("cer", "cer"), ("field_accuracy", "field_accuracy"), ("usd_per_page", "billed_usd")):
        found = intervals(results, column, models, resamples=resamples, seed=seed)
        out[f"{name}_ci_low"], out[f"{name}_ci_high"], out[f"{name}_pages"] = (
            found["low"],
            found["high"],
            found["pages"],
        )
    if "field_accuracy" in results:
        out.insert(0, "field_accuracy_mean", _mean(results, "field_accuracy", models))
        out.insert(1, "critical_ok_rate", _mean(results, "critical_ok", models))
    if "repeat" in results and results["repeat"].nunique() > 1:
        out = out.join(repeat_summary(results, models, pass_cer_below=pass_cer_below))
    return out.reset_index()


def repeat_summary(results: pd.DataFrame, models: list[str], *, pass_cer_below: float | None = None) -> pd.DataFrame:
    """Per model: ``repeats``, ``pass_all_k`` and the spread of CER and field accuracy across repeats.

    A row passes when its CER is below ``pass_cer_below`` (when given), else when ``critical_ok`` (with a
    schema and truth), else when it is ``ok``; a page passes when every one of its repeats does.
    """
    if pass_cer_below is not None:
        passed = results["cer"].lt(pass_cer_below)
    elif "critical_ok" in results and results["critical_ok"].notna().any():
        passed = results["critical_ok"].fillna(False).astype(bool)
    else:
        passed = results["ok"].astype(bool)
    frame = results.assign(_passed=passed.to_numpy(dtype=bool))
    by_page = frame.groupby(["model", "page"], sort=False)
    out = pd.DataFrame(index=pd.Index(models, name="model"))
    out["repeats"] = frame.groupby("model", sort=False)["repeat"].nunique().reindex(models).astype("Int64")
    out["pass_all_k"] = by_page["_passed"].all().groupby(level="model", sort=False).mean().reindex(models)
    for column in ("cer", "field_accuracy"):
        if column in frame:
            spread = by_page[column].std(ddof=0).groupby(level="model", sort=False).mean()
            out[f"{column}_repeat_sd"] = spread.reindex(models).astype("float64")
    return out


def _mean(results: pd.DataFrame, column: str, models: list[str]) -> pd.Series:
    values = pd.to_numeric(results[column].astype("Float64"), errors="coerce").astype("float64")
    return values.groupby(results["model"], sort=False).mean().reindex(models)

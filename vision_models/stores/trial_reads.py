"""Reading the trials store: runs, their rows and prompts, the keys already done, controls, and the measured
image tokens. A store of an older schema is upgraded first; a missing file reads as empty.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import sqlite
from .trial_schema import _STORE, RUN_COLUMNS, SCHEMA_VERSION, TrialRow, _done_sql, _owner_alive, get_trials_path

# ---------------------------------------------------------------- reading


@contextmanager
def _reader(path: str | os.PathLike | None) -> Iterator[sqlite3.Connection | None]:
    """A read-only view of the store, brought up to this version's schema first if it is older."""
    file = get_trials_path(path)
    _upgrade(file)
    with sqlite.reader(file, _STORE) as conn:
        yield conn


def _upgrade(file: Path) -> None:
    """Migrate an older store before reading it (a writer does it; a read-only file says so by name)."""
    if not file.is_file():
        return
    try:
        conn = sqlite.connect(file)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return  # the reader names what is wrong
    if 0 < version < SCHEMA_VERSION:
        with sqlite.writer(file, _STORE):
            pass


def list_runs(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """One row per run, newest first; an empty frame when there is no store (none is created).

    ``billed_usd`` is what providers reported; ``unknown_usd`` the reserves
    kept for requests that may have been billed without a known amount;
    ``budget_usd`` what the run could spend (its ``max_usd`` less what earlier
    runs of the same plan spent of it). A run whose process died shows as
    ``interrupted``.
    """
    with _reader(path) as conn:
        if conn is None:
            return _empty_runs()
        records = conn.execute(
            "SELECT r.run_id, r.started_at, r.finished_at, r.state, r.models, r.pages,"
            " (SELECT COUNT(*) FROM run_rows x WHERE x.run_id = r.run_id) AS rows,"
            " r.max_usd, COALESCE(r.cap_usd, r.max_usd), r.billed_usd, r.unknown_usd, r.requests, r.prompt, r.host, r.pid"
            " FROM runs r ORDER BY r.started_at DESC, r.run_id"
        ).fetchall()
    if not records:
        return _empty_runs()
    states = [
        "interrupted" if r[3] == "running" and not _owner_alive(r[0], r[13], int(r[14])) else r[3] for r in records
    ]
    runs = pd.DataFrame.from_records([r[:13] for r in records], columns=list(RUN_COLUMNS))
    runs["state"] = states
    for column in ("started_at", "finished_at"):
        runs[column] = pd.to_datetime(runs[column].astype("float64"), unit="s", utc=True)
    runs["models"] = [", ".join(json.loads(m)) for m in runs["models"].tolist()]
    return runs.astype({"run_id": "str", "state": "str", "models": "str", "prompt": "str", "pages": "int64", "rows": "int64",
                        "max_usd": "float64", "budget_usd": "float64", "billed_usd": "float64", "unknown_usd": "float64",
                        "requests": "int64"})  # fmt: skip


def run_rows(run_id: str, path: str | os.PathLike | None = None) -> list[TrialRow]:
    """The stored page rows of one run, in its order, with the status they had in that run (``status``).

    An unknown run is a ``ValueError`` naming it.
    """
    with _reader(path) as conn:
        if conn is None or conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is None:
            raise ValueError(f"unknown trial run {run_id!r}: see vision-models trials list")
        conn.row_factory = sqlite3.Row
        records = conn.execute(
            "SELECT rows.*, run_rows.status AS run_status, run_rows.page AS run_page, run_rows.path AS run_path"
            " FROM run_rows JOIN rows USING (key)"
            " WHERE run_rows.run_id = ? AND rows.kind = 'page' ORDER BY run_rows.position",
            (run_id,),
        ).fetchall()
    return [_as_covered(r) for r in records]


def _as_covered(record: sqlite3.Row) -> TrialRow:
    """A stored row under the name the run gave it (an identical page file of another name shares the row)."""
    row = TrialRow.from_mapping(record)
    page, path = record["run_page"], record["run_path"]
    row.status = record["run_status"]
    row.duplicate_of = row.page if page is not None and page != row.page else None
    if page is not None:
        row.page, row.path = page, path
    return row


def run_prompt(run_id: str, path: str | os.PathLike | None = None) -> str:
    with _reader(path) as conn:
        row = None if conn is None else conn.execute("SELECT prompt FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    if row is None:
        raise ValueError(f"unknown trial run {run_id!r}: see vision-models trials list")
    return row[0]


def run_params(run_id: str, path: str | os.PathLike | None = None) -> dict[str, Any]:
    """The parameters a run was started with (``max_tokens``, ``schema``...); an unknown run is a ``ValueError``."""
    with _reader(path) as conn:
        row = None if conn is None else conn.execute("SELECT params FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    if row is None:
        raise ValueError(f"unknown trial run {run_id!r}: see vision-models trials list")
    params = json.loads(row[0])
    return params if isinstance(params, dict) else {}


def done_keys(keys: Sequence[str], path: str | os.PathLike | None = None, *, retry_unknown: bool = False) -> set[str]:
    """The keys among ``keys`` whose rows need no sending; read-only (no store, nothing done)."""
    file = get_trials_path(path)
    if not file.exists():
        return set()
    found: set[str] = set()
    done = _done_sql(retry_unknown)
    with _reader(file) as conn:
        if conn is None:
            return found
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            marks = ",".join("?" * len(chunk))
            found.update(k for (k,) in conn.execute(f"SELECT key FROM rows WHERE {done} AND key IN ({marks})", chunk))
    return found


def controls_for_run(run_id: str, path: str | os.PathLike | None = None) -> list[tuple[str, int]]:
    """(model, prompt tokens) of the text-only control answers for a run's prompt and models."""
    with _reader(path) as conn:
        if conn is None:
            return []
        run = conn.execute("SELECT prompt, models FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if run is None:
            return []
        prompt_sha = hashlib.sha256(run[0].encode("utf-8")).hexdigest()
        models = json.loads(run[1])
        marks = ",".join("?" * len(models))
        return conn.execute(
            f"SELECT model, prompt_tokens FROM rows WHERE kind = 'control' AND status = 'ok' AND prompt_sha256 = ?"
            f" AND prompt_tokens IS NOT NULL AND model IN ({marks})",
            [prompt_sha, *models],
        ).fetchall()


def stored_measurements(path: str | os.PathLike | None = None) -> list[tuple]:
    """(model, width_px, height_px, page prompt tokens, control prompt tokens, estimated image tokens, page completion
    tokens, page reasoning tokens) per answered page.

    Read-only: no store, no rows (nothing is created).
    """
    file = get_trials_path(path)
    if not file.exists():
        return []
    with _reader(file) as conn:
        if conn is None:
            return []
        return conn.execute(
            "SELECT p.model, p.width_px, p.height_px, p.prompt_tokens, c.prompt_tokens, p.estimated_image_tokens,"
            " p.completion_tokens, p.reasoning_tokens"
            " FROM rows p JOIN rows c ON c.kind = 'control' AND c.model = p.model AND c.prompt_sha256 = p.prompt_sha256"
            " WHERE p.kind = 'page' AND p.status = 'ok' AND p.prompt_tokens IS NOT NULL AND c.prompt_tokens IS NOT NULL"
            " AND c.status = 'ok'"
        ).fetchall()


MEASURED_COLUMNS = (
    "model",
    "width_px",
    "height_px",
    "pixels",
    "pages",
    "measured_image_tokens",
    "estimated_image_tokens",
    "estimate_ratio",
    "completion_tokens",
    "reasoning_tokens",
)


def measurements(path: str | os.PathLike | None = None, *, models: Sequence[str] | None = None) -> pd.DataFrame:
    """Per model and size sent: pages measured, median measured and estimated image tokens, their ratio.

    A page's measured image tokens are its billed prompt tokens minus those of
    the text-only control for the same model and prompt. ``estimate_ratio`` is
    estimated / measured (above 1: the estimator counts too many).
    ``completion_tokens`` is the median billed completion (answer and any
    reasoning) of those pages, ``reasoning_tokens`` the median of the reasoning
    part where the provider reported it (NaN where none did). No store:
    an empty frame, and no file is created.
    """
    records = stored_measurements(path)
    frame = pd.DataFrame.from_records(
        records,
        columns=[
            "model",
            "width_px",
            "height_px",
            "page_tokens",
            "control_tokens",
            "estimated",
            "completion",
            "reasoning",
        ],
    )
    if models is not None:
        frame = frame[frame["model"].isin(list(models))]
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype="str" if c == "model" else "float64") for c in MEASURED_COLUMNS})
    frame = frame.assign(
        measured=frame["page_tokens"].astype("float64") - frame["control_tokens"].astype("float64"),
        estimated=pd.to_numeric(frame["estimated"], errors="coerce").astype("float64"),
        completion=pd.to_numeric(frame["completion"], errors="coerce").astype("float64"),
        reasoning=pd.to_numeric(frame["reasoning"], errors="coerce").astype("float64"),
    )
    out = (
        frame.groupby(["model", "width_px", "height_px"], sort=True)
        .agg(
            pages=("measured", "size"),
            measured_image_tokens=("measured", "median"),
            estimated_image_tokens=("estimated", "median"),
            completion_tokens=("completion", "median"),
            reasoning_tokens=("reasoning", "median"),
        )
        .reset_index()
    )
    out["pixels"] = out["width_px"].astype("int64") * out["height_px"].astype("int64")
    measured = out["measured_image_tokens"].to_numpy(dtype="float64")
    estimated = out["estimated_image_tokens"].to_numpy(dtype="float64", na_value=np.nan)
    out["estimate_ratio"] = np.divide(estimated, measured, out=np.full(len(out), np.nan), where=measured > 0)
    out = out.astype({"model": "str", "width_px": "int64", "height_px": "int64", "pages": "int64",
                      "measured_image_tokens": "float64", "estimated_image_tokens": "float64"})  # fmt: skip
    return out[list(MEASURED_COLUMNS)].reset_index(drop=True)


def _empty_runs() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64" if c.endswith("usd") else "object") for c in RUN_COLUMNS})

"""The trials store: every (page, model) answer a trial got, kept so it is never paid for twice.

One SQLite file (``trials.sqlite`` beside the HTTP cache, ``$VISION_MODELS_TRIALS``
or ``path=``) holds three tables:

``rows``
    One row per request, keyed by a hash of (page content hash, model, prompt,
    parameters: ``max_tokens``, temperature and the size sent). ``kind`` is
    ``page`` or ``control`` (the same prompt without an image, sent once per
    model and prompt to measure image tokens). ``done`` is set once the row
    need not be sent again: it succeeded, or a provider may have billed it
    (a 2xx answer, or an error carrying ``usage.cost``). A row being sent is
    ``status='sending'`` with the claiming run and time, so two runs on one
    file do not both pay for it.
``runs``
    One row per run: when, the prompt and parameters, the budget, what it
    billed and sent, and its state (``running``, ``finished``, ``interrupted``).
``run_rows``
    Which rows a run covered and with what status (``ok``, ``error``,
    ``skipped-budget``, ``cached``).

Never stored: the API key, request headers, image bytes. Stored: the page's
content hash, its path and index, the size sent, and the model's answer.
Writes take ``BEGIN IMMEDIATE`` on a WAL database with a busy timeout
(:mod:`vision_models.stores.sqlite`); one row is one transaction.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..cache import get_cache_path
from . import sqlite

TRIALS_ENV = "VISION_MODELS_TRIALS"
TRIALS_FILE = "trials.sqlite"
SCHEMA_VERSION = 1

#: Columns of ``rows`` a finished request fills, in order.
ROW_FIELDS = (
    "key", "kind", "page", "path", "page_index", "page_sha256", "width_px", "height_px", "model",
    "prompt_sha256", "params", "status", "done", "error", "text", "prompt_tokens", "completion_tokens",
    "billed_usd", "billed_source", "estimated_usd", "estimated_image_tokens", "reserved_usd", "latency_s",
    "attempts", "generation_id", "run_id", "claimed_at", "finished_at",
)  # fmt: skip

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS rows (
        key TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        page TEXT NOT NULL,
        path TEXT NOT NULL,
        page_index INTEGER NOT NULL,
        page_sha256 TEXT NOT NULL,
        width_px INTEGER,
        height_px INTEGER,
        model TEXT NOT NULL,
        prompt_sha256 TEXT NOT NULL,
        params TEXT NOT NULL,
        status TEXT NOT NULL,
        done INTEGER NOT NULL,
        error TEXT,
        text TEXT,
        prompt_tokens INTEGER,
        completion_tokens INTEGER,
        billed_usd REAL,
        billed_source TEXT,
        estimated_usd REAL,
        estimated_image_tokens INTEGER,
        reserved_usd REAL,
        latency_s REAL,
        attempts INTEGER,
        generation_id TEXT,
        run_id TEXT,
        claimed_at REAL,
        finished_at REAL
    )""",
    "CREATE INDEX IF NOT EXISTS rows_model ON rows (model, kind, prompt_sha256)",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id TEXT PRIMARY KEY,
        started_at REAL NOT NULL,
        finished_at REAL,
        state TEXT NOT NULL,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        prompt TEXT NOT NULL,
        params TEXT NOT NULL,
        models TEXT NOT NULL,
        pages INTEGER NOT NULL,
        max_usd REAL,
        billed_usd REAL NOT NULL DEFAULT 0,
        requests INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE IF NOT EXISTS run_rows (
        run_id TEXT NOT NULL,
        key TEXT NOT NULL,
        position INTEGER NOT NULL,
        status TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
    ) WITHOUT ROWID""",
)
_STORE = sqlite.Store("trials", SCHEMA_VERSION, _SCHEMA)

#: Runs of this process still sending: a claim of a run of this process that is not here is void.
_ACTIVE_RUNS: set[str] = set()

RUN_COLUMNS = ("run_id", "started_at", "finished_at", "state", "models", "pages", "rows", "max_usd", "billed_usd", "requests", "prompt")


def get_trials_path(path: str | os.PathLike | None = None) -> Path:
    """The trials file: ``path``, else ``$VISION_MODELS_TRIALS``, else ``trials.sqlite`` beside the HTTP cache."""
    chosen = path or os.environ.get(TRIALS_ENV)
    if chosen:
        return Path(chosen).expanduser()
    return get_cache_path().with_name(TRIALS_FILE)


@dataclass(frozen=True)
class Claim:
    """What :meth:`TrialStore.claim` found: a done row to reuse, another run's claim, or the go-ahead."""

    row: dict[str, Any] | None = None  # the stored row, when it is done
    busy_run: str | None = None  # another live run is sending it


class TrialStore:
    """One open trials file, shared by the threads of a run (one connection, one lock)."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = get_trials_path(path)
        self._lock = threading.Lock()
        self._conn = sqlite.open_writer(self.path, _STORE, shared=True)  # refuses, by name, a file that is not a trials store
        self._conn.row_factory = sqlite3.Row

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> TrialStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock, sqlite.transaction(self._conn):
            yield self._conn

    # ---------------------------------------------------------------- runs

    def start_run(self, run_id: str, *, prompt: str, params: dict, models: Sequence[str], pages: int, max_usd: float | None) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO runs (run_id, started_at, state, host, pid, prompt, params, models, pages, max_usd)"
                " VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?)",
                (run_id, time.time(), socket.gethostname(), os.getpid(), prompt, json.dumps(params, sort_keys=True),
                 json.dumps(list(models)), pages, max_usd),
            )  # fmt: skip
        _ACTIVE_RUNS.add(run_id)

    def finish_run(self, run_id: str, *, state: str, billed_usd: float, requests: int) -> None:
        """Close the run and release the claims it still holds (rows it never sent)."""
        _ACTIVE_RUNS.discard(run_id)
        with self._write() as conn:
            conn.execute(
                "UPDATE runs SET finished_at = ?, state = ?, billed_usd = ?, requests = ? WHERE run_id = ?",
                (time.time(), state, billed_usd, requests, run_id),
            )
            conn.execute("UPDATE rows SET status = 'unsent', claimed_at = NULL WHERE run_id = ? AND status = 'sending'", (run_id,))

    # ---------------------------------------------------------------- rows

    def done_rows(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored rows among ``keys`` that need no sending: key -> row."""
        found: dict[str, dict[str, Any]] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                marks = ",".join("?" * len(chunk))
                for row in self._conn.execute(f"SELECT * FROM rows WHERE done = 1 AND key IN ({marks})", chunk):
                    found[row["key"]] = dict(row)
        return found

    def claim(self, key: str, run_id: str, fields: dict[str, Any], lease_s: float) -> Claim:
        """Take ``key`` for sending, unless it is done or another live run is sending it."""
        now = time.time()
        with self._write() as conn:
            row = conn.execute("SELECT * FROM rows WHERE key = ?", (key,)).fetchone()
            if row is not None and row["done"]:
                return Claim(row=dict(row))
            if (
                row is not None
                and row["status"] == "sending"
                and row["run_id"] != run_id
                and (row["claimed_at"] or 0) > now - lease_s
                and self._run_alive(conn, row["run_id"])
            ):
                return Claim(busy_run=row["run_id"])
            claimed = {**dict.fromkeys(ROW_FIELDS), **fields, "key": key, "status": "sending", "done": 0,
                       "run_id": run_id, "claimed_at": now}  # fmt: skip
            _upsert(conn, claimed)
        return Claim()

    def save(self, row: dict[str, Any], *, run_id: str, position: int, run_status: str) -> None:
        """Store a finished row (one transaction) and note it in the run; a done row is never replaced by a failure."""
        with self._write() as conn:
            old = conn.execute("SELECT done, run_id FROM rows WHERE key = ?", (row["key"],)).fetchone()
            if not (old is not None and old["done"] and not row.get("done")):
                _upsert(conn, {**dict.fromkeys(ROW_FIELDS), **row, "run_id": run_id, "claimed_at": None})
            conn.execute(
                "INSERT OR REPLACE INTO run_rows (run_id, key, position, status) VALUES (?, ?, ?, ?)",
                (run_id, row["key"], position, run_status),
            )

    def note(self, run_id: str, key: str, position: int, run_status: str) -> None:
        """Note a row the run covered without sending (cached, skipped)."""
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO run_rows (run_id, key, position, status) VALUES (?, ?, ?, ?)",
                (run_id, key, position, run_status),
            )

    def note_many(self, run_id: str, entries: Sequence[tuple[str, int, str]]) -> None:
        """Note many rows at once (one transaction): (key, position, status)."""
        if not entries:
            return
        with self._write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO run_rows (run_id, key, position, status) VALUES (?, ?, ?, ?)",
                [(run_id, key, position, status) for key, position, status in entries],
            )

    @staticmethod
    def _run_alive(conn: sqlite3.Connection, run_id: str) -> bool:
        run = conn.execute("SELECT state, host, pid FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if run is None or run["state"] != "running":
            return False
        if run["host"] != socket.gethostname():
            return True
        if int(run["pid"]) == os.getpid():  # a notebook's kernel outlives its runs: ask which are still going
            return run_id in _ACTIVE_RUNS
        return _pid_alive(int(run["pid"]))


def _upsert(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    values = [row.get(name) for name in ROW_FIELDS]
    conn.execute(f"INSERT OR REPLACE INTO rows ({', '.join(ROW_FIELDS)}) VALUES ({', '.join('?' * len(ROW_FIELDS))})", values)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ---------------------------------------------------------------- reading


def list_runs(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """One row per run, newest first; an empty frame when there is no store (none is created)."""
    with sqlite.reader(get_trials_path(path), _STORE) as conn:
        if conn is None:
            return _empty_runs()
        records = conn.execute(
            "SELECT r.run_id, r.started_at, r.finished_at, r.state, r.models, r.pages,"
            " (SELECT COUNT(*) FROM run_rows x WHERE x.run_id = r.run_id) AS rows,"
            " r.max_usd, r.billed_usd, r.requests, r.prompt FROM runs r ORDER BY r.started_at DESC, r.run_id"
        ).fetchall()
    if not records:
        return _empty_runs()
    runs = pd.DataFrame.from_records(records, columns=list(RUN_COLUMNS))
    for column in ("started_at", "finished_at"):
        runs[column] = pd.to_datetime(runs[column].astype("float64"), unit="s", utc=True)
    runs["models"] = [", ".join(json.loads(m)) for m in runs["models"].tolist()]
    return runs.astype({"run_id": "str", "state": "str", "models": "str", "prompt": "str", "pages": "int64", "rows": "int64",
                        "max_usd": "float64", "billed_usd": "float64", "requests": "int64"})  # fmt: skip


def run_rows(run_id: str, path: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """The stored page rows of one run, in its order, with the status they had in that run.

    An unknown run is a ``ValueError`` naming it.
    """
    with sqlite.reader(get_trials_path(path), _STORE) as conn:
        if conn is None or conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is None:
            raise ValueError(f"unknown trial run {run_id!r}: see vision-models trials list")
        conn.row_factory = sqlite3.Row
        records = conn.execute(
            "SELECT rows.*, run_rows.status AS run_status FROM run_rows JOIN rows USING (key)"
            " WHERE run_rows.run_id = ? AND rows.kind = 'page' ORDER BY run_rows.position",
            (run_id,),
        ).fetchall()
    return [dict(r) for r in records]


def run_prompt(run_id: str, path: str | os.PathLike | None = None) -> str:
    with sqlite.reader(get_trials_path(path), _STORE) as conn:
        row = None if conn is None else conn.execute("SELECT prompt FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    if row is None:
        raise ValueError(f"unknown trial run {run_id!r}: see vision-models trials list")
    return row[0]


def done_keys(keys: Sequence[str], path: str | os.PathLike | None = None) -> set[str]:
    """The keys among ``keys`` whose rows need no sending; read-only (no store, nothing done)."""
    file = get_trials_path(path)
    if not file.exists():
        return set()
    found: set[str] = set()
    with sqlite.reader(file, _STORE) as conn:
        if conn is None:
            return found
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            marks = ",".join("?" * len(chunk))
            found.update(k for (k,) in conn.execute(f"SELECT key FROM rows WHERE done = 1 AND key IN ({marks})", chunk))
    return found


def controls_for_run(run_id: str, path: str | os.PathLike | None = None) -> list[tuple[str, int]]:
    """(model, prompt tokens) of the text-only control answers for a run's prompt and models."""
    with sqlite.reader(get_trials_path(path), _STORE) as conn:
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
    """(model, width_px, height_px, page prompt tokens, control prompt tokens, estimated image tokens) per answered page.

    Read-only: no store, no rows (nothing is created).
    """
    file = get_trials_path(path)
    if not file.exists():
        return []
    with sqlite.reader(file, _STORE) as conn:
        if conn is None:
            return []
        return conn.execute(
            "SELECT p.model, p.width_px, p.height_px, p.prompt_tokens, c.prompt_tokens, p.estimated_image_tokens"
            " FROM rows p JOIN rows c ON c.kind = 'control' AND c.model = p.model AND c.prompt_sha256 = p.prompt_sha256"
            " WHERE p.kind = 'page' AND p.status = 'ok' AND p.prompt_tokens IS NOT NULL AND c.prompt_tokens IS NOT NULL"
            " AND c.status = 'ok'"
        ).fetchall()


MEASURED_COLUMNS = ("model", "width_px", "height_px", "pixels", "pages", "measured_image_tokens", "estimated_image_tokens", "estimate_ratio")


def measurements(path: str | os.PathLike | None = None, *, models: Sequence[str] | None = None) -> pd.DataFrame:
    """Per model and size sent: pages measured, median measured and estimated image tokens, their ratio.

    A page's measured image tokens are its billed prompt tokens minus those of
    the text-only control for the same model and prompt. ``estimate_ratio`` is
    estimated / measured (above 1: the estimator counts too many). No store:
    an empty frame, and no file is created.
    """
    records = stored_measurements(path)
    frame = pd.DataFrame.from_records(records, columns=["model", "width_px", "height_px", "page_tokens", "control_tokens", "estimated"])
    if models is not None:
        frame = frame[frame["model"].isin(list(models))]
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype="str" if c == "model" else "float64") for c in MEASURED_COLUMNS})
    frame = frame.assign(
        measured=frame["page_tokens"].astype("float64") - frame["control_tokens"].astype("float64"),
        estimated=pd.to_numeric(frame["estimated"], errors="coerce").astype("float64"),
    )
    out = (
        frame.groupby(["model", "width_px", "height_px"], sort=True)
        .agg(pages=("measured", "size"), measured_image_tokens=("measured", "median"), estimated_image_tokens=("estimated", "median"))
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

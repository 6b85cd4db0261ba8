"""The trials store: every (page, model) answer a trial got, kept so it is never paid for twice.

One SQLite file (``trials.sqlite`` beside the HTTP cache, ``$VISION_MODELS_TRIALS``
or ``path=``) holds three tables:

``rows``
    One row per request, keyed by a hash of (page content hash, model, prompt,
    parameters: ``max_tokens``, temperature and the size sent). ``kind`` is
    ``page`` or ``control`` (the same prompt without an image, sent once per
    model and prompt to measure image tokens). ``done`` is set once the row
    need not be sent again: it succeeded, or a provider may have billed it
    (a 2xx answer, an error carrying ``usage.cost``, or a request lost after
    it was sent). ``cost_status`` says what is known of its cost: ``billed``
    (``billed_usd``), ``unknown`` (``unknown_usd``: the reserve kept as spent)
    or ``none``. A row being sent is ``status='sending'`` with the claiming run,
    time and reserve, so two runs on one file do not both pay for it; a claim
    whose run died becomes a done row of unknown cost, never sent again
    unless asked.
``runs``
    One row per run: when, the prompt and parameters, its plan (a hash of its
    request keys), the budget asked (``max_usd``) and what was left of it
    (``cap_usd``), what it billed and spent of unknown cost (kept current as
    rows are saved) and sent, and its state (``running``, ``finished``,
    ``interrupted``).
``run_rows``
    Which rows a run covered, at which position, under which page name, and
    with what status (``ok``, ``error``, ``skipped-budget``, ``cached``).

Each file carries the store's ``application_id``; a file of version 1 is
brought to version 2 on its first open.

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

from ..http.cache import get_cache_path
from . import sqlite

TRIALS_ENV = "VISION_MODELS_TRIALS"
TRIALS_FILE = "trials.sqlite"
SCHEMA_VERSION = 2

#: Columns of ``rows`` a finished request fills, in order.
ROW_FIELDS = (
    "key", "kind", "page", "path", "page_index", "page_sha256", "width_px", "height_px", "model",
    "prompt_sha256", "params", "status", "done", "error", "text", "prompt_tokens", "completion_tokens",
    "billed_usd", "billed_source", "estimated_usd", "estimated_image_tokens", "reserved_usd", "latency_s",
    "attempts", "generation_id", "run_id", "claimed_at", "finished_at", "unknown_usd", "cost_status", "finish_reason",
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
        finished_at REAL,
        unknown_usd REAL,
        cost_status TEXT,
        finish_reason TEXT
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
        requests INTEGER NOT NULL DEFAULT 0,
        unknown_usd REAL NOT NULL DEFAULT 0,
        plan_sha256 TEXT,
        cap_usd REAL
    )""",
    """CREATE TABLE IF NOT EXISTS run_rows (
        run_id TEXT NOT NULL,
        key TEXT NOT NULL,
        position INTEGER NOT NULL,
        status TEXT NOT NULL,
        page TEXT,
        path TEXT,
        PRIMARY KEY (run_id, position)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS runs_plan ON runs (plan_sha256, started_at)",
)
#: Version 1 to 2: costs of unknown amount kept apart from bills; runs know their plan and budget;
#: a run may cover one key at two positions (identical page files).
_MIGRATIONS = {
    1: (
        "ALTER TABLE rows ADD COLUMN unknown_usd REAL",
        "ALTER TABLE rows ADD COLUMN cost_status TEXT",
        "ALTER TABLE rows ADD COLUMN finish_reason TEXT",
        "UPDATE rows SET cost_status = CASE WHEN billed_usd IS NOT NULL THEN 'billed'"
        " WHEN done = 1 AND status != 'ok' THEN 'unknown' ELSE 'none' END",
        "UPDATE rows SET unknown_usd = reserved_usd WHERE cost_status = 'unknown'",
        "ALTER TABLE runs ADD COLUMN unknown_usd REAL NOT NULL DEFAULT 0",
        "ALTER TABLE runs ADD COLUMN plan_sha256 TEXT",
        "ALTER TABLE runs ADD COLUMN cap_usd REAL",
        "CREATE INDEX IF NOT EXISTS runs_plan ON runs (plan_sha256, started_at)",
        """CREATE TABLE run_rows_2 (
            run_id TEXT NOT NULL, key TEXT NOT NULL, position INTEGER NOT NULL, status TEXT NOT NULL,
            page TEXT, path TEXT, PRIMARY KEY (run_id, position)
        ) WITHOUT ROWID""",
        "INSERT OR REPLACE INTO run_rows_2 (run_id, key, position, status) SELECT run_id, key, position, status FROM run_rows",
        "DROP TABLE run_rows",
        "ALTER TABLE run_rows_2 RENAME TO run_rows",
    ),
}
_STORE = sqlite.Store("trials", SCHEMA_VERSION, _SCHEMA, _MIGRATIONS)
#: What a claim left ``sending`` by a run that died becomes: it may have reached the provider.
_ORPHAN_ERROR = "the run stopped while this request was in flight (killed?): it may have been billed; cost unknown"

#: Runs of this process still sending: a claim of a run of this process that is not here is void.
_ACTIVE_RUNS: set[str] = set()

RUN_COLUMNS = (
    "run_id", "started_at", "finished_at", "state", "models", "pages", "rows", "max_usd", "budget_usd", "billed_usd",
    "unknown_usd", "requests", "prompt",
)  # fmt: skip


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

    def start_run(self, run_id: str, *, prompt: str, params: dict, models: Sequence[str], pages: int, max_usd: float | None,
                  plan_sha256: str | None = None, cap_usd: float | None = None) -> None:  # fmt: skip
        with self._write() as conn:
            conn.execute(
                "INSERT INTO runs (run_id, started_at, state, host, pid, prompt, params, models, pages, max_usd, plan_sha256,"
                " cap_usd) VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, time.time(), socket.gethostname(), os.getpid(), prompt, json.dumps(params, sort_keys=True),
                 json.dumps(list(models)), pages, max_usd, plan_sha256, max_usd if cap_usd is None else cap_usd),
            )  # fmt: skip
        _ACTIVE_RUNS.add(run_id)

    def finish_run(self, run_id: str, *, state: str, billed_usd: float, requests: int, unknown_usd: float = 0.0) -> None:
        """Close the run; claims it still holds may have been sent (it was stopped mid-request): ``unknown`` cost."""
        _ACTIVE_RUNS.discard(run_id)
        with self._write() as conn:
            orphaned = _orphan_claims(conn, "run_id = ?", (run_id,))
            conn.execute(
                "UPDATE runs SET finished_at = ?, state = ?, billed_usd = ?, unknown_usd = ?, requests = ? WHERE run_id = ?",
                (time.time(), state, billed_usd, unknown_usd + orphaned, requests, run_id),
            )

    def recover(self) -> int:
        """Runs that died (kill -9, a crash) are marked ``interrupted``; their claims become ``unknown`` cost, never resent.

        Returns how many runs were recovered.
        """
        with self._write() as conn:
            dead = [r["run_id"] for r in conn.execute("SELECT run_id FROM runs WHERE state = 'running'").fetchall()
                    if not self._run_alive(conn, r["run_id"])]  # fmt: skip
            for run_id in dead:
                orphaned = _orphan_claims(conn, "run_id = ?", (run_id,))
                conn.execute(
                    "UPDATE runs SET state = 'interrupted', finished_at = COALESCE(finished_at, ?),"
                    " unknown_usd = unknown_usd + ? WHERE run_id = ?",
                    (time.time(), orphaned, run_id),
                )
        return len(dead)

    def budget_left(self, plan_sha256: str, max_usd: float) -> float:
        """What a run of this plan may spend: ``max_usd`` less what earlier runs of the plan spent of that same budget.

        The budget carries over while ``max_usd`` stays the same; another
        amount (or ``new_budget``) starts afresh.
        """
        with self._lock:
            last = self._conn.execute(
                "SELECT max_usd, cap_usd, billed_usd, unknown_usd FROM runs WHERE plan_sha256 = ?"
                " ORDER BY started_at DESC, rowid DESC LIMIT 1",
                (plan_sha256,),
            ).fetchone()
        if last is None or last["max_usd"] is None or abs(float(last["max_usd"]) - max_usd) > 1e-12:
            return max_usd
        cap = float(last["cap_usd"]) if last["cap_usd"] is not None else float(last["max_usd"])
        return max(0.0, min(max_usd, cap - float(last["billed_usd"] or 0.0) - float(last["unknown_usd"] or 0.0)))

    def unknown_keys(self, keys: Sequence[str]) -> set[str]:
        """The keys among ``keys`` stored as sent with an unknown cost (what ``retry_unknown`` sends again)."""
        found: set[str] = set()
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                marks = ",".join("?" * len(chunk))
                found.update(r[0] for r in self._conn.execute(
                    f"SELECT key FROM rows WHERE {_UNKNOWN} AND key IN ({marks})", chunk))  # fmt: skip
        return found

    # ---------------------------------------------------------------- rows

    def done_rows(self, keys: Sequence[str], *, retry_unknown: bool = False) -> dict[str, dict[str, Any]]:
        """The stored rows among ``keys`` that need no sending: key -> row (``retry_unknown``: not those of unknown cost)."""
        found: dict[str, dict[str, Any]] = {}
        done = _done_sql(retry_unknown)
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                marks = ",".join("?" * len(chunk))
                for row in self._conn.execute(f"SELECT * FROM rows WHERE {done} AND key IN ({marks})", chunk):
                    found[row["key"]] = dict(row)
        return found

    def claim(self, key: str, run_id: str, fields: dict[str, Any], lease_s: float, *, retry_unknown: bool = False) -> Claim:
        """Take ``key`` for sending, unless it is done or another run is (or was) sending it.

        A claim of a run that is no longer alive, or older than its lease, may
        have reached the provider: it becomes a done row of ``unknown`` cost and
        is not sent again (unless ``retry_unknown``).
        """
        now = time.time()
        with self._write() as conn:
            row = conn.execute("SELECT * FROM rows WHERE key = ?", (key,)).fetchone()
            if row is not None and row["status"] == "sending":
                if row["run_id"] != run_id and (row["claimed_at"] or 0) > now - lease_s and self._run_alive(conn, row["run_id"]):
                    return Claim(busy_run=row["run_id"])
                orphaned = _orphan_claims(conn, "key = ?", (key,))
                conn.execute("UPDATE runs SET unknown_usd = unknown_usd + ? WHERE run_id = ?", (orphaned, row["run_id"]))
                row = conn.execute("SELECT * FROM rows WHERE key = ?", (key,)).fetchone()
            if row is not None and row["done"] and not (retry_unknown and _is_unknown(row)):
                return Claim(row=dict(row))
            prior = row["unknown_usd"] if row is not None else None  # spent by an earlier attempt of unknown cost
            claimed = {**dict.fromkeys(ROW_FIELDS), "unknown_usd": prior, **fields, "key": key, "status": "sending", "done": 0,
                       "run_id": run_id, "claimed_at": now}  # fmt: skip
            _upsert(conn, claimed)
        return Claim()

    def save(self, row: dict[str, Any], *, run_id: str, position: int, run_status: str) -> None:
        """Store a finished row, note it in the run and add its cost to the run's totals (one transaction).

        A done row is never replaced by a failure; a row sent again after an
        unknown cost keeps the earlier unknown amount (it was spent too).
        """
        with self._write() as conn:
            old = conn.execute("SELECT * FROM rows WHERE key = ?", (row["key"],)).fetchone()
            if not (old is not None and old["done"] and not row.get("done")):
                carried = float(old["unknown_usd"] or 0.0) if old is not None and old["status"] == "sending" else 0.0
                unknown = float(row.get("unknown_usd") or 0.0) + carried
                _upsert(conn, {**dict.fromkeys(ROW_FIELDS), **row, "unknown_usd": unknown or None, "run_id": run_id,
                               "claimed_at": None})  # fmt: skip
            conn.execute(
                "INSERT OR REPLACE INTO run_rows (run_id, key, position, status, page, path) VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, row["key"], position, run_status, row.get("page"), row.get("path")),
            )
            conn.execute(
                "UPDATE runs SET billed_usd = billed_usd + ?, unknown_usd = unknown_usd + ? WHERE run_id = ?",
                (float(row.get("billed_usd") or 0.0), float(row.get("unknown_usd") or 0.0), run_id),
            )

    def note(self, run_id: str, key: str, position: int, run_status: str, page: str | None = None, path: str | None = None) -> None:
        """Note a row the run covered without sending (cached, skipped)."""
        self.note_many(run_id, [(key, position, run_status, page, path)])

    def note_many(self, run_id: str, entries: Sequence[tuple]) -> None:
        """Note many rows at once (one transaction): (key, position, status[, page, path])."""
        if not entries:
            return
        with self._write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO run_rows (run_id, key, position, status, page, path) VALUES (?, ?, ?, ?, ?, ?)",
                [(run_id, *entry[:3], *(tuple(entry[3:5]) + (None, None))[:2]) for entry in entries],
            )

    @staticmethod
    def _run_alive(conn: sqlite3.Connection, run_id: str) -> bool:
        run = conn.execute("SELECT state, host, pid FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if run is None or run[0] != "running":
            return False
        return _owner_alive(run_id, run[1], int(run[2]))


def _owner_alive(run_id: str, host: str, pid: int) -> bool:
    """Whether the process that started a run still runs it (another host's runs are taken as alive)."""
    if host != socket.gethostname():
        return True
    if pid == os.getpid():  # a notebook's kernel outlives its runs: ask which are still going
        return run_id in _ACTIVE_RUNS
    return _pid_alive(pid)


#: A row a provider may have billed without a known amount.
_UNKNOWN = "(done = 1 AND status != 'ok' AND cost_status = 'unknown')"


def _done_sql(retry_unknown: bool) -> str:
    return f"(done = 1 AND NOT {_UNKNOWN})" if retry_unknown else "done = 1"


def _is_unknown(row: sqlite3.Row) -> bool:
    return bool(row["done"]) and row["status"] != "ok" and row["cost_status"] == "unknown"


def _orphan_claims(conn: sqlite3.Connection, where: str, args: tuple) -> float:
    """Claims left ``sending`` (matching ``where``) become done rows of unknown cost; returns their reserves."""
    claims = conn.execute(f"SELECT key, reserved_usd, unknown_usd FROM rows WHERE status = 'sending' AND {where}", args).fetchall()
    total = 0.0
    for claim in claims:
        reserved = float(claim["reserved_usd"] or 0.0)
        total += reserved
        conn.execute(
            "UPDATE rows SET status = 'unknown', done = 1, cost_status = 'unknown', unknown_usd = ?, error = ?,"
            " claimed_at = NULL, finished_at = ? WHERE key = ?",
            (reserved + float(claim["unknown_usd"] or 0.0), _ORPHAN_ERROR, time.time(), claim["key"]),
        )
    return total


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


def run_rows(run_id: str, path: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """The stored page rows of one run, in its order, with the status they had in that run.

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
    return [_as_covered(dict(r)) for r in records]


def _as_covered(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row under the name the run gave it (an identical page file of another name shares the row)."""
    page, path = row.pop("run_page"), row.pop("run_path")
    row["duplicate_of"] = row["page"] if page is not None and page != row["page"] else None
    if page is not None:
        row["page"], row["path"] = page, path
    return row


def run_prompt(run_id: str, path: str | os.PathLike | None = None) -> str:
    with _reader(path) as conn:
        row = None if conn is None else conn.execute("SELECT prompt FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    if row is None:
        raise ValueError(f"unknown trial run {run_id!r}: see vision-models trials list")
    return row[0]


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
    """(model, width_px, height_px, page prompt tokens, control prompt tokens, estimated image tokens) per answered page.

    Read-only: no store, no rows (nothing is created).
    """
    file = get_trials_path(path)
    if not file.exists():
        return []
    with _reader(file) as conn:
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

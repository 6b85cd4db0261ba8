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

Rows go in and come out as :class:`~vision_models.stores.trial_schema.TrialRow` (a field per column).

Never stored: the API key, request headers, image bytes. Stored: the page's
content hash, its path and index, the size sent, and the model's answer.
Writes take ``BEGIN IMMEDIATE`` on a WAL database with a busy timeout
(:mod:`vision_models.stores.sqlite`); one row is one transaction.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

from . import sqlite
from .trial_reads import (  # noqa: F401 (the store's reading side, under the names it has always had)
    MEASURED_COLUMNS,
    controls_for_run,
    done_keys,
    list_runs,
    measurements,
    run_params,
    run_prompt,
    run_rows,
    stored_measurements,
)
from .trial_schema import (  # noqa: F401
    _ACTIVE_RUNS,
    _STORE,
    _UNKNOWN,
    ROW_FIELDS,
    RUN_COLUMNS,
    SCHEMA_VERSION,
    TRIALS_ENV,
    TRIALS_FILE,
    TrialRow,
    _done_sql,
    _is_unknown,
    _owner_alive,
    get_trials_path,
)

#: What a claim left ``sending`` by a run that died becomes: it may have reached the provider.
_ORPHAN_ERROR = "the run stopped while this request was in flight (killed?): it may have been billed; cost unknown"


@dataclass(frozen=True)
class Claim:
    """What :meth:`TrialStore.claim` found: a done row to reuse, another run's claim, or the go-ahead."""

    row: TrialRow | None = None  # the stored row, when it is done
    busy_run: str | None = None  # another live run is sending it


class TrialStore:
    """One open trials file, shared by the threads of a run (one connection, one lock)."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = get_trials_path(path)
        self._lock = threading.Lock()
        self._conn = sqlite.open_writer(
            self.path, _STORE, shared=True
        )  # refuses, by name, a file that is not a trials store
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

    def finish_run(
        self, run_id: str, *, state: str, billed_usd: float, requests: int, unknown_usd: float = 0.0
    ) -> None:
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

    def done_rows(self, keys: Sequence[str], *, retry_unknown: bool = False) -> dict[str, TrialRow]:
        """The stored rows among ``keys`` that need no sending: key -> row (``retry_unknown``: not those of unknown cost)."""
        found: dict[str, TrialRow] = {}
        done = _done_sql(retry_unknown)
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                marks = ",".join("?" * len(chunk))
                for row in self._conn.execute(f"SELECT * FROM rows WHERE {done} AND key IN ({marks})", chunk):
                    found[row["key"]] = TrialRow.from_mapping(row)
        return found

    def claim(self, key: str, run_id: str, row: TrialRow, lease_s: float, *, retry_unknown: bool = False) -> Claim:
        """Take ``key`` for sending (``row`` as it is claimed), unless it is done or another run is (or was) sending it.

        A claim of a run that is no longer alive, or older than its lease, may
        have reached the provider: it becomes a done row of ``unknown`` cost and
        is not sent again (unless ``retry_unknown``).
        """
        now = time.time()
        with self._write() as conn:
            old = conn.execute("SELECT * FROM rows WHERE key = ?", (key,)).fetchone()
            if old is not None and old["status"] == "sending":
                if (
                    old["run_id"] != run_id
                    and (old["claimed_at"] or 0) > now - lease_s
                    and self._run_alive(conn, old["run_id"])
                ):
                    return Claim(busy_run=old["run_id"])
                orphaned = _orphan_claims(conn, "key = ?", (key,))
                conn.execute(
                    "UPDATE runs SET unknown_usd = unknown_usd + ? WHERE run_id = ?", (orphaned, old["run_id"])
                )
                old = conn.execute("SELECT * FROM rows WHERE key = ?", (key,)).fetchone()
            if old is not None and old["done"] and not (retry_unknown and _is_unknown(old)):
                return Claim(row=TrialRow.from_mapping(old))
            prior = old["unknown_usd"] if old is not None else None  # spent by an earlier attempt of unknown cost
            _upsert(
                conn, replace(row, unknown_usd=prior, key=key, status="sending", done=0, run_id=run_id, claimed_at=now)
            )
        return Claim()

    def save(self, row: TrialRow, *, run_id: str, position: int, run_status: str) -> None:
        """Store a finished row, note it in the run and add its cost to the run's totals (one transaction).

        A done row is never replaced by a failure; a row sent again after an
        unknown cost keeps the earlier unknown amount (it was spent too).
        """
        with self._write() as conn:
            old = conn.execute("SELECT * FROM rows WHERE key = ?", (row.key,)).fetchone()
            if not (old is not None and old["done"] and not row.done):
                carried = float(old["unknown_usd"] or 0.0) if old is not None and old["status"] == "sending" else 0.0
                unknown = float(row.unknown_usd or 0.0) + carried
                _upsert(conn, replace(row, unknown_usd=unknown or None, run_id=run_id, claimed_at=None))
            conn.execute(
                "INSERT OR REPLACE INTO run_rows (run_id, key, position, status, page, path) VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, row.key, position, run_status, row.page, row.path),
            )
            conn.execute(
                "UPDATE runs SET billed_usd = billed_usd + ?, unknown_usd = unknown_usd + ? WHERE run_id = ?",
                (float(row.billed_usd or 0.0), float(row.unknown_usd or 0.0), run_id),
            )

    def note(
        self, run_id: str, key: str, position: int, run_status: str, page: str | None = None, path: str | None = None
    ) -> None:
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


def _orphan_claims(conn: sqlite3.Connection, where: str, args: tuple) -> float:
    """Claims left ``sending`` (matching ``where``) become done rows of unknown cost; returns their reserves."""
    claims = conn.execute(
        f"SELECT key, reserved_usd, unknown_usd FROM rows WHERE status = 'sending' AND {where}", args
    ).fetchall()
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


def _upsert(conn: sqlite3.Connection, row: TrialRow) -> None:
    values = row.stored_values()
    conn.execute(
        f"INSERT OR REPLACE INTO rows ({', '.join(ROW_FIELDS)}) VALUES ({', '.join('?' * len(ROW_FIELDS))})", values
    )

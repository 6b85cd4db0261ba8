"""The trials store's file and schema: where it is, its tables and migrations, what a row that is done means,
and whether the run that claimed a row is still alive.
"""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ..settings import TRIALS_ENV, Settings, env_value  # noqa: F401 (TRIALS_ENV: its old home, still importable here)
from . import sqlite

TRIALS_FILE = "trials.sqlite"
SCHEMA_VERSION = 5

#: Columns of ``rows`` a finished request fills, in order.
ROW_FIELDS = (
    "key", "kind", "page", "path", "page_index", "page_sha256", "width_px", "height_px", "model",
    "prompt_sha256", "params", "status", "done", "error", "text", "prompt_tokens", "completion_tokens",
    "billed_usd", "billed_source", "estimated_usd", "estimated_image_tokens", "reserved_usd", "latency_s",
    "attempts", "generation_id", "run_id", "claimed_at", "finished_at", "unknown_usd", "cost_status", "finish_reason",
    "reasoning_tokens",
    "repeat", "parsed", "json_valid", "fields_total", "fields_correct", "field_accuracy", "critical_ok", "field_errors",
    "truncated", "looped", "empty", "refused", "ok", "tesseract_confidence",
)  # fmt: skip
#: The evidence columns (version 4): the repeat index, the parsed answer and its scores, the failure flags.
_EVIDENCE_COLUMNS = (
    ("repeat", "INTEGER NOT NULL DEFAULT 0"), ("parsed", "TEXT"), ("json_valid", "INTEGER"), ("fields_total", "INTEGER"),
    ("fields_correct", "INTEGER"), ("field_accuracy", "REAL"), ("critical_ok", "INTEGER"), ("field_errors", "TEXT"),
    ("truncated", "INTEGER"), ("looped", "INTEGER"), ("empty", "INTEGER"), ("refused", "INTEGER"), ("ok", "INTEGER"),
)  # fmt: skip


@dataclass(slots=True)
class TrialRow:
    """One request's row: a column of ``rows`` per field (:data:`ROW_FIELDS`), and, as a run shows it,
    ``duplicate_of`` (the earlier page an identical file repeats; not stored).

    ``kind`` is ``page`` or ``control``; ``status`` is the row's own, or, in a run's rows, what it was in that run.
    """

    key: str = ""
    kind: str = "page"
    page: str = ""
    path: str = ""
    page_index: int | None = None
    page_sha256: str = ""
    width_px: int | None = None
    height_px: int | None = None
    model: str = ""
    prompt_sha256: str = ""
    params: str = "{}"
    status: str | None = None
    done: int = 0
    error: str | None = None
    text: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    billed_usd: float | None = None
    billed_source: str | None = None
    estimated_usd: float | None = None
    estimated_image_tokens: int | None = None
    reserved_usd: float | None = None
    latency_s: float | None = None
    attempts: int | None = None
    generation_id: str | None = None
    run_id: str | None = None
    claimed_at: float | None = None
    finished_at: float | None = None
    unknown_usd: float | None = None
    cost_status: str | None = None
    finish_reason: str | None = None
    reasoning_tokens: int | None = None
    repeat: int = 0  # which of the trial's ``repeats`` sends of the page this is (0: the first)
    parsed: str | None = None  # the JSON object read from the answer (JSON text), with a schema
    json_valid: int | None = None
    fields_total: int | None = None
    fields_correct: int | None = None
    field_accuracy: float | None = None
    critical_ok: int | None = None
    field_errors: str | None = None
    truncated: int | None = None
    looped: int | None = None
    empty: int | None = None
    refused: int | None = None
    ok: int | None = None
    tesseract_confidence: float | None = None  # Tesseract's mean word confidence (0-100) on its own rows
    duplicate_of: str | None = None

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | sqlite3.Row) -> TrialRow:
        """A row from a stored record (or any mapping): the fields it names; other keys are left out."""
        given = set(values.keys())
        return cls(**{name: values[name] for name in _ROW_NAMES if name in given})

    def as_dict(self) -> dict[str, Any]:
        """Every field by name, shallow (the values are plain; ``dataclasses.asdict`` would deep-copy each one,
        which cost a 200-row trial a third of its time)."""
        return {name: getattr(self, name) for name in _ROW_NAMES}

    def stored_values(self) -> list[Any]:
        """The values of :data:`ROW_FIELDS`, in order (what ``rows`` holds)."""
        return [getattr(self, name) for name in ROW_FIELDS]


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
        finish_reason TEXT,
        reasoning_tokens INTEGER,
        """
    + ",\n        ".join(f"{name} {kind}" for name, kind in _EVIDENCE_COLUMNS)
    + """,
        tesseract_confidence REAL
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
#: a run may cover one key at two positions (identical page files). Version 2 to 3: each row's reasoning tokens
#: (``usage.completion_tokens_details.reasoning_tokens``; unknown for rows answered before).
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
    2: ("ALTER TABLE rows ADD COLUMN reasoning_tokens INTEGER",),
    # Version 3 to 4: the evidence of each answer (repeat index, parsed object, field scores, failure flags);
    # rows stored before are repeat 0, their evidence empty (the results recompute it from the text).
    3: tuple(f"ALTER TABLE rows ADD COLUMN {name} {kind}" for name, kind in _EVIDENCE_COLUMNS),
    # Version 4 to 5: Tesseract's mean word confidence on its rows (unknown for rows read before).
    4: ("ALTER TABLE rows ADD COLUMN tesseract_confidence REAL",),
}
_ROW_NAMES = tuple(f.name for f in fields(TrialRow))
_STORE = sqlite.Store("trials", SCHEMA_VERSION, _SCHEMA, _MIGRATIONS)

#: Runs of this process still sending: a claim of a run of this process that is not here is void.
_ACTIVE_RUNS: set[str] = set()

RUN_COLUMNS = (
    "run_id", "started_at", "finished_at", "state", "models", "pages", "rows", "max_usd", "budget_usd", "billed_usd",
    "unknown_usd", "requests", "prompt",
)  # fmt: skip


def get_trials_path(path: str | os.PathLike | None = None, settings: Settings | None = None) -> Path:
    """The trials file: ``path``, else ``settings.trials_path`` (no settings: ``$VISION_MODELS_TRIALS``),
    else ``trials.sqlite`` beside the HTTP cache."""
    return sqlite.store_path(path, settings, "trials_path", TRIALS_FILE)


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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

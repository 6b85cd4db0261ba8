"""The history store: snapshots and model versions as rows, and the instants they are keyed by.

Rows in, rows out: :mod:`vision_models.catalog.history` turns catalogs into these rows and back into frames.
One row of ``versions`` is a run of one model's attributes (``ATTRIBUTES``) from ``valid_from`` until
``valid_to`` (exclusive; NULL while current); instants are integer microseconds since the epoch, UTC.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
import warnings
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import overload

import pandas as pd

from ..common import as_utc, check_known
from ..settings import HISTORY_ENV, Settings, env_value  # noqa: F401 (HISTORY_ENV: its old home, still importable here)
from . import sqlite

HISTORY_FILE = "history.sqlite"
SCHEMA_VERSION = 1

PRICES = ("prompt_usd_per_mtok", "completion_usd_per_mtok", "image_price", "request_usd")
ATTRIBUTES = ("name", "context_length", *PRICES, "modality", "input_modalities", "is_vision")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_DAY_US = 86_400_000_000
#: No catalog can have been fetched before OpenRouter existed (2023), nor more than a day from now (clock skew).
_FIRST_FETCH = datetime(2023, 1, 1, tzinfo=UTC)
_FUTURE_SLACK_US = _DAY_US
_NAME_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_VERSION_COLUMNS = ("model_id", "valid_from", "valid_to", *ATTRIBUTES)
_INSERT_VERSION_SQL = (
    f"INSERT INTO versions ({', '.join(_VERSION_COLUMNS)}) VALUES ({', '.join('?' * len(_VERSION_COLUMNS))})"
)
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS snapshots (
        fetched_at INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL,
        source TEXT NOT NULL,
        date_basis TEXT NOT NULL,
        models INTEGER NOT NULL,
        recorded_at INTEGER NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS versions (
        model_id TEXT NOT NULL,
        valid_from INTEGER NOT NULL,
        valid_to INTEGER,
        name TEXT NOT NULL,
        context_length INTEGER,
        prompt_usd_per_mtok REAL,
        completion_usd_per_mtok REAL,
        image_price REAL,
        request_usd REAL,
        modality TEXT NOT NULL,
        input_modalities TEXT NOT NULL,
        is_vision INTEGER NOT NULL,
        PRIMARY KEY (model_id, valid_from)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS versions_end ON versions (model_id, valid_to)",
    "CREATE INDEX IF NOT EXISTS versions_start ON versions (valid_from)",
)
_STORE = sqlite.Store("history", SCHEMA_VERSION, _SCHEMA)


def get_history_path(path: str | os.PathLike | None = None, settings: Settings | None = None) -> Path:
    """The history file: ``path``, else ``settings.history_path`` (no settings: ``$VISION_MODELS_HISTORY``),
    else ``history.sqlite`` beside the HTTP cache."""
    return sqlite.store_path(path, settings, "history_path", HISTORY_FILE)


_AS_OF_SQL = (
    f"SELECT model_id, name, context_length, {', '.join(PRICES)}, modality, input_modalities FROM versions "
    "WHERE valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)"
)


def _insert_versions(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    """Insert version rows (kept apart so tests can interrupt an import half-way)."""
    conn.executemany(_INSERT_VERSION_SQL, rows)


# ---------------------------------------------------------------- reading


_RUN_ATTRIBUTES = ", ".join(f"{{t}}.{a}" for a in ATTRIBUTES)
#: Runs starting in the window, with the run they follow when the model was in the snapshot before.
_STARTS_SQL = (
    f"SELECT n.model_id, n.valid_from, {_RUN_ATTRIBUTES.format(t='n')}, o.valid_from IS NOT NULL, "
    f"{_RUN_ATTRIBUTES.format(t='o')} FROM versions AS n "
    "LEFT JOIN versions AS o ON o.model_id = n.model_id AND o.valid_to = n.valid_from "
    "WHERE n.valid_from BETWEEN ? AND ?"
)
#: Runs ending in the window that no run continues: the model is gone from that snapshot.
_ENDS_SQL = (
    f"SELECT o.model_id, o.valid_to, {_RUN_ATTRIBUTES.format(t='o')} FROM versions AS o "
    "WHERE o.valid_to BETWEEN ? AND ? AND NOT EXISTS "
    "(SELECT 1 FROM versions AS n WHERE n.model_id = o.model_id AND n.valid_from = o.valid_to)"
)


def _check_known(conn: sqlite3.Connection, wanted: list[str]) -> None:
    """Raise ``ValueError`` for ids the history never saw, suggesting close matches."""
    known = [row[0] for row in conn.execute("SELECT DISTINCT model_id FROM versions")]
    if not known:
        return
    check_known(wanted, known, where=": not in the history")


# ---------------------------------------------------------------- files and transactions


def _writer(path: Path):
    return sqlite.writer(path, _STORE)


def _reader(path: Path):
    return sqlite.reader(path, _STORE)


_transaction = sqlite.transaction


# ---------------------------------------------------------------- dates


def _file_date(file: Path, explicit: int | None) -> tuple[int, str]:
    """A file's fetch instant and where it came from: fetched_at, a date in its name, or its mtime."""
    if explicit is not None:
        return explicit, "fetched-at"
    for match in _NAME_DATE.finditer(file.name):
        try:
            day = date(*map(int, match.groups()))
        except ValueError:
            continue
        return _fetch_instant(day, f"date in the file name {file.name!r}"), "file name"
    mtime = datetime.fromtimestamp(file.stat().st_mtime, tz=UTC)
    return _fetch_instant(mtime, f"modification time of {file.name!r}"), "modification time"


def _fetch_instant(value: datetime | date | str, what: str) -> int:
    """:func:`_instant` of a fetch time, refused when no fetch can have happened then.

    Before 2023 OpenRouter did not exist; more than a day ahead of this
    machine's clock is a typo (2999 for 2025), not clock skew. Either would
    sort the history wrongly for good, so it raises naming the value.
    """
    moment = _instant(value, what)
    first = (_FIRST_FETCH - _EPOCH) // _MICROSECOND
    if moment < first:
        raise ValueError(f"bad {what} {value!r}: before 2023, when OpenRouter began; no catalog was fetched then")
    if moment > _now_us() + _FUTURE_SLACK_US:
        raise ValueError(f"bad {what} {value!r}: more than a day in the future; a fetch time cannot be ahead of now")
    return moment


def _query_instant(
    value: datetime | date | str, what: str, *, end_of_day: bool = False, warn_early: bool = True
) -> int:
    """:func:`_instant` of a query bound, with one warning when it lies where no history can be.

    A bound before 2023 or more than a day ahead is not wrong (it means "from
    the start" or "to the end") but is likely a typo: the answer is the same as
    for the history's own first or last date, so say so rather than refuse.
    """
    moment = _instant(value, what, end_of_day=end_of_day)
    first = (_FIRST_FETCH - _EPOCH) // _MICROSECOND
    if moment < first and warn_early:
        warnings.warn(
            f"{what} {value!r} is before 2023, when OpenRouter began: read as the history's first date", stacklevel=3
        )
    elif moment > _now_us() + _FUTURE_SLACK_US + (_DAY_US if end_of_day else 0):
        warnings.warn(f"{what} {value!r} is in the future: read as the history's latest date", stacklevel=3)
    return moment


def _instant(value: datetime | date | str, what: str, *, end_of_day: bool = False) -> int:
    """Microseconds since the epoch (UTC) of a date, datetime or ISO string; a bad value raises naming it.

    Naive datetimes are UTC. A date alone is its midnight, or with
    ``end_of_day`` its last microsecond (so ``until="2026-04-15"`` keeps that day).
    """
    moment: datetime | date | None = None
    if isinstance(value, str):
        text = value.strip()
        try:
            moment = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError:
            moment = None
    elif isinstance(value, (datetime, date)) and not pd.isna(value):
        moment = value
    if moment is None:
        example = "2026-04-01 or 2026-04-01T12:00Z"
        raise ValueError(f"bad {what} {value!r}: expected an ISO date or datetime such as {example}")
    if not isinstance(moment, datetime):
        start = (datetime(moment.year, moment.month, moment.day, tzinfo=UTC) - _EPOCH) // _MICROSECOND
        return start + _DAY_US - 1 if end_of_day else start
    try:
        aware = as_utc(moment)
    except OverflowError:  # 9999-12-31T23:59:59-23:59 is after the last datetime in UTC
        raise ValueError(f"bad {what} {value!r}: outside the dates Python can hold once moved to UTC") from None
    return (aware - _EPOCH) // _MICROSECOND


def _now_us() -> int:
    return time.time_ns() // 1000


@overload
def _datetime(moment: int) -> datetime: ...
@overload
def _datetime(moment: None) -> None: ...
def _datetime(moment: int | None) -> datetime | None:
    return None if moment is None else _EPOCH + timedelta(microseconds=moment)


def _timestamp(moment: int) -> pd.Timestamp:
    return pd.Timestamp(moment, unit="us", tz="UTC")

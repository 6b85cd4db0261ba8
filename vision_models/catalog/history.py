"""Catalog history: every fetch leaves a record, and what changed can be asked later.

One SQLite file (``history.sqlite`` beside the HTTP cache, ``$VISION_MODELS_HISTORY``
or ``path=``) holds two tables:

``snapshots``
    One row per recorded fetch: ``fetched_at`` (microseconds since the epoch,
    UTC; one catalog per instant), the ``sha256`` of the decompressed body,
    ``source``, ``date_basis`` (where ``fetched_at`` came from), ``models``
    (how many the catalog listed) and ``recorded_at``.
``versions``
    One row per run of identical attributes of a model: the attributes held
    from ``valid_from`` (the first snapshot showing them) up to ``valid_to``
    (the first later snapshot *not* showing them: the model changed or was
    gone), ``NULL`` while the latest snapshot still shows them. Stored
    attributes: ``name``, ``context_length``, the four prices, ``modality``,
    ``input_modalities`` (a JSON list) and ``is_vision`` (seed rules).
    Descriptions are left out: no change kind reads them, and archives cut
    them (the dailies shorten every description on 2026-04-07), which would
    double the rows without a reportable change.

The runs are kept in canonical form: adjacent snapshots with equal attributes
share one row. So storage grows with changes, not with snapshots, and since
the canonical form of a sequence does not depend on the order its members
arrived in, snapshots may be imported in any order: inserting a snapshot
between two others rewrites only the runs that touch those two neighbours.

Writes take ``BEGIN IMMEDIATE`` (one transaction per snapshot) on a WAL
database with a busy timeout, so two notebooks recording at once wait for
each other instead of failing, and an interrupted import leaves no trace.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import sqlite3
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .source import read_file
from ..http.cache import get_cache_path
from .frame import models_frame
from ..stores import sqlite

HISTORY_ENV = "VISION_MODELS_HISTORY"
HISTORY_FILE = "history.sqlite"
SCHEMA_VERSION = 1

PRICES = ("prompt_usd_per_mtok", "completion_usd_per_mtok", "image_price", "request_usd")
ATTRIBUTES = ("name", "context_length", *PRICES, "modality", "input_modalities", "is_vision")
CHANGE_COLUMNS = ("date", "id", "name", "kind", "field", "old", "new", "pct_change", "is_vision")
PRICE_HISTORY_COLUMNS = ("date", "id", "name", *PRICES)
KINDS = ("added", "removed", "price", "context", "gained_image_input", "lost_image_input", "renamed")
#: The columns of the changes a reader is shown (:func:`readable_changes`), in order.
READABLE_CHANGE_COLUMNS = ("date", "kind", "id", "field", "old", "new", "pct_change")

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
_DAY_US = 86_400_000_000
#: No catalog can have been fetched before OpenRouter existed (2023), nor more than a day from now (clock skew).
_FIRST_FETCH = datetime(2023, 1, 1, tzinfo=timezone.utc)
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


# ---------------------------------------------------------------- public API


@dataclass(frozen=True)
class ImportResult:
    """What happened to one file of :func:`import_files`.

    ``status``: ``imported``, ``already imported`` or ``skipped: <reason>``;
    ``date_basis``: ``fetched-at``, ``file name`` or ``modification time``.
    """

    path: str
    status: str
    fetched_at: datetime | None = None
    date_basis: str | None = None
    models: int = 0


@dataclass(frozen=True)
class HistoryInfo:
    """What ``vision-models history info`` reports."""

    path: Path
    exists: bool
    snapshots: int
    first_fetch: datetime | None
    last_fetch: datetime | None
    models_tracked: int
    attribute_rows: int
    size_bytes: int

    def lines(self) -> list[str]:
        """``key: value`` lines for the CLI."""
        first = self.first_fetch.isoformat(timespec="seconds") if self.first_fetch else "-"
        last = self.last_fetch.isoformat(timespec="seconds") if self.last_fetch else "-"
        return [
            f"path: {self.path}",
            f"exists: {'yes' if self.exists else 'no'}",
            f"snapshots: {self.snapshots}",
            f"first_fetch_utc: {first}",
            f"last_fetch_utc: {last}",
            f"models_tracked: {self.models_tracked}",
            f"attribute_rows: {self.attribute_rows}",
            f"size_bytes: {self.size_bytes}",
        ]


def get_history_path(path: str | os.PathLike | None = None) -> Path:
    """The history file: ``path``, else ``$VISION_MODELS_HISTORY``, else ``history.sqlite`` beside the HTTP cache."""
    chosen = path or os.environ.get(HISTORY_ENV)
    if chosen:
        return Path(chosen).expanduser()
    return get_cache_path().with_name(HISTORY_FILE)


def record_fetch(
    entries: list[Any],
    *,
    fetched_at: datetime | date | str | None,
    source: str,
    body: bytes | str | None,
    path: str | os.PathLike | None = None,
) -> bool:
    """Record one catalog that reached OpenRouter (not a cache hit); True when a new snapshot was stored.

    One transaction. False when this body is already recorded at this instant,
    another body is recorded at it, or the catalog lists no models (an empty
    answer is an outage, not every model removed). ``fetched_at`` None means now.
    """
    moment = _now_us() if fetched_at is None else _fetch_instant(fetched_at, "fetched_at")
    models = models_frame(entries, "seed")  # the stored is_vision keeps the seed's meaning
    if models.empty:
        return False
    with _writer(get_history_path(path)) as conn:
        status = _store(conn, _Snapshot(moment, _sha256(body, entries), source, "fetch", models))
    return status == "imported"


def import_files(
    files: Iterable[str | os.PathLike],
    fetched_at: datetime | date | str | None = None,
    *,
    path: str | os.PathLike | None = None,
) -> list[ImportResult]:
    """Backfill saved catalogs (``.json`` / ``.json.gz``), in any order; one result per file.

    Each file's date is ``fetched_at`` if given (one file only), else a
    ``YYYY-MM-DD`` in its name (midnight UTC), else its modification time.
    A file already recorded (same body at the same instant) is ``already
    imported``; one that is not a catalog is ``skipped`` with the reason and
    the others go on. Each file is one transaction: an error half-way leaves
    the database as it was before that file, and raises.
    """
    files = [Path(f).expanduser() for f in ([files] if isinstance(files, (str, os.PathLike)) else files)]
    explicit = None if fetched_at is None else _fetch_instant(fetched_at, "fetched_at")
    if explicit is not None and len(set(files)) > 1:
        raise ValueError(f"fetched_at={fetched_at!r} can date one file only, got {len(set(files))} files")
    results: list[ImportResult] = []
    target = get_history_path(path)
    with _writer(target) as conn:
        for file in files:
            try:
                results.append(_import_one(conn, file, explicit))
            except sqlite.StoreUnavailable as exc:
                raise ImportStopped(results, file, str(exc)) from None
            except sqlite3.OperationalError as exc:  # a full disk half-way: that file was rolled back
                raise ImportStopped(results, file, str(sqlite.unavailable(target, "write the history database", exc))) from None
    return results


class NoSnapshot(ValueError):
    """The history holds no catalog at or before the moment asked for (or none at all): no data, not a bad value."""


class ImportStopped(sqlite.StoreUnavailable):
    """An import that stopped at one file (the history could not be written); the files before it are in.

    ``results`` holds what happened to each file before ``file``, so counts stay honest.
    """

    def __init__(self, results: list[ImportResult], file: Path, reason: str) -> None:
        imported = sum(r.status == "imported" for r in results)
        files = "1 file" if imported == 1 else f"{imported:,} files"
        super().__init__(f"stopped at {file}: {reason} ({files} imported before it)")
        self.results = results
        self.file = file


def catalog_changes(
    since: datetime | date | str | None = None,
    until: datetime | date | str | None = None,
    *,
    vision_only: bool = False,
    path: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """One row per change between consecutive snapshots, dated by the first snapshot showing it.

    ``since`` / ``until``: ISO dates or datetimes (UTC when naive), both
    inclusive; a date-only ``until`` takes in that whole day. ``kind`` is one
    of :data:`KINDS`; ``pct_change`` is the percent change of a price or
    context length (NaN from or to 0 or a missing value); ``is_vision`` is
    True when the model reads images (seed rules) on either side of the
    change, and ``vision_only`` keeps those rows. The first snapshot is the
    baseline: nothing is "added" on it. Sorted by date, id, kind, field.

    ``.attrs["since"]`` / ``.attrs["until"]``: the first and last instant (UTC,
    both inclusive) a change could be dated in: just after the baseline (or
    ``since``) up to the last snapshot (or ``until``). A weekly count uses them
    to tell a whole week from one the history covers only in part.
    """
    low = None if since is None else _query_instant(since, "since")
    high = None if until is None else _query_instant(until, "until", end_of_day=True)
    if low is not None and high is not None and low > high:
        raise ValueError(f"the range is reversed: since {since} is after until {until}")
    with _reader(get_history_path(path)) as conn:
        if conn is None:
            return _empty_changes()
        first, last = conn.execute("SELECT MIN(fetched_at), MAX(fetched_at) FROM snapshots").fetchone()
        if first is None:
            return _empty_changes()
        low = max(first + 1, low if low is not None else first + 1)  # the first snapshot is the baseline
        high = high if high is not None else 2**62
        starts = conn.execute(_STARTS_SQL, (low, high)).fetchall()
        ends = conn.execute(_ENDS_SQL, (low, high)).fetchall()
    changes = _changes_frame(starts, ends)
    if vision_only:
        changes = changes.loc[changes["is_vision"].to_numpy()].reset_index(drop=True)
    changes.attrs = {"since": _timestamp(low), "until": _timestamp(min(high, last))}
    return changes


def readable_changes(changes: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The changes as a table to read: newest first, each date a plain day, the percent to one decimal.

    ``changes`` is a :func:`catalog_changes` frame or any part of it. ``date``
    becomes the UTC day (a ``datetime.date``, shown as 2026-03-04 rather than
    2026-03-04 00:00:00+00:00); rows run from the newest, then by id, kind and
    field, numbered from 0; ``pct_change`` (percent, NaN from or to 0) is
    rounded to 0.1. ``columns`` picks and orders the columns shown (default
    :data:`READABLE_CHANGE_COLUMNS`); those the frame lacks are skipped.
    """
    order = [c for c in ("date", "id", "kind", "field") if c in changes]
    newest = changes.sort_values(order, ascending=[c != "date" for c in order], kind="stable") if order else changes
    shown = newest[[c for c in (columns or READABLE_CHANGE_COLUMNS) if c in newest]]
    updates: dict[str, pd.Series] = {}
    if "date" in shown:
        updates["date"] = pd.to_datetime(shown["date"], utc=True).dt.date
    if "pct_change" in shown:
        updates["pct_change"] = shown["pct_change"].astype("float64").round(1)
    return shown.assign(**updates).reset_index(drop=True)


def price_history(
    ids: str | Sequence[str],
    since: datetime | date | str | None = None,
    until: datetime | date | str | None = None,
    *,
    path: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Tidy prices: one row per snapshot per model of ``ids`` present in it, sorted by date then id.

    An id never seen in the history is a ``ValueError`` naming it with close
    matches; no history yet gives an empty frame with the same columns.
    """
    wanted = list(dict.fromkeys([ids] if isinstance(ids, str) else ids))
    if not wanted:
        return _empty_prices()
    low = None if since is None else _query_instant(since, "since")
    high = None if until is None else _query_instant(until, "until", end_of_day=True)
    with _reader(get_history_path(path)) as conn:
        if conn is None:
            return _empty_prices()
        _check_known(conn, wanted)
        marks = ",".join("?" * len(wanted))
        runs = conn.execute(
            f"SELECT model_id, valid_from, valid_to, name, {', '.join(PRICES)} FROM versions "
            f"WHERE model_id IN ({marks}) ORDER BY valid_from",
            wanted,
        ).fetchall()
        times = conn.execute(
            "SELECT fetched_at FROM snapshots WHERE fetched_at BETWEEN ? AND ? ORDER BY fetched_at",
            (low if low is not None else -(2**62), high if high is not None else 2**62),
        ).fetchall()
    return _prices_frame(runs, np.array([t for (t,) in times], dtype="int64"))


def entries_as_of(
    moment: datetime | date | str,
    *,
    path: str | os.PathLike | None = None,
) -> tuple[list[dict[str, Any]], datetime]:
    """The catalog as the history recorded it at ``moment``: its entries and the snapshot's fetch time.

    ``moment``: an ISO date or datetime (UTC when naive); a date alone means
    the end of that day. The snapshot is the latest one at or before it. The
    entries are rebuilt in OpenRouter's shape from the stored attributes
    (``name``, ``context_length``, the four prices, ``modality``,
    ``input_modalities``), so :func:`vision_models.catalog.frame.models_frame` reads
    them as it reads a download (output modalities are read from the
    ``modality`` string's output side); what the history does not store
    (descriptions, ``created``, the top provider's completion limit) is absent.
    A model stored with neither a prompt nor a completion price comes back as
    variable (``"-1"``, a router), which is what such rows are in real catalogs. No snapshot at or before ``moment`` is a
    :class:`NoSnapshot` (a ``ValueError``) naming the first date the history holds, or saying there is no history.
    """
    wanted = _query_instant(moment, "as_of", end_of_day=True, warn_early=False)  # too early: refused below, naming the start
    file = get_history_path(path)
    with _reader(file) as conn:
        first = None if conn is None else conn.execute("SELECT MIN(fetched_at) FROM snapshots").fetchone()[0]
        if first is None:
            raise NoSnapshot(
                f"no catalog history at {file} to read as of {moment!s}: "
                "it is built by every download from OpenRouter, or by `vision-models history import FILES`"
            )
        snapshot = conn.execute("SELECT MAX(fetched_at) FROM snapshots WHERE fetched_at <= ?", (wanted,)).fetchone()[0]
        if snapshot is None:
            start = _datetime(first).isoformat(timespec="seconds").replace("+00:00", "Z")
            raise NoSnapshot(f"no catalog recorded at or before {moment!s}: the history starts on {start}")
        rows = conn.execute(_AS_OF_SQL, (snapshot, snapshot)).fetchall()
    return [_entry(row) for row in rows], _datetime(snapshot)


_AS_OF_SQL = (
    f"SELECT model_id, name, context_length, {', '.join(PRICES)}, modality, input_modalities FROM versions "
    "WHERE valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)"
)
_PER_TOKEN = 1_000_000


def _entry(row: tuple) -> dict[str, Any]:
    """One stored run as a catalog entry; prices per token again, a missing price left out (never 0)."""
    model_id, name, context, prompt, completion, image, request, modality, listed = row
    architecture = {"modality": modality, "input_modalities": json.loads(listed)}
    if "->" in modality:  # the output side of "text+image->text+image": what the cost table needs to spot generators
        architecture["output_modalities"] = [m for m in modality.split("->", 1)[1].split("+") if m]
    per_unit = {"prompt": _per(prompt, _PER_TOKEN), "completion": _per(completion, _PER_TOKEN)}
    if prompt is None and completion is None:  # stored NULL is "-1" or unlisted; real catalogs list both but on routers
        per_unit.update(prompt="-1", completion="-1")
    per_unit.update(image=_per(image, 1), request=_per(request, 1))
    return {
        "id": model_id,
        "name": name,
        "context_length": context,
        "architecture": architecture,
        "pricing": {key: value for key, value in per_unit.items() if value is not None},
    }


def _per(value: float | None, scale: int) -> float | None:
    return None if value is None else value / scale


def history_info(path: str | os.PathLike | None = None) -> HistoryInfo:
    """Where the history is, how many snapshots and model versions it holds, and its size."""
    file = get_history_path(path)
    size = sum(p.stat().st_size for p in (file, Path(f"{file}-wal")) if p.exists())
    with _reader(file) as conn:
        if conn is None:
            return HistoryInfo(file, file.exists(), 0, None, None, 0, 0, size)
        count, first, last = conn.execute("SELECT COUNT(*), MIN(fetched_at), MAX(fetched_at) FROM snapshots").fetchone()
        tracked, rows = conn.execute("SELECT COUNT(DISTINCT model_id), COUNT(*) FROM versions").fetchone()
    return HistoryInfo(file, True, count, _datetime(first), _datetime(last), tracked, rows, size)


# ---------------------------------------------------------------- storing


@dataclass(frozen=True)
class _Snapshot:
    """One catalog about to be stored."""

    fetched_at: int  # microseconds since the epoch, UTC
    sha256: str
    source: str
    date_basis: str
    models: pd.DataFrame  # models_frame() output


@dataclass(frozen=True)
class _Plan:
    """The writes that fit one snapshot into the canonical runs."""

    close: list[tuple[int, str, int]]  # (new valid_to, model_id, valid_from)
    restart: list[tuple[int, str, int]]  # (new valid_from, model_id, old valid_from)
    inserts: list[tuple]  # rows in _VERSION_COLUMNS order


def _import_one(conn: sqlite3.Connection, file: Path, explicit: int | None) -> ImportResult:
    """Read, date and store one file; a file that cannot be read as a catalog is skipped, not raised."""
    if not file.is_file():
        return ImportResult(str(file), f"skipped: {file} is not a readable file")
    try:
        raw = read_file(file)
    except ValueError as exc:
        return ImportResult(str(file), f"skipped: {exc}")
    try:
        moment, basis = _file_date(file, explicit)
    except ValueError as exc:  # a date no fetch can have (1980 from an archive, 2999 in a name): pass fetched_at
        return ImportResult(str(file), f"skipped: {exc} (give its date with fetched_at)")
    sha, when = _sha256(raw.body, raw.entries), _datetime(moment)
    known = conn.execute("SELECT models FROM snapshots WHERE fetched_at = ? AND sha256 = ?", (moment, sha)).fetchone()
    if known is not None:  # records are never deleted, so no need to parse the models or lock the file
        return ImportResult(str(file), "already imported", when, basis, known[0])
    models = models_frame(raw.entries, "seed")
    if models.empty:
        return ImportResult(str(file), f"skipped: {file} lists no models", when, basis, 0)
    status = _store(conn, _Snapshot(moment, sha, str(file), basis, models))
    return ImportResult(str(file), status, when, basis, len(models))


def _store(conn: sqlite3.Connection, snap: _Snapshot) -> str:
    """Add one snapshot in one ``BEGIN IMMEDIATE`` transaction; returns the import status."""
    attrs = _attributes(snap.models)
    t = snap.fetched_at
    with _transaction(conn):
        known = conn.execute("SELECT sha256 FROM snapshots WHERE fetched_at = ?", (t,)).fetchone()
        if known is not None:
            if known[0] == snap.sha256:
                return "already imported"
            return f"skipped: another catalog is already recorded at {_datetime(t).isoformat()} (pass fetched_at)"
        before = conn.execute("SELECT MAX(fetched_at) FROM snapshots WHERE fetched_at < ?", (t,)).fetchone()[0]
        after = conn.execute("SELECT MIN(fetched_at) FROM snapshots WHERE fetched_at > ?", (t,)).fetchone()[0]
        plan = _plan(t, after, _runs_at(conn, before), _runs_at(conn, after), attrs)
        _insert_snapshot(conn, snap)
        conn.executemany("UPDATE versions SET valid_to = ? WHERE model_id = ? AND valid_from = ?", plan.close)
        conn.executemany("UPDATE versions SET valid_from = ? WHERE model_id = ? AND valid_from = ?", plan.restart)
        _insert_versions(conn, plan.inserts)
    return "imported"


def _plan(t: int, after_t: int | None, before: pd.DataFrame, after: pd.DataFrame, new: pd.DataFrame) -> _Plan:
    """The run changes that insert snapshot ``t`` between the snapshots whose runs are ``before`` and ``after``.

    Per model, on whole columns: the run at the previous snapshot goes on if
    ``t`` shows the same attributes, else it ends at ``t``; a run spanning both
    neighbours that ``t`` interrupts is split (its tail restarts at the next
    snapshot); new attributes equal to the next snapshot's pull that run's
    start back to ``t``; any other attributes start a run ending at the next
    snapshot (open-ended when ``t`` is the latest).
    """
    ids = before.index.union(after.index, sort=False).union(new.index, sort=False)
    b, a, x = before.reindex(ids), after.reindex(ids), new.reindex(ids)
    has_b, has_a, has_x = (ids.isin(frame.index) for frame in (before, after, new))
    spans = has_b & has_a & _same(b["valid_from"], a["valid_from"])
    keep = has_b & has_x & _same_attributes(b, x)
    joins_next = ~spans & has_a & has_x & ~keep & _same_attributes(a, x)
    close = has_b & ~keep
    start = has_x & ~keep & ~joins_next
    tail = spans & ~keep
    starts = new.loc[ids[start]].assign(valid_from=t, valid_to=pd.array([after_t] * int(start.sum()), dtype="Int64"))
    tails = after.loc[ids[tail]].assign(valid_from=after_t)
    return _Plan(
        close=list(zip([t] * int(close.sum()), ids[close].tolist(), _ints(b["valid_from"], close))),
        restart=list(zip([t] * int(joins_next.sum()), ids[joins_next].tolist(), _ints(a["valid_from"], joins_next))),
        inserts=_records(starts) + _records(tails),
    )


def _runs_at(conn: sqlite3.Connection, moment: int | None) -> pd.DataFrame:
    """The runs covering snapshot ``moment`` (none when there is no such snapshot), indexed by model id."""
    rows = []
    if moment is not None:
        rows = conn.execute(
            f"SELECT {', '.join(_VERSION_COLUMNS)} FROM versions "
            "WHERE valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)",
            (moment, moment),
        ).fetchall()
    return _typed(pd.DataFrame.from_records(rows, columns=list(_VERSION_COLUMNS))).set_index("model_id")


def _insert_snapshot(conn: sqlite3.Connection, snap: _Snapshot) -> None:
    conn.execute(
        "INSERT INTO snapshots (fetched_at, sha256, source, date_basis, models, recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
        (snap.fetched_at, snap.sha256, snap.source, snap.date_basis, len(snap.models), _now_us()),
    )


def _insert_versions(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    """Insert version rows (kept apart so tests can interrupt an import half-way)."""
    conn.executemany(_INSERT_VERSION_SQL, rows)


def _attributes(models: pd.DataFrame) -> pd.DataFrame:
    """The stored attributes of a catalog frame, indexed by model id, typed as read back from the file."""
    listed = [json.dumps(x, separators=(",", ":")) for x in models["input_modalities"]]
    columns = {name: models[name].to_numpy() for name in ATTRIBUTES if name != "input_modalities"}
    index = pd.Index(models["id"].to_numpy(), name="model_id")
    frame = pd.DataFrame({**columns, "input_modalities": listed}, index=index)
    return _typed(frame[list(ATTRIBUTES)])


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Version columns in one set of dtypes, whether built from a catalog or read from SQLite."""
    types = {
        "model_id": "str",
        "valid_from": "Int64",
        "valid_to": "Int64",
        "name": "str",
        "context_length": "Int64",
        **dict.fromkeys(PRICES, "float64"),
        "modality": "str",
        "input_modalities": "str",
        "is_vision": "bool",
    }
    typed = frame.astype({c: t for c, t in types.items() if c in frame.columns and t != "str"})
    return typed.assign(**{c: _text(frame[c]) for c, t in types.items() if t == "str" and c in frame.columns})


def _text(column: pd.Series) -> pd.Series:
    """``column`` as ``str``, missing values kept missing (pandas 2 would write them as "None" or "nan")."""
    return column.astype("str").where(column.notna())


def _same(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Element-wise equality where two missing values count as equal."""
    equal = a.eq(b)
    equal = equal.fillna(False) if equal.dtype != bool else equal
    return equal.to_numpy(dtype=bool) | (a.isna().to_numpy() & b.isna().to_numpy())


def _same_attributes(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    """Rows of two aligned frames whose stored attributes are all equal."""
    same = np.ones(len(a), dtype=bool)
    for name in ATTRIBUTES:
        same &= _same(a[name], b[name])
    return same


def _ints(column: pd.Series, mask: np.ndarray) -> list[int]:
    return column.to_numpy(dtype=object, na_value=None)[mask].tolist()


def _records(frame: pd.DataFrame) -> list[tuple]:
    """Rows as tuples of plain Python values (None for missing), in ``_VERSION_COLUMNS`` order."""
    frame = frame.reset_index(names="model_id")
    columns = [frame[c].to_numpy(dtype=object, na_value=None).tolist() for c in _VERSION_COLUMNS]
    return list(zip(*columns))


def _sha256(body: bytes | str | None, entries: list[Any]) -> str:
    """sha256 of the (decompressed) body; of the entries' JSON when no body was kept."""
    if body is None:
        body = json.dumps({"data": entries}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode() if isinstance(body, str) else body).hexdigest()


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


def _changes_frame(starts: list[tuple], ends: list[tuple]) -> pd.DataFrame:
    """The change rows of paired runs (``starts``) and of runs nobody continues (``ends``)."""
    old_names = [f"old_{a}" for a in ATTRIBUTES]
    frame = pd.DataFrame.from_records(starts, columns=["id", "date", *ATTRIBUTES, "has_old", *old_names])
    new = _typed(frame[list(ATTRIBUTES)])
    old = _typed(frame[old_names].set_axis(list(ATTRIBUTES), axis=1))
    has_old = frame["has_old"].to_numpy(dtype=bool)
    gone = pd.DataFrame.from_records(ends, columns=["id", "date", *ATTRIBUTES])
    gone_attrs = _typed(gone[list(ATTRIBUTES)])
    either_vision = new["is_vision"].to_numpy() | (has_old & old["is_vision"].to_numpy())
    everyone, gone_vision = np.ones(len(gone), dtype=bool), gone_attrs["is_vision"].to_numpy()
    pieces = [
        _piece(frame, new, ~has_old, "added", None, None, None, either_vision),
        _piece(gone, gone_attrs, everyone, "removed", None, None, None, gone_vision),
    ]
    for field in (*PRICES, "context_length"):
        moved = has_old & ~_same(old[field], new[field])
        kind = "context" if field == "context_length" else "price"
        pieces.append(_piece(frame, new, moved, kind, field, old[field], new[field], either_vision, pct=True))
    had_image = old["input_modalities"].str.contains('"image"', regex=False).to_numpy(dtype=bool)
    has_image = new["input_modalities"].str.contains('"image"', regex=False).to_numpy(dtype=bool)
    listed_old, listed_new = _joined(old["input_modalities"]), _joined(new["input_modalities"])
    for kind, moved in (("gained_image_input", ~had_image & has_image), ("lost_image_input", had_image & ~has_image)):
        moved &= has_old
        pieces.append(_piece(frame, new, moved, kind, "input_modalities", listed_old, listed_new, either_vision))
    renamed = has_old & ~_same(old["name"], new["name"])
    pieces.append(_piece(frame, new, renamed, "renamed", "name", old["name"], new["name"], either_vision))
    changes = pd.concat(pieces, ignore_index=True)
    order = ["date", "id", "kind", "field"]
    changes = changes.sort_values(order, kind="stable", na_position="first", ignore_index=True)
    return _finish_changes(changes)


def _piece(
    rows: pd.DataFrame,
    attrs: pd.DataFrame,
    mask: np.ndarray,
    kind: str,
    field: str | None,
    old: pd.Series | None,
    new: pd.Series | None,
    vision: np.ndarray,
    *,
    pct: bool = False,
) -> pd.DataFrame:
    """The change rows of one kind (and field) for the rows where ``mask`` holds."""
    count = int(mask.sum())
    none = np.full(count, None, dtype=object)
    before = none if old is None else old.to_numpy(dtype=object, na_value=None)[mask]
    after = none if new is None else new.to_numpy(dtype=object, na_value=None)[mask]
    return pd.DataFrame(
        {
            "date": rows["date"].to_numpy(dtype="int64")[mask],
            "id": rows["id"].to_numpy(dtype=object)[mask],
            "name": attrs["name"].to_numpy(dtype=object)[mask],
            "kind": [kind] * count,
            "field": [field] * count,
            "old": before,
            "new": after,
            "pct_change": _pct(old, new, mask) if pct else np.full(count, np.nan),
            "is_vision": vision[mask],
        }
    )


def _pct(old: pd.Series, new: pd.Series, mask: np.ndarray) -> np.ndarray:
    """Percent change; NaN from or to 0 or a missing value."""
    before = old.to_numpy(dtype="float64", na_value=np.nan)[mask]
    after = new.to_numpy(dtype="float64", na_value=np.nan)[mask]
    usable = (before != 0) & (after != 0) & np.isfinite(before) & np.isfinite(after)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(usable, np.round((after - before) / before * 100, 6), np.nan)


def _joined(listed: pd.Series) -> pd.Series:
    """JSON lists as ``text+image`` strings, the way OpenRouter writes modalities."""
    texts = listed.to_numpy(dtype=object, na_value=None)
    values = ["+".join(json.loads(x)) if isinstance(x, str) else None for x in texts]
    return pd.Series(values, index=listed.index, dtype=object)


def _finish_changes(changes: pd.DataFrame) -> pd.DataFrame:
    """Final dtypes: UTC datetimes, text columns as ``str``, old/new as objects."""
    return changes.assign(
        date=_utc(changes["date"].to_numpy(dtype="int64")),
        id=_text(changes["id"]),
        name=_text(changes["name"]),
        kind=_text(changes["kind"]),
        field=_text(changes["field"]),
        old=changes["old"].astype(object),
        new=changes["new"].astype(object),
        pct_change=changes["pct_change"].astype("float64"),
        is_vision=changes["is_vision"].astype(bool),
    )[list(CHANGE_COLUMNS)]


def _empty_changes() -> pd.DataFrame:
    return _changes_frame([], [])


def _prices_frame(runs: list[tuple], times: np.ndarray) -> pd.DataFrame:
    """Each run's prices at every snapshot it covers: an as-of join of snapshot times onto run starts."""
    versions = pd.DataFrame.from_records(runs, columns=["id", "valid_from", "valid_to", "name", *PRICES])
    versions = _typed(versions).astype({"id": "str"})
    if versions.empty or not len(times):
        return _empty_prices()
    ids = versions["id"].unique()
    grid = pd.DataFrame({"at": np.repeat(times, len(ids)), "id": np.tile(ids, len(times))}).astype({"id": "str"})
    versions = versions.assign(valid_from=versions["valid_from"].astype("int64"))
    joined = pd.merge_asof(grid, versions, left_on="at", right_on="valid_from", by="id", direction="backward")
    ends = joined["valid_to"].to_numpy(dtype="float64", na_value=np.inf)
    starts = joined["valid_from"].to_numpy(dtype="float64", na_value=np.nan)
    present = np.isfinite(starts) & (joined["at"].to_numpy() < ends)
    rows = joined.loc[present].sort_values(["at", "id"], ignore_index=True)
    return rows.assign(date=_utc(rows["at"].to_numpy(dtype="int64")))[list(PRICE_HISTORY_COLUMNS)]


def _empty_prices() -> pd.DataFrame:
    text = pd.array([], dtype="str")
    frame = pd.DataFrame({"date": _utc(np.array([], dtype="int64")), "id": text, "name": text})
    return frame.assign(**{p: np.array([], dtype="float64") for p in PRICES})


def _check_known(conn: sqlite3.Connection, wanted: list[str]) -> None:
    """Raise ``ValueError`` for ids the history never saw, suggesting close matches."""
    known = [row[0] for row in conn.execute("SELECT DISTINCT model_id FROM versions")]
    if not known:
        return
    seen = set(known)
    for model_id in wanted:
        if model_id not in seen:
            close = difflib.get_close_matches(model_id, known, n=3, cutoff=0.6)
            hint = f"; close matches: {', '.join(close)}" if close else ""
            raise ValueError(f"unknown model id {model_id!r}: not in the history{hint}")


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
    mtime = datetime.fromtimestamp(file.stat().st_mtime, tz=timezone.utc)
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


def _query_instant(value: datetime | date | str, what: str, *, end_of_day: bool = False, warn_early: bool = True) -> int:
    """:func:`_instant` of a query bound, with one warning when it lies where no history can be.

    A bound before 2023 or more than a day ahead is not wrong (it means "from
    the start" or "to the end") but is likely a typo: the answer is the same as
    for the history's own first or last date, so say so rather than refuse.
    """
    moment = _instant(value, what, end_of_day=end_of_day)
    first = (_FIRST_FETCH - _EPOCH) // _MICROSECOND
    if moment < first and warn_early:
        warnings.warn(f"{what} {value!r} is before 2023, when OpenRouter began: read as the history's first date", stacklevel=3)
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
        start = (datetime(moment.year, moment.month, moment.day, tzinfo=timezone.utc) - _EPOCH) // _MICROSECOND
        return start + _DAY_US - 1 if end_of_day else start
    try:
        aware = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    except OverflowError:  # 9999-12-31T23:59:59-23:59 is after the last datetime in UTC
        raise ValueError(f"bad {what} {value!r}: outside the dates Python can hold once moved to UTC") from None
    return (aware - _EPOCH) // _MICROSECOND


def _now_us() -> int:
    return time.time_ns() // 1000


def _datetime(moment: int | None) -> datetime | None:
    return None if moment is None else _EPOCH + timedelta(microseconds=moment)


def _timestamp(moment: int) -> pd.Timestamp:
    return pd.Timestamp(moment, unit="us", tz="UTC")


def _utc(moments: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(moments.astype("datetime64[us]")).tz_localize("UTC")

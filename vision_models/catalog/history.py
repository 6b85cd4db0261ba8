"""Catalog history: every fetch leaves a record, and what changed can be asked later.

One SQLite file (``history.sqlite`` beside the HTTP cache, ``$VISION_MODELS_HISTORY``, ``settings.history_path``
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

import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..settings import Settings
from ..stores import sqlite
from ..stores.versions import (  # noqa: F401 (the public names the history module has always had)
    _AS_OF_SQL,
    _ENDS_SQL,
    _STARTS_SQL,
    ATTRIBUTES,
    HISTORY_ENV,
    HISTORY_FILE,
    PRICES,
    SCHEMA_VERSION,
    _check_known,
    _datetime,
    _fetch_instant,
    _now_us,
    _query_instant,
    _reader,
    _timestamp,
    _writer,
    get_history_path,
)
from .changes import (  # noqa: F401
    CHANGE_COLUMNS,
    KINDS,
    PRICE_HISTORY_COLUMNS,
    READABLE_CHANGE_COLUMNS,
    _changes_frame,
    _empty_changes,
    _empty_prices,
    _prices_frame,
)
from .frame import models_frame, stored_models_frame
from .snapshots import ImportResult, _import_one, _sha256, _Snapshot, _store
from .vision import DEFAULT_RULES


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


def record_fetch(
    entries: list[Any],
    *,
    fetched_at: datetime | date | str | None,
    source: str,
    body: bytes | str | None,
    path: str | os.PathLike | None = None,
    settings: Settings | None = None,
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
    with _writer(get_history_path(path, settings)) as conn:
        status = _store(conn, _Snapshot(moment, _sha256(body, entries), source, "fetch", models))
    return status == "imported"


def import_files(
    files: str | os.PathLike | Iterable[str | os.PathLike],
    fetched_at: datetime | date | str | None = None,
    *,
    path: str | os.PathLike | None = None,
    settings: Settings | None = None,
) -> list[ImportResult]:
    """Backfill saved catalogs (``.json`` / ``.json.gz``), in any order; one result per file.

    Each file's date is ``fetched_at`` if given (one file only), else a
    ``YYYY-MM-DD`` in its name (midnight UTC), else its modification time.
    A file already recorded (same body at the same instant) is ``already
    imported``; one that is not a catalog is ``skipped`` with the reason and
    the others go on. Each file is one transaction: an error half-way leaves
    the database as it was before that file, and raises.
    """
    paths = [Path(f).expanduser() for f in ([files] if isinstance(files, (str, os.PathLike)) else files)]
    explicit = None if fetched_at is None else _fetch_instant(fetched_at, "fetched_at")
    if explicit is not None and len(set(paths)) > 1:
        raise ValueError(f"fetched_at={fetched_at!r} can date one file only, got {len(set(paths))} files")
    results: list[ImportResult] = []
    target = get_history_path(path, settings)
    with _writer(target) as conn:
        for file in paths:
            try:
                results.append(_import_one(conn, file, explicit))
            except sqlite.StoreUnavailable as exc:
                raise ImportStopped(results, file, str(exc)) from None
            except sqlite3.OperationalError as exc:  # a full disk half-way: that file was rolled back
                raise ImportStopped(
                    results, file, str(sqlite.unavailable(target, "write the history database", exc))
                ) from None
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
    settings: Settings | None = None,
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
    with _reader(get_history_path(path, settings)) as conn:
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
    settings: Settings | None = None,
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
    with _reader(get_history_path(path, settings)) as conn:
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
    settings: Settings | None = None,
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
    rows, snapshot = _rows_as_of(moment, path, settings)
    return [_entry(row) for row in rows], snapshot


def frame_as_of(
    moment: datetime | date | str,
    rules: str = DEFAULT_RULES,
    *,
    vision_only: bool = False,
    path: str | os.PathLike | None = None,
    settings: Settings | None = None,
) -> tuple[pd.DataFrame, datetime]:
    """The catalog frame as the history recorded it at ``moment``, built from the stored columns, and its snapshot time.

    The frame equals ``models_frame(entries_as_of(moment)[0], rules, vision_only=vision_only)``
    without rebuilding OpenRouter's JSON in between; ``moment`` and the errors are as in :func:`entries_as_of`.
    """
    rows, snapshot = _rows_as_of(moment, path, settings)
    names = ("id", "name", "context_length", *PRICES, "modality", "input_modalities")
    stored: dict[str, list[Any]] = (
        {name: list(column) for name, column in zip(names, zip(*rows))} if rows else {name: [] for name in names}
    )
    stored["input_modalities"] = [json.loads(listed) for listed in stored["input_modalities"]]
    return stored_models_frame(stored, rules, vision_only=vision_only), snapshot


def _rows_as_of(
    moment: datetime | date | str, path: str | os.PathLike | None, settings: Settings | None = None
) -> tuple[list[tuple], datetime]:
    """The stored rows of the latest snapshot at or before ``moment``, and that snapshot's time."""
    wanted = _query_instant(
        moment, "as_of", end_of_day=True, warn_early=False
    )  # too early: refused below, naming the start
    file = get_history_path(path, settings)
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
    return rows, _datetime(snapshot)


_PER_TOKEN = 1_000_000


def _entry(row: tuple) -> dict[str, Any]:
    """One stored run as a catalog entry; prices per token again, a missing price left out (never 0)."""
    model_id, name, context, prompt, completion, image, request, modality, listed = row
    architecture = {"modality": modality, "input_modalities": json.loads(listed)}
    if "->" in modality:  # the output side of "text+image->text+image": what the cost table needs to spot generators
        architecture["output_modalities"] = [m for m in modality.split("->", 1)[1].split("+") if m]
    per_unit: dict[str, float | str | None] = {
        "prompt": _per(prompt, _PER_TOKEN),
        "completion": _per(completion, _PER_TOKEN),
    }
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


def history_info(path: str | os.PathLike | None = None, settings: Settings | None = None) -> HistoryInfo:
    """Where the history is, how many snapshots and model versions it holds, and its size."""
    file = get_history_path(path, settings)
    size = sum(p.stat().st_size for p in (file, Path(f"{file}-wal")) if p.exists())
    with _reader(file) as conn:
        if conn is None:
            return HistoryInfo(file, file.exists(), 0, None, None, 0, 0, size)
        count, first, last = conn.execute("SELECT COUNT(*), MIN(fetched_at), MAX(fetched_at) FROM snapshots").fetchone()
        tracked, rows = conn.execute("SELECT COUNT(DISTINCT model_id), COUNT(*) FROM versions").fetchone()
    return HistoryInfo(file, True, count, _datetime(first), _datetime(last), tracked, rows, size)

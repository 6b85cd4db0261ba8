"""Recording a catalog in the history: its models as runs of attributes, stored only where they changed.

A snapshot may arrive in any order (a backfill): the runs before and after it are split or joined so the
versions stay one run per unchanged stretch. The rows themselves are :mod:`vision_models.stores.versions`'.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..stores.versions import (
    _VERSION_COLUMNS,
    ATTRIBUTES,
    PRICES,
    _datetime,
    _file_date,
    _insert_versions,
    _now_us,
    _transaction,
)
from .frame import models_frame
from .source import read_file

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

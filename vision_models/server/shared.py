"""The catalog the server shares between its threads: one snapshot at a time, its JSON encoded once, refreshed
by one request while the others are answered from the copy in memory, and the filtered answers remembered.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from ..catalog.api import CatalogResult
from ..catalog.filters import filter_mask
from ..catalog.frame import models_frame
from ..catalog.vision import DEFAULT_RULES, get_supports_images
from ..present.payload import api_models
from ..settings import DEFAULT_EXPIRE_SECONDS

#: After a failed refresh, keep serving what we have this long before asking again.
RETRY_AFTER_FAILURE_SECONDS = 30
#: How long a request at expiry waits for the refresh before it is answered from the copy in memory.
REFRESH_GRACE_SECONDS = 0.5
#: Bytes of filtered answers (their JSON text) one snapshot remembers; the least recently used go first.
FILTERED_MEMO_BYTES = 64 * 1024 * 1024

Loader = Callable[[], CatalogResult]


class ByteMemo:
    """A thread-safe memo bounded by the bytes of its values, not their number: least recently used out first.

    A count bound let 64 answers of a 50,000-model catalog (50 MB each) hold
    gigabytes; here the total stays under ``max_bytes``, and a value larger
    than that is never kept.
    """

    def __init__(self, max_bytes: int = FILTERED_MEMO_BYTES) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._items: OrderedDict[tuple, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: tuple) -> Any:
        """The value under ``key`` (now the most recently used), or None."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: tuple, value: Any, size: int) -> None:
        """Keep ``value`` (``size`` bytes), evicting the least recently used until everything fits."""
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            while self._items and self.bytes + size > self.max_bytes:
                _, (_, freed) = self._items.popitem(last=False)
                self.bytes -= freed
            self._items[key] = (value, size)
            self.bytes += size


@dataclass
class Snapshot:
    """One loaded catalog and everything a request needs from it, encoded once."""

    result: CatalogResult  # every model, vision decided by the default (strict) rules
    vision: pd.DataFrame
    models_json: bytes  # the default answer's models, UTF-8 encoded once
    data_time: datetime  # when this catalog was downloaded (or read)
    refresh_at: float  # time.monotonic() after which the next request reloads
    rows_json: list[bytes] = field(default_factory=list, repr=False)  # each model's JSON (UTF-8), in frame order
    columns: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # vision masks by rules
    filter_frame: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)  # the columns filters read
    claimed: bool = False  # a request has answered from it as "the request that fetched"
    memo: ByteMemo = field(default_factory=ByteMemo, repr=False)  # filtered answers, bounded in bytes

    @property
    def error(self) -> str | None:
        return self.result.error

    def cache_age(self) -> int:
        return max(0, int((datetime.now(UTC) - self.data_time).total_seconds()))

    def filtered(
        self, key: tuple, providers: list[str], min_context: int | None, max_price: float | None, rules: str
    ) -> tuple[int, bytes]:
        """(count, models JSON) for a filtered view: array masks over the precomputed columns, then a join.

        The rows are those :func:`vision_models.catalog.filters.filter_mask`
        keeps (the CLI's and the widgets' rule: unknown context or price never
        passes a bound); a memo bounded in bytes keeps the recent answers.
        """
        hit = self.memo.get(key)
        if hit is not None:
            return hit
        keep = self._rules_mask(rules) & filter_mask(
            self.filter_frame, providers=providers or None, min_context=min_context, max_prompt_price=max_price
        )
        rows = np.flatnonzero(keep)
        text = b"[" + b", ".join([self.rows_json[i] for i in rows]) + b"]"
        value = (len(rows), text)
        self.memo.put(key, value, sys.getsizeof(text))  # the answer's own memory
        return value

    def _rules_mask(self, rules: str) -> np.ndarray:
        name = f"rules:{rules}"
        mask = self.columns.get(name)
        if mask is None:
            models = self.result.models
            mask = np.asarray(get_supports_images(models, rules).to_numpy(), dtype=bool)
            self.columns[name] = mask
        return mask


def build_snapshot(result: CatalogResult, expire_after: float) -> Snapshot:
    """Encode a loaded catalog once (each model's JSON, the filter columns) and decide when to reload it.

    A copy confirmed by a 304 has its age counted from that confirmation, so
    it is fresh for the whole period again.
    """
    models = result.models
    default_vision = models["is_vision"].to_numpy(dtype=bool)  # as the loader fetched it: DEFAULT_RULES
    rows_json = [json.dumps(row, ensure_ascii=False).encode() for row in api_models(models)]
    columns = {f"rules:{DEFAULT_RULES}": default_vision}
    filter_frame = models[["provider", "context_length", "prompt_usd_per_mtok"]].reset_index(drop=True)
    now = datetime.now(UTC)
    age = result.cache_age if result.cached and result.cache_age is not None else 0
    fresh_for: float
    if result.error:
        fresh_for = RETRY_AFTER_FAILURE_SECONDS
    else:
        fresh_for = max(0.0, expire_after - age)
    return Snapshot(
        result=result,
        vision=models[default_vision],
        models_json=b"[" + b", ".join([rows_json[i] for i in np.flatnonzero(default_vision)]) + b"]",
        data_time=now - timedelta(seconds=age),
        refresh_at=time.monotonic() + fresh_for,
        rows_json=rows_json,
        columns=columns,
        filter_frame=filter_frame,
    )


class SharedCatalog:
    """The server-side cache: one snapshot for all requests, refreshed by one background thread per expiry."""

    def __init__(
        self, loader: Loader, expire_after: float = DEFAULT_EXPIRE_SECONDS, *, grace: float = REFRESH_GRACE_SECONDS
    ) -> None:
        self.loader = loader
        self.expire_after = expire_after
        self.grace = grace
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()
        self._refreshing: threading.Event | None = None
        self._refresh_started = 0.0
        self.loads = 0

    def current(self) -> tuple[Snapshot, bool]:
        """The snapshot to answer with, and whether this call is the first to answer from a new download.

        Fast path: no lock. At expiry one background refresh starts; callers
        wait for it at most ``grace`` seconds (the first load, with nothing to
        serve, waits for it: the fetch's own deadline bounds that), then
        answer from what is in memory.
        """
        snapshot = self._snapshot
        if snapshot is not None and time.monotonic() < snapshot.refresh_at:
            return snapshot, False
        done = self._refresh_in_background()
        if snapshot is None:
            done.wait()
        else:  # the grace counts from the refresh's start: once it is late, nobody waits for it any more
            done.wait(max(0.0, self._refresh_started + self.grace - time.monotonic()))
        fresh = self._snapshot if self._snapshot is not None else snapshot
        if fresh is None:  # the refresh thread ended without a snapshot (it cannot, but never answer None)
            fresh = self._install(_failed_result("Failed to fetch models: the catalog could not be loaded"), None)
        with self._lock:
            first = fresh is not snapshot and not fresh.claimed
            if first:
                fresh.claimed = True
        return fresh, first

    def peek(self) -> Snapshot | None:
        """The snapshot as it is, without loading (for health checks)."""
        return self._snapshot

    @property
    def refreshing(self) -> bool:
        done = self._refreshing
        return done is not None and not done.is_set()

    def _refresh_in_background(self) -> threading.Event:
        """The event of the running refresh, starting one if none runs."""
        with self._lock:
            if self._refreshing is not None and not self._refreshing.is_set():
                return self._refreshing
            if self._snapshot is not None and time.monotonic() < self._snapshot.refresh_at:
                done = threading.Event()  # another caller's refresh has just finished
                done.set()
                return done
            done = self._refreshing = threading.Event()
            self._refresh_started = time.monotonic()
            self.loads += 1
        threading.Thread(target=self._refresh, args=(done,), name="vision-models-refresh", daemon=True).start()
        return done

    def _refresh(self, done: threading.Event) -> None:
        old = self._snapshot
        try:
            try:
                result = self.loader()
            except ValueError as exc:  # the package's own one-line errors (they never quote a key)
                result = _failed_result(f"Failed to fetch models: {exc}")
            except Exception as exc:  # noqa: BLE001 - one bad answer must never stop the server
                result = _failed_result(f"Failed to fetch models: {type(exc).__name__} while loading the catalog")
            self._install(result, old)
        finally:
            done.set()

    def _install(self, result: CatalogResult, old: Snapshot | None) -> Snapshot:
        if result.error and result.models.empty and old is not None and not old.result.models.empty:
            # Nothing new to serve: keep the copy in memory, marked stale with the error, and retry later.
            result = dataclasses.replace(old.result, error=result.error, stale=True, cached=True)
            fresh = build_snapshot(result, self.expire_after)
            fresh.data_time = old.data_time
        else:
            fresh = build_snapshot(result, self.expire_after)
        self._snapshot = fresh
        return fresh


def _failed_result(error: str) -> CatalogResult:
    return CatalogResult(models=models_frame([]), source="openrouter", error=error)

"""One call returns a frame: ``fetch_catalog()`` for every model, ``fetch_vision_models()`` for those that read images."""

from __future__ import annotations

import os
import sqlite3
import warnings
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

import pandas as pd

from ..http.cache import body_digest
from ..http.client import age_seconds, holds_surrogate_escapes
from ..http.sessions import get_session
from ..settings import Settings, resolve
from . import memo
from .frame import entry_problems, models_frame
from .source import RawCatalog, get_source, is_remote, load_raw, peek_fresh
from .vision import DEFAULT_RULES, check_rules


@dataclass(frozen=True, repr=False)
class CatalogResult:
    """Models plus how they were obtained, as the seed endpoint reports it.

    ``cached``: the answer came from the HTTP cache; ``cache_age``: whole
    seconds since that copy was downloaded (None when not cached); ``stale``:
    the cached copy is served because asking again failed, with ``error``.
    """

    models: pd.DataFrame
    source: str
    cached: bool = False
    cache_age: int | None = None
    error: str | None = None
    stale: bool = False

    @property
    def count(self) -> int:
        """Number of models in ``models``."""
        return len(self.models)

    def to_api_payload(self) -> dict[str, Any]:
        """The seed's ``/api/models`` JSON for this result (see :mod:`vision_models.present.payload`)."""
        from ..present.payload import build_api_payload

        return build_api_payload(self.models, cached=self.cached, cache_age=self.cache_age, error=self.error)

    def __repr__(self) -> str:
        parts = [f"count={self.count}", f"source={self.source!r}", f"cached={self.cached}"]
        if self.cached:
            parts.append(f"cache_age={self.cache_age}")
        if self.stale:
            parts.append("stale=True")
        if self.error:
            parts.append(f"error={self.error!r}")
        return f"CatalogResult({', '.join(parts)})"


def fetch_catalog(
    source: str | os.PathLike | None = None,
    *,
    rules: str = DEFAULT_RULES,
    base_url: str | None = None,
    api_key: str | None = None,
    cache_path: str | os.PathLike | None = None,
    expire_after: float | None = None,
    refresh: bool = False,
    timeout: tuple[float, float] | float | None = None,
    deadline: float | None = None,
    as_of: datetime | date | str | None = None,
    settings: Settings | None = None,
) -> CatalogResult:
    """Every model of the catalog, sorted, with ``is_vision`` under ``rules``.

    ``rules``: ``"strict"`` (default: a model's listed input modalities decide)
    or ``"seed"`` (exact parity with the original endpoint: any rule counts).

    ``source``: ``"openrouter"`` (default; live through a one-hour SQLite
    cache), an http(s) URL, a ``.json``/``.json.gz`` file or ``"sample"``;
    ``$VISION_MODELS_SOURCE`` when not given. Network failures do not raise:
    they set ``error`` (and ``stale`` when a cached copy is served). A bad
    ``source`` or ``rules`` raises ``ValueError``.

    ``as_of``: an ISO date or datetime (UTC) rebuilds the catalog from the
    history as it stood then (the latest snapshot at or before it; a date
    alone means the end of that day), with the same columns, rules and sort;
    nothing is fetched. See :func:`catalog_as_of`.

    ``settings``: a :class:`vision_models.Settings` for every connection option at once (default: the
    environment, read now); each keyword given here overrides its field.
    """
    if as_of is not None:
        return catalog_as_of(as_of, rules=rules, source=source, settings=settings)
    chosen = resolve(
        settings,
        source=source,
        base_url=base_url,
        api_key=api_key,
        cache_path=cache_path,
        expire_after=expire_after,
        timeout=timeout,
        deadline=deadline,
    )
    return _fetch(chosen, rules=rules, vision_only=False, refresh=refresh)


def fetch_vision_models(
    source: str | os.PathLike | None = None,
    *,
    rules: str = DEFAULT_RULES,
    base_url: str | None = None,
    api_key: str | None = None,
    cache_path: str | os.PathLike | None = None,
    expire_after: float | None = None,
    refresh: bool = False,
    timeout: tuple[float, float] | float | None = None,
    deadline: float | None = None,
    as_of: datetime | date | str | None = None,
    settings: Settings | None = None,
) -> CatalogResult:
    """The vision-capable models only; same arguments and columns as :func:`fetch_catalog`."""
    if as_of is not None:
        return catalog_as_of(as_of, rules=rules, source=source, vision_only=True, settings=settings)
    chosen = resolve(
        settings,
        source=source,
        base_url=base_url,
        api_key=api_key,
        cache_path=cache_path,
        expire_after=expire_after,
        timeout=timeout,
        deadline=deadline,
    )
    return _fetch(chosen, rules=rules, vision_only=True, refresh=refresh)


def catalog_as_of(
    as_of: datetime | date | str,
    *,
    rules: str = "seed",
    source: str | os.PathLike | None = None,
    vision_only: bool = False,
    history_path: str | os.PathLike | None = None,
    settings: Settings | None = None,
) -> CatalogResult:
    """The catalog as the history recorded it at ``as_of``, as a result that answers like a file source.

    ``source`` is ``"history (as of ...; snapshot of ...)"``; ``cached`` is
    False, so :meth:`CatalogResult.to_api_payload` gives the fresh shape. Columns
    the history does not store are empty: ``description`` ``""``,
    ``output_modalities`` ``[]``, ``max_completion_tokens`` ``<NA>``,
    ``created`` ``NaT``. A ``source`` other than OpenRouter is a ``ValueError``
    (the history records OpenRouter only), as is a date before the first snapshot.
    ``history_path`` overrides ``settings.history_path`` (see :func:`vision_models.stores.versions.get_history_path`).
    """
    from . import history

    check_rules(rules)
    if source is not None and get_source(source) != "openrouter":
        raise ValueError(
            f"as_of reads the history of OpenRouter's catalog; it cannot be combined with source={str(source)!r}"
        )
    models, snapshot = history.frame_as_of(as_of, rules, vision_only=vision_only, path=history_path, settings=settings)
    label = as_of.isoformat() if isinstance(as_of, (datetime, date)) else str(as_of).strip()
    taken = snapshot.isoformat(timespec="seconds").replace("+00:00", "Z")
    return CatalogResult(
        models=models,
        source=f"history (as of {label}; snapshot of {taken})",
    )


def _fetch(settings: Settings, *, rules: str, vision_only: bool, refresh: bool) -> CatalogResult:
    """The frame of a source; from a fresh cached body, the frame built from it before (see :mod:`vision_models.catalog.memo`)."""
    check_rules(rules)  # a bad rule set is a usage error: say so before any network work
    session = _session(settings)
    locate = {"session": session, "settings": settings}
    fresh = peek_fresh(**locate) if session is not None and not refresh else None
    if fresh is not None:
        models = memo.load_frame(session, memo.memo_key(fresh.digest, rules, vision_only))
        if models is not None:
            return CatalogResult(
                models=models, source=fresh.source, cached=True, cache_age=age_seconds(fresh.fetched_at)
            )
    raw = load_raw(settings=settings, refresh=refresh, session=session)
    if raw.downloaded and raw.source == "openrouter":
        _record(raw, settings)
    models = models_frame(raw.entries, rules, vision_only=vision_only)
    if session is not None and (raw.cached or raw.downloaded) and not raw.error and raw.body is not None:
        _remember(locate, raw, rules, vision_only, models)
    return _result(raw, models)


def _session(settings: Settings):
    """The cache's session for a remote source, opened once for the whole call (None for a file or the sample)."""
    if not is_remote(settings.source):
        return None
    try:
        return get_session(settings.cache_path, settings.expire_after)
    except sqlite3.Error:  # load_raw opens it again, and recovers or says why
        return None


def _remember(locate: dict, raw: RawCatalog, rules: str, vision_only: bool, models: pd.DataFrame) -> None:
    """Store the frame built from a cached or downloaded body, when that body is what the cache now holds."""
    if not _builds_quietly(raw):
        return
    fresh = peek_fresh(**locate)
    digest = body_digest(raw.body)
    if fresh is not None and fresh.digest == digest:
        memo.save_frame(locate["session"], memo.memo_key(digest, rules, vision_only), models)


def _builds_quietly(raw: RawCatalog) -> bool:
    """True when building a frame of ``raw`` warned of nothing, so a frame remembered from it hides no warning."""
    body = cast(bytes, raw.body)  # _remember is called only with a body
    return not holds_surrogate_escapes(body) and not entry_problems(raw.entries)


def _record(raw: RawCatalog, settings: Settings) -> None:
    """Every catalog downloaded from OpenRouter (not a cache hit) leaves a record in the history.

    The history is a by-product: a problem with it warns and never costs the user the catalog.
    """
    from . import history

    try:
        history.record_fetch(
            raw.entries, fetched_at=raw.fetched_at, source=raw.source, body=raw.body, settings=settings
        )
    except (sqlite3.Error, OSError, ValueError) as exc:
        warnings.warn(f"could not record this catalog in the history: {exc}", stacklevel=4)


def _result(raw: RawCatalog, models: pd.DataFrame) -> CatalogResult:
    return CatalogResult(
        models=models,
        source=raw.source,
        cached=raw.cached,
        cache_age=raw.age_seconds(),
        error=raw.error,
        stale=raw.stale,
    )

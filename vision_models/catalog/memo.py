"""Frames remembered beside the cached body they were built from, so a warm call skips parsing.

Parsing a 4,000-model catalog (5 MB of JSON) and building its frame take
about 60 ms, most of a warm ``vision-models list``. The frame built from a
cached body is stored in the cache file (table ``frames``) under a key made
of the body's SHA-256 (which the cache keeps with the body, table
``bodies``), the rules, whether it holds vision models only, and
the code that built it (the frame and vision-rule modules, pandas, numpy,
Python): the same body always builds the same frame, so a hit is exact, and
any change of code or library is a miss. A build that warned (entries
skipped, text replaced) is not stored, so a hit never hides a warning.
Whatever goes wrong here (a locked or full file, a row that does not load)
is a miss: the frame is built again from the body.

The rows are pickles, as requests-cache's own rows in the same file are: the
file is the user's, in the user's cache folder.
"""

from __future__ import annotations

import hashlib
import pickle
import platform
import sys
from functools import lru_cache
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from . import frame, vision


def memo_key(digest: str, rules: str, vision_only: bool) -> str:
    """The key of the frame built from the body of SHA-256 ``digest`` under ``rules`` (all models, or vision only)."""
    return f"{digest}:{rules}:{'vision' if vision_only else 'all'}:{_code_version()}"


def load_frame(session, key: str) -> pd.DataFrame | None:
    """The frame stored under ``key`` in the session's cache file, or None."""
    get = getattr(session.cache, "get_frame", None)
    blob = get(key) if get is not None else None
    if blob is None:
        return None
    try:
        models = pickle.loads(blob)
    except Exception:  # a row another version wrote, or a damaged one: build again, and drop it
        models = None
    if not isinstance(models, pd.DataFrame) or list(models.columns[: len(frame.BASE_COLUMNS)]) != frame.BASE_COLUMNS:
        session.cache.delete_frame(key)
        return None
    return models


def save_frame(session, key: str, models: pd.DataFrame) -> None:
    """Store ``models`` under ``key`` (a no-op for a cache without a file)."""
    save = getattr(session.cache, "save_frame", None)
    if save is not None:
        save(key, pickle.dumps(models, protocol=pickle.HIGHEST_PROTOCOL))


@lru_cache(maxsize=1)
def _code_version() -> str:
    """A short digest of what a frame depends on besides the body: the building code and the libraries."""
    digest = hashlib.sha256()
    for module in (frame, vision):
        digest.update(Path(cast(str, module.__file__)).read_bytes())  # a module of this package: a file
    digest.update(f"{pd.__version__} {np.__version__} {sys.version} {platform.machine()}".encode())
    return digest.hexdigest()[:16]

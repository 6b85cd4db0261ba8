"""Deprecated: ``vision_models.cache`` was split; each of its names is now in one of these modules.

:mod:`vision_models.http.cache` (the requests-cache backend, the sessions' files) and
:mod:`vision_models.http.cache_info` (``get_cache_info``, ``clear_cache``). The old name goes in the next release.
"""

import warnings
from typing import Any

from .http import cache as _http_cache
from .http import cache_info as _http_cache_info

_HOMES = (_http_cache, _http_cache_info)

warnings.warn(
    "vision_models.cache moved to vision_models.http.cache, vision_models.http.cache_info; "
    "the old name goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> Any:
    """Each name from its new home."""
    for home in _HOMES:
        if hasattr(home, name):
            return getattr(home, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

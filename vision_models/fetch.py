"""Deprecated: ``vision_models.fetch`` moved to :mod:`vision_models.http.client`.

The old name goes in the next release.
"""

import warnings
from typing import Any

from .http import client as _http_client

_HOMES = (_http_client,)

warnings.warn(
    "vision_models.fetch moved to vision_models.http.client; the old name goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> Any:
    """Each name from its new home."""
    for home in _HOMES:
        if hasattr(home, name):
            return getattr(home, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

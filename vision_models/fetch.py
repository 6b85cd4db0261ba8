"""Deprecated: ``vision_models.fetch`` was split; each of its names is now in one of these modules.

:mod:`vision_models.http.client` (``fetch_json``, the sessions), :mod:`vision_models.http.deadline` and
:mod:`vision_models.catalog.source` (the sources, ``RawCatalog``). The old name goes in the next release.
"""

import warnings
from typing import Any

from .catalog import source as _catalog_source
from .http import client as _http_client
from .http import deadline as _http_deadline

_HOMES = (_http_client, _http_deadline, _catalog_source)

warnings.warn(
    "vision_models.fetch moved to vision_models.http.client, vision_models.http.deadline, "
    "vision_models.catalog.source; the old name goes in the next release",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> Any:
    """Each name from its new home."""
    for home in _HOMES:
        if hasattr(home, name):
            return getattr(home, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

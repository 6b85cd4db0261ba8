"""The catalog: where it comes from, its frame, the vision rules, filters, endpoints and history.

:mod:`.api` holds :func:`fetch_catalog` and :func:`fetch_vision_models`. ``vision_models.catalog`` was that
module before the package had layers, so every name of :mod:`.api` is still found here.
"""

from typing import Any

from . import api
from .api import CatalogResult, fetch_catalog, fetch_vision_models

__all__ = ["CatalogResult", "fetch_catalog", "fetch_vision_models"]


def __getattr__(name: str) -> Any:
    """The rest of :mod:`.api`'s names (``vm.catalog.models_frame``), as the flat module had them."""
    try:
        return getattr(api, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None

"""vision_models: which OpenRouter models can read an image, what a page costs on each, and which to use.

>>> import vision_models as vm
>>> res = vm.fetch_vision_models()          # live, cached one hour in SQLite
>>> res.models.head()
"""

from __future__ import annotations

from .catalog import CatalogResult, fetch_catalog, fetch_vision_models, sort_models
from .filters import filter_models
from .vision import get_supports_images

__all__ = [
    "CatalogResult",
    "fetch_catalog",
    "fetch_vision_models",
    "filter_models",
    "get_supports_images",
    "sort_models",
]

__version__ = "0.1.0"

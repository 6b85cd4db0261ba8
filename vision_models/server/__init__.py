"""The ``/api/models`` server (:mod:`.app`) and its connection guard (:mod:`.guard`).

``vision_models.server`` was :mod:`.app` before the package had layers, so every name of :mod:`.app` is still
found here.
"""

from typing import Any

from . import app
from .app import RequestLog, build_snapshot, create_server, make_app, parse_query, serve

__all__ = ["RequestLog", "build_snapshot", "create_server", "make_app", "parse_query", "serve"]


def __getattr__(name: str) -> Any:
    """The rest of :mod:`.app`'s names (``vision_models.server.ByteMemo``), as the flat module had them."""
    try:
        return getattr(app, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None

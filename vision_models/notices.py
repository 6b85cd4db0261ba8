"""What the package says while it works, kept once at the bottom: a warning said once, a progress bar.

Apart from :mod:`vision_models.common` so the pure rules (which pricing uses) import no threads or terminals.
"""

from __future__ import annotations

import sys
import threading
import warnings
from typing import Any

_said: set[str] = set()
_said_lock = threading.Lock()


def warn_once(topic: str, message: str) -> None:
    """A warning said once per process per topic: a server would otherwise repeat it on every request."""
    with _said_lock:
        if topic in _said:
            return
        _said.add(topic)
    warnings.warn(message, stacklevel=3)


class NoBar:
    """What :func:`progress_bar` answers when no bar is shown: the same calls, doing nothing."""

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(total: int, *, desc: str, unit: str, show: bool | None = None, more_than: int = 0) -> Any:
    """tqdm.auto's bar (a widget in Jupyter, stderr on a terminal), or a :class:`NoBar`.

    ``show``: True or False decides; ``None`` shows one when the session is
    interactive and ``total`` is over ``more_than``. Without tqdm installed,
    never a bar.
    """
    if show is None:
        show = total > more_than and (sys.stderr.isatty() or in_jupyter())
    if not show:
        return NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return NoBar()
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr)


def in_jupyter() -> bool:
    """True inside a Jupyter kernel (where tqdm.auto draws a widget)."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    ip = shell.get_ipython() if hasattr(shell, "get_ipython") else None
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"

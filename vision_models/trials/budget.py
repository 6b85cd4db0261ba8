"""The budget of a run: every request's worst case reserved before it is sent, replaced by its bill after.

The rules are in :mod:`vision_models.trials` (``The budget``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from .plan import _EPS

# ---------------------------------------------------------------- the budget


class Budget:
    """What a run may still spend: billed + unknown + reserved (in flight) never above ``max_usd``.

    ``billed`` is what providers reported (or tokens at catalog prices);
    ``unknown`` is the reserves kept for requests that may have been billed
    without saying what (a reset after sending, a cut or missing answer).
    ``acquire`` waits while a request would fit once in-flight requests settle,
    and while another request of the same model is in flight before that
    model's first page answer showed its real bill (so a surprise costs one
    request); it gives up (None) when the request cannot fit even then, the
    model is blocked, or the run stops.
    """

    def __init__(self, max_usd: float) -> None:
        self.max_usd = float(max_usd)
        self.billed = 0.0
        self.unknown = 0.0
        self.reserved = 0.0
        self._in_flight: dict[str, int] = {}
        self._probed: set[str] = set()
        self.blocked: dict[str, str] = {}
        self._cond = threading.Condition()
        self.stopped = False

    @property
    def spent(self) -> float:
        return self.billed + self.unknown

    def acquire(self, model: str, worst: Callable[[], float]) -> float | None:
        """Reserve ``worst()`` (recomputed as the model's bills are seen) for one request of ``model``."""
        with self._cond:
            while True:
                if self.stopped or model in self.blocked:
                    return None
                amount = worst()
                if not amount == amount or self.spent + amount > self.max_usd + _EPS:  # noqa: SIM201 (true for NaN)
                    return None
                alone = model not in self._probed and self._in_flight.get(model, 0) > 0
                if not alone and self.spent + self.reserved + amount <= self.max_usd + _EPS:
                    self.reserved += amount
                    self._in_flight[model] = self._in_flight.get(model, 0) + 1
                    return amount
                self._cond.wait(timeout=0.5)

    def settle(
        self, model: str, reserved: float, *, billed: float = 0.0, unknown: float = 0.0, priced: bool = False
    ) -> None:
        """Replace a reserve by what was billed and what may have been (``priced``: a page answer showed the bill)."""
        with self._cond:
            self.reserved = max(0.0, self.reserved - reserved)
            self.billed += billed
            self.unknown += unknown
            self._in_flight[model] = self._in_flight.get(model, 1) - 1
            if priced:
                self._probed.add(model)
            self._cond.notify_all()

    def block(self, model: str, reason: str) -> None:
        """Send nothing more to ``model`` (its bills broke the catalog's promise)."""
        with self._cond:
            self.blocked.setdefault(model, reason)
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self.stopped = True
            self._cond.notify_all()

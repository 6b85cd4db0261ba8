"""Plain-text tables for a terminal: fitted to its width, with remote text made harmless.

Model names and descriptions come from a remote catalog: a control character
in one (an ANSI escape sequence, a carriage return, a bidirectional override)
could restyle or rewrite the user's terminal, so every cell shows such
characters as visible ``\\x1b``-style escapes.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable, Sequence

from .text import terminal_safe

GAP = "  "
MIN_SHRUNK = 8  # a shortened column keeps at least this many characters (or its header's width)


def cell_text(value: object, limit: int | None = None) -> str:
    """Remote text (a model's answer, an error) for one table cell: escaped, on one line, at most ``limit`` long.

    Missing values are empty; line breaks show as ``⏎``.
    """
    if value is None or (isinstance(value, float) and value != value):
        return ""
    text = terminal_safe(str(value).replace("\r\n", "\n").replace("\n", " ⏎ "))
    return shorten(text, limit) if limit is not None else text


def table_width(wide: bool = False) -> int | None:
    """The width a table must fit: ``$COLUMNS``, else the terminal's; None (no limit) with ``wide`` or when piped."""
    if wide:
        return None
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


def ellipsis() -> str:
    """"…" where the output can encode it, else "..."."""
    try:
        "…".encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return "..."
    return "…"


def shorten(text: str, width: int, mark: str = "…") -> str:
    """``text`` cut to ``width`` characters, ending in ``mark`` when cut."""
    if len(text) <= width:
        return text
    return text[: max(width - len(mark), 0)] + mark if width > len(mark) else text[:width]


def fit_widths(
    widths: Sequence[int], limit: int | None, shrink: Sequence[int], minimums: Sequence[int]
) -> list[int]:
    """Column widths that fit ``limit`` with :data:`GAP` between them, taking from ``shrink`` columns in order.

    A column gives up characters down to its minimum before the next one is
    touched; the table may stay wider than ``limit`` when all are at their minimum.
    """
    fitted = list(widths)
    if limit is None:
        return fitted
    excess = sum(fitted) + len(GAP) * (len(fitted) - 1) - limit
    for i in shrink:
        if excess <= 0:
            break
        give = min(excess, max(fitted[i] - minimums[i], 0))
        fitted[i] -= give
        excess -= give
    return fitted


def text_table(
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    right: Iterable[int] = (),
    width: int | None = None,
    shrink: Sequence[int] | None = None,
    keep: dict[int, int] | None = None,
    drop: Sequence[int] = (),
) -> list[str]:
    """Lines of a fixed-width table: ``right`` columns right-aligned, cells made safe, fitted to ``width``.

    ``shrink`` lists the columns that may be shortened (with an ellipsis) to fit,
    first to give way first; by default every left-aligned column, widest first.
    Numbers (right-aligned) are never cut. A shortened column keeps at least
    ``keep[i]`` characters (default :data:`MIN_SHRUNK`, or its header's width).
    When that is still too wide, the ``drop`` columns are left out, in order.
    """
    right = set(right)
    table = [[terminal_safe(str(c)) for c in header], *([terminal_safe(str(c)) for c in row] for row in rows)]
    natural = [max(len(row[i]) for row in table) for i in range(len(header))]
    if shrink is None:
        shrink = sorted((i for i in range(len(header)) if i not in right), key=lambda i: -natural[i])
    keep = keep or {}
    minimums = [min(natural[i], keep.get(i, max(MIN_SHRUNK, len(table[0][i])))) for i in range(len(header))]
    widths = fit_widths(natural, width, shrink, minimums)
    if width is not None and drop and sum(widths) + len(GAP) * (len(widths) - 1) > width:
        left = [i for i in range(len(header)) if i != drop[0]]
        renumber = {old: new for new, old in enumerate(left)}
        return text_table(
            [header[i] for i in left],
            ([row[i] for i in left] for row in table[1:]),
            right=[renumber[i] for i in right if i in renumber],
            width=width,
            shrink=[renumber[i] for i in shrink if i in renumber],
            keep={renumber[i]: n for i, n in keep.items() if i in renumber},
            drop=[renumber[i] for i in drop[1:] if i in renumber],
        )
    mark = ellipsis()
    return [
        GAP.join(
            (shorten(cell, w, mark).rjust(w) if i in right else shorten(cell, w, mark).ljust(w))
            for i, (cell, w) in enumerate(zip(row, widths))
        ).rstrip()
        for row in table
    ]

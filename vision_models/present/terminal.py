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

from ..text import terminal_safe

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


def terminal_csv(text: str, row_end: str = "\r\n") -> str:
    """CSV for a terminal: each row's control characters escaped as the tables show them, the row ends kept.

    Only for a terminal: CSV that goes to a pipe or a file stays byte for byte
    what a program reading it expects.
    """
    return row_end.join(terminal_safe(line) for line in text.split(row_end))


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
    """ "…" where the output can encode it, else "..."."""
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


def fit_widths(widths: Sequence[int], limit: int | None, shrink: Sequence[int], minimums: Sequence[int]) -> list[int]:
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
    rows = list(rows)
    columns = [list(column) for column in zip(*rows)] if rows else [[] for _ in header]
    heads = [terminal_safe(str(c)) for c in header]
    return _layout(
        heads, [_safe_column(column) for column in columns], set(right), width, shrink, keep or {}, list(drop)
    )


def _safe_column(values: list) -> list[str]:
    """A column's cells as text with control characters escaped; one check in C when (as usual) there are none."""
    texts = [v if type(v) is str else str(v) for v in values]
    return texts if "".join(texts).isprintable() else [terminal_safe(t) for t in texts]


def _layout(
    heads: list[str],
    columns: list[list[str]],
    right: set[int],
    width: int | None,
    shrink: Sequence[int] | None,
    keep: dict[int, int],
    drop: list[int],
) -> list[str]:
    count = len(heads)
    natural = [max(len(heads[i]), max(map(len, columns[i]), default=0)) for i in range(count)]
    if shrink is None:
        shrink = sorted((i for i in range(count) if i not in right), key=lambda i: -natural[i])
    minimums = [min(natural[i], keep.get(i, max(MIN_SHRUNK, len(heads[i])))) for i in range(count)]
    widths = fit_widths(natural, width, shrink, minimums)
    if width is not None and drop and sum(widths) + len(GAP) * (count - 1) > width:
        left = [i for i in range(count) if i != drop[0]]
        renumber = {old: new for new, old in enumerate(left)}
        return _layout(
            [heads[i] for i in left],
            [columns[i] for i in left],
            {renumber[i] for i in right if i in renumber},
            width,
            [renumber[i] for i in shrink if i in renumber],
            {renumber[i]: n for i, n in keep.items() if i in renumber},
            [renumber[i] for i in drop[1:] if i in renumber],
        )
    mark = ellipsis()
    padded = []
    for i, (head, column, w) in enumerate(zip(heads, columns, widths)):
        cells = [head, *column]
        if w < natural[i]:
            cells = [shorten(cell, w, mark) for cell in cells]
        padded.append([cell.rjust(w) for cell in cells] if i in right else [cell.ljust(w) for cell in cells])
    return [GAP.join(line).rstrip() for line in zip(*padded)]

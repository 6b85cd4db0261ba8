"""Writing frames for other programs: CSV that a spreadsheet opens safely, and JSON records.

Model names and descriptions come from a remote catalog, so a cell such as
``=HYPERLINK(...)`` is someone else's text. By default every text cell that a
spreadsheet would read as a formula (it starts with ``=``, ``+``, ``-``, ``@``,
a tab, a carriage return or a line feed) gets a leading single quote, as
OWASP advises; numbers are left as numbers.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
LIST_SEPARATOR = "|"
CRLF = "\r\n"


def export_csv(frame: pd.DataFrame, path: str | os.PathLike | io.TextIOBase, *, safe: bool = True) -> Path | None:
    """Write ``frame`` as UTF-8 CSV with a header; returns the path written (None for a stream).

    Lists are joined with ``|``, datetimes are ISO 8601 UTC, prices are plain
    decimals (their unit is in the column name). Rows end in CRLF as RFC 4180
    says, which also makes the writer quote any cell holding a bare carriage
    return. ``safe=False`` keeps text exactly as it came, formulas included.
    """
    table = csv_ready(frame, safe=safe)
    if isinstance(path, (str, os.PathLike)):
        target = Path(path).expanduser()
        table.to_csv(target, index=False, encoding="utf-8", lineterminator=CRLF, float_format=_plain_decimal)
        return target
    table.to_csv(path, index=False, lineterminator=CRLF, float_format=_plain_decimal)
    return None


def to_csv_text(frame: pd.DataFrame, *, safe: bool = True) -> str:
    """The CSV that :func:`export_csv` writes, as a string."""
    buffer = io.StringIO()
    export_csv(frame, buffer, safe=safe)
    return buffer.getvalue()


def csv_ready(frame: pd.DataFrame, *, safe: bool = True) -> pd.DataFrame:
    """A copy of ``frame`` with every cell as a spreadsheet should get it."""
    columns = {}
    for name, column in frame.items():
        if isinstance(column.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(column.dtype):
            columns[name] = column.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        elif column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            columns[name] = _text_cells(column, safe)
        else:
            columns[name] = column
    return pd.DataFrame(columns, index=frame.index)


def neutralise_formulas(values: Iterable[object]) -> list[object]:
    """Prefix text that a spreadsheet would run as a formula with a single quote."""
    return [f"'{v}" if isinstance(v, str) and v.startswith(FORMULA_STARTS) else v for v in values]


def to_json_records(frame: pd.DataFrame) -> str:
    """JSON array of row objects; missing values are null, datetimes ISO 8601 UTC."""
    return frame.to_json(orient="records", date_format="iso", date_unit="s", force_ascii=False)


def _text_cells(column: pd.Series, safe: bool) -> list[object]:
    values = [
        LIST_SEPARATOR.join(map(str, v)) if isinstance(v, (list, tuple, np.ndarray)) else v
        for v in column.tolist()
    ]
    return neutralise_formulas(values) if safe else values


def _plain_decimal(value: float) -> str:
    """Floats without exponent or float noise: 2.5e-07 USD is written 0.00000025."""
    return np.format_float_positional(value, precision=12, unique=True, trim="-")

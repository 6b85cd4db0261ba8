"""Normalising extracted values before they are compared: numbers, dates and strings.

Numbers (:func:`parse_number`)
    Currency symbols and codes (``$ € £ ¥ ₹``, ``USD``, ``GBP``...), spaces and
    apostrophes used as thousands separators are dropped; ``(12.50)`` and a
    trailing ``-`` mean a negative amount. With both ``,`` and ``.`` present,
    the last one is the decimal mark (``1.234,56`` and ``1,234.56`` are both
    1234.56). A lone ``,`` followed by exactly three digits is a thousands
    separator (``1,234`` is 1234); otherwise it is a decimal comma (``12,5``).
    Several commas (or several dots) are thousands separators. A single dot
    is a decimal point. Numbers are compared rounded to six decimals.
Dates (:func:`parse_date`)
    To ISO 8601 ``YYYY-MM-DD``: ISO itself, ``12 March 2026``, ``March 12, 2026``,
    ``12-Mar-2026``, and numeric ``12/03/2026`` / ``12.03.2026`` read day first
    (``dayfirst=False`` reads month first); a four-digit year first is always
    year-month-day. Two-digit years are 2000 + year.
Strings (:func:`normalise_string`)
    Unicode NFC, every whitespace run one space, ends stripped, case folded
    (unless the field's kind is ``exact``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from typing import Any

#: How a field is compared: the kinds a field rule may name.
KINDS = ("number", "date", "string", "exact")

_CURRENCY = re.compile(r"[$€£¥₹₩₽₺₪¢]|\b(?:USD|EUR|GBP|JPY|CHF|CAD|AUD|INR|CNY|SEK|NOK|DKK|PLN)\b", re.IGNORECASE)
_GROUPING = re.compile(r"[\s'’\u00a0\u202f\u2009]")
_NUMBER = re.compile(r"[+-]?\d*[.,]?\d+(?:[.,]\d+)*")
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )  # fmt: skip
    for name in names
}
_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ].*)?")
_NUMERIC = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})")
_DAY_MONTH = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?[\s\-/.]+([a-z]+)\.?[\s\-/.,]+(\d{2}|\d{4})")
_MONTH_DAY = re.compile(r"([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})")


def parse_number(value: Any) -> float | None:
    """The number ``value`` writes (see the module docstring), or None when it holds none."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if not isinstance(value, str):
        return None
    text = _GROUPING.sub("", _CURRENCY.sub("", value.strip()))
    negative = text.startswith("(") and text.endswith(")") or text.endswith("-")
    text = text.strip("()").rstrip("-")
    match = _NUMBER.fullmatch(text)
    if match is None:
        return None
    body = text.lstrip("+-")
    negative = negative or text.startswith("-")
    body = _decimal_point(body)
    try:
        number = float(body)
    except ValueError:
        return None
    return -number if negative else number


def _decimal_point(body: str) -> str:
    """``body`` with thousands separators dropped and its decimal mark a dot."""
    commas, dots = body.count(","), body.count(".")
    if commas and dots:
        decimal = "," if body.rfind(",") > body.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        return body.replace(thousands, "").replace(decimal, ".")
    if commas > 1:
        return body.replace(",", "")
    if commas == 1:
        head, tail = body.split(",")
        return head + tail if len(tail) == 3 and head else f"{head}.{tail}"
    if dots > 1:
        return body.replace(".", "")
    return body


def parse_date(value: Any, *, dayfirst: bool = True) -> str | None:
    """``value`` as an ISO 8601 date (``2026-03-12``), or None when it is no date read here."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        return None
    text = " ".join(value.strip().casefold().split())
    if match := _ISO.fullmatch(text):
        return _iso(int(match[1]), int(match[2]), int(match[3]))
    if match := _NUMERIC.fullmatch(text):
        first, second = int(match[1]), int(match[2])
        day, month = (first, second) if dayfirst else (second, first)
        return _iso(_year(match[3]), month, day)
    if match := _DAY_MONTH.fullmatch(text):
        named = _MONTHS.get(match[2])
        return _iso(_year(match[3]), named, int(match[1])) if named else None
    if match := _MONTH_DAY.fullmatch(text):
        named = _MONTHS.get(match[1])
        return _iso(int(match[3]), named, int(match[2])) if named else None
    return None


def _year(text: str) -> int:
    return 2000 + int(text) if len(text) == 2 else int(text)


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def normalise_string(value: Any, *, casefold: bool = True) -> str:
    """NFC, whitespace runs collapsed to one space, ends stripped; case folded unless ``casefold=False``."""
    text = value if isinstance(value, str) else _plain(value)
    text = unicodedata.normalize("NFC", text)
    if casefold:
        text = unicodedata.normalize("NFC", text.casefold())
    return " ".join(text.split())


def _plain(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def normalise(value: Any, kind: str, *, dayfirst: bool = True) -> Any:
    """``value`` in the comparable form of ``kind``; None for an absent value (None or blank text).

    A value that does not read as its kind (``"n/a"`` for a number) is kept
    as its normalised string, so it equals only the same text.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if kind == "number":
        number = parse_number(value)
        return ("number", round(number, 6)) if number is not None else normalise_string(value)
    if kind == "date":
        date = parse_date(value, dayfirst=dayfirst)
        return date if date is not None else normalise_string(value)
    if kind == "exact":
        return normalise_string(value, casefold=False)
    if kind == "string":
        return normalise_string(value)
    raise ValueError(f"field kind must be one of {', '.join(KINDS)}, not {kind!r}")


def infer_kind(truth_value: Any) -> str:
    """The kind a field's expected value implies: a JSON number is a number, an ISO date a date, else a string."""
    if isinstance(truth_value, (int, float)) and not isinstance(truth_value, bool):
        return "number"
    if isinstance(truth_value, str) and _ISO.fullmatch(truth_value.strip()) and parse_date(truth_value):
        return "date"
    return "string"

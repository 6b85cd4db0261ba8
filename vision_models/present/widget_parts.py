"""What the notebook widgets are built from: the display with a static HTML copy, escaped HTML tables and cells,
charts as PNG, and the small readings they share (retirement notes, search, what a ranking left out, the default
comparison).
"""

from __future__ import annotations

import base64
import html
import io
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as w
import numpy as np
import pandas as pd

from ..catalog.filters import filter_mask
from ..catalog.kinds import kind_counts
from ..pricing.cost import rank_costs
from ..text import NO_MATH
from .cost_tables import cost_per_image

CHART_DPI = 90
_CELL = "padding:2px 8px;border-bottom:1px solid #ddd;"


#: Columns the controls show.
COST_COLUMNS = ["id", "image_tokens", "method", "uncertain", "free", "usd_per_1k_images", "context_length"]
PROVIDER_COLUMNS = [
    "id",
    "provider_name",
    "quantization",
    "status",
    "uptime_last_30m",
    "usd_per_1k_images",
    "vs_cheapest_pct",
]
_WIDE = w.Layout(width="420px")


def html_table(frame: pd.DataFrame, columns: Sequence[str] | None = None, *, max_rows: int = 60) -> str:
    """An HTML table of ``frame`` with every cell escaped and formatted for reading.

    Numbers are right-aligned with thousands separators and a precision that
    suits their size; booleans read "yes" / "no"; lists are joined with ``+``;
    missing values are "-". The header is the column names, nothing more.
    MathJax leaves the table alone: a "$" in it stays a dollar sign.
    """
    shown = frame if columns is None else frame[[c for c in columns if c in frame]]
    head = shown.head(max_rows)
    numeric = {name: _is_numeric_column(head[name]) for name in head.columns}
    header = "".join(
        f'<th style="{_CELL}text-align:{"right" if numeric[name] else "left"}">{html.escape(str(name))}</th>'
        for name in head.columns
    )
    body = []
    for row in head.itertuples(index=False, name=None):
        cells = "".join(_html_cell(value) for value in row)
        body.append(f"<tr>{cells}</tr>")
    table = (
        f'<table class="vision-models-table {NO_MATH}" style="border-collapse:collapse;font-size:12px">'
        f"<thead><tr>{header}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )
    more = f'<p class="{NO_MATH}">... and {len(frame) - max_rows:,} more</p>' if len(frame) > max_rows else ""
    return table + more


def format_cell(value: Any) -> str:
    """One value as a reader wants it: 128,000; 2.50; 0.0042; yes; a+b; -."""
    if isinstance(value, (list, tuple)):
        return "+".join(map(str, value))
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        return _format_float(float(value))
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return str(value)


def _format_float(value: float) -> str:
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < 1e15:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:,.2f}"
    return f"{value:.3g}"


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and type(value).__name__ != "bool_"


def _is_numeric_column(column: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(column.dtype):
        return False
    if pd.api.types.is_numeric_dtype(column.dtype):
        return True
    values = [v for v in column.tolist() if not (v is None or v is pd.NA)]
    return bool(values) and all(_is_number(v) for v in values)


def _html_cell(value: Any) -> str:
    align = "right" if _is_number(value) else "left"
    return f'<td style="{_CELL}text-align:{align}">{html.escape(format_cell(value))}</td>'


def message_html(text: str) -> str:
    """A plain, escaped message in place of a table (which MathJax leaves alone)."""
    return f'<p class="{NO_MATH}"><em>{html.escape(text)}</em></p>'


def figure_png(draw: Callable[[Any], Any], size: tuple[float, float]) -> bytes:
    """PNG bytes of a chart drawn by ``draw(ax)`` on a bare Figure, which is closed (dropped) afterwards.

    No pyplot: nothing depends on the notebook's matplotlib backend, and no
    figure is left open to be shown again by the backend at the end of a cell.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    try:
        draw(fig.subplots())
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=CHART_DPI)
    finally:
        fig.clear()
    return buffer.getvalue()


def show_png(output: w.Output, png: bytes | None, label: str = "chart") -> None:
    """Replace what ``output`` shows with the image (or nothing when ``png`` is None)."""
    if png is None:
        output.outputs = ()
        return
    data = {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": f"<{label}>"}
    output.outputs = ({"output_type": "display_data", "data": data, "metadata": {}},)


def png_html(png: bytes | None, alt: str) -> str:
    if png is None:
        return ""
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


class _Displayed:
    """Display as the live widget, with a static HTML rendering and a text summary beside it.

    JupyterLab shows the live widget; a saved notebook whose widget state is
    gone (GitHub, nbviewer, a reader who has not run it) shows the HTML.
    """

    summary = ""

    @property
    def widget(self) -> w.Widget:  # pragma: no cover - each control set defines it
        raise NotImplementedError

    def static_html(self) -> str:  # pragma: no cover - each control set defines it
        raise NotImplementedError

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        bundle = self.widget._repr_mimebundle_() or {}
        bundle["text/html"] = (
            f'<div class="vision-models-static {NO_MATH}"><p><em>{html.escape(self.summary)}</em></p>'
            f"{self.static_html()}</div>"
        )
        bundle["text/plain"] = self.summary
        return bundle


def search_mask(models: pd.DataFrame, text: str) -> np.ndarray:
    """Which rows a picker's search finds: the id or name contains ``text``, any case (blank: all)."""
    if not text.strip():
        return np.ones(len(models), dtype=bool)
    return filter_mask(models, search=text)


def expiry_notes(models: pd.DataFrame) -> list[str]:
    """``"  - expires YYYY-MM-DD"`` for each model with an ``expiration_date``, else ``""``."""
    if "expiration_date" not in models:
        return [""] * len(models)
    dates = models["expiration_date"]
    return ["" if pd.isna(d) else f"  - expires {d:%Y-%m-%d}" for d in dates.tolist()]


def _left_out_text(left_out: dict, kinds_left_out: Sequence[str] = ()) -> str:
    """What a widget's ranking left out (``ranking_left_out``, and the kinds of its ``other_kinds``), in words;
    "" when nothing."""
    variants, unfit = left_out.get("free_variants") or [], left_out.get("does_not_fit") or []
    parts = []
    if variants:
        parts.append(f"{_count(len(variants), ':free variant')} left out (tick “include free variants” to show them)")
    if unfit:
        parts.append(f"{_count(len(unfit), 'model')} too small for this request left out (context or maximum output)")
    kinds, same = left_out.get("other_kinds") or [], left_out.get("same_base") or []
    if kinds:
        what = "does not read pages" if len(kinds) == 1 else "do not read pages"
        known = list(kinds_left_out)
        named = kind_counts(known) if len(known) == len(kinds) else "routers, aliases, guards, agents"
        parts.append(f"{_count(len(kinds), 'model')} that {what} left out ({named})")
    if same:
        parts.append(f"{_count(len(same), 'dearer listing')} of a model already ranked left out (snapshots, variants)")
    return "; ".join(parts) + "." if parts else ""


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"bad {name} {value!r}: expected True or False")
    return bool(value)


def default_comparison(models: pd.DataFrame, n: int = 3, *, include_free: bool = False, **options) -> list[str]:
    """The cheapest model of each of the ``n`` providers with the most models, among those the request fits.

    ``options`` are :func:`vision_models.cost_per_image`'s (image size or
    preset, tokens). A comparison of costs starts from models that cost
    something: free ones (``:free`` variants and zero-priced models) and
    unknown prices are passed over unless ``include_free=True``, which lets a
    free model be its provider's pick (unknown prices never are).
    """
    include_free = _flag("include_free", include_free)
    if models.empty:
        return []
    ranked = rank_costs(cost_per_image(models, **options), include_free=include_free)
    priced = ranked[
        ranked["usd_per_1k_images"].notna().to_numpy() & (include_free | ~ranked["free"].to_numpy(dtype=bool))
    ]
    biggest = models["provider"].value_counts(sort=True).index.tolist()
    cheapest = priced.drop_duplicates("provider").set_index("provider")["id"]  # costs are sorted cheapest first
    return [cheapest[p] for p in biggest if p in cheapest.index][:n]


def _usd(value: float) -> str:
    return "unknown" if pd.isna(value) else f"${value:,.4g}"

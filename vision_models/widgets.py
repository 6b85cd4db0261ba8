"""Notebook controls: thin ipywidgets wiring over the package's pure functions.

Each control set keeps its result as a plain attribute (``filtered``,
``chosen``, ``costs``, ``compared``), so every behaviour is tested by setting
``.value`` on the widgets, without a browser. Catalog text is remote input:
whatever reaches an HTML widget is escaped first. Every piece of HTML carries
the classes that keep MathJax off it (:data:`vision_models.text.NO_MATH`), so
JupyterLab shows "$0.06 / $0.24" as two prices, not as a formula.

Charts are drawn on a bare matplotlib ``Figure`` (never pyplot, so no backend
is involved: inline, Agg and ipympl all work) and put into the ``Output``
widget as a PNG; the figure is closed right after. Displayed, a control set
also carries a static HTML rendering of its current result, which is what a
reader of the saved notebook sees where the live widget is not running.
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
import pandas as pd

from .charts import cost_title, plot_cost_per_image, plural
from .cost import PRESETS, check_model_ids, compare, cost_per_image
from .filters import filter_models
from .text import NO_MATH, no_math
from .vision import DEFAULT_RULES, get_supports_images

CUSTOM = "custom"
MODEL_COLUMNS = ["id", "name", "context_length", "prompt_usd_per_mtok", "completion_usd_per_mtok", "vision_evidence"]
COST_COLUMNS = ["id", "image_tokens", "method", "uncertain", "free", "usd_per_1k_images", "context_length"]
PROVIDER_COLUMNS = ["id", "provider_name", "quantization", "status", "uptime_last_30m", "usd_per_1k_images", "vs_cheapest_pct"]
CHART_DPI = 90
_WIDE = w.Layout(width="420px")
_CELL = "padding:2px 8px;border-bottom:1px solid #ddd;"


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


class ModelFilter(_Displayed):
    """Provider, context, price, rules and text controls over a catalog; ``filtered`` follows them.

    Give it every model (``fetch_catalog().models``) so that switching to the
    strict rules can re-decide which ones read images. ``picker`` offers the
    filtered models for the next cell.
    """

    summary = (
        "ModelFilter: filters the vision models by provider, minimum context, maximum prompt price, "
        "rules and a search; run the notebook to use the controls. Current result:"
    )

    def __init__(self, models: pd.DataFrame, *, empty_note: str | None = None, max_rows: int = 60) -> None:
        self.models = models
        self.empty_note = empty_note
        self.max_rows = max_rows
        self.providers = w.SelectMultiple(
            options=sorted(models["provider"].unique()), rows=6, description="Provider", layout=_WIDE
        )
        self.min_context = w.BoundedIntText(value=0, min=0, max=100_000_000, step=1000, description="Min context")
        self.max_price = w.Text(value="", placeholder="any", description="Max $/Mtok")
        self.rules = w.ToggleButtons(options=["seed", "strict"], value=DEFAULT_RULES, description="Rules")
        self.search = w.Text(value="", placeholder="id or name", description="Search")
        self.count = w.HTML()
        self.table = w.HTML()
        self.picker = ModelPicker(models.iloc[:0])
        self.filtered = models.iloc[:0]
        for control in (self.providers, self.min_context, self.max_price, self.rules, self.search):
            control.observe(self._update, names="value")
        self._update()

    @classmethod
    def from_result(cls, result) -> ModelFilter:
        """A filter over a fetch result; an empty result shows its error as the message."""
        note = f"No models: {result.error}." if result.error and result.models.empty else None
        return cls(result.models, empty_note=note)

    @property
    def widget(self) -> w.Widget:
        controls = w.HBox([self.providers, w.VBox([self.min_context, self.max_price, self.search, self.rules])])
        return w.VBox([controls, self.count, self.table, self.picker.widget])

    def static_html(self) -> str:
        return self.count.value + self.table.value + self.picker.details.value

    def _update(self, change=None) -> None:
        max_price = self._max_price()
        if max_price is False:
            return
        vision = self.models[get_supports_images(self.models, self.rules.value).to_numpy()]
        self.filtered = filter_models(
            vision,
            providers=list(self.providers.value) or None,
            min_context=self.min_context.value or None,
            max_prompt_price=max_price,
            search=self.search.value,
        )
        self.picker.set_models(self.filtered)
        if self.filtered.empty:
            self.count.value = ""
            self.table.value = message_html(self.empty_note or "No model matches these filters.")
            return
        self.count.value = no_math(f"<b>{len(self.filtered):,}</b> of {plural(len(vision), 'vision model')}")
        self.table.value = html_table(self.filtered, MODEL_COLUMNS, max_rows=self.max_rows)

    def _max_price(self) -> float | None | bool:
        """The price bound, None for any; False (after saying why, by the control's label) when unreadable."""
        text = self.max_price.value.strip()
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if value >= 0 and not math.isinf(value):
            return value
        label = self.max_price.description
        self.count.value = message_html(f"{label}: expected USD per million tokens, a number >= 0, got {text!r}")
        self.table.value = ""
        self.filtered = self.models.iloc[:0]
        self.picker.set_models(self.filtered)
        return False


class ModelPicker(_Displayed):
    """A dropdown of models; ``chosen`` is the selected id (None when there is none)."""

    summary = "ModelPicker: choose a model; the next cell reads the choice. Current choice:"

    def __init__(self, models: pd.DataFrame, *, value: str | None = None) -> None:
        self.dropdown = w.Dropdown(description="Model", layout=_WIDE)
        self.details = w.HTML()
        self.models = models
        self.dropdown.observe(self._show, names="value")
        self.set_models(models, value=value)

    @property
    def chosen(self) -> str | None:
        return self.dropdown.value

    @property
    def widget(self) -> w.Widget:
        return w.VBox([self.dropdown, self.details])

    def static_html(self) -> str:
        return self.details.value

    def set_models(self, models: pd.DataFrame, *, value: str | None = None) -> None:
        """Offer ``models``; keep the current choice if it is still there."""
        keep = value or self.dropdown.value
        self.models = models
        ids = models["id"].tolist()
        # Labels are plain text in the browser's <option>, never HTML; a model about to be retired says so.
        notes = expiry_notes(models)
        self.dropdown.options = [
            (f"{name}  ({model_id}){note}", model_id) for model_id, name, note in zip(ids, models["name"], notes)
        ]
        self.dropdown.value = keep if keep in ids else (ids[0] if ids else None)
        self._show()

    def _show(self, change=None) -> None:
        if self.chosen is None:
            self.details.value = message_html("No model to choose.")
            return
        row = self.models.loc[self.models["id"] == self.chosen].iloc[0]
        prices = f"{_usd(row['prompt_usd_per_mtok'])} / {_usd(row['completion_usd_per_mtok'])} per M tokens in/out"
        self.details.value = (
            f'<p class="{NO_MATH}"><b>{html.escape(row["name"])}</b> <code>{html.escape(row["id"])}</code><br>'
            f"{html.escape(row['description'])}<br>{html.escape(prices)}</p>"
        )


class CostExplorer(_Displayed):
    """Image size, answer length and a context floor; ``costs`` is the full table, ``shown`` the cheapest."""

    summary = (
        "CostExplorer: choose an image size (or preset), instruction and answer length, a minimum context "
        "and how many models to show; run the notebook to use the controls. Current result:"
    )

    def __init__(
        self,
        models: pd.DataFrame,
        *,
        preset: str = "letter-200dpi",
        prompt_tokens: int = 60,
        output_tokens: int = 700,
        top: int = 10,
        chart: bool = True,
    ) -> None:
        self.models = models
        self.draw_chart = chart
        width, height = PRESETS[preset]
        self.preset = w.Dropdown(options=[*PRESETS, CUSTOM], value=preset, description="Image")
        self.width = w.BoundedIntText(value=width, min=1, max=100_000, description="Width px")
        self.height = w.BoundedIntText(value=height, min=1, max=100_000, description="Height px")
        self.prompt_tokens = w.BoundedIntText(value=prompt_tokens, min=0, max=1_000_000, description="Instruction")
        self.output_tokens = w.IntSlider(value=output_tokens, min=0, max=8000, step=50, description="Answer")
        self.min_context = w.BoundedIntText(value=0, min=0, max=100_000_000, step=1000, description="Min context")
        self.top = w.IntSlider(value=top, min=1, max=60, description="Show")
        self.table = w.HTML()
        self.chart = w.Output()
        self.png: bytes | None = None
        self.costs = pd.DataFrame()
        self.qualifying = pd.DataFrame()
        self.shown = pd.DataFrame()
        self._syncing = False
        self.preset.observe(self._preset_changed, names="value")
        for control in (self.width, self.height, self.prompt_tokens, self.output_tokens, self.min_context, self.top):
            control.observe(self._update, names="value")
        self._update()

    @property
    def widget(self) -> w.Widget:
        size = w.VBox([self.preset, self.width, self.height])
        call = w.VBox([self.prompt_tokens, self.output_tokens, self.min_context, self.top])
        return w.VBox([w.HBox([size, call]), self.table, self.chart])

    def static_html(self) -> str:
        return self.table.value + png_html(self.png, "cost per 1,000 images, cheapest first")

    def _preset_changed(self, change) -> None:
        if self.preset.value != CUSTOM:
            self._syncing = True  # one update for the pair, not one per side
            try:
                self.width.value, self.height.value = PRESETS[self.preset.value]
            finally:
                self._syncing = False
        self._update()

    def _update(self, change=None) -> None:
        if self._syncing:
            return
        if self.preset.value != CUSTOM and (self.width.value, self.height.value) != PRESETS[self.preset.value]:
            self.preset.value = CUSTOM  # typing a size leaves the preset, which updates
            return
        self.costs = cost_per_image(
            self.models,
            self.width.value,
            self.height.value,
            prompt_tokens=self.prompt_tokens.value,
            output_tokens=self.output_tokens.value,
            preset=None if self.preset.value == CUSTOM else self.preset.value,
        )
        self.qualifying = filter_models(self.costs, min_context=self.min_context.value or None)
        self.shown = self.qualifying.head(self.top.value)
        if self.shown.empty:
            self.table.value = message_html("No model matches: lower the minimum context.")
        else:
            floor = f" with at least {self.min_context.value:,} tokens of context" if self.min_context.value else ""
            count = (
                f"cheapest {len(self.shown):,} of {len(self.qualifying):,} models"
                if len(self.shown) < len(self.qualifying)
                else plural(len(self.shown), "model")
            )
            self.table.value = no_math(
                f"<b>{html.escape(cost_title(self.costs))}</b><br>{count}{html.escape(floor)}"
            ) + html_table(self.shown, COST_COLUMNS)
        self._draw()

    def _draw(self) -> None:
        if not self.draw_chart or self.shown.empty:
            self.png = None
        else:
            # Bars for the priced models of the table (its free ones are named in the chart's title), counted
            # against every qualifying model; a table of free models only gets the chart's message instead.
            priced = int((self.shown["usd_per_1k_images"].notna() & ~self.shown["free"].astype(bool)).sum())
            table = self.qualifying if priced else self.shown
            self.png = figure_png(
                lambda ax: plot_cost_per_image(table, top=max(priced, 1), ax=ax), (10, 0.3 * max(priced, 1) + 1.8)
            )
        show_png(self.chart, self.png, "cost chart")


class ModelComparison(_Displayed):
    """Pick two to five models; ``compared`` is :func:`vision_models.compare` of them.

    Without ``ids`` it starts from the data: the cheapest priced model of each
    of the three providers with the most models. An id not in ``models`` is a
    ``ValueError`` naming it, with close matches, as in :func:`compare`. With
    ``endpoints`` (a :func:`vision_models.fetch_endpoints` frame; it needs
    OpenRouter), ``by_provider`` is the cost per provider endpoint of the
    chosen models and a table shows the spread.
    """

    summary = "ModelComparison: pick two to five models to compare; run the notebook to change them. Current result:"

    def __init__(
        self,
        models: pd.DataFrame,
        *,
        ids: Sequence[str] | None = None,
        preset: str = "letter-200dpi",
        prompt_tokens: int = 60,
        output_tokens: int = 700,
        chart: bool = True,
        endpoints: pd.DataFrame | None = None,
    ) -> None:
        self.models = models
        self.endpoints = endpoints
        self.providers = w.HTML()
        self.by_provider: pd.DataFrame | None = None
        self.options: dict[str, Any] = {"preset": preset, "prompt_tokens": prompt_tokens, "output_tokens": output_tokens}
        self.draw_chart = chart
        start = default_comparison(models, **self.options) if ids is None else check_model_ids(models, ids) if ids else []
        labels = [(f"{name}  ({model_id})", model_id) for model_id, name in zip(models["id"], models["name"])]
        self.select = w.SelectMultiple(
            options=labels, value=tuple(start), rows=12, description="Models", layout=w.Layout(width="640px")
        )
        self.table = w.HTML()
        self.chart = w.Output()
        self.png: bytes | None = None
        self.compared: pd.DataFrame | None = None
        self.select.observe(self._update, names="value")
        self._update()

    @property
    def chosen(self) -> list[str]:
        return list(self.select.value)

    @property
    def widget(self) -> w.Widget:
        return w.VBox([self.select, self.table, self.providers, self.chart])

    def static_html(self) -> str:
        return self.table.value + self.providers.value + png_html(self.png, "cost per 1,000 images of the compared models")

    def _update(self, change=None) -> None:
        self._show_providers()
        if not 2 <= len(self.chosen) <= 5:
            self.compared = None
            self.table.value = message_html(f"Pick two to five models ({len(self.chosen)} picked).")
            self.png = None
            show_png(self.chart, None)
            return
        self.compared = compare(self.models, self.chosen, **self.options)
        self.table.value = html_table(self.compared.reset_index(names="attribute"))
        self._draw()

    def _draw(self) -> None:
        if not self.draw_chart:
            return
        costs = cost_per_image(self.models.set_index("id").loc[self.chosen].reset_index(), **self.options)
        self.png = figure_png(lambda ax: plot_cost_per_image(costs, top=len(costs), ax=ax), (10, 0.3 * len(costs) + 2))
        show_png(self.chart, self.png, "cost chart")

    def _show_providers(self) -> None:
        """The cost per provider endpoint of the chosen models, when endpoints were given."""
        self.by_provider = None
        if self.endpoints is None or not 2 <= len(self.chosen) <= 5:
            self.providers.value = ""
            return
        chosen = self.models.set_index("id").loc[self.chosen].reset_index()
        self.by_provider = cost_per_image(chosen, by_provider=True, endpoints=self.endpoints, **self.options)
        if self.by_provider.empty:
            self.providers.value = message_html("No provider endpoints for these models.")
        else:
            self.providers.value = f'<p class="{NO_MATH}">Cost per provider endpoint:</p>' + html_table(
                self.by_provider, PROVIDER_COLUMNS
            )


def expiry_notes(models: pd.DataFrame) -> list[str]:
    """``"  - expires YYYY-MM-DD"`` for each model with an ``expiration_date``, else ``""``."""
    if "expiration_date" not in models:
        return [""] * len(models)
    dates = models["expiration_date"]
    return ["" if pd.isna(d) else f"  - expires {d:%Y-%m-%d}" for d in dates.tolist()]


def default_comparison(models: pd.DataFrame, n: int = 3, **options) -> list[str]:
    """The cheapest priced, non-free model of each of the ``n`` providers with the most models."""
    if models.empty:
        return []
    costs = cost_per_image(models, **options)
    priced = costs[costs["usd_per_1k_images"].notna() & ~costs["free"].astype(bool)]
    biggest = models["provider"].value_counts(sort=True).index.tolist()
    cheapest = priced.drop_duplicates("provider").set_index("provider")["id"]  # costs are sorted cheapest first
    return [cheapest[p] for p in biggest if p in cheapest.index][:n]


def _usd(value: float) -> str:
    return "unknown" if pd.isna(value) else f"${value:,.4g}"

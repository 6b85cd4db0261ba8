"""Notebook controls: thin ipywidgets wiring over the package's pure functions.

Each control set keeps its result as a plain attribute (``filtered``,
``chosen``, ``costs``, ``compared``), so every behaviour is tested by setting
``.value`` on the widgets, without a browser. Catalog text is remote input:
whatever reaches an HTML widget is escaped first.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import ipywidgets as w
import pandas as pd

from .charts import cost_title, plot_cost_per_image
from .cost import PRESETS, compare, cost_per_image
from .filters import check_max_price, filter_models
from .vision import DEFAULT_RULES, get_supports_images

CUSTOM = "custom"
MODEL_COLUMNS = ["id", "name", "context_length", "prompt_usd_per_mtok", "completion_usd_per_mtok", "vision_evidence"]
COST_COLUMNS = ["id", "image_tokens", "method", "uncertain", "usd_per_1k_images", "context_length"]
PROVIDER_COLUMNS = ["id", "provider_name", "quantization", "status", "uptime_last_30m", "usd_per_1k_images", "vs_cheapest_pct"]
_WIDE = w.Layout(width="420px")


def html_table(frame: pd.DataFrame, columns: Sequence[str] | None = None, *, max_rows: int = 60) -> str:
    """An HTML table of ``frame`` with every cell escaped; lists shown joined with ``+``."""
    shown = frame if columns is None else frame[[c for c in columns if c in frame]]
    shown = shown.head(max_rows).copy()
    for name in shown.columns:
        if shown[name].dtype == object and shown[name].map(lambda v: isinstance(v, list)).any():
            shown[name] = shown[name].map(lambda v: "+".join(map(str, v)) if isinstance(v, list) else v)
    table = shown.to_html(index=False, escape=True, na_rep="-", border=0, float_format=lambda v: f"{v:,.6g}")
    more = f"<p>... and {len(frame) - max_rows} more</p>" if len(frame) > max_rows else ""
    return table + more


def message_html(text: str) -> str:
    """A plain, escaped message in place of a table."""
    return f"<p><em>{html.escape(text)}</em></p>"


class ModelFilter:
    """Provider, context, price, rules and text controls over a catalog; ``filtered`` follows them.

    Give it every model (``fetch_catalog().models``) so that switching to the
    strict rules can re-decide which ones read images. ``picker`` offers the
    filtered models for the next cell.
    """

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

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def _update(self, change=None) -> None:
        try:
            max_price = check_max_price(self.max_price.value) if self.max_price.value.strip() else None
        except ValueError as exc:
            self.count.value = message_html(str(exc))
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
        self.count.value = f"<b>{len(self.filtered)}</b> of {len(vision)} vision models"
        self.table.value = html_table(self.filtered, MODEL_COLUMNS, max_rows=self.max_rows)


class ModelPicker:
    """A dropdown of models; ``chosen`` is the selected id (None when there is none)."""

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

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def set_models(self, models: pd.DataFrame, *, value: str | None = None) -> None:
        """Offer ``models``; keep the current choice if it is still there."""
        keep = value or self.dropdown.value
        self.models = models
        ids = models["id"].tolist()
        # Labels are plain text in the browser's <option>, never HTML.
        self.dropdown.options = [(f"{name}  ({model_id})", model_id) for model_id, name in zip(ids, models["name"])]
        self.dropdown.value = keep if keep in ids else (ids[0] if ids else None)
        self._show()

    def _show(self, change=None) -> None:
        if self.chosen is None:
            self.details.value = message_html("No model to choose.")
            return
        row = self.models.loc[self.models["id"] == self.chosen].iloc[0]
        prices = f"{_usd(row['prompt_usd_per_mtok'])} / {_usd(row['completion_usd_per_mtok'])} per M tokens in/out"
        self.details.value = (
            f"<p><b>{html.escape(row['name'])}</b> <code>{html.escape(row['id'])}</code><br>"
            f"{html.escape(row['description'])}<br>{html.escape(prices)}</p>"
        )


class CostExplorer:
    """Image size, answer length and a context floor; ``costs`` is the full table, ``shown`` the cheapest."""

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
        self.costs = pd.DataFrame()
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

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

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
        keep = filter_models(self.costs, min_context=self.min_context.value or None)
        self.shown = keep.head(self.top.value)
        if self.shown.empty:
            self.table.value = message_html("No model matches: lower the minimum context.")
        else:
            self.table.value = f"<b>{html.escape(cost_title(self.costs))}</b>" + html_table(self.shown, COST_COLUMNS)
        self._draw()

    def _draw(self) -> None:
        if not self.draw_chart:
            return
        import matplotlib.pyplot as plt

        self.chart.clear_output(wait=True)
        if self.shown.empty:
            return
        with self.chart:
            ax = plot_cost_per_image(self.shown, top=len(self.shown))
            plt.show(ax.figure)


class ModelComparison:
    """Pick two to five models; ``compared`` is :func:`vision_models.compare` of them.

    With ``endpoints`` (a :func:`vision_models.fetch_endpoints` frame; it needs
    OpenRouter), ``by_provider`` is the cost per provider endpoint of the
    chosen models and a table shows the spread.
    """

    def __init__(
        self,
        models: pd.DataFrame,
        *,
        ids: Sequence[str] = (),
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
        self.options = dict(preset=preset, prompt_tokens=prompt_tokens, output_tokens=output_tokens)
        self.draw_chart = chart
        labels = [(f"{model_id}", model_id) for model_id in models["id"]]
        self.select = w.SelectMultiple(options=labels, value=tuple(ids), rows=12, description="Models", layout=_WIDE)
        self.table = w.HTML()
        self.chart = w.Output()
        self.compared: pd.DataFrame | None = None
        self.select.observe(self._update, names="value")
        self._update()

    @property
    def chosen(self) -> list[str]:
        return list(self.select.value)

    @property
    def widget(self) -> w.Widget:
        return w.VBox([self.select, self.table, self.providers, self.chart])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def _update(self, change=None) -> None:
        self._show_providers()
        if not 2 <= len(self.chosen) <= 5:
            self.compared = None
            self.table.value = message_html(f"Pick two to five models ({len(self.chosen)} picked).")
            self.chart.clear_output()
            return
        self.compared = compare(self.models, self.chosen, **self.options)
        self.table.value = html_table(self.compared.reset_index(names="attribute"))
        self._draw()

    def _draw(self) -> None:
        if not self.draw_chart:
            return
        import matplotlib.pyplot as plt

        costs = cost_per_image(self.models.set_index("id").loc[self.chosen].reset_index(), **self.options)
        self.chart.clear_output(wait=True)
        with self.chart:
            ax = plot_cost_per_image(costs, top=len(costs))
            plt.show(ax.figure)

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
            self.providers.value = "<p>Cost per provider endpoint:</p>" + html_table(self.by_provider, PROVIDER_COLUMNS)


def _usd(value: float) -> str:
    return "unknown" if pd.isna(value) else f"${value:,.4g}"

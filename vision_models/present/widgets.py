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

import html
import math

import ipywidgets as w
import pandas as pd

from ..catalog.filters import filter_models
from ..catalog.vision import DEFAULT_RULES, get_supports_images
from ..pricing.cost import rank_costs
from ..pricing.estimate import PRESETS
from ..text import NO_MATH, no_math
from .charts import cost_title, plot_cost_per_image, plural
from .cost_tables import cost_per_image
from .widget_parts import (  # noqa: F401 (CHART_DPI, default_comparison, format_cell, html_table, ... are vm.widgets' names)
    _WIDE,
    CHART_DPI,
    COST_COLUMNS,
    PROVIDER_COLUMNS,
    _count,
    _Displayed,
    _flag,
    _left_out_text,
    _usd,
    default_comparison,
    expiry_notes,
    figure_png,
    format_cell,
    html_table,
    message_html,
    png_html,
    search_mask,
    show_png,
)

CUSTOM = "custom"
MODEL_COLUMNS = ["id", "name", "context_length", "prompt_usd_per_mtok", "completion_usd_per_mtok", "vision_evidence"]


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
        self.picker = ModelPicker(models.iloc[:0], search=False)  # the filter's own search narrows it
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
    """A dropdown of models with a search box; ``chosen`` is the selected id (None when there is none).

    The search narrows the dropdown to the models whose id or name contains
    it (any case); the chosen model stays in the dropdown whatever the
    search, so searching never drops the choice. ``search=False`` leaves the
    box out (a :class:`ModelFilter` narrows its picker with its own search).
    """

    summary = "ModelPicker: choose a model; the next cell reads the choice. Current choice:"

    def __init__(self, models: pd.DataFrame, *, value: str | None = None, search: bool = True) -> None:
        self.dropdown = w.Dropdown(description="Model", layout=_WIDE)
        self.search = w.Text(value="", placeholder="id or name", description="Find", layout=_WIDE)
        self.searchable = search
        self.details = w.HTML()
        self.models = models
        self._labels: dict[str, str] = {}
        self._syncing = False
        self.dropdown.observe(self._show, names="value")
        self.search.observe(self._search_changed, names="value")
        self.set_models(models, value=value)

    @property
    def chosen(self) -> str | None:
        return self.dropdown.value

    @property
    def widget(self) -> w.Widget:
        return w.VBox([self.search, self.dropdown, self.details] if self.searchable else [self.dropdown, self.details])

    def static_html(self) -> str:
        return self.details.value

    def set_models(self, models: pd.DataFrame, *, value: str | None = None) -> None:
        """Offer ``models``; keep the current choice if it is still there."""
        keep = value or self.dropdown.value
        self.models = models
        ids = models["id"].tolist()
        # Labels are plain text in the browser's <option>, never HTML; a model about to be retired says so.
        notes = expiry_notes(models)
        self._labels = {
            model_id: f"{name}  ({model_id}){note}" for model_id, name, note in zip(ids, models["name"], notes)
        }
        self._offer(keep if keep in self._labels else None)

    def _search_changed(self, change=None) -> None:
        self._offer(self.dropdown.value)

    def _offer(self, choice: str | None) -> None:
        """Options: the models the search finds, and the choice; no choice: the first one found."""
        found = search_mask(self.models, self.search.value)
        ids = self.models["id"].to_numpy(dtype=object)
        if choice is None and found.any():
            choice = ids[found][0]
        offered = ids[found | (ids == choice)].tolist()
        self._syncing = True  # the options replace the value; one update once both are set
        try:
            self.dropdown.options = [(self._labels[i], i) for i in offered]
            self.dropdown.value = choice
        finally:
            self._syncing = False
        self._show()

    def _show(self, change=None) -> None:
        if self._syncing:
            return
        if self.chosen is None:
            text = self.search.value.strip()
            self.details.value = message_html(
                f"No model matches {text!r}." if text and len(self.models) else "No model to choose."
            )
            return
        row = self.models.loc[self.models["id"] == self.chosen].iloc[0]
        prices = f"{_usd(row['prompt_usd_per_mtok'])} / {_usd(row['completion_usd_per_mtok'])} per M tokens in/out"
        self.details.value = (
            f'<p class="{NO_MATH}"><b>{html.escape(row["name"])}</b> <code>{html.escape(row["id"])}</code><br>'
            f"{html.escape(row['description'])}<br>{html.escape(prices)}</p>"
        )


class CostExplorer(_Displayed):
    """Image size, answer length and a context floor; ``costs`` is the full table, ``shown`` the cheapest.

    The ranking is :func:`vision_models.pricing.cost.rank_costs` of the table: the
    ``:free`` variants are left out unless "include free variants" is ticked
    (``include_free=True``), and models the request does not fit (context or
    maximum output) are left out; both are counted under the table.
    """

    summary = (
        "CostExplorer: choose an image size (or preset), instruction and answer length, a minimum context, "
        "whether to include free variants and how many models to show; run the notebook to use the controls. "
        "Current result:"
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
        include_free: bool = False,
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
        self.include_free = w.Checkbox(value=_flag("include_free", include_free), description="include free variants")
        self.top = w.IntSlider(value=top, min=1, max=60, description="Show")
        self.table = w.HTML()
        self.chart = w.Output()
        self.png: bytes | None = None
        self.costs = pd.DataFrame()
        self.qualifying = pd.DataFrame()
        self.shown = pd.DataFrame()
        self._syncing = False
        self.preset.observe(self._preset_changed, names="value")
        controls = (
            self.width,
            self.height,
            self.prompt_tokens,
            self.output_tokens,
            self.min_context,
            self.include_free,
            self.top,
        )
        for control in controls:
            control.observe(self._update, names="value")
        self._update()

    @property
    def widget(self) -> w.Widget:
        size = w.VBox([self.preset, self.width, self.height])
        call = w.VBox([self.prompt_tokens, self.output_tokens, self.min_context, self.top, self.include_free])
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
        ranked = rank_costs(self.costs, include_free=bool(self.include_free.value))
        self.qualifying = filter_models(ranked, min_context=self.min_context.value or None)
        self.shown = self.qualifying.head(self.top.value)
        left_out = _left_out_text(ranked.attrs["ranking_left_out"], ranked.attrs["ranking_left_out_kinds"])
        if self.shown.empty:
            reason = (
                "lower the minimum context"
                if self.min_context.value and not ranked.empty
                else "no model is left to rank"
            )
            self.table.value = message_html(f"No model matches: {reason}. {left_out}".strip())
        else:
            floor = f" with at least {self.min_context.value:,} tokens of context" if self.min_context.value else ""
            count = (
                f"cheapest {len(self.shown):,} of {len(self.qualifying):,} models"
                if len(self.shown) < len(self.qualifying)
                else plural(len(self.shown), "model")
            )
            self.table.value = no_math(
                f"<b>{html.escape(cost_title(self.costs))}</b><br>{count}{html.escape(floor)}"
                + (f"<br><em>{html.escape(left_out)}</em>" if left_out else "")
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


from .comparison_widget import ModelComparison  # noqa: E402, F401 (one of vm.widgets' names)
from .recommend_widget import RecommendTargets  # noqa: E402, F401 (one of vm.widgets' names)

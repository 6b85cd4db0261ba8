"""The comparison control: pick a few models, see their costs side by side (:class:`ModelComparison`).

Split from :mod:`.widgets` (which re-exports it) to keep each module to one control set's size; the same rules
hold: remote text is escaped, HTML carries the no-maths classes, charts go in as PNGs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ipywidgets as w
import numpy as np
import pandas as pd

from ..pricing.cost import check_model_ids, compare, is_free_variant, price_images
from ..text import NO_MATH
from .charts import plot_cost_per_image
from .cost_tables import cost_per_image
from .widget_parts import (  # noqa: F401 (html_table, message_html, ... are vm.widgets' names too)
    CHART_DPI,
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


class ModelComparison(_Displayed):
    """Pick one to ``max_models`` (5) models; ``compared`` is :func:`vision_models.compare` of them.

    Without ``ids`` it starts from the data: :func:`default_comparison` of the
    three providers with the most models. An id not in ``models`` is a
    ``ValueError`` naming it, with close matches, as in :func:`compare`. A
    search box narrows the list to the models whose id or name contains it;
    the chosen models stay in the list whatever the search. ``:free``
    variants are offered only with ``include_free=True`` (or when chosen by
    id). ``max_models=1`` makes it a single choice (a trial's dry run of one
    model). No pick, or too many, is a message, never an error. With
    ``endpoints`` (a :func:`vision_models.fetch_endpoints` frame; it needs
    OpenRouter), ``by_provider`` is the cost per provider endpoint of the
    chosen models and a table shows the spread.
    """

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
        max_models: int = 5,
        include_free: bool = False,
    ) -> None:
        if isinstance(max_models, bool) or not isinstance(max_models, int) or max_models < 1:
            raise ValueError(f"bad max_models {max_models!r}: expected a whole number of models >= 1")
        self.max_models = max_models
        self.include_free = _flag("include_free", include_free)
        self.models = models
        self.endpoints = endpoints
        self.providers = w.HTML()
        self.by_provider: pd.DataFrame | None = None
        self.options: dict[str, Any] = {
            "preset": preset,
            "prompt_tokens": prompt_tokens,
            "output_tokens": output_tokens,
        }
        self.draw_chart = chart
        up_to = "one model" if max_models == 1 else f"one to {max_models} models"
        self.summary = f"ModelComparison: pick {up_to} to compare; run the notebook to change them. Current result:"
        if ids is None:
            n = min(3, max_models)
            start = default_comparison(models, n, include_free=self.include_free, **self.options)
        else:
            start = check_model_ids(models, ids) if ids else []
        if len(start) > max_models:
            raise ValueError(f"{len(start)} ids given for at most {max_models} (max_models): {', '.join(start)}")
        self._ids = models["id"].to_numpy(dtype=object)
        notes = expiry_notes(models)
        self._labels = {i: f"{name}  ({i}){note}" for i, name, note in zip(self._ids.tolist(), models["name"], notes)}
        self._offered_always = ~is_free_variant(self._ids.tolist()) | self.include_free
        self.search = w.Text(value="", placeholder="id or name", description="Find", layout=w.Layout(width="640px"))
        layout = w.Layout(width="640px")
        if max_models == 1:
            self.select: w.Select | w.SelectMultiple = w.Select(
                options=[], value=None, rows=12, description="Model", layout=layout
            )
        else:
            self.select = w.SelectMultiple(options=[], value=(), rows=12, description="Models", layout=layout)
        self.table = w.HTML()
        self.chart = w.Output()
        self.png: bytes | None = None
        self.compared: pd.DataFrame | None = None
        self.costs: pd.DataFrame | None = None
        self._syncing = False
        self._offer(start)
        self.select.observe(self._update, names="value")
        self.search.observe(self._search_changed, names="value")
        self._update()

    @property
    def chosen(self) -> list[str]:
        value = self.select.value
        if isinstance(value, tuple):
            return list(value)
        return [] if value is None else [value]

    @property
    def widget(self) -> w.Widget:
        return w.VBox([self.search, self.select, self.table, self.providers, self.chart])

    def static_html(self) -> str:
        return (
            self.table.value + self.providers.value + png_html(self.png, "cost per 1,000 images of the compared models")
        )

    def _search_changed(self, change=None) -> None:
        self._offer(self.chosen)

    def _offer(self, chosen: list[str]) -> None:
        """Options: the models the search finds (``:free`` variants only if included), and every chosen one."""
        found = search_mask(self.models, self.search.value) & self._offered_always
        offered = self._ids[found | np.isin(self._ids, chosen)].tolist()
        self._syncing = True  # new options reset the selection: put it back before anyone reads it
        try:
            self.select.options = [(self._labels[i], i) for i in offered]
            if isinstance(self.select, w.SelectMultiple):
                self.select.value = tuple(chosen)
            else:
                self.select.value = chosen[0] if chosen else None
        finally:
            self._syncing = False

    def _update(self, change=None) -> None:
        if self._syncing:
            return
        self._show_providers()
        picked = len(self.chosen)
        if not 1 <= picked <= self.max_models:
            self.compared = None
            self.costs = None
            want = (
                "Pick at least one model."
                if not picked
                else f"Pick at most {_count(self.max_models, 'model')} ({picked} picked)."
            )
            self.table.value = message_html(want)
            self.png = None
            show_png(self.chart, None)
            return
        self.compared = compare(self.models, self.chosen, **self.options)
        chosen = self.models.set_index("id").loc[self.chosen].reset_index()
        self.costs = cost_per_image(chosen, **self.options)  # with the trials store's measurements
        unfit = self.costs.loc[~self.costs["fits"].to_numpy(dtype=bool), ["id", "does_not_fit"]]
        notes = "".join(
            message_html(f"{model_id} is too small for this request: {why}.")
            for model_id, why in unfit.itertuples(index=False)
        )
        self.table.value = html_table(self.compared.reset_index(names="attribute")) + notes
        self._draw()

    def _draw(self) -> None:
        if not self.draw_chart or self.costs is None:
            return
        costs = self.costs
        self.png = figure_png(
            lambda ax: plot_cost_per_image(costs, top=max(len(costs), 1), ax=ax, kinds=None, one_per_base=False),
            (10, 0.3 * len(costs) + 2),
        )
        show_png(self.chart, self.png, "cost chart")

    def _show_providers(self) -> None:
        """The cost per provider endpoint of the chosen models, when endpoints were given."""
        self.by_provider = None
        if self.endpoints is None or not 1 <= len(self.chosen) <= self.max_models:
            self.providers.value = ""
            return
        chosen = self.models.set_index("id").loc[self.chosen].reset_index()
        self.by_provider = price_images(chosen, by_provider=True, endpoints=self.endpoints, **self.options)
        if self.by_provider.empty:
            self.providers.value = message_html("No provider endpoints for these models.")
        else:
            self.providers.value = f'<p class="{NO_MATH}">Cost per provider endpoint:</p>' + html_table(
                self.by_provider, PROVIDER_COLUMNS
            )

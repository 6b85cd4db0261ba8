"""The targets control: set what a model must reach, see which one a trial recommends (:class:`RecommendTargets`).

Split from :mod:`.widgets` (which re-exports it); the same rules hold: every piece of remote text (model names,
reasons) is escaped, HTML carries the no-maths classes, and the saved notebook shows a static copy.
"""

from __future__ import annotations

import html
import math
from typing import Any

import ipywidgets as w
import pandas as pd

from ..text import NO_MATH
from ..trials.recommend import Recommendation, recommend
from .widget_parts import _Displayed, html_table, message_html

#: The columns of the candidates' table the control shows, those of a metric only when the trial measured it.
SHOWN = ["model", "verdict", "usd_per_1k_successful_pages", "success_rate"]
METRIC_COLUMNS = {
    "cer": ["cer_mean", "cer_ci_low", "cer_ci_high"],
    "field_accuracy": ["field_accuracy_mean", "field_accuracy_ci_low", "field_accuracy_ci_high"],
}
_BOX = w.Layout(width="300px")
#: The confidence levels offered for the intervals (the one given is added when it is not among them).
CONFIDENCE_LEVELS = (0.8, 0.9, 0.95, 0.99)
_STYLE = {"description_width": "170px"}


def _measured(results: pd.DataFrame, column: str) -> bool:
    return column in results and bool(results[column].notna().any())


def _target_box(value: float | None, description: str) -> w.Text:
    """A box for one target: its value as text, blank (``none``) for no target."""
    text = "" if value is None else f"{value:g}"
    return w.Text(value=text, placeholder="none", description=description, layout=_BOX, style=_STYLE)


class RecommendTargets(_Displayed):
    """Targets for :func:`vision_models.recommend` over ``trial``; ``recommendation`` follows the controls.

    Maximum CER (when the trial has a truth), minimum field accuracy (when it has field scores) and a budget in
    USD per 1,000 pages are boxes: blank means no target. The minimum success rate is a slider; the confidence
    of the intervals a menu (a higher one asks for more pages before a model is sure to qualify). An unreadable
    value, or a target the trial cannot measure, is a message in place of the table and ``recommendation`` is
    None, never an error.
    """

    summary = (
        "RecommendTargets: set the maximum CER, minimum field accuracy, minimum success rate, budget and confidence; "
        "run the notebook to use the controls. Current recommendation:"
    )

    def __init__(
        self,
        trial: Any,
        *,
        max_cer: float | None = None,
        min_field_accuracy: float | None = None,
        min_success_rate: float = 0.98,
        budget_per_1k_pages: float | None = None,
        confidence: float = 0.95,
    ) -> None:
        results = getattr(trial, "results", trial)
        if not isinstance(results, pd.DataFrame):
            raise TypeError(f"trial must be a Trial or its results frame, not {type(trial).__name__}")
        self.results = results
        if not isinstance(confidence, (int, float)) or isinstance(confidence, bool) or not 0 < confidence < 1:
            raise ValueError(f"bad confidence {confidence!r}: expected a number above 0 and below 1, such as 0.95")
        self.has_cer = _measured(results, "cer")
        self.has_fields = _measured(results, "field_accuracy")
        self.max_cer = _target_box(max_cer, "Max CER (0-1)")
        self.min_field_accuracy = _target_box(min_field_accuracy, "Min field accuracy (0-1)")
        self.min_success_rate = w.FloatSlider(
            value=min_success_rate,
            min=0.0,
            max=1.0,
            step=0.01,
            description="Min success rate",
            readout_format=".2f",
            style=_STYLE,
        )
        self.budget = _target_box(budget_per_1k_pages, "Budget $/1k pages")
        levels = sorted({*CONFIDENCE_LEVELS, float(confidence)})
        self.confidence_level = w.Dropdown(
            options=[(f"{level * 100:.4g}%", level) for level in levels],
            value=float(confidence),
            description="Confidence of intervals",
            layout=_BOX,
            style=_STYLE,
        )
        self.justification = w.HTML()
        self.table = w.HTML()
        self.recommendation: Recommendation | None = None
        for control in (self.max_cer, self.min_field_accuracy, self.min_success_rate, self.budget,
                        self.confidence_level):  # fmt: skip
            control.observe(self._update, names="value")
        self._update()

    @property
    def confidence(self) -> float:
        """The confidence of the intervals, as the menu is set."""
        return float(self.confidence_level.value)

    @property
    def widget(self) -> w.Widget:
        boxes = [self.max_cer] if self.has_cer else []
        boxes += [self.min_field_accuracy] if self.has_fields else []
        controls = w.VBox([*boxes, self.min_success_rate, self.budget, self.confidence_level])
        return w.VBox([controls, self.justification, self.table])

    def static_html(self) -> str:
        return self.justification.value + self.table.value

    def _update(self, change: Any = None) -> None:
        targets = self._targets()
        if isinstance(targets, str):
            self._fail(targets)
            return
        try:
            found = recommend(
                self.results,
                max_cer=targets["max_cer"],
                min_field_accuracy=targets["min_field_accuracy"],
                min_success_rate=float(self.min_success_rate.value),
                confidence=float(self.confidence_level.value),
                budget_per_1k_pages=targets["budget_per_1k_pages"],
            )
        except ValueError as error:
            self._fail(str(error))
            return
        self.recommendation = found
        self.justification.value = f'<p class="{NO_MATH}">{html.escape(found.justification)}</p>'
        columns = list(SHOWN)
        for metric, names in METRIC_COLUMNS.items():
            if _measured(self.results, metric):
                columns += names
        self.table.value = html_table(found.table, [*columns, "more_pages", "why"])

    def _fail(self, text: str) -> None:
        self.recommendation = None
        self.justification.value = message_html(text)
        self.table.value = ""

    def _targets(self) -> dict[str, float | None] | str:
        """The targets for :func:`recommend`, or what is wrong with a box (by its label)."""
        found: dict[str, float | None] = {}
        boxes = (
            ("max_cer", self.max_cer, self.has_cer, 1.0),
            ("min_field_accuracy", self.min_field_accuracy, self.has_fields, 1.0),
            ("budget_per_1k_pages", self.budget, True, math.inf),
        )
        for name, box, shown, top in boxes:
            text = box.value.strip()
            if not text or not shown:
                found[name] = None
                continue
            try:
                value = float(text)
            except ValueError:
                value = math.nan
            if not 0 <= value <= top or math.isinf(value):
                want = "a fraction between 0 and 1" if top == 1.0 else "USD, a number >= 0"
                return f"{box.description}: expected {want}, got {text!r}"
            found[name] = value
        return found

"""What every chart shares: provider colours, tick labels in USD and tokens, axes that need no display, and a
figure shown at the end of its notebook cell. matplotlib is imported only when a chart is drawn.
"""

from __future__ import annotations

import math
import sys
import textwrap
from collections.abc import Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis
    from matplotlib.figure import Figure

UNCERTAIN_HATCH = "///"
#: How heavy the outline of a bar priced from trial measurements is.
MEASURED_LINEWIDTH = 2.0
#: A cost axis whose positive values span more than this many decades (max / min > 100) is logarithmic.
LOG_DECADES = 2.0

#: One colour per main provider, the same in every chart (tab10 without its grey, plus one),
#: in legend order. Any other provider is drawn as :data:`OTHER`.
PROVIDER_COLOURS: dict[str, str] = {
    "openai": "#1f77b4",
    "google": "#ff7f0e",
    "anthropic": "#2ca02c",
    "qwen": "#d62728",
    "mistralai": "#9467bd",
    "meta-llama": "#8c564b",
    "x-ai": "#e377c2",
    "amazon": "#bcbd22",
    "z-ai": "#17becf",
    "bytedance-seed": "#393b79",
}
OTHER = "other"
OTHER_COLOUR = "#a0a0a0"
FREE_LISTED = 4  # free models named in a cost chart's title before "and N more"
#: The price history's line colours (matplotlib's qualitative tab10), one per line; past ten, the
#: colours come round again with the next of :data:`LINE_STYLES`.
LINE_COLOURS = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]
LINE_STYLES = ["-", "--", ":", "-."]

_PRICE_WORDS = {
    "prompt_usd_per_mtok": ("Prompt price", "USD per million prompt tokens"),
    "completion_usd_per_mtok": ("Completion price", "USD per million completion tokens"),
    "image_price": ("Listed image price", "USD (pricing.image as listed)"),
    "request_usd": ("Price per request", "USD per request"),
}
_SILENT_BACKENDS = frozenset({"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"})


def provider_groups(providers: Iterable[str]) -> list[str]:
    """Each provider's legend group: itself for a main provider, ``"other"`` for the long tail."""
    return [p if p in PROVIDER_COLOURS else OTHER for p in providers]


def group_colour(group: str) -> str:
    """The colour of a provider group; the long tail shares one light grey."""
    return PROVIDER_COLOURS.get(group, OTHER_COLOUR)


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """``"1 model"``, ``"2 models"``, ``"1,200 models"``: a count with its noun in the right number."""
    return f"{count:,} {noun if count == 1 else plural_form or noun + 's'}"


def usd_ticks(values: Sequence[float], *, uniform: bool = True) -> list[str]:
    """Dollar tick labels: ``$0.10``, ``$0.002``, ``$5``, ``$1,000``.

    Whole dollars have no decimals, other amounts at least two (cents) and
    more below a cent. ``uniform`` (a linear axis) gives every label the
    decimals the finest one needs ($0.00, $0.50, $1.00); otherwise (a log
    axis) each label has its own ($0.50, $1, $2).
    """
    places = [_decimals(float(v)) for v in values]
    if uniform:
        places = [max(places, default=0)] * len(places)
    return [("-" if v < 0 else "") + f"${abs(float(v)):,.{d}f}" for v, d in zip(values, places)]


def tokens_tick(value: float) -> str:
    """A token count for a tick: ``500``, ``32k``, ``128k``, ``1M``, ``1.5M``."""
    if abs(value) >= 1e6:
        return f"{value / 1e6:g}M"
    if abs(value) >= 1e3:
        return f"{value / 1e3:g}k"
    return f"{value:g}"


def _decimals(value: float) -> int:
    if value == 0 or (abs(value) >= 1 and value.is_integer()):
        return 0
    for places in range(2, 9):
        if abs(round(value, places) - value) <= abs(value) * 1e-6:
            return places
    return 8


def _spans_decades(values: np.ndarray) -> bool:
    """Whether the positive values span more than :data:`LOG_DECADES` decades (max / min > 100)."""
    values = np.asarray(values, dtype="float64")
    positive = values[np.isfinite(values) & (values > 0)]
    return len(positive) > 1 and math.log10(positive.max() / positive.min()) > LOG_DECADES


def _value_limits(values: np.ndarray, log: bool) -> tuple[float, float]:
    """The value axis of a bar chart: from 0 (linear) or the decade below the smallest (log), with room for labels."""
    top = float(values.max())
    if not log:
        return 0.0, top * 1.15
    low = 10.0 ** math.floor(math.log10(float(values.min())) - 0.1)
    return low, 10.0 ** (math.log10(top) + 0.16 * math.log10(top / low))


def _axis_format(ax: Axes, which: str, kind: str, log: bool, values: np.ndarray) -> None:
    """Scale and tick labels of one axis: ``usd`` in dollars, ``tokens`` as 32k / 1M; log ticks at 1, 2, 5 x 10^n."""
    from matplotlib.ticker import LogLocator, NullFormatter

    axis: Axis = ax.xaxis if which == "x" else ax.yaxis
    if log:
        (ax.set_xscale if which == "x" else ax.set_yscale)("log")
        values = np.asarray(values, dtype="float64")
        positive = values[np.isfinite(values) & (values > 0)]
        decades = math.log10(positive.max() / positive.min()) if len(positive) else 0.0
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0) if decades <= 3.5 else (1.0,), numticks=40))
        axis.set_minor_formatter(NullFormatter())
    axis.set_major_formatter(_tick_formatter(kind, uniform=not log))


def _tick_formatter(kind: str, *, uniform: bool) -> Any:
    return _formatter_class()(kind, uniform)


@cache
def _formatter_class() -> type:
    from matplotlib.ticker import Formatter

    class TickFormatter(Formatter):
        """Dollars or token counts, written the same way on every chart."""

        def __init__(self, kind: str, uniform: bool) -> None:
            self.kind, self.uniform = kind, uniform

        def __call__(self, x: float, pos: int | None = None) -> str:
            return self.format_ticks([x])[0]

        def format_ticks(self, values: Sequence[float]) -> list[str]:
            if self.kind == "tokens":
                return [tokens_tick(float(v)) for v in values]
            return usd_ticks(values, uniform=self.uniform)

    return TickFormatter


def _hatch_contrast(bar: Any, face: str) -> None:
    """Hatch lines that show on the bar's colour: white on a dark bar, near-black on a light one.

    matplotlib 3.10+ sets the hatch colour on its own; before, the hatch takes
    the edge colour, so a dark bar gets a white outline to carry white hatching.
    """
    from matplotlib.colors import to_rgb

    red, green, blue = to_rgb(face)
    dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.45
    if hasattr(bar, "set_hatchcolor"):
        bar.set_hatchcolor("white" if dark else "0.15")
    elif dark:
        bar.set_edgecolor("white")


def _label_lines(context: pd.Series) -> list[int]:
    """Which line under its point each front label takes: 0, or one more than its neighbour's when the two points
    are within 30% of each other's context (1M and 1.05M), so neighbouring labels stack instead of overprinting."""
    lines: list[int] = []
    previous = None
    for value in context.astype("float64").tolist():
        close = previous is not None and value <= previous * 1.3
        lines.append(lines[-1] + 1 if close and lines else 0)
        previous = value
    return lines


def _nothing_to_draw(ax: Axes, message: str, title: str) -> Axes:
    """A chart with nothing to draw: the message in the middle of bare axes, and the title."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.text(0.5, 0.5, textwrap.fill(message, 60), ha="center", va="center", transform=ax.transAxes)
    ax.set_title(title, fontsize=10)
    return ax


def _new_axes(size: tuple[float, float]) -> Axes:
    """A new pyplot figure's Axes for a chart called without ``ax=``, shown in a notebook under any backend."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=size, layout="constrained")
    _show_at_cell_end(fig)
    return ax


_pending: list[Figure] = []
_hooked: list[Any] = []  # the IPython shell whose post_execute event displays _pending


def _show_at_cell_end(fig: Figure) -> None:
    """In a Jupyter kernel with a backend that shows nothing (Agg, pdf, svg ...), display ``fig`` when the cell ends.

    Inline, ipympl and GUI backends show their figures themselves, and outside
    a kernel (a script, the CLI, a terminal IPython) there is nowhere to display
    it: nothing is done then. IPython is never imported here.
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or getattr(shell, "kernel", None) is None:
        return
    import matplotlib

    backend = matplotlib.get_backend().lower().rsplit(".", 1)[-1].removeprefix("backend_")
    if backend not in _SILENT_BACKENDS:
        return
    if shell not in _hooked:
        shell.events.register("post_execute", _display_pending)
        _hooked.append(shell)
    _pending.append(fig)


def _display_pending() -> None:
    """Display, then close, the charts' figures of the cell that just ran (those the cell did not close itself)."""
    import matplotlib.pyplot as plt
    from IPython.display import display
    from matplotlib._pylab_helpers import Gcf

    figures, _pending[:] = list(_pending), []
    open_figures = [manager.canvas.figure for manager in Gcf.get_all_fig_managers()]
    for fig in figures:
        if any(fig is other for other in open_figures):
            display(_FigurePng(fig))
            plt.close(fig)


class _FigurePng:
    """A figure as IPython displays it under the inline backend: a PNG, its repr as the text."""

    def __init__(self, fig: Figure) -> None:
        self.fig = fig

    def __repr__(self) -> str:
        return repr(self.fig)

    def _repr_png_(self) -> bytes:
        import io

        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()


def _legend_order(groups: Iterable[str]) -> list[str]:
    """The drawn groups in palette order, ``other`` last."""
    drawn = set(groups)
    return [g for g in PROVIDER_COLOURS if g in drawn] + ([OTHER] if OTHER in drawn else [])


def _free_mask(costs: pd.DataFrame) -> pd.Series:
    if "free" in costs:
        return costs["free"].fillna(False).astype(bool)
    return costs["usd_per_1k_images"].eq(0)


def _usd_label(value: float) -> str:
    return f"${value:,.2f}" if value >= 0.1 else f"${value:,.3f}"


def _need_columns(frame: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame]
    if missing:
        raise ValueError(f"not a cost table: missing column(s) {', '.join(missing)}; make it with vm.cost_per_image")

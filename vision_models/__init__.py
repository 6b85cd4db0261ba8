"""vision_models: which OpenRouter models can read an image, what a page costs on each, and which to use.

>>> import vision_models as vm
>>> res = vm.fetch_vision_models()          # live, cached one hour in SQLite
>>> costs = vm.cost_per_image(res.models, preset="letter-200dpi", output_tokens=700)
>>> vm.plot_cost_per_image(costs, top=25)

>>> vm.catalog_changes(since="2026-04-01")   # what changed, from the history of fetches

Charts, widgets and history load on first use, so ``import vision_models``
(and the CLI) stay as quick as pandas and requests-cache allow.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
from typing import Any

from .catalog.api import CatalogResult, fetch_catalog, fetch_vision_models
from .catalog.filters import filter_models
from .catalog.frame import sort_models
from .catalog.vision import get_name_only_vision, get_supports_images
from .settings import Settings

#: Public names that live in modules loaded on first use: name -> module.
_LAZY = {
    "PRESETS": "pricing.cost",
    "compare": "pricing.cost",
    "cost_per_image": "present.cost_tables",
    "price_images": "pricing.cost",
    "export_csv": "present.export",
    "plot_cost_per_image": "present.charts",
    "plot_cost_vs_context": "present.charts",
    "pareto_front": "present.charts",
    "plot_price_history": "present.charts",
    "plot_models_added_per_week": "present.charts",
    "models_added_per_week": "present.charts",
    "benchmarks": "catalog.benchmarks",
    "catalog_changes": "catalog.history",
    "price_history": "catalog.history",
    "fetch_endpoints": "catalog.endpoints",
    "estimate_trial": "trials.plan",
    "shortlist": "trials.shortlist",
    "plan_trial": "trials.planning",
    "recommend": "trials.recommend",
    "Recommendation": "trials.recommend",
    "TrialPlan": "trials.planning",
    "TrialOptions": "trials.options",
    "run_trial": "trials.runner",
    "load_trial": "trials.results",
    "compare_models": "trials.stats",
    "sweep_resolution": "trials.sweep",
    "simulate_cascade": "trials.cascade",
    "pages_needed": "trials.stats",
    "measured_image_tokens": "trials.results",
    "plot_cost_vs_accuracy": "present.charts",
    "plot_cost_vs_prior": "present.charts",
    "plot_page_heatmap": "present.charts",
    "plot_estimate_vs_billed": "present.charts",
}

#: Submodules reachable as attributes (``vm.widgets``, ``vm.history``), also loaded on first use. The short
#: names are the documented ones; they point at the modules' homes in the layers, without a warning.
_SUBMODULES = {
    "accuracy": "trials.accuracy",
    "charts": "present.charts",
    "cost": "pricing.cost",
    "endpoints": "catalog.endpoints",
    "export": "present.export",
    "history": "catalog.history",
    "image_tokens": "pricing.image_tokens",
    "pages": "trials.pages",
    "trials": "trials",
    "widgets": "present.widgets",
}

__all__ = [
    "PRESETS",
    "CatalogResult",
    "Settings",
    "compare",
    "cost_per_image",
    "export_csv",
    "fetch_catalog",
    "fetch_vision_models",
    "filter_models",
    "get_name_only_vision",
    "get_supports_images",
    "sort_models",
    *_LAZY,
]

try:  # the version is written once, in pyproject.toml; an installed package reports it
    __version__ = importlib.metadata.version("vision_models")
except importlib.metadata.PackageNotFoundError:  # a checkout on sys.path that was never installed
    __version__ = "0+unknown"


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{_SUBMODULES[name]}", __name__)
    module = _LAZY.get(name)
    if module is None:
        if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
            return importlib.import_module(f".{name}", __name__)  # any submodule, as ``vm.cost``, on first use
        raise AttributeError(f"module 'vision_models' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_SUBMODULES})

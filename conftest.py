"""Test-run settings shared by tests/ and notebooks/: how the suite is split across parallel workers."""

from __future__ import annotations

import os
import re
import sys
from typing import Any

import pytest

# nbval (the notebooks' runner) imports nbformat, whose jsonschema builds an IRI grammar at import when the optional
# rfc3987-syntax package is installed (JupyterLab brings it): 1.3 s in every worker, for a format no notebook
# schema uses. jsonschema skips that format checker when the module cannot be imported.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]
# Loaded here rather than by its entry point (pyproject: -p no:nbval) so that the line above runs first.
pytest_plugins = ("nbval.plugin",)

# Modules whose tests share an expensive module-scoped fixture (a JupyterLab server, a 60-day history import):
# their tests run on one worker so the fixture is built once, not once per worker.
SHARED_FIXTURE_MODULES = ("test_as_of.py", "test_charts.py", "test_history.py")


# The fast lane (`pytest -m "not slow"`, under a minute) leaves out what takes seconds a test: notebooks run in
# kernels, the browser, imports of the 60 daily catalogs, subprocess chart runs, and deliberate time-outs. The
# whole suite runs them all. Tests marked in their own file (@pytest.mark.slow) are slow too.
SLOW_FILES = ("test_browser.py",)
SLOW_FIXTURES = {"daily_dbs", "daily_history"}  # a history of the 60 daily catalogs, imported per module
SLOW_TESTS = (
    "tests/test_as_of.py::test_the_frame_from_the_history_equals_the_frame_from_that_days_file",
    "tests/test_as_of.py::test_every_archived_day_matches_its_file",
    "tests/test_history.py::test_daily_catalogs_shuffled_import_equals_sorted_import",
    "tests/test_history.py::test_any_import_order_gives_the_rows_of_a_chronological_one",
    "tests/test_history.py::test_two_processes_recording_at_once_neither_fails_nor_corrupts",
    "tests/test_history.py::test_importing_history_does_not_import_matplotlib",
    "tests/test_server_faults.py::test_a_50000_model_catalog_with_400_distinct_filters_stays_under_500_mb",
    "tests/test_server_faults.py::test_slowloris_never_keeps_the_health_check_from_answering",
    "tests/test_server_faults.py::test_a_trickling_upstream_never_holds_requests_or_the_health_check",
    "tests/test_charts.py::test_cli_writes_png",
    "tests/test_charts.py::test_price_history",
    "tests/test_charts.py::test_a_chart_in_a_notebook_cell_is_shown_once_under_any_backend",
    "tests/test_charts.py::test_outside_a_notebook_a_chart_only_returns_its_axes",
    "tests/test_charts.py::test_import_does_not_load_matplotlib",
    "tests/test_charts.py::test_one_provider_one_colour_in_every_chart",
    "tests/test_readme.py::test_python_examples_run_as_written",
    "tests/test_fetch_cache.py::test_a_server_that_never_answers_costs_bounded_time_with_default_timeouts",
    "tests/test_cli_errors.py::test_a_history_on_a_read_only_mount_is_read_and_never_called_not_a_history",
    "tests/test_cli_errors.py::test_a_disk_that_fills_during_an_import_reports_honest_counts",
    "tests/test_cli_errors.py::test_every_submodule_is_reachable_after_import_vision_models",
    "tests/test_widgets.py::test_widgets_draw_under_every_backend",
)


# The longest units of work, longest first (about 30-60 s each on two cores): on parallel workers they start first,
# so the short tests fill the gaps around them instead of one of them running alone at the end.
LONGEST_FIRST = (
    "tests/test_trials.py::test_a_trial_of_a_2000_page_pdf_holds_a_few_pages_at_a_time",
    "tests/test_server_faults.py::test_a_50000_model_catalog_with_400_distinct_filters_stays_under_500_mb",
    "tests/test_browser.py",
    "tests/test_history.py",
    "tests/test_charts.py",
    "tests/test_as_of.py",
    "tests/test_notebooks.py::test_notebook_runs_on_a_real_catalog",
    "notebooks/",
)


# The tests mirror the package's layers (docs/architecture.md): each test module is marked with the layer it tests,
# so `pytest -m pricing` runs the pricing tests; `unit` marks a test that needs no server, process, kernel or
# browser, `integration` the others (a loopback server, the stand-in, a subprocess, a notebook). A new test module
# is named here (tests/test_architecture.py checks that every one is).
LAYER_OF_MODULE = {
    "base": ("test_settings", "test_common"),
    "http": ("test_fetch_cache", "test_fetch_faults", "test_contracts"),
    "catalog": ("test_frame", "test_vision", "test_kinds", "test_feasibility", "test_endpoints", "test_history",
                "test_as_of", "test_sources_payload", "test_memo"),
    "pricing": ("test_image_tokens", "test_cost", "test_pure_pricing", "test_cost_truth"),
    "trials": ("test_trials", "test_trials_faults", "test_trials_measured", "test_trials_store_files", "test_pages",
               "test_tesseract", "test_accuracy", "test_trial_options", "test_extraction", "test_failures",
               "test_trial_stats", "test_consensus", "test_evidence", "test_trials_evidence", "test_sweep",
               "test_cascade", "test_recommend"),
    "present": ("test_charts", "test_widgets", "test_export", "test_notebook_views", "test_prior_chart",
                "test_trials_charts", "test_evidence_charts", "test_recommend_widget"),
    "server": ("test_server", "test_server_faults"),
    "cli": ("test_cli", "test_cli_errors", "test_trials_cli"),
    "project": ("test_architecture", "test_docs", "test_readme", "test_project", "test_old_paths", "test_benchmarks",
                "test_notebooks", "test_browser"),
}  # fmt: skip
LAYER = {module: layer for layer, modules in LAYER_OF_MODULE.items() for module in modules}
#: What makes a test an integration test: a fixture that starts a server or the stand-in, or a module that runs
#: processes, kernels or a browser for every test.
INTEGRATION_FIXTURES = {"httpserver", "standin", "upstream", "served", "daily_dbs", "daily_history"}
INTEGRATION_MODULES = {"test_server", "test_server_faults", "test_cli", "test_cli_errors", "test_trials_cli",
                       "test_notebooks", "test_browser", "test_readme", "test_benchmarks",
                       "test_trials_evidence", "test_sweep", "test_recommend"}  # fmt: skip


def layer_markers(item: pytest.Item) -> list[pytest.MarkDecorator]:
    """The layer of the item's module and ``unit`` or ``integration`` (none for a notebook or an unnamed module)."""
    module = item.path.stem
    if item.path.suffix != ".py" or module not in LAYER:
        return []
    fixtures = set(getattr(item, "fixturenames", ()))
    joined = module in INTEGRATION_MODULES or bool(INTEGRATION_FIXTURES & fixtures)
    return [getattr(pytest.mark, LAYER[module]), pytest.mark.integration if joined else pytest.mark.unit]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the slow tests named above, and each test's layer and kind (unit or integration)."""
    for item in items:
        for marker in layer_markers(item):
            item.add_marker(marker)
        slow_fixture = SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        named = item.path.name in SLOW_FILES or item.nodeid.startswith(SLOW_TESTS)
        if item.path.suffix == ".ipynb" or named or slow_fixture:
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's worker sends the collection to the scheduler
def pytest_collection_finish(session: pytest.Session) -> None:
    """On parallel workers, the longest first (in one process the files' order keeps module fixtures built once)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        session.items.sort(key=_longest_first)


def _longest_first(item: pytest.Item) -> int:
    """The item's rank in LONGEST_FIRST (a stable sort keeps the order within a rank), the rest after."""
    ranks = (rank for rank, prefix in enumerate(LONGEST_FIRST) if item.nodeid.startswith(prefix))
    return next(ranks, len(LONGEST_FIRST))


def test_group(nodeid: str) -> str:
    """The unit one worker runs in order: a notebook (its cells share one kernel), a module above, else one test.

    The browser tests go by catalog instead: each catalog's JupyterLab is its own unit, so the catalogs run side by
    side on separate workers.
    """
    file = nodeid.split("::", 1)[0]
    if file.endswith("test_browser.py"):
        catalog = re.search(r"openrouter-\d{4}-\d{2}-\d{2}", nodeid)
        return f"{file}::{catalog.group() if catalog else 'sample'}"
    if ".ipynb" in nodeid or file.endswith("ipynb") or file.rsplit("/", 1)[-1] in SHARED_FIXTURE_MODULES:
        return nodeid.split("::Cell", 1)[0] if "::Cell" in nodeid else file
    return nodeid


test_group.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """Workers for ``-n auto`` (pyproject.toml), measured on two cores.

    The whole suite waits on kernels, JupyterLab and a browser: four workers, 225 s against 248 s with three. The
    fast lane is CPU-bound: three, 52 s against 60 s with four (a fourth costs its start-up and gives nothing).
    """
    return 3 if "not slow" in (config.getoption("markexpr") or "") else 4


def pytest_xdist_make_scheduler(config: Any, log: Any) -> Any:
    """pytest-xdist's scope scheduler, with the scopes above instead of whole modules."""
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return test_group(nodeid)

    config.option.loadscopereorder = False  # the collection's order (longest first, above), not the largest scope first
    return GroupScheduling(config, log)

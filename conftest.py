"""Test-run settings shared by tests/ and notebooks/: how the suite is split across parallel workers."""

from __future__ import annotations

from typing import Any

# Modules whose tests share an expensive module-scoped fixture (a JupyterLab server, a 60-day history import):
# their tests run on one worker so the fixture is built once, not once per worker.
SHARED_FIXTURE_MODULES = ("test_as_of.py", "test_browser.py", "test_charts.py", "test_history.py")


def test_group(nodeid: str) -> str:
    """The unit one worker runs in order: a notebook (its cells share one kernel), a module above, else one test."""
    file = nodeid.split("::", 1)[0]
    if ".ipynb" in nodeid or file.endswith("ipynb") or file.rsplit("/", 1)[-1] in SHARED_FIXTURE_MODULES:
        return nodeid.split("::Cell", 1)[0] if "::Cell" in nodeid else file
    return nodeid


test_group.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def pytest_xdist_make_scheduler(config: Any, log: Any) -> Any:
    """pytest-xdist's scope scheduler, with the scopes above instead of whole modules."""
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return test_group(nodeid)

    return GroupScheduling(config, log)

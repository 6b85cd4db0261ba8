"""nbval runs the notebooks offline: the bundled sample, a throwaway cache, a history of the daily catalogs.

Kernels start with this process's environment, so it is prepared here, at
collection, before any notebook's kernel starts (see refresh_outputs.py).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from refresh_outputs import CHANGES_NOTEBOOK, DAILY, prepare_environment

HAVE_DAILY = prepare_environment(Path(tempfile.mkdtemp(prefix="vision-models-nbval-")))


def pytest_collection_modifyitems(config, items):
    if HAVE_DAILY:
        return
    skip = pytest.mark.skip(reason=f"{CHANGES_NOTEBOOK} compares against a history of {DAILY}, which is absent")
    for item in items:
        if item.path.name == CHANGES_NOTEBOOK:
            item.add_marker(skip)

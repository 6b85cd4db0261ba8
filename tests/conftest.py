"""Shared fixtures: an isolated environment per test, the real catalogs, and the trials' catalog and stand-in."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import TRIAL_KEY, bills, build_daily_history, shared_catalog, trial_catalog
from openrouter_standin import StandIn, serving

from vision_models.http import sessions as http_sessions
from vision_models.http.client import close_sessions

ENV_VARS = (
    "OPENROUTER_API_KEY",
    "OPENROUTER_BASE_URL",
    "VISION_MODELS_SOURCE",
    "VISION_MODELS_CACHE",
    "VISION_MODELS_HISTORY",
    "VISION_MODELS_TRIALS",
)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No test sees the user's cache, key or source settings, or another test's sessions."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    # Table widths follow $COLUMNS; a test runner may set it (pytest-xdist's workers do), so no test inherits it.
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setenv("VISION_MODELS_CACHE", str(tmp_path / "cache" / "http_cache.sqlite"))
    monkeypatch.setenv("VISION_MODELS_HISTORY", str(tmp_path / "cache" / "history.sqlite"))
    monkeypatch.setenv("VISION_MODELS_TRIALS", str(tmp_path / "cache" / "trials.sqlite"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    # urllib3 waits 1 s before a second retry of a refused connection or a 5xx. The tests need the retries, not the
    # wait (a Retry-After header is still honoured in full); the tests of the waits set their own policy.
    monkeypatch.setattr(http_sessions, "RETRY", http_sessions.RETRY.new(backoff_factor=0.001))
    close_sessions()
    yield
    close_sessions()


@pytest.fixture
def cache_file(tmp_path) -> Path:
    return tmp_path / "cache" / "http_cache.sqlite"


@pytest.fixture
def catalog_2026_05_01() -> Path:
    return shared_catalog("openrouter-2026-05-01.json")


@pytest.fixture
def env(tmp_path, monkeypatch):
    """The trial tests' setting: an API key, and a trials store of the test's own; the test's folder."""
    monkeypatch.setenv("OPENROUTER_API_KEY", TRIAL_KEY)
    monkeypatch.setenv("VISION_MODELS_TRIALS", str(tmp_path / "trials.sqlite"))
    return tmp_path


@pytest.fixture(scope="session")
def daily_history_built(tmp_path_factory) -> Path:
    """The 60 daily catalogs imported in date order, once per test run (factories.build_daily_history)."""
    return build_daily_history(tmp_path_factory)


@pytest.fixture
def catalog():
    """The trials' catalog (``factories.trial_catalog``); a module that prices other models defines its own."""
    return trial_catalog()


@pytest.fixture
def standin():
    """The OpenRouter stand-in on loopback, billing the trials' models (``factories.bills``)."""
    with serving(StandIn(bills())) as stand:
        yield stand

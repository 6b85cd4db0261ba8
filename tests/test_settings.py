"""vision_models.Settings: one object for the connection and store options.

Precedence is checked where it matters, on the wire: a loopback server answers under several path prefixes
(one per place a setting can come from) and records which prefix was asked and which Authorization header came.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pandas as pd
import pytest
from factories import SMALL_CATALOG

import vision_models as vm
from vision_models import Settings, fetch_catalog, fetch_vision_models
from vision_models.catalog.endpoints import fetch_endpoints

KEYS = {
    "keyword": "sk-or-v1-keyword-key-0001",
    "settings": "sk-or-v1-settings-key-0002",
    "env": "sk-or-v1-env-key-0003",
}


def serve_catalogs(httpserver) -> dict[str, str]:
    """The catalog under /keyword, /settings and /env: where -> base URL."""
    bases = {}
    for where in ("keyword", "settings", "env"):
        httpserver.expect_request(f"/{where}/models").respond_with_data(SMALL_CATALOG, content_type="application/json")
        bases[where] = httpserver.url_for(f"/{where}")
    return bases


def asked(httpserver) -> list[tuple[str, str | None]]:
    """(path, Authorization header) of every request the server saw, in order."""
    return [(request.path, request.headers.get("Authorization")) for request, _ in httpserver.log]


# ---------------------------------------------------------------- precedence on the wire


def test_the_environment_is_used_when_nothing_else_is_given(httpserver, monkeypatch):
    bases = serve_catalogs(httpserver)
    monkeypatch.setenv("OPENROUTER_BASE_URL", bases["env"])
    monkeypatch.setenv("OPENROUTER_API_KEY", KEYS["env"])
    result = fetch_catalog()
    assert result.error is None and result.count == 3
    assert asked(httpserver) == [("/env/models", f"Bearer {KEYS['env']}")]


def test_settings_win_over_the_environment(httpserver, monkeypatch):
    bases = serve_catalogs(httpserver)
    monkeypatch.setenv("OPENROUTER_BASE_URL", bases["env"])
    monkeypatch.setenv("OPENROUTER_API_KEY", KEYS["env"])
    settings = Settings(base_url=bases["settings"], api_key=KEYS["settings"])
    assert fetch_vision_models(settings=settings).error is None
    assert asked(httpserver) == [("/settings/models", f"Bearer {KEYS['settings']}")]


def test_a_keyword_wins_over_settings_field_by_field(httpserver, monkeypatch):
    bases = serve_catalogs(httpserver)
    monkeypatch.setenv("OPENROUTER_BASE_URL", bases["env"])
    monkeypatch.setenv("OPENROUTER_API_KEY", KEYS["env"])
    settings = Settings(base_url=bases["settings"], api_key=KEYS["settings"])
    fetch_catalog(base_url=bases["keyword"], settings=settings)  # the key is still the settings' one
    fetch_catalog(base_url=bases["keyword"], api_key=KEYS["keyword"], settings=settings, refresh=True)
    assert asked(httpserver) == [
        ("/keyword/models", f"Bearer {KEYS['settings']}"),
        ("/keyword/models", f"Bearer {KEYS['keyword']}"),
    ]


def test_a_keyword_wins_over_the_environment_without_settings(httpserver, monkeypatch):
    bases = serve_catalogs(httpserver)
    monkeypatch.setenv("OPENROUTER_BASE_URL", bases["env"])
    monkeypatch.setenv("OPENROUTER_API_KEY", KEYS["env"])
    fetch_catalog(base_url=bases["keyword"])
    assert asked(httpserver) == [("/keyword/models", f"Bearer {KEYS['env']}")]


def test_settings_without_a_key_send_none_even_when_the_environment_has_one(httpserver, monkeypatch):
    bases = serve_catalogs(httpserver)
    monkeypatch.setenv("OPENROUTER_API_KEY", KEYS["env"])
    fetch_catalog(settings=Settings(base_url=bases["settings"]))
    assert asked(httpserver) == [("/settings/models", None)]


def test_the_defaults_are_openrouters_api_root_and_no_key():
    # OpenRouter's API reference: every endpoint is under https://openrouter.ai/api/v1; the catalog needs no key.
    assert Settings().base_url == "https://openrouter.ai/api/v1" and Settings().api_key is None
    assert Settings.from_env().base_url == "https://openrouter.ai/api/v1" and Settings.from_env().api_key is None
    assert Settings().source == "openrouter" and Settings().timeout == (5.0, 10.0) and Settings().deadline == 30.0


def test_the_environment_is_read_at_call_time_not_at_import(httpserver, monkeypatch):
    bases = serve_catalogs(httpserver)
    monkeypatch.setenv("OPENROUTER_BASE_URL", bases["env"])
    fetch_catalog()
    monkeypatch.setenv("OPENROUTER_BASE_URL", bases["settings"])  # the same process, a new value
    fetch_catalog()
    assert [path for path, _ in asked(httpserver)] == ["/env/models", "/settings/models"]


def test_from_env_reads_the_environment_once(httpserver, monkeypatch, tmp_path):
    bases = serve_catalogs(httpserver)
    monkeypatch.setenv("OPENROUTER_BASE_URL", bases["env"])
    monkeypatch.setenv("OPENROUTER_API_KEY", KEYS["env"])
    monkeypatch.setenv("VISION_MODELS_HISTORY", str(tmp_path / "one.sqlite"))
    settings = Settings.from_env()
    monkeypatch.setenv("OPENROUTER_BASE_URL", bases["keyword"])
    monkeypatch.setenv("OPENROUTER_API_KEY", KEYS["keyword"])
    monkeypatch.setenv("VISION_MODELS_HISTORY", str(tmp_path / "two.sqlite"))
    assert settings.base_url == bases["env"] and settings.api_key == KEYS["env"]
    assert settings.history_path == str(tmp_path / "one.sqlite")
    fetch_catalog(settings=settings)
    assert asked(httpserver) == [("/env/models", f"Bearer {KEYS['env']}")]


def test_endpoints_follow_the_same_precedence(httpserver, monkeypatch):
    monkeypatch.setenv("OPENROUTER_BASE_URL", httpserver.url_for("/env"))
    monkeypatch.setenv("OPENROUTER_API_KEY", KEYS["env"])
    answer = '{"data": {"id": "a/b", "name": "A: B", "endpoints": []}}'
    for where in ("settings", "keyword"):
        httpserver.expect_request(f"/{where}/models/a/b/endpoints").respond_with_data(
            answer, content_type="application/json"
        )
    models = pd.DataFrame({"id": ["a/b"]})
    settings = Settings(base_url=httpserver.url_for("/settings"), api_key=KEYS["settings"])
    fetch_endpoints("a/b", models=models, settings=settings)
    fetch_endpoints("a/b", models=models, settings=settings, base_url=httpserver.url_for("/keyword"), refresh=True)
    assert asked(httpserver) == [
        ("/settings/models/a/b/endpoints", f"Bearer {KEYS['settings']}"),
        ("/keyword/models/a/b/endpoints", f"Bearer {KEYS['settings']}"),
    ]


def test_a_source_keyword_wins_over_the_settings_source(httpserver):
    bases = serve_catalogs(httpserver)
    result = fetch_catalog("sample", settings=Settings(base_url=bases["settings"]))
    assert result.source.startswith("sample (as of ") and asked(httpserver) == []


def test_the_history_path_of_settings_is_where_as_of_reads(tmp_path):
    with pytest.raises(ValueError, match="no-such-history.sqlite"):
        fetch_catalog(as_of="2026-05-01", settings=Settings(history_path=tmp_path / "no-such-history.sqlite"))


# ---------------------------------------------------------------- the key is never shown


def test_repr_says_whether_a_key_is_set_never_what_it_is(monkeypatch):
    key = KEYS["settings"]
    shown = repr(Settings(api_key=key))
    assert key not in shown and "api_key=<set>" in shown and key not in str(Settings(api_key=key))
    assert "api_key=<unset>" in repr(Settings())
    monkeypatch.setenv("OPENROUTER_API_KEY", KEYS["env"])
    assert KEYS["env"] not in repr(Settings.from_env()) and "api_key=<set>" in repr(Settings.from_env())
    assert repr(Settings(timeout=3)).startswith("Settings(base_url='https://openrouter.ai/api/v1', api_key=<unset>")


def test_a_bad_key_is_refused_without_showing_it(monkeypatch):
    with pytest.raises(ValueError) as caught:
        Settings(api_key="sk-or-v1-secret\npart")
    assert str(caught.value) == "the API key in api_key holds a space, a control or a non-ASCII character: check it"
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-v1-secret part")
    with pytest.raises(ValueError, match=r"^the API key in \$OPENROUTER_API_KEY holds a space") as caught:
        Settings.from_env()
    assert "secret" not in str(caught.value)


# ---------------------------------------------------------------- bad values: one line, naming the value

BAD = [
    ({"timeout": -1}, ValueError, "bad timeout -1: expected seconds above 0, one number or a (connect, read) pair"),
    ({"timeout": (5, 0)}, ValueError, "bad timeout (5, 0): expected seconds above 0, one number or a (connect, read) pair"),
    ({"timeout": (1, 2, 3)}, ValueError, "bad timeout (1, 2, 3): expected seconds above 0, one number or a (connect, read) pair"),
    ({"timeout": "10"}, ValueError, "bad timeout '10': expected seconds above 0, one number or a (connect, read) pair"),
    ({"timeout": True}, ValueError, "bad timeout True: expected seconds above 0, one number or a (connect, read) pair"),
    ({"deadline": 0}, ValueError, "bad deadline 0: expected a number of seconds above 0"),
    ({"deadline": math.inf}, ValueError, "bad deadline inf: expected a number of seconds above 0"),
    ({"deadline": math.nan}, ValueError, "bad deadline nan: expected a number of seconds above 0"),
    ({"expire_after": -5}, ValueError, "bad expire_after -5: expected a number of seconds from 0"),
    ({"base_url": "ftp://example.com/api"}, ValueError, "base_url is not an http(s) URL: 'ftp://example.com/api'"),
    ({"base_url": "https://user:pw@ex ample.com"}, ValueError, "base_url is not an http(s) URL: 'https://***@ex ample.com'"),
    ({"source": ""}, ValueError, "bad source '': expected openrouter, sample, an http(s) URL or a file"),
    ({"cache_path": 3}, TypeError, "bad cache_path 3: expected a file path"),
    ({"history_path": ["a"]}, TypeError, "bad history_path ['a']: expected a file path"),
]  # fmt: skip


@pytest.mark.parametrize(("given", "kind", "message"), BAD, ids=[next(iter(g)) + repr(g) for g, _, _ in BAD])
def test_a_bad_value_is_one_line_naming_it(given, kind, message):
    with pytest.raises(kind) as caught:
        Settings(**given)
    assert str(caught.value) == message and "\n" not in str(caught.value)


def test_a_bad_keyword_to_an_entry_point_is_refused_before_any_request(httpserver):
    bases = serve_catalogs(httpserver)
    with pytest.raises(ValueError, match=r"^bad timeout -1: "):
        fetch_catalog(base_url=bases["keyword"], timeout=-1)
    with pytest.raises(ValueError, match=r"^bad deadline 0: "):
        fetch_catalog(settings=Settings(base_url=bases["settings"]), deadline=0)
    assert asked(httpserver) == []


def test_a_bad_value_from_the_environment_names_the_variable(monkeypatch):
    monkeypatch.setenv("OPENROUTER_BASE_URL", "not a url")
    with pytest.raises(ValueError) as caught:
        Settings.from_env()
    assert str(caught.value) == "$OPENROUTER_BASE_URL is not an http(s) URL: 'not a url'"
    with pytest.raises(ValueError) as caught:  # the same value given as a keyword is named as the keyword
        Settings.from_env(base_url="also not a url")
    assert str(caught.value) == "base_url is not an http(s) URL: 'also not a url'"


def test_an_unknown_setting_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match=r"^unknown setting 'tiemout': expected one of base_url, api_key, "):
        Settings().replace(tiemout=3)
    with pytest.raises(TypeError, match=r"^bad settings \{'timeout': 3\}: expected a vision_models.Settings$"):
        fetch_catalog("sample", settings={"timeout": 3})  # type: ignore[arg-type]


# ---------------------------------------------------------------- the object


def test_settings_are_frozen_and_replace_makes_a_checked_copy():
    settings = Settings(timeout=(3, 20))
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.timeout = (1, 1)  # type: ignore[misc]
    changed = settings.replace(deadline=60, base_url="http://127.0.0.1:9/api/v1/")
    assert changed.deadline == 60.0 and changed.base_url == "http://127.0.0.1:9/api/v1" and changed.timeout == (3, 20)
    assert settings.deadline == 30.0  # the original is unchanged
    assert settings.replace(api_key=None, source="") == settings  # None or "": not given
    assert dataclasses.replace(settings, deadline=5).deadline == 5.0
    with pytest.raises(ValueError, match=r"^bad deadline -1: "):
        dataclasses.replace(settings, deadline=-1)


def test_one_number_is_the_connect_and_the_read_timeout():
    assert Settings(timeout=7).timeout == (7.0, 7.0) and Settings(timeout=[2, 9]).timeout == (2.0, 9.0)


def test_the_defaults_have_one_home_and_the_old_names_still_work():
    from vision_models import settings as home
    from vision_models.catalog import source
    from vision_models.http import cache, client
    from vision_models.stores import trial_schema, versions

    assert client.DEFAULT_TIMEOUT is home.DEFAULT_TIMEOUT and client.DEFAULT_DEADLINE is home.DEFAULT_DEADLINE
    assert (
        cache.DEFAULT_EXPIRE_SECONDS == home.DEFAULT_EXPIRE_SECONDS == 3600 and cache.CACHE_ENV == "VISION_MODELS_CACHE"
    )
    assert source.DEFAULT_BASE_URL is home.DEFAULT_BASE_URL
    assert (source.BASE_URL_ENV, source.API_KEY_ENV, source.SOURCE_ENV) == (
        "OPENROUTER_BASE_URL",
        "OPENROUTER_API_KEY",
        "VISION_MODELS_SOURCE",
    )
    assert versions.HISTORY_ENV == "VISION_MODELS_HISTORY" and trial_schema.TRIALS_ENV == "VISION_MODELS_TRIALS"
    assert vm.Settings is Settings


def test_store_paths_follow_settings(tmp_path):
    from vision_models.stores.trial_schema import get_trials_path
    from vision_models.stores.versions import get_history_path

    beside = Settings(cache_path=tmp_path / "c" / "http.sqlite")
    assert get_history_path(settings=beside) == tmp_path / "c" / "history.sqlite"
    assert get_trials_path(settings=beside) == tmp_path / "c" / "trials.sqlite"
    named = beside.replace(history_path=tmp_path / "h.sqlite", trials_path=tmp_path / "t.sqlite")
    assert get_history_path(settings=named) == tmp_path / "h.sqlite" == Path(get_history_path(tmp_path / "h.sqlite"))
    assert get_trials_path(tmp_path / "kw.sqlite", settings=named) == tmp_path / "kw.sqlite"  # the keyword wins

"""Frames remembered beside the cached body: a warm call skips parsing, and is never wrong for it.

The frame a warm call returns must equal the frame built from the body the
cache holds now, whatever happened in between: a new body, a 304, other
rules, another version of the code, a damaged row, a row rewritten behind
our back.
"""

from __future__ import annotations

import json
import sqlite3
import time
import warnings

import pytest
from factories import SMALL_CATALOG, catalog_body, model, run_cli_process

from vision_models import fetch_catalog, fetch_vision_models
from vision_models.catalog import api as catalog
from vision_models.catalog import memo
from vision_models.http.client import close_sessions

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@pytest.fixture
def builds(monkeypatch) -> list[int]:
    """Counts the frames built from entries (a remembered frame is not built)."""
    calls: list[int] = []
    real = catalog.models_frame

    def counting(entries, *args, **kwargs):
        calls.append(len(entries))
        return real(entries, *args, **kwargs)

    monkeypatch.setattr(catalog, "models_frame", counting)
    return calls


def _serve(httpserver, body: str) -> None:
    httpserver.clear_all_handlers()
    httpserver.expect_request("/models").respond_with_data(body, content_type="application/json")


def _fetch(httpserver, **options):
    return fetch_vision_models(base_url=httpserver.url_for("/"), **options)


def _prices(result) -> dict[str, float]:
    return dict(zip(result.models["id"], result.models["prompt_usd_per_mtok"]))


def test_a_warm_call_returns_the_remembered_frame_without_parsing(httpserver, builds, monkeypatch):
    _serve(httpserver, SMALL_CATALOG)
    first = _fetch(httpserver)
    monkeypatch.setattr(
        "vision_models.catalog.source.parse_json", lambda body: pytest.fail("the cached body was parsed")
    )
    second = _fetch(httpserver)
    assert builds == [3]  # built once, from the three entries downloaded
    assert second.cached is True and second.error is None and second.source == "openrouter"
    assert second.models.equals(first.models)
    assert list(second.models["id"]) == ["google/gemini-2.5-flash", "openai/gpt-4o"]
    assert len(httpserver.log) == 1


def test_a_new_body_is_never_answered_with_the_old_frame(httpserver, builds):
    _serve(httpserver, SMALL_CATALOG)
    assert _prices(_fetch(httpserver))["openai/gpt-4o"] == 2.5
    _serve(httpserver, SMALL_CATALOG.replace('"0.0000025"', '"0.000003"'))  # gpt-4o: $2.50 -> $3.00 per M
    refreshed = _fetch(httpserver, refresh=True)
    warm = _fetch(httpserver)
    assert _prices(refreshed)["openai/gpt-4o"] == 3.0
    assert _prices(warm)["openai/gpt-4o"] == 3.0 and warm.cached is True
    assert builds == [3, 3]  # the warm call used the frame of the new body


def test_an_expired_copy_is_fetched_again_not_answered_from_memory(httpserver, builds):
    _serve(httpserver, SMALL_CATALOG)
    _fetch(httpserver, expire_after=1)
    _serve(httpserver, SMALL_CATALOG.replace('"0.0000025"', '"0.000004"'))
    time.sleep(1.2)
    later = _fetch(httpserver, expire_after=1)
    assert later.cached is False and _prices(later)["openai/gpt-4o"] == 4.0
    assert len(httpserver.log) == 2


def test_after_a_304_the_frame_is_remembered_and_its_age_restarts(httpserver, builds):
    from werkzeug import Request, Response

    def handler(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304, headers={"ETag": '"v1"'})
        return Response(SMALL_CATALOG, content_type="application/json", headers={"ETag": '"v1"'})

    httpserver.expect_request("/models").respond_with_handler(handler)
    _fetch(httpserver, expire_after=2)
    time.sleep(2.2)
    confirmed = _fetch(httpserver, expire_after=2)  # a 304: the same body, confirmed now
    warm = _fetch(httpserver, expire_after=2)
    assert len(httpserver.log) == 2
    assert confirmed.cached is True and confirmed.cache_age <= 1
    assert warm.cached is True and warm.cache_age <= 1  # counted from the 304, not from the first download
    assert builds == [3, 3]  # the 304's answer is read whole; the warm call after it uses the remembered frame
    assert warm.models.equals(confirmed.models)


def test_each_rule_set_and_each_selection_has_its_own_frame(httpserver, builds):
    text_only_named_vision = model(
        "acme/gpt-4o-search", name="GPT-4o Search"
    )  # seed counts the name; strict, the inputs
    _serve(httpserver, catalog_body(*json.loads(SMALL_CATALOG)["data"], text_only_named_vision))
    base = httpserver.url_for("/")
    cold = [
        fetch_vision_models(base_url=base),
        fetch_vision_models(base_url=base, rules="seed"),
        fetch_catalog(base_url=base),
    ]
    warm = [
        fetch_vision_models(base_url=base),
        fetch_vision_models(base_url=base, rules="seed"),
        fetch_catalog(base_url=base),
    ]
    assert [r.count for r in warm] == [2, 3, 4]
    assert "acme/gpt-4o-search" in set(warm[1].models["id"]) and "acme/gpt-4o-search" not in set(warm[0].models["id"])
    for before, after in zip(cold, warm):
        assert after.models.equals(before.models)
    assert len(builds) == 3


def test_another_version_of_the_building_code_builds_again(httpserver, builds, monkeypatch):
    _serve(httpserver, SMALL_CATALOG)
    _fetch(httpserver)
    memo._code_version.cache_clear()
    monkeypatch.setattr(memo, "_code_version", lambda: "a-later-version")
    _fetch(httpserver)
    _fetch(httpserver)
    assert len(builds) == 2


def test_a_damaged_frame_row_is_a_miss_and_is_replaced(httpserver, builds, cache_file):
    _serve(httpserver, SMALL_CATALOG)
    first = _fetch(httpserver)
    close_sessions()
    with sqlite3.connect(cache_file) as con:
        con.execute("UPDATE frames SET value = ?", (b"\x80\x05not a pickle",))
    again = _fetch(httpserver)
    once_more = _fetch(httpserver)
    assert again.models.equals(first.models) and once_more.models.equals(first.models)
    assert len(builds) == 2  # rebuilt once, then remembered again
    assert len(httpserver.log) == 1


def test_a_response_row_rewritten_without_its_fingerprint_is_not_trusted(httpserver, builds, cache_file):
    _serve(httpserver, SMALL_CATALOG)
    _fetch(httpserver)
    close_sessions()
    with sqlite3.connect(cache_file) as con:  # another writer replaced the row: its expiry no longer matches
        con.execute("UPDATE responses SET expires = expires + 60")
    _fetch(httpserver)
    assert len(builds) == 2


def test_a_build_that_warned_is_not_remembered_so_the_warning_comes_every_time(httpserver, builds):
    repeated = catalog_body(model("a/x", inputs=("text", "image")), model("a/x", inputs=("text", "image")))
    _serve(httpserver, repeated)
    for _ in range(2):
        with pytest.warns(UserWarning, match="1 catalog entries with a repeated id"):
            assert _fetch(httpserver).count == 1
    assert len(builds) == 2


def test_cache_clear_forgets_frames_and_fingerprints(httpserver, cache_file):
    _serve(httpserver, SMALL_CATALOG)
    _fetch(httpserver)
    close_sessions()
    with sqlite3.connect(cache_file) as con:
        assert [con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("responses", "bodies", "frames")] == [
            1,
            1,
            1,
        ]
    run_cli_process("cache", "clear", "--cache-path", str(cache_file)).check_returncode()
    with sqlite3.connect(cache_file) as con:
        assert [con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("responses", "bodies", "frames")] == [
            0,
            0,
            0,
        ]


def test_only_the_newest_frames_are_kept(httpserver, cache_file):
    from vision_models.http.cache import FRAMES_KEPT

    for cents in range(FRAMES_KEPT + 3):
        _serve(httpserver, SMALL_CATALOG.replace('"0.0000025"', f'"0.00000{cents + 10}"'))
        assert _fetch(httpserver, refresh=True).error is None
    close_sessions()
    with sqlite3.connect(cache_file) as con:
        assert con.execute("SELECT count(*) FROM frames").fetchone()[0] == FRAMES_KEPT


def test_with_a_key_the_warm_call_is_remembered_too_and_the_key_is_not_stored(
    httpserver, builds, cache_file, monkeypatch
):
    key = "sk-or-v1-memo-secret-0123456789"
    monkeypatch.setenv("OPENROUTER_API_KEY", key)
    _serve(httpserver, SMALL_CATALOG)
    first = _fetch(httpserver)
    warm = _fetch(httpserver)
    assert warm.cached is True and warm.models.equals(first.models) and len(builds) == 1
    close_sessions()
    stored = b"".join(p.read_bytes() for p in cache_file.parent.iterdir() if p.name.startswith(cache_file.name))
    assert b"frames" in stored and key.encode() not in stored


def test_a_cache_path_that_cannot_be_used_is_tried_and_warned_about_once_per_call(httpserver, tmp_path):
    folder = tmp_path / "cache.sqlite"
    folder.mkdir()
    _serve(httpserver, SMALL_CATALOG)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        result = _fetch(httpserver, cache_path=folder)
    assert result.error is None and result.count == 2
    assert [str(w.message) for w in said] == [
        f"cannot use cache file {folder}: it is a directory; caching in memory for this session only"
    ]


def test_a_locked_cache_costs_one_bounded_wait_per_call_not_one_per_lookup(httpserver, cache_file, monkeypatch):
    from vision_models.http import cache

    LOCK_WAIT_SECONDS = 1.0  # the bound under test, shorter than the shipped 3 s
    monkeypatch.setattr(cache, "LOCK_WAIT_SECONDS", LOCK_WAIT_SECONDS)
    _serve(httpserver, SMALL_CATALOG)
    _fetch(httpserver)
    close_sessions()  # as in a new process: the session is opened under the lock
    holder = sqlite3.connect(cache_file, isolation_level=None, timeout=0)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            result = _fetch(httpserver)
        elapsed = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()
    assert result.error is None and result.count == 2
    assert LOCK_WAIT_SECONDS <= elapsed < LOCK_WAIT_SECONDS + 1.5, f"took {elapsed:.1f} s"
    assert sum("locked" in str(w.message) for w in said) == 1

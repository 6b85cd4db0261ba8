"""Catalog history: recording, backfilling in any order, what changed and how prices moved.

Expected values come from hand-made catalogs whose changes are known by
construction, and from the real daily catalogs read directly with ``json``.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import random
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
from factories import REPO, SHARED_CATALOGS, catalog_body, copy_of_daily_history, model, run_cli_process

from vision_models.catalog import history, snapshots
from vision_models.catalog.history import (
    CHANGE_COLUMNS,
    PRICE_HISTORY_COLUMNS,
    catalog_changes,
    get_history_path,
    history_info,
    import_files,
    price_history,
    record_fetch,
)
from vision_models.present.charts import plot_price_history

DAILY = SHARED_CATALOGS / "daily"
UTC = UTC


def write_catalog(folder: Path, name: str, *entries: dict) -> Path:
    """A catalog file (gzip-compressed when the name ends in .gz)."""
    folder.mkdir(parents=True, exist_ok=True)
    body = catalog_body(*entries).encode()
    path = folder / name
    path.write_bytes(gzip.compress(body) if name.endswith(".gz") else body)
    return path


def record(day: str, *entries: dict, db: Path | None = None) -> bool:
    return record_fetch(list(entries), fetched_at=day, source="test", body=catalog_body(*entries), path=db)


def dump(db: Path) -> list[str]:
    """Every row of every table, as SQL text: row-for-row equality of two states."""
    conn = sqlite3.connect(db)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def versions(db: Path) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT * FROM versions ORDER BY model_id, valid_from").fetchall()
    finally:
        conn.close()


def rows(frame: pd.DataFrame, *columns: str) -> list[tuple]:
    """The rows of ``columns`` as tuples, a missing ``field`` (str dtype: NaN) as None."""
    picked = frame[list(columns)]
    if "field" in picked:
        picked = picked.assign(field=picked["field"].astype(object).where(picked["field"].notna(), None))
    return list(picked.itertuples(index=False, name=None))


def day(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


# ---------------------------------------------------------------- no history yet


def test_no_history_gives_empty_frames_and_zero_snapshots_without_creating_the_file():
    db = get_history_path()
    changes = catalog_changes(since="2026-01-01")
    prices = price_history(["openai/gpt-4o"])
    info = history_info()
    assert list(changes.columns) == list(CHANGE_COLUMNS) and changes.empty
    assert str(changes["date"].dtype) == "datetime64[us, UTC]" and changes["pct_change"].dtype == "float64"
    assert list(prices.columns) == list(PRICE_HISTORY_COLUMNS) and prices.empty
    assert (info.exists, info.snapshots, info.first_fetch, info.models_tracked) == (False, 0, None, 0)
    assert info.size_bytes == 0
    assert "snapshots: 0" in info.lines()
    assert not db.exists()


def test_history_path_env_argument_and_default_beside_the_http_cache(tmp_path, monkeypatch):
    assert get_history_path() == Path(os.environ["VISION_MODELS_HISTORY"])
    assert get_history_path(tmp_path / "h.sqlite") == tmp_path / "h.sqlite"
    monkeypatch.delenv("VISION_MODELS_HISTORY")
    assert get_history_path() == Path(os.environ["VISION_MODELS_CACHE"]).with_name("history.sqlite")


# ---------------------------------------------------------------- change kinds


def test_added_removed_price_context_and_renamed_are_dated_by_the_first_snapshot_showing_them():
    a = model("p/a", prompt="0.000001", completion="0.000002")
    b = model("p/b")
    assert record("2026-03-01T10:00:00Z", a, b)
    a2 = model("p/a", prompt="0.0000015", completion="0.000002", context_length=200_000, name="A Two")
    c = model("p/c")
    assert record("2026-03-02T10:00:00Z", a2, c)
    changes = catalog_changes()
    on = day("2026-03-02T10:00:00")
    assert rows(changes, "date", "id", "kind", "field", "old", "new") == [
        (on, "p/a", "context", "context_length", 128_000, 200_000),
        (on, "p/a", "price", "prompt_usd_per_mtok", 1.0, 1.5),
        (on, "p/a", "renamed", "name", "a", "A Two"),
        (on, "p/b", "removed", None, None, None),
        (on, "p/c", "added", None, None, None),
    ]
    assert changes.loc[1, "pct_change"] == pytest.approx(50.0)
    assert changes.loc[0, "pct_change"] == pytest.approx(56.25)
    assert changes.loc[0, "name"] == "A Two" and changes.loc[3, "name"] == "b"
    assert changes["field"].isna().tolist() == [False, False, False, True, True]


def test_readable_changes_are_newest_first_with_plain_dates_and_the_percent_change():
    record("2026-03-01T10:00:00Z", model("p/a", prompt="0.000003"), model("p/b", prompt="0.000002"))
    record("2026-03-02T10:00:00Z", model("p/a", prompt="0.000002"), model("p/b", prompt="0.000002"))
    record("2026-03-05T23:30:00Z", model("p/a", prompt="0.000002"), model("p/b", prompt="0.000003"), model("p/c"))
    table = history.readable_changes(catalog_changes())
    assert list(table.columns) == ["date", "kind", "id", "field", "old", "new", "pct_change"]
    assert table["date"].tolist() == [date(2026, 3, 5), date(2026, 3, 5), date(2026, 3, 2)]  # newest first, no times
    assert table["id"].tolist() == ["p/b", "p/c", "p/a"] and table.index.tolist() == [0, 1, 2]
    assert "00:00" not in table.to_string() and "10:00" not in table.to_string()
    # By hand: p/b $2 -> $3 per M is +50.0 %; p/a $3 -> $2 is -33.333... %, shown as -33.3; an addition has none.
    assert table["pct_change"].tolist()[0] == 50.0 and table["pct_change"].tolist()[2] == -33.3
    assert math.isnan(table["pct_change"].tolist()[1])
    assert list(history.readable_changes(catalog_changes(), ["id", "date", "nope"]).columns) == ["id", "date"]


def test_the_first_snapshot_is_a_baseline_not_a_wave_of_additions():
    record("2026-03-01", model("p/a"), model("p/b"))
    assert catalog_changes().empty


def test_gained_and_lost_image_input_and_vision_only():
    text, image = ("text",), ("text", "image")
    record("2026-03-01", model("p/eyes", inputs=text), model("p/blind", inputs=image), model("p/text"))
    record(
        "2026-03-02", model("p/eyes", inputs=image), model("p/blind", inputs=text), model("p/text", prompt="0.000002")
    )
    changes = catalog_changes()
    assert rows(changes, "id", "kind", "field", "old", "new", "is_vision") == [
        ("p/blind", "lost_image_input", "input_modalities", "text+image", "text", True),
        ("p/eyes", "gained_image_input", "input_modalities", "text", "text+image", True),
        ("p/text", "price", "prompt_usd_per_mtok", 1.0, 2.0, False),
    ]
    assert catalog_changes(vision_only=True)["id"].tolist() == ["p/blind", "p/eyes"]


def test_percent_change_is_nan_from_or_to_zero_or_a_missing_price():
    def entry(model_id, prompt, image=None):
        pricing = {"prompt": prompt, "completion": "0.000002", **({"image": image} if image else {})}
        return model(model_id, pricing=pricing)

    record(
        "2026-03-01",
        entry("p/down", "0.000004"),
        entry("p/free", "0.000001"),
        entry("p/paid", "0"),
        entry("p/img", "0.000001"),
    )
    record(
        "2026-03-02",
        entry("p/down", "0.000001"),
        entry("p/free", "0"),
        entry("p/paid", "0.000001"),
        entry("p/img", "0.000001", "0.002"),
    )
    changes = catalog_changes().set_index("id")
    assert changes.loc["p/down", "pct_change"] == pytest.approx(-75.0)
    assert math.isnan(changes.loc["p/free", "pct_change"]) and changes.loc["p/free", "new"] == 0.0
    assert math.isnan(changes.loc["p/paid", "pct_change"]) and changes.loc["p/paid", "old"] == 0.0
    img = changes.loc["p/img"]
    assert (img["field"], img["old"], img["new"]) == ("image_price", None, 0.002) and math.isnan(img["pct_change"])
    assert bool(img["is_vision"])  # an image price makes it vision under the seed rules


def test_a_model_that_comes_back_is_added_again_and_unchanged_attributes_are_no_change():
    record("2026-03-01", model("p/a"), model("p/b"))
    record("2026-03-02", model("p/b"))
    record("2026-03-03", model("p/a"), model("p/b", description="new words: descriptions are not stored"))
    assert rows(catalog_changes(), "date", "id", "kind") == [
        (day("2026-03-02"), "p/a", "removed"),
        (day("2026-03-03"), "p/a", "added"),
    ]


def test_since_and_until_are_inclusive_and_a_date_until_keeps_its_whole_day():
    record("2026-03-01", model("p/a"))
    record("2026-03-02T12:00:00Z", model("p/a"), model("p/b"))
    record("2026-03-03T12:00:00Z", model("p/a"), model("p/b"), model("p/c"))
    record("2026-03-04T12:00:00Z", model("p/a"), model("p/b"), model("p/c"), model("p/d"))
    ids = lambda **kw: catalog_changes(**kw)["id"].tolist()  # noqa: E731
    assert ids() == ["p/b", "p/c", "p/d"]
    assert ids(since="2026-03-03") == ["p/c", "p/d"]
    assert ids(until="2026-03-03") == ["p/b", "p/c"]
    assert ids(since=date(2026, 3, 3), until=date(2026, 3, 3)) == ["p/c"]
    assert ids(until=datetime(2026, 3, 3, 11, 59)) == ["p/b"]  # a naive datetime is UTC, and an instant
    assert ids(since="2026-03-03T13:00:00+01:00") == ["p/c", "p/d"]  # 12:00 UTC


def test_changes_carry_the_range_they_cover_for_a_weekly_count():
    record("2026-03-01T10:00:00Z", model("p/a"))
    record("2026-03-05T10:00:00Z", model("p/a"), model("p/b"))
    record("2026-03-09T10:00:00Z", model("p/a"), model("p/b"), model("p/c"))
    # The baseline is 03-01 10:00: the first change can be dated a microsecond later; the last snapshot ends it.
    assert catalog_changes().attrs == {"since": day("2026-03-01T10:00:00.000001"), "until": day("2026-03-09T10:00")}
    # A date-only until takes in its whole day; an until after the last snapshot ends at the last snapshot.
    covered = catalog_changes(since="2026-03-02", until="2026-03-06").attrs
    assert covered == {"since": day("2026-03-02"), "until": day("2026-03-06T23:59:59.999999")}
    assert catalog_changes(until="2026-04-01", vision_only=True).attrs["until"] == day("2026-03-09T10:00")


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01", "03/04/2026", 20260301, ""])
def test_bad_dates_raise_naming_the_value(bad):
    record("2026-03-01", model("p/a"))
    calls = (
        lambda: catalog_changes(since=bad),
        lambda: catalog_changes(until=bad),
        lambda: price_history("p/a", since=bad),
    )
    for call in calls:
        with pytest.raises(ValueError, match="bad (since|until)") as info:
            call()
        assert repr(bad) in str(info.value)
    with pytest.raises(ValueError, match=f"bad fetched_at {bad!r}"):
        record_fetch([model("p/a")], fetched_at=bad, source="test", body=None)


# ---------------------------------------------------------------- price history


def test_price_history_has_a_row_per_snapshot_the_model_is_in():
    record("2026-03-01", model("p/a", prompt="0.000001"), model("p/b"))
    record("2026-03-02", model("p/a", prompt="0.000001"))
    record("2026-03-03", model("p/a", prompt="0.000003"), model("p/b", prompt="0.000005"))
    prices = price_history(["p/b", "p/a"])
    assert list(prices.columns) == list(PRICE_HISTORY_COLUMNS)
    assert rows(prices, "date", "id", "prompt_usd_per_mtok") == [
        (day("2026-03-01"), "p/a", 1.0),
        (day("2026-03-01"), "p/b", 1.0),
        (day("2026-03-02"), "p/a", 1.0),
        (day("2026-03-03"), "p/a", 3.0),
        (day("2026-03-03"), "p/b", 5.0),
    ]
    assert rows(price_history("p/a", since="2026-03-02", until="2026-03-02"), "date", "prompt_usd_per_mtok") == [
        (day("2026-03-02"), 1.0)
    ]


def test_price_history_unknown_id_names_it_with_close_matches():
    record("2026-03-01", model("openai/gpt-4o-mini"), model("google/gemini-2.5-flash"))
    with pytest.raises(ValueError, match=r"'openai/gpt-4o-mni'.*openai/gpt-4o-mini"):
        price_history(["google/gemini-2.5-flash", "openai/gpt-4o-mni"])


def test_plot_price_history_draws_a_step_per_model_on_the_given_axes():
    from matplotlib.figure import Figure

    record("2026-03-01", model("p/a"), model("p/b"))
    record("2026-03-02", model("p/a", prompt="0.000002"), model("p/b"))
    ax = Figure().subplots()
    assert plot_price_history(["p/a", "p/b"], ax=ax) is ax
    assert sorted(line.get_label() for line in ax.get_lines()) == ["p/a", "p/b"]
    assert list(ax.get_lines()[0].get_ydata()) == [1.0, 2.0]
    other = Figure().subplots()
    assert plot_price_history(price_history("p/a"), price="completion_usd_per_mtok", ax=other) is other
    with pytest.raises(ValueError, match="unknown price 'cost'"):
        plot_price_history(["p/a"], price="cost", ax=other)


def test_importing_history_does_not_import_matplotlib():
    code = "import sys, vision_models.catalog.history; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------- recording and importing


def test_record_fetch_says_whether_it_stored_a_snapshot():
    entries = [model("p/a")]
    body = catalog_body(*entries)
    assert record_fetch(entries, fetched_at="2026-03-01T08:00Z", source="openrouter", body=body) is True
    assert record_fetch(entries, fetched_at="2026-03-01T08:00Z", source="openrouter", body=body) is False
    assert record_fetch([], fetched_at="2026-03-01T09:00Z", source="openrouter", body='{"data": []}') is False
    assert record_fetch(entries, fetched_at=None, source="openrouter", body=None) is True  # now, hash of the entries
    assert history_info().snapshots == 2


def test_an_identical_snapshot_adds_only_its_fetch_record():
    db = get_history_path()
    record("2026-03-01", model("p/a"), model("p/b"))
    before = versions(db)
    assert record("2026-03-02", model("p/a"), model("p/b"))
    assert versions(db) == before
    info = history_info()
    assert (info.snapshots, info.attribute_rows, info.models_tracked) == (2, 2, 2)


def test_the_same_file_twice_changes_nothing(tmp_path):
    db = get_history_path()
    file = write_catalog(tmp_path / "in", "openrouter-2026-03-01.json.gz", model("p/a"))
    first = import_files([file])
    state = dump(db)
    second = import_files([file, file])
    assert [r.status for r in first] == ["imported"]
    assert [r.status for r in second] == ["already imported", "already imported"]
    assert dump(db) == state


def test_another_body_at_the_same_instant_is_skipped_saying_so(tmp_path):
    one = write_catalog(tmp_path / "a", "openrouter-2026-03-01.json", model("p/a"))
    two = write_catalog(tmp_path / "b", "openrouter-2026-03-01.json", model("p/b"))
    results = import_files([one, two])
    assert results[0].status == "imported"
    assert results[1].status.startswith("skipped: another catalog is already recorded at 2026-03-01")


def test_a_file_that_is_not_a_catalog_is_skipped_by_name_and_the_others_are_imported(tmp_path):
    good = write_catalog(tmp_path, "openrouter-2026-03-01.json", model("p/a"))
    later = write_catalog(tmp_path, "openrouter-2026-03-02.json.gz", model("p/a"), model("p/b"))
    junk = tmp_path / "notes-2026-03-03.json"
    junk.write_text('{"models": []}')
    broken = tmp_path / "broken-2026-03-04.json.gz"
    broken.write_bytes(b"\x1f\x8b not really gzip")
    missing = tmp_path / "missing-2026-03-05.json"
    results = import_files([good, junk, broken, missing, later])
    statuses = {Path(r.path).name: r.status for r in results}
    assert statuses["openrouter-2026-03-01.json"] == "imported"
    assert statuses["openrouter-2026-03-02.json.gz"] == "imported"
    for bad in (junk, broken, missing):
        assert statuses[bad.name].startswith("skipped: ") and str(bad) in statuses[bad.name]
    assert "not an OpenRouter catalog" in statuses[junk.name]
    assert history_info().snapshots == 2
    assert rows(catalog_changes(), "id", "kind") == [("p/b", "added")]


def test_date_basis_fetched_at_then_file_name_then_modification_time(tmp_path):
    named = write_catalog(tmp_path, "openrouter-2026-03-05.json", model("p/a"))
    plain = write_catalog(tmp_path, "catalog.json", model("p/a"), model("p/b"))
    moment = datetime(2026, 3, 9, 6, 30, 15, tzinfo=UTC)
    os.utime(plain, (moment.timestamp(), moment.timestamp()))
    explicit = write_catalog(tmp_path, "openrouter-2026-03-01.json", model("p/c"))
    results = import_files([named, plain])
    results += import_files([explicit], fetched_at="2026-03-10T01:02:03+02:00")
    assert [(r.date_basis, r.fetched_at, r.models, r.status) for r in results] == [
        ("file name", datetime(2026, 3, 5, tzinfo=UTC), 1, "imported"),
        ("modification time", moment, 2, "imported"),
        ("fetched-at", datetime(2026, 3, 9, 23, 2, 3, tzinfo=UTC), 1, "imported"),
    ]
    assert history_info().last_fetch == datetime(2026, 3, 9, 23, 2, 3, tzinfo=UTC)


def test_fetched_at_dates_one_file_only(tmp_path):
    one = write_catalog(tmp_path, "a.json", model("p/a"))
    two = write_catalog(tmp_path, "b.json", model("p/a"))
    with pytest.raises(ValueError, match="one file only"):
        import_files([one, two], fetched_at="2026-03-01")


def test_an_import_interrupted_half_way_leaves_the_database_as_it_was(tmp_path, monkeypatch):
    db = get_history_path()
    first = write_catalog(tmp_path, "openrouter-2026-03-01.json", model("p/a"), model("p/b"), model("p/c"))
    changed = [model("p/a", prompt="0.000009"), model("p/c")] + [model(f"p/new-{k}") for k in range(20)]
    second = write_catalog(tmp_path, "openrouter-2026-03-02.json", *changed)
    import_files([first])
    before = dump(db)
    real_insert = snapshots._insert_versions
    calls = []

    def insert_then_fail(conn, version_rows):
        calls.append(len(version_rows))
        real_insert(conn, version_rows[: len(version_rows) // 2])
        raise RuntimeError("disk pulled out")

    monkeypatch.setattr(snapshots, "_insert_versions", insert_then_fail)
    with pytest.raises(RuntimeError, match="disk pulled out"):
        import_files([second])
    assert calls == [21]  # p/a's new price and 20 new models: half of them were written, then undone
    assert dump(db) == before
    monkeypatch.setattr(snapshots, "_insert_versions", real_insert)  # not undo(): that would drop the isolated env too
    assert [r.status for r in import_files([second])] == ["imported"]
    assert history_info().snapshots == 2


def test_an_interrupted_first_import_leaves_no_rows(tmp_path, monkeypatch):
    file = write_catalog(tmp_path, "openrouter-2026-03-01.json", *[model(f"p/m{k}") for k in range(10)])

    real_insert = snapshots._insert_versions

    def fail(conn, version_rows):
        real_insert(conn, version_rows[:5])
        raise KeyboardInterrupt

    monkeypatch.setattr(snapshots, "_insert_versions", fail)
    with pytest.raises(KeyboardInterrupt):
        import_files([file])
    info = history_info()
    assert (info.snapshots, info.attribute_rows) == (0, 0)


# ---------------------------------------------------------------- order does not matter


def random_catalogs(seed: int, snapshots: int = 14, models: int = 6) -> list[tuple[str, list[dict]]]:
    """Snapshots where models come and go and flip between few values, so runs merge and split."""
    rng = random.Random(seed)
    out = []
    for k in range(snapshots):
        entries = []
        for m in range(models):
            if rng.random() < 0.2:
                continue
            entries.append(
                model(
                    f"p/m{m}",
                    prompt=rng.choice(["0.000001", "0.000002"]),
                    name=rng.choice(["one", "two"]) if m % 2 else f"m{m}",
                    inputs=rng.choice([("text",), ("text", "image")]) if m % 3 == 0 else ("text",),
                )
            )
        out.append((f"2026-03-{k + 1:02d}T06:00:00Z", entries or [model("p/always")]))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_any_import_order_gives_the_rows_of_a_chronological_one(tmp_path, seed):
    snapshots = random_catalogs(seed)
    sorted_db = tmp_path / "sorted.sqlite"
    for when, entries in snapshots:
        record(when, *entries, db=sorted_db)
    for attempt in range(3):
        shuffled_db = tmp_path / f"shuffled-{attempt}.sqlite"
        order = snapshots[:]
        random.Random(seed * 10 + attempt).shuffle(order)
        for when, entries in order:
            record(when, *entries, db=shuffled_db)
        assert versions(shuffled_db) == versions(sorted_db)

    # The stored runs reproduce every snapshot and every difference, computed here naively.
    ids = sorted({e["id"] for _, entries in snapshots for e in entries})
    expected_prices = sorted(
        (day(when), e["id"], float(e["pricing"]["prompt"]) * 1e6) for when, entries in snapshots for e in entries
    )
    got = sorted(rows(price_history(ids, path=sorted_db), "date", "id", "prompt_usd_per_mtok"))
    assert got == [(d, i, pytest.approx(p)) for d, i, p in expected_prices]
    expected_changes = set()
    for (_, old), (when, new) in zip(snapshots, snapshots[1:]):
        old_by_id, new_by_id = {e["id"]: e for e in old}, {e["id"]: e for e in new}
        expected_changes |= {(day(when), i, "added") for i in new_by_id.keys() - old_by_id.keys()}
        expected_changes |= {(day(when), i, "removed") for i in old_by_id.keys() - new_by_id.keys()}
        for i in old_by_id.keys() & new_by_id.keys():
            a, b = old_by_id[i], new_by_id[i]
            if a["pricing"]["prompt"] != b["pricing"]["prompt"]:
                expected_changes.add((day(when), i, "price"))
            if a["name"] != b["name"]:
                expected_changes.add((day(when), i, "renamed"))
            had, has = ("image" in e["architecture"]["input_modalities"] for e in (a, b))
            if had != has:
                expected_changes.add((day(when), i, "gained_image_input" if has else "lost_image_input"))
    changes = catalog_changes(path=sorted_db)
    assert set(rows(changes, "date", "id", "kind")) == expected_changes
    assert len(changes) == len(expected_changes)
    assert changes[["date", "id", "kind"]].equals(changes.sort_values(["date", "id", "kind"])[["date", "id", "kind"]])


# ---------------------------------------------------------------- two processes at once


RECORDER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from vision_models.catalog.history import record_fetch

    db, go, ready, *files = sys.argv[1:]
    Path(ready).touch()  # imports done: the test starts both at once
    while not Path(go).exists():
        time.sleep(0.005)
    started = time.time()
    for name in files:
        body = Path(name).read_text()
        stored = record_fetch(json.loads(body)["data"], fetched_at=Path(name).stem, source=name, body=body, path=db)
        assert stored, name
    print(started, time.time())
    """
)


def test_two_processes_recording_at_once_neither_fails_nor_corrupts(tmp_path):
    folder = tmp_path / "snapshots"
    folder.mkdir()
    files = []
    for k, (when, entries) in enumerate(random_catalogs(99, snapshots=24, models=40)):
        path = folder / f"{when[:10]}.json"
        path.write_text(catalog_body(*entries))
        files.append(path)
    db, go = tmp_path / "shared.sqlite", tmp_path / "go"  # both processes also race to create the file
    script = tmp_path / "recorder.py"
    script.write_text(RECORDER)
    parts = (files[0::2][::-1], files[1::2])  # one goes backwards: out-of-order inserts, concurrently
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(db), str(go), str(tmp_path / f"ready-{k}"), *map(str, part)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k, part in enumerate(parts)
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{k}").exists() for k in range(2)) and time.monotonic() < deadline:
        time.sleep(0.005)
    go.touch()
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [(p.returncode, err) for p, (_, err) in zip(procs, outputs)] == [(0, ""), (0, "")]
    spans = [tuple(map(float, out.split())) for out, _ in outputs]
    assert max(start for start, _ in spans) < min(end for _, end in spans), "the two processes did not run at once"
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()
    alone = tmp_path / "alone.sqlite"
    for path in files:
        body = path.read_text()
        record_fetch(json.loads(body)["data"], fetched_at=path.stem, source=str(path), body=body, path=alone)
    assert history_info(db).snapshots == 24
    assert versions(db) == versions(alone)
    pd.testing.assert_frame_equal(catalog_changes(path=db), catalog_changes(path=alone))


# ---------------------------------------------------------------- the real daily catalogs


def daily_files() -> list[Path]:
    files = sorted(DAILY.glob("openrouter-2026-*.json.gz"))
    if len(files) < 2:
        pytest.skip(f"real daily catalogs {DAILY} are absent: the shared catalogs folder must sit beside the checkout")
    return files


def raw_daily(path: Path) -> dict[str, dict]:
    return {entry["id"]: entry for entry in json.loads(gzip.decompress(path.read_bytes()))["data"]}


@pytest.fixture(scope="module")
def daily_dbs(daily_history_built, tmp_path_factory) -> tuple[Path, Path, list[Path]]:
    """The dailies imported in date order (the run's shared import, copied) and in a shuffled order, into two files."""
    files = daily_files()
    folder = tmp_path_factory.mktemp("daily-history")
    ordered, shuffled = copy_of_daily_history(daily_history_built, folder), folder / "shuffled.sqlite"
    mixed = files[:]
    random.Random(2026).shuffle(mixed)
    assert {r.status for r in import_files(mixed, path=shuffled)} == {"imported"}
    return ordered, shuffled, files


def test_daily_catalogs_shuffled_import_equals_sorted_import(daily_dbs):
    ordered, shuffled, _ = daily_dbs
    assert versions(shuffled) == versions(ordered)
    pd.testing.assert_frame_equal(catalog_changes(path=shuffled), catalog_changes(path=ordered))
    ids = ["openai/gpt-4o-mini", "google/gemini-2.5-flash", "z-ai/glm-5", "meta-llama/llama-3.2-3b-instruct"]
    pd.testing.assert_frame_equal(price_history(ids, path=shuffled), price_history(ids, path=ordered))
    pd.testing.assert_frame_equal(
        catalog_changes(since="2026-04-01", vision_only=True, path=shuffled),
        catalog_changes(since="2026-04-01", vision_only=True, path=ordered),
    )


def test_daily_catalogs_fit_in_five_megabytes_and_grow_with_changes(daily_dbs):
    ordered, _, files = daily_dbs
    info = history_info(ordered)
    assert info.snapshots == len(files) == 60
    assert info.size_bytes < 5_000_000
    assert info.attribute_rows < 2 * info.models_tracked  # far fewer rows than 60 x ~350 models
    assert info.first_fetch == datetime(2026, 3, 2, tzinfo=UTC) and info.last_fetch == datetime(2026, 5, 1, tzinfo=UTC)


def test_daily_additions_and_removals_match_the_files_read_directly(daily_dbs):
    ordered, _, files = daily_dbs
    changes = catalog_changes(path=ordered)
    expected = set()
    previous = raw_daily(files[0]).keys()
    for path in files[1:]:
        current = raw_daily(path).keys()
        when = day(path.name.removeprefix("openrouter-").removesuffix(".json.gz"))
        expected |= {(when, i, "added") for i in current - previous}
        expected |= {(when, i, "removed") for i in previous - current}
        previous = current
    kept = changes[changes["kind"].isin(["added", "removed"])]
    assert set(rows(kept, "date", "id", "kind")) == expected and len(kept) == len(expected)


def test_daily_facts_read_from_two_files(daily_dbs):
    ordered, _, files = daily_dbs
    by_date = {p.name[11:21]: p for p in files}
    first, second = raw_daily(by_date["2026-03-02"]), raw_daily(by_date["2026-03-03"])
    gone = sorted(first.keys() - second.keys())[0]
    changes = catalog_changes(until="2026-03-03", path=ordered)
    assert (day("2026-03-03"), gone, "removed") in set(rows(changes, "date", "id", "kind"))
    # A prompt price that moved overnight, in USD per million tokens.
    both = first.keys() & second.keys()
    moved = sorted(i for i in both if first[i]["pricing"]["prompt"] != second[i]["pricing"]["prompt"])
    model_id = moved[0]
    old, new = (float(c[model_id]["pricing"]["prompt"]) * 1e6 for c in (first, second))
    row = changes[(changes["id"] == model_id) & (changes["field"] == "prompt_usd_per_mtok")].iloc[0]
    assert (row["date"], row["kind"]) == (day("2026-03-03"), "price")
    assert (row["old"], row["new"]) == (pytest.approx(old), pytest.approx(new))
    assert row["pct_change"] == pytest.approx((new - old) / old * 100)
    prices = price_history(model_id, until="2026-03-03", path=ordered)
    assert prices["prompt_usd_per_mtok"].tolist() == [pytest.approx(old), pytest.approx(new)]
    missing = "2026-03-08"  # the one day the archive lacks
    assert missing not in by_date
    assert not (price_history(model_id, path=ordered)["date"] == day(missing)).any()


# ---------------------------------------------------------------- implausible dates


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("2999-01-01", "more than a day in the future"),
        ("0001-01-01", "before 2023, when OpenRouter began"),
        ("2022-12-31T23:59:59Z", "before 2023, when OpenRouter began"),
    ],
)
def test_a_fetch_time_no_fetch_can_have_is_refused_naming_it(tmp_path, bad, why):
    with pytest.raises(ValueError, match=why) as info:
        record_fetch([model("p/a")], fetched_at=bad, source="test", body=None)
    assert f"bad fetched_at {bad!r}" in str(info.value)
    one = write_catalog(tmp_path, "catalog.json", model("p/a"))
    with pytest.raises(ValueError, match=why):
        import_files([one], fetched_at=bad)
    assert history_info().snapshots == 0


def test_a_fetch_time_within_a_day_of_now_is_clock_skew_and_kept():
    from datetime import timedelta

    ahead = datetime.now(UTC) + timedelta(hours=20)
    assert record_fetch([model("p/a")], fetched_at=ahead, source="test", body=None) is True
    assert (
        record_fetch([model("p/b")], fetched_at="2023-01-01", source="test", body=None) is True
    )  # the first day allowed
    with pytest.raises(ValueError, match="more than a day in the future"):
        record_fetch([model("p/c")], fetched_at=ahead + timedelta(hours=5), source="test", body=None)


def test_a_file_dated_where_no_fetch_can_be_is_skipped_and_the_others_imported(tmp_path):
    future = write_catalog(tmp_path, "openrouter-2999-01-01.json", model("p/a"))
    good = write_catalog(tmp_path, "openrouter-2026-03-01.json", model("p/a"))
    ancient = write_catalog(tmp_path, "catalog.json", model("p/a"))
    os.utime(ancient, (315_532_800, 315_532_800))  # 1980-01-01, as archives date their files
    results = import_files([future, good, ancient])
    assert [r.status.split(":")[0] for r in results] == ["skipped", "imported", "skipped"]
    assert "'openrouter-2999-01-01.json'" in results[0].status and "more than a day in the future" in results[0].status
    assert "modification time of 'catalog.json'" in results[2].status and "before 2023" in results[2].status
    assert history_info().snapshots == 1


def test_query_bounds_where_no_history_can_be_warn_once_and_read_as_the_ends():
    record("2026-03-01", model("p/a"))
    record("2026-03-02", model("p/a"), model("p/b"))
    with pytest.warns(UserWarning, match="since '0001-01-01' is before 2023") as caught:
        early = catalog_changes(since="0001-01-01")
    assert len(caught) == 1 and list(early["id"]) == ["p/b"]
    with pytest.warns(UserWarning, match="until '2999-01-01' is in the future"):
        late = catalog_changes(until="2999-01-01")
    assert list(late["id"]) == ["p/b"]
    with pytest.warns(UserWarning, match="as_of '2999-01-01' is in the future"):
        entries, when = history.entries_as_of("2999-01-01")
    assert when == datetime(2026, 3, 2, tzinfo=UTC) and sorted(e["id"] for e in entries) == ["p/a", "p/b"]


def test_cli_history_import_with_a_future_fetched_at_is_one_line_and_exit_2(tmp_path):
    one = write_catalog(tmp_path, "catalog.json", model("p/a"))
    done = run_cli_process("history", "import", str(one), "--fetched-at", "2999-01-01", timeout=60)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "'2999-01-01'" in lines[0] and "future" in lines[0]


def test_cli_changes_since_year_one_warns_in_one_line(tmp_path):
    record("2026-03-01", model("p/a"))
    record("2026-03-02", model("p/a"), model("p/b"))
    done = run_cli_process("changes", "--since", "0001-01-01", "--format", "csv", timeout=60)
    assert done.returncode == 0 and "p/b" in done.stdout, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "'0001-01-01' is before 2023" in lines[0], done.stderr

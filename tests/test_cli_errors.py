"""The command line when the location, the disk or the input is bad: one line on stderr, a documented status.

Full and read-only disks are real: a small tmpfs mounted in a private mount
namespace (``unshare -m``), skipped where that is not allowed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from factories import catalog_body, model, run_cli_captured

from vision_models.cli import main

VISION = ("text", "image")


_run = run_cli_captured


def _one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_a_deeply_nested_file_is_one_line_and_exit_2(capsys, tmp_path):
    path = tmp_path / "nested.json"
    path.write_text('{"data": ' + "[" * 100_000 + "]" * 100_000 + "}")
    status, out, err = _run(capsys, "list", "--source", str(path))
    assert status == 2 and out == ""
    assert "nested too deeply" in _one_line_error(err)


def test_an_extreme_utc_offset_is_a_bad_value_not_an_overflow(capsys):
    status, _, err = _run(capsys, "changes", "--since", "9999-12-31T23:59:59-23:59")
    assert status == 2
    assert "'9999-12-31T23:59:59-23:59'" in _one_line_error(err)


def test_a_history_path_that_is_a_directory(capsys, tmp_path, monkeypatch):
    folder = tmp_path / "history.sqlite"
    folder.mkdir()
    monkeypatch.setenv("VISION_MODELS_HISTORY", str(folder))
    catalog = tmp_path / "c-2026-01-01.json"
    catalog.write_text(catalog_body(model("a/b", inputs=VISION)))
    for argv in (["history", "import", str(catalog)], ["history", "info"], ["changes", "--since", "2026-01-01"]):
        status, _, err = _run(capsys, *argv)
        line = _one_line_error(err)
        assert status == 2 and str(folder) in line and "directory" in line, argv


@pytest.mark.parametrize("blocker", ["file", "/dev/null"])
def test_xdg_cache_home_at_a_file(capsys, tmp_path, monkeypatch, blocker):
    target = tmp_path / "a-file" if blocker == "file" else Path(blocker)
    if blocker == "file":
        target.write_text("not a folder")
    monkeypatch.delenv("VISION_MODELS_HISTORY")
    monkeypatch.delenv("VISION_MODELS_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(target))
    catalog = tmp_path / "c-2026-01-01.json"
    catalog.write_text(catalog_body(model("a/b", inputs=VISION)))
    status, _, err = _run(capsys, "history", "import", str(catalog))
    line = _one_line_error(err)
    assert status == 2 and str(target) in line
    assert _run(capsys, "cache", "info")[0] == 0  # nothing there: said, not failed


@pytest.mark.parametrize("name", ["c.sqlite", "d.json", "plain"])
def test_a_cache_path_that_is_a_directory_whatever_its_name(capsys, tmp_path, monkeypatch, name):
    folder = tmp_path / "caches" / name
    folder.mkdir(parents=True)
    (folder / "keep.txt").write_text("mine")
    for action in ("info", "clear"):
        status, out, err = _run(capsys, "cache", action, "--cache-path", str(folder))
        assert status == 2 and out == ""
        assert _one_line_error(err) == f"vision-models: error: the cache path {folder} is a directory, not a cache file"
    monkeypatch.setenv("VISION_MODELS_CACHE", str(folder))
    monkeypatch.setenv("OPENROUTER_BASE_URL", "http://127.0.0.1:9/api/v1")  # nobody listens: no answer, nothing cached
    status, out, err = _run(capsys, "list")
    assert status == 1 and out == ""
    assert err.startswith(
        f"vision-models: warning: cannot use cache file {folder}: it is a directory; caching in memory"
    )
    assert "Traceback" not in err and len(err.splitlines()) == 2  # the warning, then the failed fetch
    # Left as it was, and nothing written beside it (no "plain.sqlite" next to a directory called "plain").
    assert sorted(p.name for p in folder.parent.iterdir()) == [name]
    assert [p.name for p in folder.iterdir()] == ["keep.txt"] and (folder / "keep.txt").read_text() == "mine"


def _filled_cache(httpserver, cache: Path) -> Path:
    from factories import SMALL_CATALOG

    from vision_models import fetch_vision_models
    from vision_models.http.client import close_sessions

    httpserver.expect_request("/models").respond_with_data(SMALL_CATALOG, content_type="application/json")
    fetch_vision_models(base_url=httpserver.url_for("/"), cache_path=cache)
    close_sessions()
    return cache


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``: its bytes and modification time."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_cache_info_changes_nothing_and_says_when_the_file_is_not_a_cache(capsys, tmp_path):
    cache = tmp_path / "c.sqlite"
    cache.write_bytes(b"SQLite format 2\x00 not really: a damaged file " * 40)
    before = _snapshot(tmp_path)
    status, out, err = _run(capsys, "cache", "info", "--cache-path", str(cache))
    assert status == 0 and err == ""
    assert f"path: {cache}\n" in out and "exists: yes\n" in out and f"size_bytes: {len(cache.read_bytes())}\n" in out
    assert "responses: -\n" in out
    assert out.splitlines()[-1].startswith("problem: not a valid cache file (file is not a database)")
    assert _snapshot(tmp_path) == before  # not moved aside, not rewritten, no journal left: that is for clear
    status, _, err = _run(capsys, "cache", "clear", "--cache-path", str(cache))
    assert status == 0 and "moved it to c.sqlite.corrupt-" in err  # clearing is what moves it aside


def test_cache_info_on_a_good_file_changes_nothing(capsys, tmp_path, httpserver):
    cache = _filled_cache(httpserver, tmp_path / "c.sqlite")
    before = _snapshot(tmp_path)
    status, out, err = _run(capsys, "cache", "info", "--cache-path", str(cache))
    assert status == 0 and err == "" and "responses: 1\n" in out and "problem" not in out
    assert _snapshot(tmp_path) == before


def test_no_home_directory_is_one_line(capsys, monkeypatch):
    import pwd

    for name in ("HOME", "XDG_CACHE_HOME", "VISION_MODELS_CACHE", "VISION_MODELS_HISTORY"):
        monkeypatch.delenv(name, raising=False)

    def no_entry(uid):
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    monkeypatch.setattr(pwd, "getpwuid", no_entry)  # a user the password database does not know
    assert os.path.expanduser("~") == "~"
    for argv in (["cache", "info"], ["history", "info"]):
        status, _, err = _run(capsys, *argv)
        assert status == 2 and "HOME is not set" in _one_line_error(err), argv


def test_terminal_escapes_in_ids_never_reach_the_terminal(capsys, tmp_path):
    path = tmp_path / "evil.json"
    path.write_text(catalog_body(model("evil/\x1b[2J\x1b[31mred\x07", inputs=VISION), model("ok/fine", inputs=VISION)))
    status, out, _ = _run(capsys, "list", "--source", str(path))
    assert status == 0 and "\x1b" not in out and "\x07" not in out
    assert "evil/\\x1b[2J\\x1b[31mred\\x07" in out
    status, out, _ = _run(capsys, "cost", "--source", str(path), "--preset", "a4-150dpi", "--output-tokens", "10")
    assert status == 0 and "\x1b" not in out and "evil/\\x1b[2J" in out


def _surrogate_catalog(path: Path) -> Path:
    body = catalog_body(model("a/bad", name="bad \\ud800", inputs=VISION), model("a/good", inputs=VISION))
    path.write_text(body.replace("\\\\ud800", "\\ud800"))
    return path


@pytest.mark.parametrize("fmt", ["api", "json", "csv", "table"])
def test_a_lone_surrogate_costs_one_string_in_every_format(capsys, tmp_path, fmt):
    path = _surrogate_catalog(tmp_path / "s.json")
    status, out, err = _run(capsys, "list", "--source", str(path), "--format", fmt)
    assert status == 0
    out.encode("utf-8")
    if fmt in ("api", "json"):
        rows = json.loads(out)
        rows = rows["models"] if fmt == "api" else rows
        assert {row["id"]: row["name"] for row in rows} == {"a/bad": "bad \ufffd", "a/good": "good"}
    else:
        assert "a/good" in out and "a/bad" in out


def test_a_lone_surrogate_never_aborts_a_history_import_batch(capsys, tmp_path):
    bad = _surrogate_catalog(tmp_path / "c-2026-01-01.json")
    good = tmp_path / "c-2026-01-02.json"
    good.write_text(catalog_body(model("a/good", inputs=VISION)))
    status, out, err = _run(capsys, "history", "import", str(bad), str(good))
    assert status == 0 and "2 of 2 files imported" in err


def test_an_export_of_a_lone_surrogate_is_complete(capsys, tmp_path):
    path = _surrogate_catalog(tmp_path / "s.json")
    out = tmp_path / "out.csv"
    status, _, err = _run(capsys, "export", str(out), "--source", str(path))
    assert status == 0 and "bad \ufffd" in out.read_text(encoding="utf-8")


# ---------------------------------------------------------------- real full and read-only disks


def _namespace_available() -> bool:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    done = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"], capture_output=True)
    return done.returncode == 0


needs_mounts = pytest.mark.skipif(not _namespace_available(), reason="needs root and unshare -m to mount a small tmpfs")


def _in_namespace(script: str, tmp_path: Path, files: list[Path]) -> subprocess.CompletedProcess:
    cli = f"{sys.executable} -m vision_models.cli"
    mount = tmp_path / "mnt"
    mount.mkdir()
    env = {**os.environ, "VISION_MODELS_HISTORY": str(mount / "history.sqlite"), "CLI": cli, "MNT": str(mount)}
    env["FILES"] = " ".join(map(str, files))
    return subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, env=env, timeout=120)


def _varied_catalogs(tmp_path: Path, count: int) -> list[Path]:
    files = []
    for day in range(count):
        entries = [
            model(
                f"p{i}/m{i}-{day}",
                prompt=f"0.00000{day + 1}{i}",
                inputs=VISION,
                name=f"model {i} on day {day} " + "x" * 80,
            )
            for i in range(150)
        ]
        path = tmp_path / f"catalog-2026-01-{day + 1:02d}.json"
        path.write_text(catalog_body(*entries))
        files.append(path)
    return files


@needs_mounts
def test_a_disk_that_fills_during_an_import_reports_honest_counts(tmp_path):
    files = _varied_catalogs(tmp_path, 12)
    script = (
        'mount -t tmpfs -o size=256k tmpfs "$MNT" && $CLI history import $FILES; echo "status=$?"; '
        "$CLI history info | grep snapshots"
    )
    done = _in_namespace(script, tmp_path, files)
    assert "status=2" in done.stdout, done.stdout + done.stderr
    error = done.stderr.strip().splitlines()
    assert len(error) == 1 and "Traceback" not in done.stderr, done.stderr
    imported_said = int(re.search(r"\((\d+) files? imported before it\)", error[0]).group(1))
    stored = int(done.stdout.split("snapshots:")[1].split()[0])
    printed = done.stdout.count("\timported\t")
    assert 0 < stored < 12 and imported_said == stored == printed, done.stdout + done.stderr
    assert "disk is full" in error[0] and "history.sqlite" in error[0]


@needs_mounts
def test_a_history_on_a_read_only_mount_is_read_and_never_called_not_a_history(tmp_path):
    files = _varied_catalogs(tmp_path, 2)
    script = (
        'mount -t tmpfs -o size=4m tmpfs "$MNT" && $CLI history import $FILES >/dev/null 2>&1 && '
        'mount -o remount,ro "$MNT" && $CLI history info; echo "info=$?"; '
        '$CLI history import $FILES; echo "import=$?"'
    )
    done = _in_namespace(script, tmp_path, files)
    assert "info=0" in done.stdout and "snapshots: 2" in done.stdout, done.stdout + done.stderr
    assert "import=2" in done.stdout
    assert "not a history database" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "read-only file system" in done.stderr


def test_serve_with_a_key_holding_a_line_break_is_exit_2_without_the_key(capsys, monkeypatch):
    from vision_models.server import app as server

    secret = "sk-or-v1-abc\ndef-0123456789"
    monkeypatch.setenv("OPENROUTER_API_KEY", secret)
    monkeypatch.setattr(server, "serve", lambda *a, **k: pytest.fail("served with a key that cannot be sent"))
    status, out, err = _run(capsys, "serve", "--port", "0")
    assert status == 2 and out == "" and "OPENROUTER_API_KEY" in _one_line_error(err)
    assert "sk-or-v1-abc" not in err and "def-0123456789" not in err


def test_cache_info_on_a_file_with_a_bad_row_is_one_warning_line_and_exit_0(capsys, tmp_path, httpserver):
    import sqlite3

    cache = _filled_cache(httpserver, tmp_path / "c.sqlite")
    with sqlite3.connect(cache) as conn:
        conn.execute("UPDATE responses SET value = x''")
    conn.close()
    before = _snapshot(tmp_path)
    status, out, err = _run(capsys, "cache", "info", "--cache-path", str(cache))
    assert status == 0 and "responses: 0" in out
    assert _one_line_error(err).startswith(
        f"vision-models: warning: an entry of the cache file {cache} could not be read"
    )
    assert _snapshot(tmp_path) == before  # the bad row stays: the next fetch drops it


def test_a_trials_path_naming_another_store_is_one_line_and_exit_2(capsys, tmp_path, monkeypatch):
    from requests_cache import SQLiteCache

    cache = tmp_path / "http_cache.sqlite"
    SQLiteCache(str(cache)).responses.close()
    status, _, err = _run(capsys, "trials", "list", "--trials-path", str(cache))
    assert status == 2 and _one_line_error(err).endswith(f"{cache} is not a trials database (it holds an HTTP cache)")
    monkeypatch.setenv("VISION_MODELS_HISTORY", str(cache))
    status, _, err = _run(capsys, "history", "info")
    assert status == 2 and _one_line_error(err).endswith(f"{cache} is not a history database (it holds an HTTP cache)")


@pytest.mark.parametrize("bad", ["directory", "history"])
def test_the_cost_table_does_not_need_the_trials_store(capsys, tmp_path, monkeypatch, bad):
    trials = tmp_path / "trials.sqlite"
    if bad == "directory":
        trials.mkdir()
    else:
        history_catalog = tmp_path / "h-2026-01-01.json"
        history_catalog.write_text(catalog_body(model("a/b", inputs=VISION)))
        monkeypatch.setenv("VISION_MODELS_HISTORY", str(trials))
        assert _run(capsys, "history", "import", str(history_catalog))[0] == 0
    monkeypatch.setenv("VISION_MODELS_TRIALS", str(trials))
    catalog = tmp_path / "c.json"
    catalog.write_text(catalog_body(model("openai/gpt-4o-mini", inputs=VISION)))
    argv = ["cost", "--source", str(catalog), "--width", "512", "--height", "512", "--output-tokens", "5"]
    status, out, err = _run(capsys, *argv)
    assert status == 0 and "openai/gpt-4o-mini" in out, err
    line = _one_line_error(err)  # a warning printed the way the command line prints them, once
    assert line.startswith("vision-models: warning: cost table without trial measurements") and str(trials) in line


def test_csv_on_a_terminal_shows_escape_sequences_and_to_a_pipe_stays_byte_exact(capsys, tmp_path, monkeypatch):
    path = tmp_path / "evil.json"
    path.write_text(catalog_body(model("evil/\x1b[31mred", name="\u202eevil\x9b2J", inputs=VISION)))
    cost = ("cost", "--source", str(path), "--preset", "a4-150dpi", "--output-tokens", "10", "--format", "csv")
    _, piped, _ = _run(capsys, "list", "--source", str(path), "--format", "csv")
    _, piped_cost, _ = _run(capsys, *cost)
    assert "evil/\x1b[31mred" in piped and "\u202eevil\x9b2J" in piped  # a program reading CSV gets the bytes
    assert "evil/\x1b[31mred" in piped_cost
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    for argv in (("list", "--source", str(path), "--format", "csv"), cost):
        status, out, _ = _run(capsys, *argv)
        assert status == 0
        assert "\x1b" not in out and "\x9b" not in out and "\u202e" not in out
        assert "evil/\\x1b[31mred" in out
        assert out.endswith("\r\n") and out.count("\r\n") == 2  # the header and one row, ends kept
    status, out, _ = _run(capsys, "list", "--source", str(path), "--format", "csv")
    assert ",\\u202eevil\\x9b2J," in out
    assert out.replace("\\x1b", "\x1b").replace("\\u202e", "\u202e").replace("\\x9b", "\x9b") == piped


TRY = ("try", "page.png", "--model", "m")
COST = ("cost", "--source", "sample", "--preset", "a4-150dpi", "--output-tokens", "5")
# (command line before the option, option, value, what it expects): bounds as the help text states them.
ABSURD = [
    (TRY, "--max-tokens", "1e400", "a whole number from 1 to 10,000,000"),
    (TRY, "--max-tokens", "99999999999999999999999", "a whole number from 1 to 10,000,000"),
    (TRY, "--max-tokens", "10000001", "a whole number from 1 to 10,000,000"),
    (TRY, "--timeout", "1e11", "a number above 0 and at most 86,400"),
    (TRY, "--timeout", "86400.5", "a number above 0 and at most 86,400"),
    (TRY, "--timeout", "0", "a number above 0 and at most 86,400"),
    (TRY, "--timeout", "nan", "a number above 0 and at most 86,400"),
    (TRY, "--timeout", "inf", "a number above 0 and at most 86,400"),
    (TRY, "--max-usd", "1e400", "a number from 0 to 1,000,000"),
    (TRY, "--max-usd", "nan", "a number from 0 to 1,000,000"),
    (TRY, "--max-usd", "inf", "a number from 0 to 1,000,000"),
    (TRY, "--max-usd", "-inf", "a number from 0 to 1,000,000"),
    (TRY, "--max-usd", "1000000.01", "a number from 0 to 1,000,000"),
    (TRY, "--concurrency", "65", "a whole number from 1 to 64"),
    (TRY, "--concurrency", "99999999999999999999999", "a whole number from 1 to 64"),
    (TRY, "--dpi", "2401", "a whole number from 1 to 2,400"),
    (TRY, "--max-side", "1e400", "a whole number from 1 to 100,000"),
    (
        ("cost", "--source", "sample", "--height", "5", "--output-tokens", "5"),
        "--width",
        "100001",
        "a whole number from 1 to 100,000",
    ),
    (
        ("cost", "--source", "sample", "--width", "5", "--output-tokens", "5"),
        "--height",
        "99999999999999999999999",
        "a whole number from 1 to 100,000",
    ),
    (COST, "--top", "1000001", "a whole number from 1 to 1,000,000"),
    (COST, "--prompt-tokens", "1e400", "a whole number from 0 to 10,000,000"),
    (
        ("cost", "--source", "sample", "--preset", "a4-150dpi"),
        "--output-tokens",
        "10000001",
        "a whole number from 0 to 10,000,000",
    ),
    (
        ("list", "--source", "sample"),
        "--min-context",
        "99999999999999999999999",
        "a whole number from 0 to 1,000,000,000",
    ),
    (("list", "--source", "sample"), "--max-prompt-price", "nan", "a number from 0 to 1,000,000"),
    (("export", "out.csv"), "--max-prompt-price", "1e400", "a number from 0 to 1,000,000"),
    (
        ("chart", "cost", "--out", "c.png", "--preset", "a4-150dpi", "--output-tokens", "5"),
        "--top",
        "1e400",
        "a whole number from 1 to 1,000,000",
    ),
    (("serve",), "--port", "99999999999999999999999", "a port 0-65535"),
    (("serve",), "--expire-after", "1e400", "a whole number from 1 to 31,536,000"),
    (("serve",), "--threads", "257", "a whole number from 1 to 256"),
]


@pytest.mark.parametrize("before, flag, value, expected", ABSURD, ids=[f"{a[1]}={a[2]}" for a in ABSURD])
def test_an_absurd_number_is_a_bounded_usage_error_not_an_overflow(
    capsys, tmp_path, monkeypatch, before, flag, value, expected
):
    monkeypatch.chdir(tmp_path)  # nothing may be written, but if it were, it would land here
    option = [f"{flag}={value}"] if value.startswith("-") else [flag, value]  # "-inf" alone would read as an option
    status, out, err = _run(capsys, *before, *option)
    assert status == 2 and out == ""
    command = before[0]
    assert _one_line_error(err) == f"vision-models {command}: bad {flag} {value!r}: expected {expected}"
    assert list(tmp_path.iterdir()) == []


def test_the_bounds_themselves_and_a_fractional_timeout_are_accepted():
    from vision_models.cli import build_parser

    bounds = [
        "--max-tokens",
        "10000000",
        "--max-usd",
        "1000000",
        "--concurrency",
        "64",
        "--dpi",
        "2400",
        "--max-side",
        "100000",
    ]
    args = build_parser("try").parse_args([*TRY, "--timeout", "2.5", *bounds])
    assert (args.timeout, args.max_tokens, args.max_usd, args.concurrency, args.dpi, args.max_side) == (
        2.5,
        10_000_000,
        1_000_000.0,
        64,
        2400,
        100_000,
    )
    assert build_parser("try").parse_args([*TRY, "--timeout", "86400", "--max-usd", "0"]).timeout == 86400.0


def test_version_is_the_one_pyproject_gives(capsys):
    import tomllib

    expected = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]["version"]
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out == f"vision-models {expected}\n"


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


class _HalfThenCtrlC:
    """A file that takes half of the first text written to it, then gets Ctrl-C (as a slow disk might)."""

    def __init__(self, file):
        self._file = file

    def write(self, data):
        self._file.write(data[: max(1, len(data) // 2)])
        self._file.flush()
        raise KeyboardInterrupt

    def __getattr__(self, name):
        return getattr(self._file, name)


def _ctrl_c_while_writing(monkeypatch):
    """Every file export writes gets Ctrl-C half-way through its first write."""
    from vision_models.present import export

    enter = export.atomic_text_file.__enter__
    monkeypatch.setattr(export.atomic_text_file, "__enter__", lambda self: _HalfThenCtrlC(enter(self)))


def _ctrl_c_while_saving_a_chart(monkeypatch):
    """matplotlib writes part of the image, wherever it is told to, then gets Ctrl-C."""
    from matplotlib.figure import Figure

    def half_then_ctrl_c(self, fname, **kwargs):
        if isinstance(fname, (str, os.PathLike)):
            Path(fname).write_bytes(b"\x89PNG\r\n\x1a\n half")
        else:
            fname.write(b"\x89PNG\r\n\x1a\n half")
        raise KeyboardInterrupt

    monkeypatch.setattr(Figure, "savefig", half_then_ctrl_c)


def _a_run_to_export(monkeypatch):
    import pandas as pd

    from vision_models.trials import results as trials

    class Loaded:
        results = pd.DataFrame({"page": ["p.png"], "model": ["tesseract"], "status": ["ok"], "text": ["words"]})

    monkeypatch.setattr(trials, "load_trial", lambda *a, **k: Loaded())
    _ctrl_c_while_writing(monkeypatch)


IMAGE_ARGS = ("--preset", "a4-150dpi", "--output-tokens", "5")
#: Each command (its catalog from a file, so nothing else is said), where Ctrl-C comes (a function inside its work, replaced), and the file it would write, if any.
CTRL_C = {
    "list": (("list",), "vision_models.catalog.api.load_raw", None),
    "export csv": (("export", "{out}.csv", "--source", "{source}"), _ctrl_c_while_writing, "{out}.csv"),
    "export json": (("export", "{out}.json", "--source", "{source}"), _ctrl_c_while_writing, "{out}.json"),
    "cost": (("cost", *IMAGE_ARGS), "vision_models.catalog.api.load_raw", None),
    "cost --by-provider": (("cost", "--by-provider", "--source", "{source}", *IMAGE_ARGS),
                           "vision_models.catalog.endpoints.fetch_endpoints", None),
    "endpoints": (("endpoints", "openai/gpt-4o"), "vision_models.catalog.endpoints.fetch_endpoints", None),
    "chart": (("chart", "cost", "--out", "{out}.png", "--source", "{source}", *IMAGE_ARGS), _ctrl_c_while_saving_a_chart,
              "{out}.png"),
    "serve": (("serve", "--port", "0"), "vision_models.server.app.create_server", None),
    "history import": (("history", "import", "{catalog}"), "vision_models.catalog.history._import_one", None),
    "history info": (("history", "info"), "vision_models.catalog.history.history_info", None),
    "changes": (("changes", "--since", "2026-01-01"), "vision_models.catalog.history.catalog_changes", None),
    "try --dry-run": (("try", "{page}", "--model", "openai/gpt-4o", "--dry-run", "--source", "{source}"),
                      "vision_models.trials.plan.estimate_trial", None),
    "try": (("try", "{page}", "--model", "tesseract"), "vision_models.trials.runner.run_trial", None),
    "trials list": (("trials", "list"), "vision_models.stores.trials.list_runs", None),
    "trials show": (("trials", "show", "RUN"), "vision_models.trials.results.load_trial", None),
    "trials export": (("trials", "export", "RUN", "{out}.csv"), _a_run_to_export, "{out}.csv"),
    "cache info": (("cache", "info"), "vision_models.http.cache_info.get_cache_info", None),
    "cache clear": (("cache", "clear"), "vision_models.http.cache_info.clear_cache", None),
}  # fmt: skip


@pytest.mark.parametrize(
    "command, existing",
    [(c, False) for c in CTRL_C] + [(c, True) for c, (_, _, written) in CTRL_C.items() if written],
    ids=[*CTRL_C, *(f"{c} over a file" for c, (_, _, written) in CTRL_C.items() if written)],
)
def test_ctrl_c_in_every_command_is_one_line_exit_130_and_no_half_written_file(capsys, tmp_path, monkeypatch, command,
                                                                              existing):  # fmt: skip
    from PIL import Image

    argv, where, written = CTRL_C[command]
    monkeypatch.setenv("OPENROUTER_BASE_URL", "http://127.0.0.1:9/api/v1")
    Image.new("RGB", (60, 40), "white").save(tmp_path / "page.png")
    (tmp_path / "c-2026-03-01.json").write_text(catalog_body(model("a/b", inputs=VISION)))
    (tmp_path / "catalog.json").write_text(catalog_body(model("openai/gpt-4o", inputs=VISION)))
    names = {"out": str(tmp_path / "out"), "page": str(tmp_path / "page.png"), "catalog": str(tmp_path / "c-2026-03-01.json"),
             "source": str(tmp_path / "catalog.json")}  # fmt: skip
    argv = [a.format(**names) for a in argv]
    target = Path(written.format(**names)) if written else None
    if existing:
        target.write_bytes(b"the earlier file, whole")
    before = sorted(p.name for p in tmp_path.iterdir() if p.is_file())
    if callable(where):
        where(monkeypatch)
    else:
        monkeypatch.setattr(where, _interrupt)
    status, out, err = _run(capsys, *argv)
    assert status == 130 and out == "", err
    line = _one_line_error(err)
    assert line == "vision-models: interrupted" or (
        command == "try" and line.startswith("vision-models: interrupted; ")
    )
    if target is not None:
        assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == before  # no temporary file left beside it
        assert target.read_bytes() == b"the earlier file, whole" if existing else not target.exists()


def test_ctrl_c_during_a_fetch_is_one_line_and_exit_130(tmp_path):
    import signal
    import socket
    import time

    with socket.socket() as silent:  # accepts, never answers: the fetch waits
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/models.json"
        env = {**os.environ, "VISION_MODELS_CACHE": str(tmp_path / "cache.sqlite")}
        process = subprocess.Popen([sys.executable, "-m", "vision_models.cli", "list", "--source", url],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
        try:
            silent.settimeout(30)
            connection, _ = silent.accept()  # the request is out: the command is waiting for its answer
            time.sleep(0.2)
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=20)
            connection.close()
        finally:
            process.kill()
    assert process.returncode == 130, err
    assert out == "" and err == "vision-models: interrupted\n"


def test_every_submodule_is_reachable_after_import_vision_models():
    code = "import vision_models as vm; print(vm.cost.price_images.__name__, vm.pages.load_pages.__name__, vm.accuracy.cer.__name__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["price_images", "load_pages", "cer"]


@pytest.mark.parametrize("missing", ["PIL", "pypdfium2", "rapidfuzz"])
def test_try_without_the_trials_extra_says_which_extra_to_install(capsys, monkeypatch, tmp_path, missing):
    monkeypatch.setitem(sys.modules, missing, None)  # as if not installed: importing it fails
    status, out, err = _run(capsys, "try", str(tmp_path / "page.png"), "--model", "tesseract", "--dry-run")
    assert status == 2 and out == ""
    assert (
        err
        == f"vision-models: try needs the trials extra ({missing} is missing): pip install 'vision_models[trials]'\n"
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [("not a url", "'not a url'"), ("ftp://example.com/api", "'ftp://example.com/api'"),
     ("https://user:s3cret@ex ample.com/api", "'https://***@ex ample.com/api'"), ("https://example.com:port/api", None)],
)  # fmt: skip
def test_a_base_url_that_is_not_a_url_is_named_with_its_origin_and_no_credentials(
    capsys, monkeypatch, tmp_path, value, shown
):
    monkeypatch.setenv("OPENROUTER_BASE_URL", value)
    monkeypatch.setenv("VISION_MODELS_CACHE", str(tmp_path / "cache.sqlite"))
    status, out, err = _run(capsys, "list", "--refresh")
    line = _one_line_error(err)
    assert (
        status == 2
        and out == ""
        and line.startswith("vision-models: error: $OPENROUTER_BASE_URL is not an http(s) URL")
    )
    assert "s3cret" not in err and "network" not in line.lower()
    if shown:
        assert line.endswith(shown)


def test_credentials_in_a_base_url_are_never_printed_in_the_network_hint(capsys, monkeypatch, tmp_path):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("OPENROUTER_BASE_URL", f"http://user:s3cret@127.0.0.1:{port}/api/v1")
    monkeypatch.setenv("VISION_MODELS_CACHE", str(tmp_path / "cache.sqlite"))
    status, _, err = _run(capsys, "list", "--refresh")
    assert status != 0 and "s3cret" not in err and f"http://***@127.0.0.1:{port}/api/v1" in err


def test_a_source_from_the_environment_says_so(capsys, monkeypatch, tmp_path):
    missing = tmp_path / "nope.json"
    monkeypatch.setenv("VISION_MODELS_SOURCE", str(missing))
    status, _, err = _run(capsys, "list")
    line = _one_line_error(err)
    assert status == 2 and str(missing) in line and line.endswith("(set by $VISION_MODELS_SOURCE)")
    status, _, err = _run(capsys, "list", "--source", str(missing))  # named on the command line: no such note
    assert status == 2 and "VISION_MODELS_SOURCE" not in err


def test_serve_names_a_bad_host(capsys):
    status, _, err = _run(capsys, "serve", "--host", "bad host!", "--port", "0", "--source", "sample")
    assert status == 2 and _one_line_error(err) == (
        "vision-models: bad --host 'bad host!': not an address or a name this machine resolves"
    )


def test_a_reversed_date_range_is_refused_in_flags(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("VISION_MODELS_HISTORY", str(tmp_path / "history.sqlite"))
    status, out, err = _run(capsys, "changes", "--since", "2026-05-01", "--until", "2026-04-01")
    assert status == 2 and out == ""
    assert (
        _one_line_error(err)
        == "vision-models: error: the range is reversed: --since 2026-05-01 is after --until 2026-04-01"
    )
    with pytest.raises(ValueError, match="since 2026-05-01 is after until 2026-04-01"):
        import vision_models as vm

        vm.catalog_changes(since="2026-05-01", until="2026-04-01", path=tmp_path / "history.sqlite")


ENV_COMMANDS = [("list",), ("export", "{tmp}/out.csv"), ("try", "{tmp}/page.png", "--model", "openai/gpt-4o", "--dry-run"),
                ("serve", "--port", "0"), ("cost", "--preset", "a4-150dpi", "--output-tokens", "5")]  # fmt: skip


@pytest.mark.parametrize("argv", ENV_COMMANDS, ids=[a[0] for a in ENV_COMMANDS])
@pytest.mark.parametrize("variable", ["OPENROUTER_BASE_URL", "VISION_MODELS_SOURCE"])
def test_a_bad_value_from_the_environment_says_where_it_came_from(capsys, tmp_path, monkeypatch, argv, variable):
    from PIL import Image

    from vision_models.server import app as server

    Image.new("RGB", (60, 40), "white").save(tmp_path / "page.png")
    monkeypatch.setattr(server, "serve", lambda *a, **k: pytest.fail("served with a bad setting"))
    bad = "ftp://example.com/api" if variable == "OPENROUTER_BASE_URL" else str(tmp_path / "missing.json")
    monkeypatch.setenv(variable, bad)
    status, out, err = _run(capsys, *[a.format(tmp=tmp_path) for a in argv])
    line = _one_line_error(err)
    assert status == 2 and out == "", err
    if variable == "OPENROUTER_BASE_URL":
        assert line == f"vision-models: error: $OPENROUTER_BASE_URL is not an http(s) URL: {bad!r}"
    else:
        assert bad in line and line.endswith("(set by $VISION_MODELS_SOURCE)")
    assert not (tmp_path / "out.csv").exists()

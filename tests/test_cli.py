"""The command line: data on stdout, messages on stderr, exit 0 / 1 / 2."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from factories import SMALL_CATALOG, catalog_body, model, run_cli, run_cli_process

run = run_cli  # the names this module has always used
run_process = run_cli_process


@pytest.fixture
def small_file(tmp_path):
    path = tmp_path / "catalog.json"
    path.write_text(SMALL_CATALOG)
    return str(path)


def test_list_table_from_a_file(small_file):
    out = run_process("list", "--source", small_file)  # one end-to-end run of the real process
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:3] == ["id", "name", "context"]
    assert [line.split()[0] for line in lines[1:3]] == ["google/gemini-2.5-flash", "openai/gpt-4o"]
    assert lines[2].split()[1] == "GPT-4o"  # "OpenAI: GPT-4o": the id already names the provider
    assert len(lines) == 3  # the header and two models: the count is a message, on stderr
    assert out.stderr == "vision-models: 2 models\n"


def test_list_csv_parses_and_keeps_units(small_file):
    out = run("list", "--source", small_file, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [r["id"] for r in rows] == ["google/gemini-2.5-flash", "openai/gpt-4o"]
    assert rows[1]["prompt_usd_per_mtok"] == "2.5" and rows[1]["completion_usd_per_mtok"] == "10"
    assert rows[1]["input_modalities"] == "text|image"


def test_list_json_and_api(small_file):
    records = json.loads(run("list", "--source", small_file, "--format", "json").stdout)
    assert [r["id"] for r in records] == ["google/gemini-2.5-flash", "openai/gpt-4o"]
    payload = json.loads(run("list", "--source", small_file, "--format", "api").stdout)
    assert payload["cached"] is False and payload["count"] == 2
    assert payload["models"][1]["pricing"]["promptPer1k"] == 2.5


def test_filters(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(
        catalog_body(
            model("openai/gpt-4o", prompt="0.0000025", inputs=("text", "image"), context_length=128000),
            model("google/gemini-2.5-flash", prompt="0.0000003", inputs=("text", "image"), context_length=1048576),
            model("qwen/qwen2.5-vl-72b-instruct", prompt="0.00000025", inputs=("text", "image"), context_length=32000),
            model("openrouter/auto", pricing={"prompt": "-1"}, inputs=("text", "image"), context_length=2000000),
        )
    )
    ids = lambda *a: [r["id"] for r in json.loads(run("list", "--source", str(path), "--format", "json", *a).stdout)]
    assert ids("--provider", "OpenAI", "--provider", "qwen") == ["openai/gpt-4o", "qwen/qwen2.5-vl-72b-instruct"]
    assert ids("--min-context", "100000") == ["google/gemini-2.5-flash", "openai/gpt-4o", "openrouter/auto"]
    # unknown (variable) price never passes a price bound
    assert ids("--max-prompt-price", "0.3") == ["google/gemini-2.5-flash", "qwen/qwen2.5-vl-72b-instruct"]


def test_sample_says_so_on_stderr():
    out = run("list", "--source", "sample", "--format", "csv")
    assert out.returncode == 0
    assert "bundled sample (as of" in out.stderr and "not live data" in out.stderr
    assert "sample" not in out.stdout.splitlines()[0]


def test_source_from_environment_and_rules_strict_by_default():
    default = run("list", "--format", "json", env={"VISION_MODELS_SOURCE": "sample"})
    seed = run("list", "--format", "json", "--rules", "seed", env={"VISION_MODELS_SOURCE": "sample"})
    strict = run("list", "--format", "json", "--rules", "strict", env={"VISION_MODELS_SOURCE": "sample"})
    seed_ids = {r["id"] for r in json.loads(seed.stdout)}
    strict_ids = {r["id"] for r in json.loads(strict.stdout)}
    assert {r["id"] for r in json.loads(default.stdout)} == strict_ids
    assert seed_ids - strict_ids == {"openai/gpt-4o-search-preview"}  # the sample's one name-only match


@pytest.mark.parametrize(
    "args, needle",
    [
        (("list", "--format", "xml"), "invalid choice: 'xml'"),
        (("list", "--min-context", "lots"), "'lots'"),
        (("list", "--max-prompt-price", "-1"), "'-1'"),
        (("list", "--rules", "loose"), "'loose'"),
        (("list", "--source", "/no/such/file.json"), "'/no/such/file.json'"),
        (("list", "--bogus"), "--bogus"),
        (("cache", "wipe"), "'wipe'"),
        (("dance",), "'dance'"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(args, needle):
    out = run(*args)
    assert out.returncode == 2
    assert out.stdout == ""
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert needle in out.stderr and "Traceback" not in out.stderr


def test_unreadable_source_file_is_exit_2(tmp_path):
    path = tmp_path / "nope.json"
    path.write_text("<html>")
    out = run("list", "--source", str(path))
    assert out.returncode == 2 and "is not an OpenRouter catalog" in out.stderr


def test_no_models_after_filtering_is_exit_1(small_file):
    out = run("list", "--source", small_file, "--provider", "nobody")
    assert out.returncode == 1 and out.stdout == ""
    assert "no model matches" in out.stderr


def test_failed_fetch_with_nothing_cached_is_exit_1_and_api_still_prints(httpserver):
    httpserver.expect_request("/models").respond_with_data("no", status=401)
    env = {"OPENROUTER_BASE_URL": httpserver.url_for("/")}
    out = run("list", env=env)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.strip() == "vision-models: Failed to fetch models: 401 Unauthorized"
    api = run("list", "--format", "api", env=env)
    assert api.returncode == 1
    assert json.loads(api.stdout) == {"error": "Failed to fetch models: 401 Unauthorized", "models": []}


def test_refresh_and_cache_commands(httpserver, cache_file):
    httpserver.expect_request("/models").respond_with_data(SMALL_CATALOG, content_type="application/json")
    env = {"OPENROUTER_BASE_URL": httpserver.url_for("/")}
    assert run("list", env=env).returncode == 0
    assert json.loads(run("list", "--format", "api", env=env).stdout)["cached"] is True
    assert json.loads(run("list", "--format", "api", "--refresh", env=env).stdout)["cached"] is False
    assert len(httpserver.log) == 2
    info = run("cache", "info").stdout
    assert f"path: {cache_file}" in info and "responses: 1" in info
    cleared = run("cache", "clear")
    assert cleared.returncode == 0 and str(cache_file) in cleared.stderr
    assert "responses: 0" in run("cache", "info").stdout
    assert run("list", env=env).returncode == 0
    assert len(httpserver.log) == 3


def test_cost_table_csv_and_json():
    args = (
        "cost",
        "--source",
        "sample",
        "--preset",
        "letter-200dpi",
        "--prompt-tokens",
        "60",
        "--output-tokens",
        "700",
    )
    table = run(*args, "--top", "3")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == "One 1700x2200 px image (letter-200dpi), 60 instruction + 700 answer tokens"
    assert lines[1].split()[:3] == ["id", "tokens", "method"]
    assert len(lines) == 2 + 3 + 1 and lines[-1] == "~ uncertain estimate"
    # The ranking leaves out the sample's :free variant (gemma-3-27b-it:free, $0) and says so; asked, it is first.
    assert lines[2].split()[0] == "google/gemma-3-27b-it"
    assert "left out: 1 :free variant (--include-free shows them)" in table.stderr
    free = run(*args, "--top", "3", "--include-free").stdout.splitlines()
    assert free[2].split()[0] == "google/gemma-3-27b-it:free" and free[2].endswith("free")
    rows = list(csv.DictReader(io.StringIO(run(*args, "--format", "csv").stdout)))
    gpt4o = next(r for r in rows if r["id"] == "openai/gpt-4o")
    # By hand: 765 * 2.5/M + 60 * 2.5/M + 700 * 10/M = 0.0090625 USD; per 1,000: 9.0625.
    assert gpt4o["image_tokens"] == "765" and gpt4o["usd_per_1k_images"] == "9.0625"
    records = json.loads(run(*args, "--format", "json", "--include-free").stdout)
    assert records[0]["free"] is True and records[-1]["usd_per_image"] is None


def test_cost_ranks_one_listing_per_model_on_a_real_catalog():
    """2026-05-01 lists dated snapshots beside their models; the ranking keeps each model's cheapest listing."""
    from factories import shared_catalog

    args = ("cost", "--source", str(shared_catalog("openrouter-2026-05-01.json")), "--preset", "letter-200dpi",
            "--output-tokens", "700", "--format", "csv")  # fmt: skip
    ranked = run(*args)
    every = run(*args, "--every-listing", "--include-free", "--include-unfit")
    assert ranked.returncode == every.returncode == 0, ranked.stderr
    ranked_ids = [r["id"] for r in csv.DictReader(io.StringIO(ranked.stdout))]
    every_ids = [r["id"] for r in csv.DictReader(io.StringIO(every.stdout))]
    assert set(ranked_ids) < set(every_ids) and len(ranked_ids) == len(set(ranked_ids))
    assert not any(i.endswith(":free") for i in ranked_ids) and any(i.endswith(":free") for i in every_ids)
    assert "--every-listing shows them" in ranked.stderr and "--include-free shows them" in ranked.stderr
    # The 12 vision models of that catalog that are not readers: 8 "~" aliases, 2 routers, an agent, a guard.
    assert "(8 aliases, 2 routers, 1 agent, 1 guard); --kind all shows them" in ranked.stderr
    by_provider = run(*args, "--by-provider", "--every-listing")
    assert by_provider.returncode == 2 and "--every-listing shapes the ranking" in by_provider.stderr


@pytest.mark.parametrize(
    "args, needle",
    [
        (("cost", "--source", "sample", "--width", "1700", "--output-tokens", "5"), "--width and --height"),
        (("cost", "--source", "sample", "--width", "0", "--height", "5", "--output-tokens", "5"), "'0'"),
        (("cost", "--source", "sample", "--preset", "letter-200dpi"), "--output-tokens"),
        (("cost", "--source", "sample", "--preset", "legal", "--output-tokens", "5"), "'legal'"),
        (("chart", "cost", "--source", "sample", "--preset", "letter-200dpi", "--output-tokens", "5"), "--out"),
    ],
)
def test_cost_bad_usage_is_one_line_exit_2(args, needle):
    out = run(*args)
    assert out.returncode == 2 and out.stdout == ""
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert needle in out.stderr


def test_history_import_info_and_changes(tmp_path):
    first = tmp_path / "openrouter-2026-03-01.json"
    second = tmp_path / "openrouter-2026-03-02.json"
    junk = tmp_path / "openrouter-2026-03-03.json"
    first.write_text(catalog_body(model("openai/gpt-4o", prompt="0.0000025", inputs=("text", "image")), model("a/old")))
    second.write_text(catalog_body(model("openai/gpt-4o", prompt="0.000002", inputs=("text", "image")), model("b/new")))
    junk.write_text("<html>not a catalog</html>")
    env = {"VISION_MODELS_HISTORY": str(tmp_path / "h.sqlite")}

    empty = run("changes", "--since", "2026-03-01", env=env)
    assert empty.returncode == 1 and "vision-models history import" in empty.stderr

    imported = run("history", "import", str(second), str(junk), str(first), env=env)
    assert imported.returncode == 1  # one file was skipped: say so in the status
    lines = imported.stdout.splitlines()
    assert [line.split("\t")[1] for line in lines][0::2] == ["imported", "imported"]
    assert lines[1].split("\t")[1].startswith("skipped") and "openrouter-2026-03-03.json" in lines[1]
    assert "(date from file name)" in lines[0]
    again = run("history", "import", str(first), env=env)
    assert again.stdout.split("\t")[1] == "already imported" and again.stderr == "vision-models: 0 of 1 file imported\n"
    assert imported.stderr == "vision-models: 2 of 3 files imported\n"
    assert lines[0].endswith("\t2 models")

    info = run("history", "info", env=env).stdout
    assert "snapshots: 2" in info and "first_fetch_utc: 2026-03-01T00:00:00+00:00" in info

    table = run("changes", "--since", "2026-03-01", env=env)
    assert table.returncode == 0
    assert "2026-03-02  price    openai/gpt-4o  prompt $/Mtok: 2.5 -> 2 (-20.0%)" in table.stdout
    assert "2026-03-02  added    b/new" in table.stdout and "2026-03-02  removed  a/old" in table.stdout
    vision = json.loads(run("changes", "--since", "2026-03-01", "--vision-only", "--format", "json", env=env).stdout)
    assert [(c["kind"], c["id"]) for c in vision] == [("price", "openai/gpt-4o")]
    assert run("changes", "--since", "2026-03-01", "--vision-only", env=env).stdout.splitlines()[-1] == "1 change"
    assert table.stdout.splitlines()[-1] == "3 changes"
    rows = list(csv.DictReader(io.StringIO(run("changes", "--since", "2026-03-01", "--format", "csv", env=env).stdout)))
    assert len(rows) == 3 and rows[0]["date"] == "2026-03-02T00:00:00Z"
    late = run("changes", "--since", "2026-03-05", env=env)
    assert late.returncode == 1 and "no changes in that period" in late.stderr
    bad = run("changes", "--since", "last tuesday", env=env)
    assert bad.returncode == 2 and "'last tuesday'" in bad.stderr


def test_cost_leaves_out_generators_with_a_note_and_includes_them_on_request(tmp_path):
    lyria = model(
        "google/lyria-3-clip-preview",
        pricing={"prompt": "0", "completion": "0"},
        architecture={
            "modality": "text+image->text+audio",
            "input_modalities": ["text", "image"],
            "output_modalities": ["text", "audio"],
        },
    )
    reader = model("openai/gpt-4o", prompt="0.0000025", completion="0.00001", inputs=("text", "image"))
    path = tmp_path / "catalog.json"
    path.write_text(catalog_body(lyria, reader))
    out = run("cost", "--source", str(path), "--preset", "letter-200dpi", "--output-tokens", "700", "--format", "json")
    assert out.returncode == 0
    assert [r["id"] for r in json.loads(out.stdout)] == ["openai/gpt-4o"]
    assert "left out 1 model that also generates audio (google/lyria-3-clip-preview)" in out.stderr
    assert "--include-generators" in out.stderr and "Traceback" not in out.stderr
    both = run(
        "cost",
        "--source",
        str(path),
        "--preset",
        "letter-200dpi",
        "--output-tokens",
        "700",
        "--format",
        "json",
        "--include-generators",
    )
    assert [r["id"] for r in json.loads(both.stdout)] == ["google/lyria-3-clip-preview", "openai/gpt-4o"]
    assert "left out" not in both.stderr
    only = tmp_path / "only.json"
    only.write_text(catalog_body(lyria))
    nothing = run("cost", "--source", str(only), "--preset", "letter-200dpi", "--output-tokens", "700")
    assert nothing.returncode == 1 and nothing.stdout == "" and "no model left to price" in nothing.stderr


LONG_ID = "someprovider/an-extraordinarily-long-model-identifier-for-testing-widths-v2:free"


@pytest.fixture
def long_file(tmp_path):
    path = tmp_path / "long.json"
    path.write_text(
        catalog_body(
            model(LONG_ID, inputs=("text", "image"), name="Some Provider: A Model Name That Goes On And On And On"),
            model(
                "openai/gpt-4o",
                prompt="0.0000025",
                completion="0.00001",
                inputs=("text", "image"),
                name="OpenAI: GPT-4o",
            ),
            model("evil/escape", inputs=("text", "image"), name="\x1b[31mred\x1b[0m\rover\u202eevil"),
        )
    )
    return str(path)


@pytest.mark.parametrize("columns", [60, 80, 100])
def test_tables_fit_columns_and_wide_shows_everything(long_file, columns):
    out = run("list", "--source", long_file, env={"COLUMNS": str(columns)})
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns, out.stdout
    assert "openai/gpt-4o" in out.stdout  # short cells are untouched
    assert LONG_ID not in out.stdout and "…" in out.stdout  # the long one is cut, visibly
    wide = run("list", "--source", long_file, "--wide", env={"COLUMNS": str(columns)})
    assert LONG_ID in wide.stdout and "A Model Name That Goes On And On And On" in wide.stdout
    assert "…" not in wide.stdout and max(len(line) for line in wide.stdout.splitlines()) > columns


def test_piped_output_without_columns_is_not_cut(long_file, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    out = run("list", "--source", long_file)  # stdout is a pipe (no terminal) and nothing sets a width
    assert out.returncode == 0 and LONG_ID in out.stdout and "…" not in out.stdout


def test_cost_and_changes_tables_fit_too(long_file):
    out = run("cost", "--source", long_file, "--preset", "a4-200dpi", "--output-tokens", "500", env={"COLUMNS": "70"})
    assert out.returncode == 0, out.stderr
    assert max(len(line) for line in out.stdout.splitlines()[1:]) <= 70


def test_terminal_escapes_in_remote_text_are_shown_not_run(long_file):
    for extra in ((), ("--wide",)):
        out = run("list", "--source", long_file, *extra, env={"COLUMNS": "200"})
        assert "\x1b" not in out.stdout and "\r" not in out.stdout and "\u202e" not in out.stdout
        assert "\\x1b[31mred\\x1b[0m\\x0dover\\u202eevil" in out.stdout


def test_json_does_not_escape_slashes(long_file):
    out = run("list", "--source", long_file, "--format", "json")
    assert "\\/" not in out.stdout and '"id": "openai/gpt-4o"' in out.stdout
    records = json.loads(out.stdout)
    assert {r["id"] for r in records} == {LONG_ID, "openai/gpt-4o", "evil/escape"}
    assert next(r for r in records if r["id"] == "openai/gpt-4o")["prompt_usd_per_mtok"] == 2.5
    cost = run("cost", "--source", long_file, "--preset", "a4-200dpi", "--output-tokens", "5", "--format", "json")
    assert "\\/" not in cost.stdout and json.loads(cost.stdout)


IMAGE = ("cost", "--source", "sample", "--output-tokens", "5")


@pytest.mark.parametrize(
    "args, option, high",
    [
        ((*IMAGE, "--width", "{}", "--height", "5"), "--width", "100,000"),
        ((*IMAGE, "--width", "5", "--height", "{}"), "--height", "100,000"),
        ((*IMAGE, "--preset", "a4-200dpi", "--top", "{}"), "--top", "1,000,000"),
        (("serve", "--threads", "{}"), "--threads", "256"),
        (("serve", "--expire-after", "{}"), "--expire-after", "31,536,000"),
    ],
)
@pytest.mark.parametrize("value", ["-5", "0", "many"])
def test_at_least_one_says_so_for_every_bad_value(args, option, high, value):
    out = run(*[a.format(value) for a in args])
    assert out.returncode == 2 and out.stdout == ""
    expected = f"bad {option} '{value}': expected a whole number from 1 to {high}"
    assert out.stderr.strip().endswith(expected), out.stderr


def test_offline_with_nothing_cached_says_what_to_do_next():
    import socket

    with socket.socket() as probe:  # a port nobody listens on: the connection is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}/api/v1"
    out = run("list", env={"OPENROUTER_BASE_URL": base})
    assert out.returncode == 1 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("vision-models: Network request failed")
    assert "nothing is cached" in lines[0] and "--source sample" in lines[0]
    assert f"OPENROUTER_BASE_URL (now {base})" in lines[0]


def test_serve_sample_is_announced(monkeypatch):
    from vision_models.server import app as server

    served = []
    monkeypatch.setattr(
        server, "serve", lambda *a, **k: served.append(k["settings"].source)
    )  # said before serving starts
    out = run("serve", "--source", "sample", "--port", "0")
    assert out.returncode == 0 and served == ["sample"]
    first = out.stderr.splitlines()[0]
    assert first.startswith("vision-models: serving the bundled sample (as of ") and "not live data" in first


def test_history_import_says_why_a_file_was_skipped(tmp_path):
    from factories import REPO

    env = {"VISION_MODELS_HISTORY": str(tmp_path / "h.sqlite")}
    readme = str(REPO / "README.md")
    out = run("history", "import", readme, str(tmp_path / "missing.json"), env=env)
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    assert lines[0].startswith(f"{readme}\tskipped: {readme} is not an OpenRouter catalog: the body is not JSON")
    assert lines[1] == f"{tmp_path / 'missing.json'}\tskipped: {tmp_path / 'missing.json'} is not a readable file"
    assert "None" not in out.stdout and "0 models" not in out.stdout


def test_text_table_layout_by_hand():
    from vision_models.present.terminal import text_table
    from vision_models.text import terminal_safe as safe_text

    header = ("id", "name", "n")
    rows = [("a/very-long-identifier", "A rather long name", "1,234"), ("b/x", "B", "5")]
    # Natural widths 22 + 18 + 5 and two gaps of 2 = 49. At 40 the name gives 9 (18 -> 9), keeping 8+ characters.
    lines = text_table(header, rows, right={2}, width=40, shrink=[1, 0])
    assert lines == [
        "id" + " " * 22 + "name" + " " * (5 + 2 + 4) + "n",  # name padded to 9, the header of n right-aligned
        "a/very-long-identifier  A rather…  1,234",
        "b/x" + " " * 21 + "B" + " " * (8 + 2 + 4) + "5",
    ]
    assert text_table(header, rows, right={2}, width=None) == [
        "id" + " " * 22 + "name" + " " * (14 + 2 + 4) + "n",
        "a/very-long-identifier  A rather long name  1,234",
        "b/x" + " " * 21 + "B" + " " * (17 + 2 + 4) + "5",
    ]
    # At 30 both text columns shrink (13 + 8 + 5 + 4 gaps); at 20 even their minimums (8 + 8 + 5 + 4 = 25) are
    # too wide, so the name goes and the id gets 20 - 5 - 2 = 13 characters; the number stays whole.
    assert text_table(header, rows, right={2}, width=30, shrink=[1, 0], drop=[1])[1] == "a/very-long-…  A rathe…  1,234"
    assert text_table(header, rows, right={2}, width=20, shrink=[1, 0], drop=[1])[1] == "a/very-long-…  1,234"
    assert safe_text("ok\x1b[2Jx\u202e\u00a0y") == "ok\\x1b[2Jx\\u202e y"


@pytest.mark.parametrize(
    "error, hinted",
    [
        ("Network request failed", True),
        ("Network request timed out after 10 s", True),  # a hung server: the error says so, the hint says what next
        ("Failed to fetch models: 401 Unauthorized", False),  # an answer came back: it speaks for itself
        ("Failed to fetch models: the body is not JSON (JSONDecodeError; starts '<html>')", False),
    ],
)
def test_next_step_hint_only_when_nothing_answered(error, hinted, monkeypatch):
    import pandas as pd

    from vision_models.cli import next_step_hint

    monkeypatch.setenv("OPENROUTER_BASE_URL", "http://127.0.0.1:9/api/v1")

    class Failed:  # the shape of a CatalogResult that failed with nothing cached
        models = pd.DataFrame()
        source = "openrouter"

    Failed.error = error
    hint = next_step_hint(Failed())
    assert bool(hint) is hinted
    if hinted:
        assert hint == (
            " and nothing is cached: check the network and OPENROUTER_BASE_URL (now http://127.0.0.1:9/api/v1),"
            " or use --source sample for the bundled catalog"
        )


def test_list_flags_a_model_about_to_be_retired(tmp_path):
    retiring = model("openai/gpt-4o", inputs=("text", "image"), expiration_date="2026-06-01")
    staying = model("google/gemini-2.5-flash", inputs=("text", "image"))
    path = tmp_path / "catalog.json"
    path.write_text(catalog_body(retiring, staying))
    out = run("list", "--source", str(path), "--wide")
    lines = {line.split()[0]: line for line in out.stdout.splitlines() if "/" in line}
    assert out.returncode == 0
    assert lines["openai/gpt-4o"].endswith("expires 2026-06-01")
    assert "expires" not in lines["google/gemini-2.5-flash"]


def test_counts_are_messages_with_plurals_right(tmp_path):
    from factories import catalog_body, model

    one = tmp_path / "one.json"
    one.write_text(catalog_body(model("openai/gpt-4o", inputs=("text", "image"))))
    out = run("list", "--source", str(one))
    assert out.returncode == 0 and out.stderr == "vision-models: 1 model\n"
    assert len(out.stdout.splitlines()) == 2  # header and the one model
    exported = run("export", str(tmp_path / "one.csv"), "--source", str(one))
    assert exported.stderr.startswith("vision-models: wrote 1 model to ")


@pytest.mark.parametrize(
    "amount, shown",
    [(0.000042, "$0.000042"), (0.0000421234, "$0.0000421234"), (0.000000001, "$0.000000001"), (0.0077175, "$0.0077175"),
     (0.5, "$0.5"), (1.0, "$1"), (1234.5, "$1,234.5"), (0.0, "$0"), (2_500_000.4, "$2,500,000")],
)  # fmt: skip
def test_amounts_are_printed_with_the_digits_that_make_them_true(amount, shown):
    from vision_models.cli import usd

    assert usd(amount) == shown  # never $0.0000 for a real cost, never an exponent such as 4.2e-05


# ---------------------------------------------------------------- messages speak in flags


@pytest.fixture
def pages_and_catalog(tmp_path):
    """A small page, a big PDF page, a one-model catalog and two dated catalogs, in the test's folder."""
    from PIL import Image

    Image.new("RGB", (120, 80), "white").save(tmp_path / "page.png")
    (tmp_path / "catalog.json").write_text(catalog_body(model("acme/reader", inputs=("text", "image"))))
    for day in ("01", "02"):
        (tmp_path / f"c-2026-03-{day}.json").write_text(catalog_body(model("acme/reader", inputs=("text", "image"))))
    return tmp_path


FLAG_MESSAGES = [
    (("history", "import", "c-2026-03-01.json", "c-2026-03-02.json", "--fetched-at", "2026-03-01"),
     "vision-models: error: --fetched-at '2026-03-01' can date one file only, got 2 files"),
    (("history", "import", "c-2026-03-01.json", "--fetched-at", "soon"),
     "vision-models: error: bad --fetched-at 'soon': expected an ISO date or datetime"),
    (("list", "--as-of", "soon"), "vision-models: error: bad --as-of 'soon': expected an ISO date or datetime"),
    (("list", "--as-of", "2026-01-01", "--source", "sample"),
     "vision-models: error: --as-of reads the history of OpenRouter's catalog; it cannot be combined with --source 'sample'"),
    (("try", "page.png", "--model", "acme/reader", "--source", "catalog.json", "--prompt", " ", "--dry-run"),
     "vision-models: error: --prompt must be non-empty text"),
    (("try", "page.png", "--model", "acme/reader", "--source", "catalog.json"),
     "vision-models: error: no OpenRouter API key: set OPENROUTER_API_KEY (--dry-run and --model tesseract need none)"),
    (("cost", "--source", "catalog.json", "--output-tokens", "5"),
     "vision-models: error: give the image size: --width and --height in pixels, or --preset such as 'letter-200dpi'"),
    (("cost", "--source", "catalog.json", "--output-tokens", "5", "--preset", "a4-150dpi", "--width", "3", "--height", "4"),
     "vision-models: error: --preset 'a4-150dpi' is 1240x1754; do not also give --width and --height"),
    (("try", "big.pdf", "--model", "tesseract", "--dry-run", "--dpi", "2400", "--max-side", "100000"),
     ("vision-models: error: page too large (100000x100000 px): page 1 of 'big.pdf' at 2400 dpi (use a lower --dpi or "
      "--max-side)")),
    (("try", "page.png", "--model", "acme/reader", "--source", "catalog.json", "--truth", "nowhere"),
     "vision-models: error: --truth folder not found (it is a folder of <page>.txt files): 'nowhere'"),
]  # fmt: skip


@pytest.mark.parametrize(
    "args, start", FLAG_MESSAGES, ids=[" ".join(a[:2]) + f"-{n}" for n, (a, _) in enumerate(FLAG_MESSAGES)]
)
def test_a_bad_value_is_named_by_its_flag_never_by_a_python_name(pages_and_catalog, monkeypatch, args, start):
    monkeypatch.chdir(pages_and_catalog)
    env = {"OPENROUTER_BASE_URL": "http://127.0.0.1:9/api/v1"}
    if "--truth" in args:
        env["OPENROUTER_API_KEY"] = "sk-or-v1-test"  # the run gets as far as reading the truth, then stops
    if "big.pdf" in args:
        import pypdfium2

        pdf = pypdfium2.PdfDocument.new()
        pdf.new_page(14400, 14400)  # 200 x 200 inches: at 2,400 dpi, 100,000 px a side even after --max-side
        pdf.save(pages_and_catalog / "big.pdf")
    out = run(*args, env=env)
    lines = out.stderr.splitlines()
    assert out.returncode == 2 and out.stdout == "" and len(lines) == 1, out.stderr
    assert lines[0].startswith(start), lines[0]
    assert not re.search(r"\b[a-z]+_[a-z_]+\b|=", lines[0].split(": ", 2)[-1]), lines[0]  # no max_side, no api_key=


@pytest.mark.parametrize(
    "args, line",
    [(("changes", "--since", "2020-01-01"),
      "vision-models: warning: --since '2020-01-01' is before 2023, when OpenRouter began: read as the history's first date"),
     (("list", "--as-of", "2099-01-01"),
      "vision-models: warning: --as-of '2099-01-01' is in the future: read as the history's latest date")],
)  # fmt: skip
def test_warnings_speak_in_flags_too(args, line):
    out = run(*args)
    assert out.stderr.splitlines()[0] == line


@pytest.mark.parametrize(
    "body, held",
    [
        ('{"data": []}', "it lists no models"),
        ('{"data": [{}, 1]}', "its 2 entries hold no model: none has a string 'id'"),
    ],
)
def test_an_empty_catalog_file_is_no_data_as_an_empty_answer_is(tmp_path, body, held):
    path = tmp_path / "empty.json"
    path.write_text(body)
    out = run("list", "--source", str(path))
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.splitlines()[-1] == f"vision-models: {path}: the catalog is empty ({held})"
    assert "vision models" not in out.stderr  # not "the catalog has no vision models": it has no models at all
    api = run("list", "--source", str(path), "--format", "api")
    assert api.returncode == 1 and json.loads(api.stdout) == {
        "error": f"{path}: the catalog is empty ({held})",
        "models": [],
    }
    exported = run("export", str(tmp_path / "out.csv"), "--source", str(path))
    assert exported.returncode == 1 and not (tmp_path / "out.csv").exists()


def test_a_catalog_without_vision_models_says_so(tmp_path):
    path = tmp_path / "text.json"
    path.write_text(catalog_body(model("acme/words", inputs=("text",))))
    out = run("list", "--source", str(path))
    assert out.returncode == 1 and out.stderr == "vision-models: the catalog has no vision models\n"


# ---------------------------------------------------------------- export: the format the file name says


def _strict_json(text: str):
    """JSON as the standard defines it: NaN or Infinity (which Python's parser would take) fail."""

    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("name, extra", [("out.json", ()), ("OUT.JSON", ()), ("rows.txt", ("--format", "json"))])
def test_export_writes_json_when_the_name_or_format_says_so(small_file, tmp_path, name, extra):
    target = tmp_path / name
    out = run("export", str(target), "--source", small_file, *extra)
    assert out.returncode == 0 and out.stdout == "" and out.stderr == f"vision-models: wrote 2 models to {target}\n"
    records = _strict_json(target.read_text(encoding="utf-8"))
    assert [r["id"] for r in records] == ["google/gemini-2.5-flash", "openai/gpt-4o"]
    gpt4o = records[1]
    # From the catalog by hand: 0.0000025 and 0.00001 USD a token are 2.5 and 10 USD per million.
    assert gpt4o["prompt_usd_per_mtok"] == 2.5 and gpt4o["completion_usd_per_mtok"] == 10
    assert gpt4o["input_modalities"] == ["text", "image"] and gpt4o["context_length"] == 128000
    assert gpt4o["image_price"] is None and gpt4o["request_usd"] is None  # not in the catalog: null, never NaN


@pytest.mark.parametrize("name, extra", [("out.csv", ()), ("OUT.CSV", ()), ("rows.txt", ("--format", "csv"))])
def test_export_writes_csv_when_the_name_or_format_says_so(small_file, tmp_path, name, extra):
    target = tmp_path / name
    out = run("export", str(target), "--source", small_file, *extra)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [r["id"] for r in rows] == ["google/gemini-2.5-flash", "openai/gpt-4o"] and rows[1][
        "prompt_usd_per_mtok"
    ] == "2.5"


@pytest.mark.parametrize(
    "name, extra, needle",
    [("out.json", ("--format", "csv"), "--format csv does not match the file name"),
     ("out.csv", ("--format", "json"), "--format json does not match the file name"),
     ("out.xyz", (), "cannot tell the format of"),
     ("out", (), "cannot tell the format of")],
)  # fmt: skip
def test_export_never_writes_a_format_its_name_denies(tmp_path, name, extra, needle):
    target = tmp_path / name
    # No --source: were anything fetched, the unreachable address would add its own line.
    out = run("export", str(target), *extra, env={"OPENROUTER_BASE_URL": "http://127.0.0.1:9/api/v1"})
    assert out.returncode == 2 and out.stdout == ""
    assert len(out.stderr.splitlines()) == 1 and needle in out.stderr and repr(str(target)) in out.stderr, out.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written, nothing fetched (no cache file either)


# ---------------------------------------------------------------- no data offline: exit 1, and what to do next

OFFLINE = {"OPENROUTER_BASE_URL": "http://127.0.0.1:9/api/v1"}  # nobody listens on port 9: the connection is refused
HINT = " and nothing is cached: check the network and OPENROUTER_BASE_URL (now http://127.0.0.1:9/api/v1)"


@pytest.fixture
def page(tmp_path):
    from PIL import Image

    path = tmp_path / "page.png"
    Image.new("RGB", (120, 80), "white").save(path)
    return str(path)


def test_list_and_try_dry_run_offline_say_the_same_next_step_and_exit_1(page):
    listed = run("list", env=OFFLINE)
    dry = run("try", page, "--model", "openai/gpt-4o", "--dry-run", env=OFFLINE)
    for out in (listed, dry):
        assert out.returncode == 1 and out.stdout == ""
        assert (
            out.stderr
            == f"vision-models: Network request failed{HINT}, or use --source sample for the bundled catalog\n"
        )


def test_endpoints_offline_ends_with_the_network_hint_and_exit_1():
    out = run("endpoints", "openai/gpt-4o", "google/gemini-2.5-flash", env=OFFLINE)
    assert out.returncode == 1 and out.stdout == ""
    # One line for the ids that failed alike; no --source sample: provider endpoints are live only.
    assert out.stderr == f"vision-models: openai/gpt-4o, google/gemini-2.5-flash: Network request failed{HINT}\n"


def test_as_of_without_history_is_no_data_exit_1_like_a_failed_fetch(tmp_path):
    out = run("list", "--as-of", "2026-01-01")
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.startswith("vision-models: no catalog history at ") and len(out.stderr.splitlines()) == 1
    api = run("list", "--as-of", "2026-01-01", "--format", "api")  # the payload is printed in every case
    assert api.returncode == 1 and json.loads(api.stdout)["models"] == []
    assert json.loads(api.stdout)["error"].startswith("no catalog history at ")
    catalog = tmp_path / "c-2026-03-01.json"
    catalog.write_text(catalog_body(model("acme/reader", inputs=("text", "image"))))
    assert run("history", "import", str(catalog)).returncode == 0
    early = run("list", "--as-of", "2026-01-01")  # before the first snapshot: no catalog then either
    assert early.returncode == 1 and early.stderr == (
        "vision-models: no catalog recorded at or before 2026-01-01: the history starts on 2026-03-01T00:00:00Z\n"
    )
    assert run("list", "--as-of", "2026-03-01").returncode == 0


@pytest.mark.parametrize(
    "args",
    [("try", "{page}", "--model", "openai/gpt-4o", "--dry-run", "--source", "sample"),
     ("cost", "--by-provider", "--source", "sample", "--preset", "a4-150dpi", "--output-tokens", "5", "--top", "1"),
     ("list", "--source", "sample"),
     ("export", "{tmp}/out.json", "--source", "sample"),
     ("cost", "--source", "sample", "--preset", "a4-150dpi", "--output-tokens", "5")],
)  # fmt: skip
def test_the_sample_is_announced_once(page, tmp_path, args):
    out = run(*[a.format(page=page, tmp=tmp_path) for a in args], env=OFFLINE)
    assert out.stderr.count("source is the bundled sample (as of ") == 1, out.stderr
    assert out.stderr.count("not live data") == 1


def test_chart_writes_the_format_its_name_says_and_refuses_before_fetching(tmp_path):
    chart = ("chart", "cost", "--preset", "a4-150dpi", "--output-tokens", "5")
    svg = tmp_path / "c.svg"
    out = run(*chart, "--source", "sample", "--out", str(svg))
    assert out.returncode == 0 and svg.read_text(encoding="utf-8").startswith("<?xml") and "<svg" in svg.read_text()
    png = tmp_path / "chart"  # no suffix: a PNG, under exactly that name
    assert run(*chart, "--source", "sample", "--out", str(png)).returncode == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and not (tmp_path / "chart.png").exists()
    for target, needle in ((tmp_path / "c.xyz", "cannot tell a chart format from"), (tmp_path, "a directory")):
        refused = run(
            *chart, "--out", str(target), env=OFFLINE
        )  # no --source: a fetch would say so on a line of its own
        assert refused.returncode == 2 and refused.stdout == "" and len(refused.stderr.splitlines()) == 1, (
            refused.stderr
        )
        assert needle in refused.stderr and repr(str(target)) in refused.stderr


@pytest.mark.parametrize(
    "library, command_line",
    [("retry_unknown: sending again 2 requests that may have been billed already; they may spend up to $0.0000421 more",
      "--retry-unknown: sending again 2 requests that may have been billed already; they may spend up to $0.0000421 more"),
     ("bad max_usd 5: expected a number", "bad --max-usd 5: expected a number"),
     ("bad provider '': expected a provider name such as 'openai'", "bad --provider '': expected a provider name such as 'openai'"),
     ("(this API needs an OpenRouter API key: set OPENROUTER_API_KEY or pass api_key=)",
      "(this API needs an OpenRouter API key: set OPENROUTER_API_KEY)"),
     # Words that only look like parameters stay as they are.
     ("unknown source 'x.json': not openrouter, sample, an http(s) URL or a readable file",
      "unknown source 'x.json': not openrouter, sample, an http(s) URL or a readable file"),
     ("the catalog's 2 entries hold no model (none has a string 'id')", "the catalog's 2 entries hold no model (none has a string 'id')"),
     ("no catalog recorded at or before 2026-01-01: the history starts on 2026-03-01T00:00:00Z",
      "no catalog recorded at or before 2026-01-01: the history starts on 2026-03-01T00:00:00Z")],
)  # fmt: skip
def test_in_flags_names_parameters_as_flags_and_leaves_other_words(library, command_line):
    from vision_models.cli import in_flags

    assert in_flags(library) == command_line


def test_kind_filters_list_and_cost_and_shows_in_the_tables(tmp_path):
    vision = ("text", "image")
    path = tmp_path / "catalog.json"
    path.write_text(
        catalog_body(
            model("openai/gpt-4o", prompt="0.0000025", completion="0.00001", inputs=vision),
            model(
                "meta-llama/llama-guard-4-12b",
                prompt="0.00000018",
                completion="0.00000018",
                inputs=vision,
                description="Llama Guard 4 is fine-tuned for content safety classification.",
            ),  # fmt: skip
        )
    )
    guards = run("list", "--source", str(path), "--kind", "guard", "--format", "json")
    assert [r["id"] for r in json.loads(guards.stdout)] == ["meta-llama/llama-guard-4-12b"]
    assert json.loads(guards.stdout)[0]["kind"] == "guard"
    listed = run("list", "--source", str(path), "--wide")
    assert re.search(r"llama-guard-4-12b .*; guard$", listed.stdout, re.M)  # the kind shown beside the evidence
    cost = run("cost", "--source", str(path), "--preset", "letter-200dpi", "--output-tokens", "700")
    assert "llama-guard" not in cost.stdout  # cost ranks page readers by default
    assert "left out 1 model that does not read pages into text (1 guard); --kind all shows them" in cost.stderr
    everything = run(
        "cost", "--source", str(path), "--preset", "letter-200dpi", "--output-tokens", "700", "--kind", "all"
    )
    assert re.search(r"^meta-llama/llama-guard-4-12b .* guard$", everything.stdout, re.M)
    bad = run("list", "--source", str(path), "--kind", "readers")
    assert bad.returncode == 2 and "invalid choice: 'readers'" in bad.stderr and "Traceback" not in bad.stderr


def test_benchmarks_lists_the_published_scores_and_names_a_bad_metric():
    table = run("benchmarks", "--benchmark", "olmOCR-Bench")
    assert table.returncode == 0
    assert re.search(
        r"^olmOCR-Bench +overall_pass_rate_pct +68\.9 +GPT-4o \(No Anchor\) +openai/gpt-4o ", table.stdout, re.M
    )
    rows = json.loads(run("benchmarks", "--format", "json").stdout)
    assert all(r["source_url"].startswith("https://") for r in rows)
    retired = [r for r in rows if r["retired"]]
    assert retired and "(retired)" in run("benchmarks", "--wide").stdout
    bad = run("benchmarks", "--metric", "cer")
    assert bad.returncode == 2 and "unknown metric 'cer'" in bad.stderr and "Traceback" not in bad.stderr

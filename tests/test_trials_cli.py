"""``vision-models try`` and ``vision-models trials list|show|export`` against the loopback stand-in."""

from __future__ import annotations

import csv
import io
import json

import pytest
from factories import catalog_body, model, run_cli_captured
from openrouter_standin import ModelBill, StandIn, serving
from PIL import Image

from vision_models.cli import main

KEY = "sk-or-v1-CLIKEY-abcdef"
MINI = "openai/gpt-4o-mini"


@pytest.fixture
def setup(tmp_path, monkeypatch):
    with serving(StandIn({MINI: ModelBill(1e-5, 4e-5, reply='=HYPERLINK("http://x")\x1b[2J<b>bold</b>')})) as stand:
        monkeypatch.setenv("OPENROUTER_BASE_URL", stand.base_url)
        catalog = tmp_path / "catalog.json"
        catalog.write_text(catalog_body(model(MINI, prompt="0.00001", completion="0.00004", inputs=("text", "image"))))
        pages = []
        for i in range(2):
            path = tmp_path / f"scan{i}.png"
            Image.new("RGB", (300 + i, 200), "white").save(path)
            pages.append(str(path))
        yield stand, str(catalog), pages, tmp_path


cli = run_cli_captured


def test_dry_run_needs_no_key_and_sends_nothing(setup, capsys):
    stand, catalog, pages, _ = setup
    status, out, err = cli(
        capsys, "try", *pages, "--model", MINI, "--model", "tesseract", "--dry-run", "--source", catalog
    )
    assert status == 0
    assert out.count(MINI) == 2 and out.count("tesseract") == 2
    assert "dry run: 2 page requests" in err  # Tesseract pages are not requests and "worst case reserved" in err
    assert stand.requests == []


def test_try_without_a_key_is_one_line_and_sends_nothing(setup, capsys):
    stand, catalog, pages, tmp_path = setup
    status, out, err = cli(capsys, "try", *pages, "--model", MINI, "--source", catalog)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and "OPENROUTER_API_KEY" in err and "Traceback" not in err
    assert stand.requests == []


def test_try_then_list_show_export(setup, capsys, monkeypatch):
    stand, catalog, pages, tmp_path = setup
    monkeypatch.setenv("OPENROUTER_API_KEY", KEY)
    status, out, err = cli(capsys, "try", *pages, "--model", MINI, "--source", catalog, "--max-usd", "0.5")
    assert status == 0
    assert "\x1b" not in out and "\\x1b" in out  # the model's escape sequence is shown, not obeyed
    assert [line.split()[2] for line in out.splitlines() if line.startswith("scan")] == ["ok", "ok"]
    assert "billed $" in err and KEY not in err + out
    assert "of the $0.5 budget" in err and ", 3 requests sent;" in err  # one control and two pages
    billed = err.split("billed $", 1)[1].split(" ", 1)[0]
    assert "e" not in billed and float(billed) == pytest.approx(stand.billed_usd, rel=1e-5)  # six digits, no exponent
    assert len(stand.requests) == 3  # one control, two pages

    status, out, err = cli(capsys, "try", *pages, "--model", MINI, "--source", catalog, "--format", "json")
    rows = json.loads(out)
    assert [r["status"] for r in rows] == ["cached", "cached"] and len(stand.requests) == 3

    status, out, _ = cli(capsys, "trials", "list", "--format", "csv")
    runs = list(csv.DictReader(io.StringIO(out)))
    assert status == 0 and len(runs) == 2
    run_id = runs[-1]["run_id"]  # newest first: the last is the first run
    assert float(runs[-1]["billed_usd"]) == pytest.approx(stand.billed_usd)

    status, out, _ = cli(capsys, "trials", "show", run_id)
    assert status == 0 and "estimate/billed" in out
    assert [line.split()[2] for line in out.splitlines() if line.startswith("scan")] == ["ok", "ok"]

    target = tmp_path / "run.csv"
    status, _, err = cli(capsys, "trials", "export", run_id, str(target))
    assert status == 0 and "wrote 2 rows" in err
    exported = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [r["status"] for r in exported] == ["ok", "ok"]
    assert all(r["text"].startswith("'=HYPERLINK") for r in exported)  # formula neutralised
    assert KEY not in target.read_text(encoding="utf-8")

    as_json = tmp_path / "run.json"  # the name says JSON: the rows as records, the text exactly as it came
    status, _, err = cli(capsys, "trials", "export", run_id, str(as_json))
    assert status == 0 and "wrote 2 rows" in err
    records = json.loads(as_json.read_text(encoding="utf-8"), parse_constant=lambda c: pytest.fail(f"not JSON: {c}"))
    assert [r["status"] for r in records] == ["ok", "ok"] and records[0]["text"].startswith("=HYPERLINK")
    status, _, err = cli(capsys, "trials", "export", run_id, str(tmp_path / "run.data"))
    assert status == 2 and err.count("\n") == 1 and "--format csv|json" in err and not (tmp_path / "run.data").exists()


def test_unknown_run_and_empty_store(setup, capsys):
    _, _, _, tmp_path = setup
    status, out, err = cli(capsys, "trials", "list")
    assert status == 1 and "no trial runs yet" in err
    status, out, err = cli(capsys, "trials", "show", "nope")
    assert status == 2 and "unknown trial run 'nope'" in err and err.count("\n") == 1
    assert not (tmp_path / "cache" / "trials.sqlite").exists()  # reading never creates the store


def test_bad_options_are_usage_errors(setup, capsys):
    _, catalog, pages, _ = setup
    for argv in (["try", *pages], ["try", *pages, "--model", MINI, "--max-usd", "-1"], ["try", "--model", MINI]):
        status, out, err = cli(capsys, *argv)
        assert status == 2 and err.count("\n") == 1 and "Traceback" not in err
    status, _, err = cli(capsys, "try", "missing.png", "--model", "tesseract")
    assert status == 2 and "missing.png" in err


def test_two_processes_on_one_store_never_pay_twice(setup, monkeypatch):
    import os
    import subprocess
    import sys

    stand, catalog, pages, tmp_path = setup
    stand.latency_s = 0.2
    more = []
    for i in range(2, 8):
        path = tmp_path / f"scan{i}.png"
        Image.new("RGB", (300 + i, 200), "white").save(path)
        more.append(str(path))
    env = {**os.environ, "OPENROUTER_API_KEY": KEY, "VISION_MODELS_TRIALS": str(tmp_path / "shared.sqlite")}
    command = [sys.executable, "-m", "vision_models.cli", "try", *pages, *more, "--model", MINI, "--source", catalog,
               "--format", "json", "--concurrency", "2"]  # fmt: skip
    runs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    sent = [r["body"]["messages"][0]["content"][1]["image_url"]["url"] for r in stand.requests if r["images"]]
    assert len(sent) == len(set(sent)) <= 8  # no page was sent by both
    statuses = [row["status"] for out, _ in outputs for row in json.loads(out)]
    assert statuses.count("ok") == len(sent)
    # Whatever one run found being sent by the other, a third run (in this process) collects from the store.
    monkeypatch.setenv("OPENROUTER_API_KEY", KEY)
    monkeypatch.setenv("VISION_MODELS_TRIALS", env["VISION_MODELS_TRIALS"])
    assert main(command[3:]) == 0
    assert len([r for r in stand.requests if r["images"]]) == 8


def test_a_dry_run_prints_small_amounts_with_the_digits_that_make_them_true(tmp_path, capsys, monkeypatch):
    from factories import model
    from PIL import Image

    from vision_models.cli import main

    catalog = tmp_path / "catalog.json"
    # 1e-9 USD a token: a small page costs about a millionth of a dollar, which "$0.0000" would hide.
    catalog.write_text(json.dumps({"data": [model("acme/tiny", prompt="0.000000001", completion="0.000000001",
                                                  inputs=("text", "image"))]}))  # fmt: skip
    page = tmp_path / "page.png"
    Image.new("RGB", (200, 100), "white").save(page)
    monkeypatch.setenv("VISION_MODELS_TRIALS", str(tmp_path / "trials.sqlite"))
    status = main(
        ["try", str(page), "--model", "acme/tiny", "--source", str(catalog), "--dry-run", "--max-usd", "0.004"]
    )
    err = capsys.readouterr().err
    assert status == 0 and "1 page request to send" in err and "in the budget $0.004" in err
    estimated = float(err.split("estimated $", 1)[1].split(";", 1)[0])
    assert 0 < estimated < 1e-4  # a true amount, not 0.0000


def test_a_run_priced_from_the_sample_announces_it_once(setup, capsys, monkeypatch):
    stand, _, pages, _ = setup
    monkeypatch.setenv("OPENROUTER_API_KEY", KEY)
    status, out, err = cli(capsys, "try", pages[0], "--model", MINI, "--source", "sample", "--no-progress")
    assert status == 0 and MINI in out
    assert err.count("source is the bundled sample (as of ") == 1 and err.count("not live data") == 1, err
    assert len(stand.requests) == 2  # the control and the page: the sample priced them, the stand-in answered


def test_a_dry_run_offline_says_to_use_the_sample_and_exit_1(setup, capsys, monkeypatch):
    stand, _, pages, _ = setup
    monkeypatch.setenv("OPENROUTER_BASE_URL", "http://127.0.0.1:9/api/v1")  # no catalog to be had, none cached
    status, out, err = cli(capsys, "try", *pages, "--model", MINI, "--dry-run")
    assert status == 1 and out == "" and err.count("\n") == 1
    assert err.startswith("vision-models: Network request failed and nothing is cached")
    assert err.rstrip().endswith("or use --source sample for the bundled catalog")
    assert stand.requests == []

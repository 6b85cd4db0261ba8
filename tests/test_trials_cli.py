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


# ---------------------------------------------------------------- evidence: --schema, --critical, --repeats, consensus

SCHEMA = {
    "type": "object",
    "properties": {
        "number": {"type": "string"},
        "date": {"type": "string"},
        "total": {"type": ["number", "string"]},
        "items": {"type": "array", "items": {"type": "object", "properties": {"code": {"type": "string"},
                                                                                "amount": {"type": "number"}}}},
    },
    "required": ["number", "total"],
}  # fmt: skip
#: scan0: 3 top-level fields and 2 items of 2 fields (7); scan1: 3 top-level fields and 1 item of 2 (5).
TRUTHS = {
    "scan0": {"number": "A-0", "date": "2026-03-12", "total": 1234.5,
              "items": [{"code": "X", "amount": 1}, {"code": "Y", "amount": 2}]},
    "scan1": {"number": "B-1", "date": "2026-04-01", "total": 99, "items": [{"code": "Z", "amount": 5}]},
}  # fmt: skip
REPLIES = [
    # scan0: all 7 right once normalised: case and spaces, a written-out date, a currency and thousands
    # separator, the items in the other order (matched one-to-one, not by position).
    json.dumps({"number": " a-0 ", "date": "12 March 2026", "total": "€1,234.50",
                "items": [{"code": "Y", "amount": 2}, {"code": "X", "amount": 1}]}),
    # scan1: the number wrong (1), the one item right (2 of 2), an extra item (2 more fields wrong): 4 of 7.
    json.dumps({"number": "B-7", "date": "2026-04-01", "total": 99.0,
                "items": [{"code": "Q", "amount": 1}, {"code": "Z", "amount": 5}]}),
]  # fmt: skip


@pytest.fixture
def evidence(setup, monkeypatch):
    """The stand-in answering REPLIES in order, a schema file and a folder of <page>.json truths."""
    stand, catalog, pages, tmp_path = setup
    monkeypatch.setenv("OPENROUTER_API_KEY", KEY)
    stand.models[MINI].replies[:] = list(REPLIES)
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(SCHEMA), encoding="utf-8")
    truth = tmp_path / "truth"
    truth.mkdir()
    for stem, expected in TRUTHS.items():
        (truth / f"{stem}.json").write_text(json.dumps(expected), encoding="utf-8")
    base = ["try", *pages, "--model", MINI, "--source", catalog, "--no-progress", "--concurrency", "1"]
    return stand, base, str(schema), str(truth), tmp_path


def test_a_schema_run_scores_fields_as_counted_by_hand(evidence, capsys):
    stand, base, schema, truth, tmp_path = evidence
    argv = [*base, "--schema", schema, "--truth", truth, "--critical", "total", "--critical", "number"]
    status, out, err = cli(capsys, *argv, "--format", "json")
    assert status == 0, err
    rows = {r["page"]: r for r in json.loads(out)}
    [asked] = [r["body"] for r in stand.requests if r["images"]][:1]
    assert "total" in json.dumps(asked)  # the schema went with the page (in the prompt: no structured outputs)
    assert (rows["scan0.png"]["fields_total"], rows["scan0.png"]["fields_correct"]) == (7, 7)
    assert (rows["scan1.png"]["fields_total"], rows["scan1.png"]["fields_correct"]) == (7, 4)
    assert rows["scan1.png"]["field_accuracy"] == pytest.approx(4 / 7)
    assert [rows[p]["critical_ok"] for p in ("scan0.png", "scan1.png")] == [True, False]  # scan1's number is wrong
    assert "number" in rows["scan1.png"]["field_errors"] and rows["scan0.png"]["field_errors"] is None
    assert rows["scan0.png"]["json_valid"] is True and rows["scan0.png"]["parsed"]["total"] == "€1,234.50"
    sent = len(stand.requests)

    # trials show: the run keeps its schema; the truth is given again for field scores.
    run_id = json.loads(cli(capsys, "trials", "list", "--format", "json")[1])[0]["run_id"]
    status, out, _ = cli(capsys, "trials", "show", run_id, "--truth", truth, "--critical", "total")
    assert status == 0
    assert "100.0%" in out and "57.1%" in out  # per row: 7 of 7, 4 of 7
    assert "78.6%" in out  # the model's mean field accuracy: (1 + 4/7) / 2 = 11/14
    status, out, _ = cli(capsys, "trials", "show", run_id)
    assert status == 0 and "57.1%" not in out and "78.6%" not in out  # no truth given: no field scores
    status, out, err = cli(capsys, "trials", "show", run_id, "--truth", truth, "--critical", "totl")
    assert status == 2 and out == "" and err.count("\n") == 1 and "--critical" in err and "'totl'" in err
    target = tmp_path / "rows.csv"
    status, _, err = cli(capsys, "trials", "export", run_id, str(target), "--truth", truth, "--critical", "number")
    exported = {r["page"]: r for r in csv.DictReader(io.StringIO(target.read_text(encoding="utf-8")))}
    assert status == 0 and exported["scan1.png"]["fields_correct"] == "4"
    assert [exported[p]["critical_ok"] for p in ("scan0.png", "scan1.png")] == ["True", "False"]
    assert len(stand.requests) == sent  # showing and exporting send nothing


def test_a_truth_folder_without_json_is_said_and_a_bad_json_truth_is_exit_2(evidence, capsys):
    stand, base, schema, truth, tmp_path = evidence
    empty = tmp_path / "texts"
    empty.mkdir()
    (empty / "scan0.txt").write_text("A-0", encoding="utf-8")
    status, out, err = cli(capsys, *base, "--schema", schema, "--truth", str(empty), "--dry-run")
    assert status == 0 and "no <page>.json file in --truth" in err and "no field scores" in err
    (tmp_path / "truth" / "scan1.json").write_text("{not json", encoding="utf-8")
    status, out, err = cli(capsys, *base, "--schema", schema, "--truth", truth)
    assert status == 2 and out == "" and err.count("\n") == 1 and "--truth" in err and "scan1.json" in err
    assert stand.requests == []


def test_repeats_are_each_paid_once_and_a_second_command_sends_nothing(evidence, capsys):
    stand, base, schema, truth, _ = evidence
    status, out, err = cli(capsys, *base, "--repeats", "3", "--dry-run")
    assert status == 0 and stand.requests == []
    assert "6 page requests (each page 3 times per model) to send" in err
    assert [line.split()[2] for line in out.splitlines() if line.startswith("scan0")] == ["1", "2", "3"]

    status, out, err = cli(capsys, *base, "--repeats", "3", "--format", "json")
    assert status == 0, err
    rows = json.loads(out)
    assert sorted((r["page"], r["repeat"]) for r in rows) == [(f"scan{p}.png", k) for p in (0, 1) for k in (0, 1, 2)]
    assert [r["status"] for r in rows] == ["ok"] * 6
    page_sends = [r for r in stand.requests if r["images"]]
    assert len(page_sends) == 6 and len(stand.requests) == 7  # each repeat once, and one control
    assert "7 requests sent" in err
    assert sum(r["billed_usd"] for r in rows) == pytest.approx(sum(stand.billed[-6:]), rel=1e-9)

    status, out, err = cli(capsys, *base, "--repeats", "3", "--format", "json")
    assert status == 0 and len(stand.requests) == 7  # the same command again: nothing sent, nothing paid
    assert [r["status"] for r in json.loads(out)] == ["cached"] * 6 and "0 requests sent" in err
    status, out, err = cli(capsys, *base, "--repeats", "4", "--format", "json")
    assert status == 0 and len([r for r in stand.requests if r["images"]]) == 8  # only the fourth send of each page


@pytest.mark.parametrize(
    ("given", "said"),
    [
        (["--schema", "{tmp}/missing.json"], ["--schema", "missing.json"]),
        (["--schema", "{tmp}/bad.json"], ["--schema", "bad.json", "not JSON"]),
        (["--schema", "{tmp}/list.json"], ["--schema", "list.json", "JSON object"]),
        (["--schema", "{tmp}"], ["--schema", "folder"]),
        (["--repeats", "0"], ["--repeats", "1 to 100"]),
        (["--repeats", "101"], ["--repeats", "1 to 100"]),
        (["--repeats", "two"], ["--repeats"]),
        (["--critical", "total"], ["--critical", "--schema"]),
        (["--critical", "total", "--schema", "{schema}"], ["--critical", "--truth DIR"]),
        (["--critical", "total", "--schema", "{schema}", "--truth", "consensus"], ["--critical", "--truth DIR"]),
        (["--critical", "totl", "--schema", "{schema}", "--truth", "{truth}"], ["--critical", "'totl'", "scan0"]),
        (["--truth", "{tmp}/nowhere"], ["--truth", "nowhere"]),
        (["--truth", "consensus"], ["--truth consensus", "3 or more models", "not 1"]),
    ],
)
@pytest.mark.parametrize("dry_run", [False, True])
def test_each_bad_evidence_option_is_exit_2_naming_it(evidence, capsys, given, said, dry_run):
    stand, base, schema, truth, tmp_path = evidence
    (tmp_path / "bad.json").write_text('{"type": "object",', encoding="utf-8")
    (tmp_path / "list.json").write_text("[1, 2]", encoding="utf-8")
    argv = [a.format(tmp=tmp_path, schema=schema, truth=truth) for a in given]
    status, out, err = cli(capsys, *base, *argv, *(["--dry-run"] if dry_run else []))
    assert status == 2 and out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert all(s in err for s in said), err
    assert stand.requests == []


def test_consensus_with_two_models_is_exit_2_before_anything_is_sent(evidence, capsys):
    stand, base, *_ = evidence
    for extra in ([], ["--dry-run"], ["--model", MINI]):  # the same model twice is still one model
        status, out, err = cli(capsys, *base, "--model", "tesseract", "--truth", "consensus", *extra)
        assert status == 2 and out == "" and err.count("\n") == 1
        assert "--truth consensus needs 3 or more models" in err and "not 2" in err
    assert stand.requests == []


def test_consensus_with_three_models_gives_agreement_not_accuracy(setup, capsys, monkeypatch):
    stand, _, pages, tmp_path = setup
    monkeypatch.setenv("OPENROUTER_API_KEY", KEY)
    # Two models read "abcdefghij", the third one character off: by 1 - edits / length, the third agrees
    # 0.9 with each other reader; the first two agree 1.0 with each other and 0.9 with it, 0.95 on average.
    others = {"acme/a": "abcdefghij", "acme/b": "abcdefghij", "acme/c": "abcdefghiX"}
    for name, text in others.items():
        stand.models[name] = ModelBill(1e-5, 4e-5, reply=text)
    catalog = tmp_path / "three.json"
    catalog.write_text(catalog_body(*(model(m, prompt="0.00001", completion="0.00004", inputs=("text", "image"))
                                      for m in others)))  # fmt: skip
    models = [arg for m in others for arg in ("--model", m)]
    status, out, err = cli(capsys, "try", pages[0], *models, "--source", str(catalog), "--truth", "consensus",
                           "--no-progress", "--format", "json")  # fmt: skip
    assert status == 0, err
    rows = {r["model"]: r for r in json.loads(out)}
    assert [rows[m]["agreement"] for m in others] == pytest.approx([0.95, 0.95, 0.9])
    assert rows["acme/c"]["consensus_reference"] == "acme/a"  # the medoid: the first of the two that agree most
    assert all(r["cer"] is None for r in rows.values())  # agreement is no accuracy: no CER without a truth
    status, out, _ = cli(capsys, "try", pages[0], *models, "--source", str(catalog), "--truth", "consensus")
    assert status == 0 and "agreement" in out.splitlines()[0] and "0.900" in out

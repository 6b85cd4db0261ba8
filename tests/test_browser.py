"""The notebooks in a real browser: JupyterLab on loopback, driven by Playwright in Debian's Chromium.

For each notebook, on the bundled sample and on each real catalog in
../shared/catalogs (those are slow, and skipped saying why when absent):
restart the kernel and run all cells, then find no error output and no
"Error displaying widget", and the charts drawn and decoded by the browser.
On the sample, also change each widget's controls as a user would and check
that what depends on them changed (table rows, chart image bytes, the choice
the next cell reads), and that the dollar signs in our HTML are not typeset
as maths. Every chart and the end of each notebook are saved in
tests/screenshots/SOURCE/ to be looked at. Skipped, saying why, when
Playwright or Chromium is missing (.ci/run installs both).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from factories import REPO, SHARED_CATALOGS, build_daily_history, copy_of_daily_history, shared_catalog
from test_notebooks import NEVER

SCREENSHOTS = REPO / "tests" / "screenshots"  # git-ignored: each notebook's charts and end, per source
CHROMIUM = os.environ.get("VISION_MODELS_CHROMIUM", "/usr/bin/chromium")
NOTEBOOKS = REPO / "notebooks"
RUN_TIMEOUT_MS = 120_000
STEP_TIMEOUT_MS = 30_000

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed (pip install playwright)"
)
if not Path(CHROMIUM).exists():
    pytest.skip(
        f"no Chromium at {CHROMIUM} (apt-get install chromium, or set VISION_MODELS_CHROMIUM)", allow_module_level=True
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


REAL_CATALOGS = ("openrouter-2025-05-23.json", "openrouter-2026-05-01.json")
SOURCES = [
    "sample",
    *(pytest.param(name, marks=pytest.mark.slow, id=name.removesuffix(".json")) for name in REAL_CATALOGS),
]
NOTEBOOK_NAMES = sorted(p.name for p in NOTEBOOKS.glob("0*.ipynb"))
#: Charts each notebook shows offline, as images: drawn by a cell or by a widget (05 draws its picker's only:
#: cost against accuracy takes two models that read the pages, which takes a key).
CHARTS = {"02_cost_per_image.ipynb": 3, "03_compare_models.ipynb": 1, "04_catalog_changes.ipynb": 2,
          "05_try_your_pages.ipynb": 2, "06_choose_a_model.ipynb": 1}  # fmt: skip
ON_SAMPLE = pytest.mark.parametrize("lab", ["sample"], indirect=True)
PRICES = "$0.06 / $0.24"
# One output per cell, each marked by the text before the prices, so the page can be read cell by cell.
DOLLAR_CELLS = [
    (
        "import ipywidgets as w, pandas as pd\n"
        "from IPython.display import HTML, display\n"
        "from vision_models.present.widgets import html_table, message_html\n"
        f"prices = pd.DataFrame({{'model': ['a/table'], 'price': ['{PRICES}']}})\n"
        "display(HTML(html_table(prices)))"
    ),
    f"display(HTML(message_html('a/message {PRICES}')))",
    "display(w.HTML(html_table(prices.assign(model='a/widget'))))",
    f"display(HTML('<p>a/bare {PRICES}</p>'))",  # no ignore class: MathJax typesets it
]


@pytest.fixture(scope="module", params=["sample"])
def lab(request, tmp_path_factory):
    """JupyterLab on a free loopback port, no token, serving a copy of the notebooks, on one source.

    The source is the bundled sample or a real catalog's file name (a skip saying why when it is absent);
    the history is that of the daily catalogs, and of the real catalog too.
    """
    source = request.param
    catalog = None if source == "sample" else shared_catalog(source)
    root = tmp_path_factory.mktemp("lab")
    for book in NOTEBOOKS.glob("0*.ipynb"):  # without the committed outputs, so only this run's can be seen
        notebook = nbformat.read(book, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nbformat.write(notebook, root / book.name)
    dollars = nbformat.v4.new_notebook()  # test_dollar_signs_in_our_html_are_not_typeset_as_math
    dollars.cells = [nbformat.v4.new_code_cell(cell) for cell in DOLLAR_CELLS]
    dollars.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(dollars, root / "dollars.ipynb")
    scratch = tmp_path_factory.mktemp("state")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENROUTER_", "VISION_MODELS_", "JUPYTER"))}
    env.update(
        VISION_MODELS_SOURCE=str(catalog or "sample"),
        OPENROUTER_BASE_URL="http://127.0.0.1:9/api/v1",  # nothing listens there: offline, whatever the source
        VISION_MODELS_CACHE=str(scratch / "http_cache.sqlite"),
        VISION_MODELS_HISTORY=str(scratch / "history.sqlite"),
        VISION_MODELS_TRIALS=str(scratch / "trials.sqlite"),
        JUPYTER_CONFIG_DIR=str(scratch / "config"),
        JUPYTER_RUNTIME_DIR=str(scratch / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(scratch / "settings"),
        HOME=str(scratch),
    )
    news = scratch / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text('{"fetchNews": "false"}')  # no "Would you like to get notified..." toast over the outputs
    # Every cell in the page, not only those scrolled into view (JupyterLab 4 renders a long notebook lazily),
    # so a check of a cell far down finds it whether or not the window has reached it.
    tracker = scratch / "settings" / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text('{"windowingMode": "none"}')
    daily = sorted((SHARED_CATALOGS / "daily").glob("openrouter-*.json.gz"))
    if daily:  # notebook 04 reads a history (the run's import of the dailies, copied); without one it explains
        from vision_models.catalog.history import import_files

        history = copy_of_daily_history(build_daily_history(tmp_path_factory), scratch)
        if catalog:
            [done] = import_files([catalog], path=history)  # 2026-05-01 is also the last daily: already there
            assert done.status in ("imported", "already imported"), done
    port = _free_port()
    log = open(scratch / "lab.log", "w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            f"--ServerApp.root_dir={root}",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--allow-root",
            "--ServerApp.terminals_enabled=False",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/status", timeout=2):
                break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"JupyterLab did not start: {(scratch / 'lab.log').read_text()[-2000:]}")
            time.sleep(0.3)
    try:
        yield SimpleNamespace(url=url, source=source.removesuffix(".json"), catalog=catalog, history=bool(daily))
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield chromium
        finally:
            chromium.close()


def open_and_run_all(browser, lab, name: str):
    """Open the notebook, restart its kernel and run every cell; returns the page once all are done."""
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    page.goto(f"{lab.url}/lab/tree/{name}?reset")  # a fresh workspace: only this notebook open
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for()
    page.wait_for_function(  # the kernel has started (until then the status bar says "No Kernel")
        "() => /\\| Idle/.test(document.querySelector('#jp-main-statusbar')?.innerText || '')", timeout=RUN_TIMEOUT_MS
    )
    page.get_by_role("menuitem", name="Kernel", exact=True).click()
    page.get_by_role("menuitem", name="Restart Kernel and Run All Cells…").click()
    page.locator(".jp-Dialog button.jp-mod-accept").click()  # "Restart"
    wait_until_done(page)
    return page


def finish(page, lab) -> None:
    """Save each chart (its output, scrolled into view) and the last screenful of the notebook, then close."""
    folder = SCREENSHOTS / lab.source
    folder.mkdir(parents=True, exist_ok=True)
    name = page.url.rsplit("/", 1)[-1].split(".ipynb")[0]
    for old in folder.glob(f"{name}*.png"):
        old.unlink()
    charts = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output:has(img)")
    for i in range(charts.count()):
        charts.nth(i).screenshot(path=str(folder / f"{name}-chart{i + 1}.png"))
    for i, cell in enumerate(page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").all()[-4:]):
        cell.scroll_into_view_if_needed()  # the notebook's end: the findings and "What we learned"
    page.screenshot(path=str(folder / f"{name}.png"))
    page.context.close()


def assert_charts_drawn(page, count: int) -> None:
    """``count`` images in the outputs, each decoded by the browser (a broken image has no natural width)."""
    images = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output img")
    assert images.count() == count
    for i in range(count):
        image = images.nth(i)
        image.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 100", arg=image.element_handle())


def wait_until_done(page) -> None:
    """Every code cell has an execution count and none is queued or running."""
    page.wait_for_function(
        """() => {
            const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
            const prompts = panel ? [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')] : [];
            return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent))
                && !prompts.some(p => p.textContent.includes('*'));
        }""",
        timeout=RUN_TIMEOUT_MS,
    )
    page.wait_for_timeout(300)  # the last widget views render after the kernel reply


def assert_clean(page) -> None:
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']")
    assert errors.count() == 0, errors.first.inner_text()
    shown = page.inner_text(".jp-NotebookPanel:not(.lm-mod-hidden)")
    for never in ("Error displaying widget", "Traceback", "Empty DataFrame"):
        assert never not in shown


def cell_with(page, text: str):
    return page.locator(".jp-CodeCell").filter(has=page.locator(".jp-InputArea", has_text=text)).first


def rows(table_scope) -> int:
    table_scope.locator("table.vision-models-table").first.wait_for()
    return table_scope.locator("table.vision-models-table tbody tr").count()


def chart_src(scope) -> str:
    image = scope.locator(".widget-output img").first
    image.wait_for()
    return image.get_attribute("src")


def rerun(page, cell) -> str:
    """Run one cell again (as a reader does after changing a widget) and return its output text."""
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Escape")
    page.keyboard.press("Control+Enter")
    wait_until_done(page)
    return cell.locator(".jp-OutputArea").inner_text()


def wait_changed(read, before, timeout_s: float = 20.0):
    deadline = time.monotonic() + timeout_s
    while True:
        now = read()
        if now != before or time.monotonic() > deadline:
            return now
        time.sleep(0.2)


def widget_input(scope, label: str):
    return scope.locator(".widget-inline-hbox", has=scope.page.locator("label", has_text=label)).locator("input").first


@ON_SAMPLE
def test_explore_notebook_filter_and_picker(browser, lab):
    page = open_and_run_all(browser, lab, "01_explore_vision_models.ipynb")
    assert_clean(page)
    assert_charts_drawn(page, CHARTS.get("01_explore_vision_models.ipynb", 0))
    widget = cell_with(page, "ModelFilter.from_result")
    strict = rows(widget)  # the default rules
    assert strict > 10
    widget.get_by_role("button", name="seed", exact=True).click()  # the rules toggle re-decides vision
    before = wait_changed(lambda: rows(widget), strict)
    assert before > strict  # seed adds names that say vision while the metadata says text
    search = widget_input(widget, "Search")
    search.fill("gemini")
    search.press("Enter")
    after = wait_changed(lambda: rows(widget), before)
    assert 0 < after < before
    assert all("gemini" in t.lower() for t in widget.locator("table.vision-models-table tbody tr").all_inner_texts())
    dropdown = widget.locator(".widget-dropdown select").first
    options = dropdown.locator("option").all()
    assert len(options) == after
    choice = options[-1].get_attribute("value")
    label = options[-1].inner_text()
    dropdown.select_option(label=label)
    page.wait_for_timeout(500)
    out = rerun(page, cell_with(page, "model_id = explorer.picker.chosen"))
    assert label.split("(")[-1].rstrip(")") in out, (choice, out)
    assert_clean(page)
    finish(page, lab)


@ON_SAMPLE
def test_cost_notebook_explorer(browser, lab):
    page = open_and_run_all(browser, lab, "02_cost_per_image.ipynb")
    assert_clean(page)
    assert_charts_drawn(page, CHARTS["02_cost_per_image.ipynb"])  # the two charts and the explorer's
    widget = cell_with(page, "vm.widgets.CostExplorer")
    assert rows(widget) == 10
    chart = chart_src(widget)
    table = widget.locator(".widget-html").filter(has=page.locator("table")).first.inner_text()
    widget.locator(".widget-dropdown select").first.select_option("screenshot-1080p")
    assert wait_changed(lambda: chart_src(widget), chart) != chart
    assert widget_input(widget, "Width px").input_value() == "1920"
    assert "1920x1080" in widget.inner_text()
    changed = widget.locator(".widget-html").filter(has=page.locator("table")).first.inner_text()
    assert changed != table
    context = widget_input(widget, "Min context")
    context.fill("1000000")
    context.press("Enter")
    chart2 = wait_changed(lambda: chart_src(widget), chart_src(widget))
    assert "with at least 1,000,000 tokens of context" in widget.inner_text()
    context.fill("50000000")
    context.press("Enter")
    page.wait_for_function(
        "el => el.innerText.includes('lower the minimum context')", arg=widget.element_handle(), timeout=STEP_TIMEOUT_MS
    )
    assert widget.locator(".widget-output img").count() == 0, "the old chart stays under the message"
    assert chart2
    assert_clean(page)
    finish(page, lab)


@ON_SAMPLE
def test_compare_notebook_selection_feeds_the_next_cell(browser, lab):
    page = open_and_run_all(browser, lab, "03_compare_models.ipynb")
    assert_clean(page)
    assert_charts_drawn(page, CHARTS["03_compare_models.ipynb"])
    widget = cell_with(page, "vm.widgets.ModelComparison")
    select = widget.locator(".widget-select-multiple select").first
    chosen = [t.split("(")[-1].rstrip(")") for t in select.evaluate("s => [...s.selectedOptions].map(o => o.text)")]
    assert len(chosen) == 3
    chart = chart_src(widget)
    header = widget.locator("table.vision-models-table thead").inner_text()
    labels = select.evaluate("s => [...s.options].map(o => o.text)")
    pair = [t for t in labels if t.endswith(("(openai/gpt-4o)", "(google/gemini-2.5-flash)"))]
    select.select_option(label=pair)
    assert wait_changed(lambda: chart_src(widget), chart) != chart
    new_header = wait_changed(lambda: widget.locator("table.vision-models-table thead").inner_text(), header)
    assert "openai/gpt-4o" in new_header and "google/gemini-2.5-flash" in new_header
    out = rerun(page, cell_with(page, "side = vm.compare("))
    assert "openai/gpt-4o" in out and "google/gemini-2.5-flash" in out
    assert not any(
        model_id in out for model_id in chosen if model_id not in ("openai/gpt-4o", "google/gemini-2.5-flash")
    )
    select.select_option(label=pair[:1])  # one model is a comparison of one
    one = wait_changed(lambda: widget.locator("table.vision-models-table thead").inner_text(), new_header)
    kept = pair[0].split("(")[-1].rstrip(")")
    assert kept in one and [m for m in ("openai/gpt-4o", "google/gemini-2.5-flash") if m in one] == [kept]
    select.select_option(label=[])
    page.wait_for_function("el => el.innerText.includes('Pick at least one model.')", arg=widget.element_handle())
    assert widget.locator(".widget-output img").count() == 0
    assert_clean(page)
    finish(page, lab)


#: Notebooks whose widgets a test above drives on the sample, checking the same things on the way.
DRIVEN = {"01_explore_vision_models.ipynb", "02_cost_per_image.ipynb", "03_compare_models.ipynb"}


# One parametrisation of ``lab`` for every test (its values in the same order), so that the tests are grouped
# by source and each JupyterLab starts once.
@pytest.mark.parametrize("lab", SOURCES, indirect=True)
@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_notebook_runs_clean_with_its_charts(browser, lab, name):
    if lab.source == "sample" and name in DRIVEN:
        pytest.skip(f"{name} on the sample: a test above runs it, with the same checks, and drives its widgets")
    page = open_and_run_all(browser, lab, name)
    assert_clean(page)
    charts = CHARTS.get(name, 0) if lab.history or name != "04_catalog_changes.ipynb" else 0
    assert_charts_drawn(page, charts)
    if name == "04_catalog_changes.ipynb" and not lab.history:
        assert "Nothing to show: the history needs two snapshots or more" in page.inner_text(".jp-NotebookPanel")
    if name == "05_try_your_pages.ipynb":
        assert_trial_reads_well(page, lab)
    if lab.catalog is not None:
        assert_true_to_the_catalog(page, lab, name)
    finish(page, lab)


def assert_true_to_the_catalog(page, lab, name: str) -> None:
    """What tests/test_notebooks.py checks when it runs a notebook on a real catalog in a kernel (it leaves the
    catalogs this test covers to it): what a reader must never see, and that the outputs speak of this catalog."""
    shown = "\n".join(page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea").all_inner_texts())
    bad = NEVER.search(shown)
    assert bad is None, shown[max(0, bad.start() - 300) : bad.end() + 300]

    def output_of(marker: str) -> str:
        return cell_with(page, marker).locator(".jp-OutputArea").inner_text()

    day = lab.source.removeprefix("openrouter-")
    this_catalog = ("01_explore_vision_models", "02_cost_per_image", "03_compare_models", "06_choose_a_model")
    if name.removesuffix(".ipynb") in this_catalog:
        assert str(lab.catalog) in output_of("res = vm.fetch_vision_models()")  # this catalog, not the sample
    if name == "04_catalog_changes.ipynb" and lab.history:
        assert re.search(rf"snapshots from .*{day}|{day} to", output_of("history_findings"))
    if name == "05_try_your_pages.ipynb":  # the models picked come from this catalog: the dry run priced them
        plan = output_of("estimate_trial")
        assert "12 requests" in plan, plan  # three models, four pages each (Tesseract sends nothing)
        assert "worst case $0.0000" not in plan


def assert_trial_reads_well(page, lab) -> None:
    """The summary leads with cost, CER and WER; transcripts read as text: left-aligned, monospace."""
    summary = cell_with(page, "summary = nv.trial_summary(trial)").locator(".jp-OutputArea-output table").first
    summary.scroll_into_view_if_needed()
    summary.locator("thead th").first.wait_for()
    header = summary.locator("thead th").all_inner_texts()
    assert [h for h in header if h.strip()][:4] == ["model", "usd_per_1k_pages", "cer_mean", "wer_mean"]
    transcripts = cell_with(page, "side_by_side_html").locator(".jp-OutputArea-output table").first
    transcripts.scroll_into_view_if_needed()
    (SCREENSHOTS / lab.source).mkdir(parents=True, exist_ok=True)
    transcripts.screenshot(path=str(SCREENSHOTS / lab.source / "transcripts-05.png"))
    aligned = transcripts.evaluate("t => [...t.querySelectorAll('td, th')].map(c => getComputedStyle(c).textAlign)")
    assert aligned and set(aligned) == {"left"}
    fonts = transcripts.evaluate("t => [...t.querySelectorAll('pre')].map(p => getComputedStyle(p).fontFamily)")
    assert fonts and all("monospace" in font for font in fonts), fonts
    wraps = transcripts.evaluate("t => [...t.querySelectorAll('pre')].map(p => getComputedStyle(p).whiteSpace)")
    assert set(wraps) == {"pre-wrap"}
    shown = page.inner_text(".jp-NotebookPanel:not(.lm-mod-hidden)")
    assert "Nothing to show: 1 model read the pages (tesseract)" in shown  # offline: no one-point chart


# ---------------------------------------------------------------- dollar signs are not maths


@ON_SAMPLE
def test_dollar_signs_in_our_html_are_not_typeset_as_math(browser, lab):
    """JupyterLab 4 typesets every text/html output with MathJax 3, whose TeX input takes "$...$" as inline math.

    An HTML entity (&#36;) does not help, since MathJax reads the text after the browser has decoded it. What it
    honours is an ignore class on an enclosing element (mathjax_ignore; tex2jax_ignore for MathJax 2), which our
    HTML carries. A bare "$0.06 / $0.24" is typeset (so MathJax is at work); ours is not.
    """
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    try:
        page.goto(f"{lab.url}/lab/tree/dollars.ipynb?reset")
        page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for()
        page.wait_for_function(
            "() => /\\| Idle/.test(document.querySelector('#jp-main-statusbar')?.innerText || '')",
            timeout=RUN_TIMEOUT_MS,
        )
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        outputs = page.locator(".jp-CodeCell .jp-OutputArea")
        bare = page.locator(".jp-CodeCell").nth(len(DOLLAR_CELLS) - 1).locator(".jp-OutputArea")
        # The control: a bare "$0.06 / $0.24" becomes a MathJax container, so MathJax is loaded and at work.
        bare.locator("mjx-container").first.wait_for(timeout=RUN_TIMEOUT_MS)
        for nth, marker in enumerate(["a/table", "a/message", "a/widget"]):
            output = outputs.nth(nth)
            output.get_by_text(marker).first.wait_for()
            page.wait_for_timeout(500)  # typesetting runs after rendering: give it the time the control took
            assert output.locator("mjx-container").count() == 0, marker
            assert PRICES in output.inner_text(), (marker, output.inner_text())
        assert PRICES not in bare.inner_text()  # typeset: the text is no longer the two prices
    finally:
        page.context.close()

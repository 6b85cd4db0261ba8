"""Dollar signs in our HTML stay dollar signs in JupyterLab: MathJax does not typeset "$0.06 / $0.24".

JupyterLab 4 typesets every text/html output with MathJax 3, whose TeX input
takes "$...$" as inline math; an HTML entity (&#36;) does not help, since
MathJax reads the text after the browser has decoded it. What it honours is
an ignore class on an enclosing element (mathjax_ignore; tex2jax_ignore for
MathJax 2), which our HTML carries. This runs a small notebook in JupyterLab
in Debian's Chromium (driven by Playwright) and looks at the rendered page: a
bare "$0.06 / $0.24" is typeset (so MathJax is at work), ours is not. Skipped,
saying why, when Playwright or Chromium is missing.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

CHROMIUM = os.environ.get("VISION_MODELS_CHROMIUM", "/usr/bin/chromium")
TIMEOUT_MS = 120_000
PRICES = "$0.06 / $0.24"

playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright)")
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set VISION_MODELS_CHROMIUM)", allow_module_level=True)

# One output per cell, each marked by the text before the prices, so the page can be read cell by cell.
CELLS = [
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on a free loopback port, no token, serving one notebook of our HTML and a bare control."""
    root = tmp_path_factory.mktemp("lab")
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(cell) for cell in CELLS]
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(book, root / "dollars.ipynb")
    scratch = tmp_path_factory.mktemp("state")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENROUTER_", "JUPYTER"))}
    env.update(JUPYTER_CONFIG_DIR=str(scratch / "config"), JUPYTER_RUNTIME_DIR=str(scratch / "runtime"), HOME=str(scratch))
    port = _free_port()
    with open(scratch / "lab.log", "w") as log:
        server = subprocess.Popen(
            [
                sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={port}", "--ServerApp.port_retries=0", "--IdentityProvider.token=",
                "--ServerApp.password=", f"--ServerApp.root_dir={root}", "--LabApp.news_url=",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--allow-root",
                "--ServerApp.terminals_enabled=False",
            ],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
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
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()


def test_dollar_signs_in_our_html_are_not_typeset_as_math(lab):
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(30_000)
            page.goto(f"{lab}/lab/tree/dollars.ipynb?reset")
            page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for()
            page.wait_for_function(
                "() => /\\| Idle/.test(document.querySelector('#jp-main-statusbar')?.innerText || '')", timeout=TIMEOUT_MS
            )
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            outputs = page.locator(".jp-CodeCell .jp-OutputArea")
            bare = page.locator(".jp-CodeCell").nth(len(CELLS) - 1).locator(".jp-OutputArea")
            # The control: a bare "$0.06 / $0.24" becomes a MathJax container, so MathJax is loaded and at work.
            bare.locator("mjx-container").first.wait_for(timeout=TIMEOUT_MS)
            for nth, marker in enumerate(["a/table", "a/message", "a/widget"]):
                output = outputs.nth(nth)
                output.get_by_text(marker).first.wait_for()
                page.wait_for_timeout(500)  # typesetting runs after rendering: give it the time the control took
                assert output.locator("mjx-container").count() == 0, marker
                assert PRICES in output.inner_text(), (marker, output.inner_text())
            assert PRICES not in bare.inner_text()  # typeset: the text is no longer the two prices
        finally:
            browser.close()

"""Re-run the notebooks against the bundled sample and save their outputs, as committed.

    python notebooks/refresh_outputs.py [NOTEBOOK.ipynb ...]

The committed outputs are what a reader sees without running anything, and
what nbval compares the ``# NBVAL_CHECK_OUTPUT`` cells with, so they come
from deterministic inputs, never from live data nor from the real catalogs
in ``../shared/catalogs`` (nothing computed from those is saved in the
project): the bundled sample, the bundled sample pages, and no history yet,
so notebook 04 shows how to build one. tests/test_notebooks.py and
tests/test_browser.py run every notebook on the real catalogs, and 04 on a
history of the daily ones, without saving anything.

Widget state is dropped (it would embed a second copy of every chart), and
with it the outputs' live-widget views, which would only say "model not
found": each control's static HTML rendering of its result stands in.
``conftest.py`` prepares the same environment for nbval.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def prepare_environment(scratch: Path) -> None:
    """Point the notebooks at the sample, and at a throwaway cache, trials store and (absent) history.

    Kernels inherit this process's environment, so call it before any starts.
    """
    os.environ["VISION_MODELS_SOURCE"] = "sample"
    os.environ["VISION_MODELS_CACHE"] = str(scratch / "http_cache.sqlite")
    os.environ["VISION_MODELS_HISTORY"] = str(scratch / "history.sqlite")  # never written: reading creates nothing
    os.environ["VISION_MODELS_TRIALS"] = str(scratch / "trials.sqlite")
    os.environ["OPENROUTER_BASE_URL"] = "http://127.0.0.1:9/api/v1"  # nothing listens there: no request leaves
    os.environ.pop("OPENROUTER_API_KEY", None)


def refresh(path: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    book = nbformat.read(path, as_version=4)
    client = NotebookClient(
        book, timeout=120, kernel_name="python3", record_timing=False, resources={"metadata": {"path": str(HERE)}}
    )
    client.execute()
    book.metadata.pop("widgets", None)
    drop_widget_views(book)
    nbformat.write(book, path)
    (HERE / "cost_per_image.csv").unlink(missing_ok=True)
    print(f"refreshed {path.name} ({path.stat().st_size // 1024} KiB)")


def drop_widget_views(book) -> None:
    """Keep a displayed widget's static HTML / text, not its view of a widget state that is not saved."""
    for cell in book.cells:
        for output in cell.get("outputs", []):
            output.get("data", {}).pop(WIDGET_VIEW, None)


def main(names: list[str]) -> int:
    prepare_environment(Path(tempfile.mkdtemp(prefix="vision-models-notebooks-")))
    paths = [Path(n) for n in names] or sorted(HERE.glob("0*.ipynb"))
    for path in paths:
        refresh(path.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

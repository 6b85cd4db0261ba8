"""Re-run the notebooks against the bundled sample and save their outputs, as committed.

    python notebooks/refresh_outputs.py [NOTEBOOK.ipynb ...]

The committed outputs are what a reader sees without running anything, and
what nbval compares the ``# NBVAL_CHECK_OUTPUT`` cells with, so they come
from deterministic inputs, never from live data: the bundled sample, and a
history built from the archived daily catalogs in ``../shared/catalogs/daily``.
Widget state is dropped (it would embed a second copy of every chart), and
with it the outputs' live-widget views, which would only say "model not
found": each control's static HTML rendering of its result stands in. ``conftest.py`` prepares the same environment for nbval.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DAILY = Path(os.environ.get("VISION_MODELS_SHARED", HERE.parents[1] / "shared")) / "catalogs" / "daily"
CHANGES_NOTEBOOK = "04_catalog_changes.ipynb"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def prepare_environment(scratch: Path) -> bool:
    """Point the notebooks at the sample, a throwaway cache, trials store and history of the daily catalogs.

    Returns whether the daily catalogs were there to build the history from.
    Kernels inherit this process's environment, so call it before any starts.
    """
    from vision_models.stores.history import import_files

    os.environ["VISION_MODELS_SOURCE"] = "sample"
    os.environ["VISION_MODELS_CACHE"] = str(scratch / "http_cache.sqlite")
    os.environ["VISION_MODELS_HISTORY"] = str(scratch / "history.sqlite")
    os.environ["VISION_MODELS_TRIALS"] = str(scratch / "trials.sqlite")
    os.environ["OPENROUTER_BASE_URL"] = "http://127.0.0.1:9/api/v1"  # nothing listens there: no request leaves
    os.environ.pop("OPENROUTER_API_KEY", None)
    files = sorted(DAILY.glob("openrouter-*.json.gz"))
    if files:
        import_files(files)
    return bool(files)


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
    if not prepare_environment(Path(tempfile.mkdtemp(prefix="vision-models-notebooks-"))):
        print(f"{DAILY} is absent: {CHANGES_NOTEBOOK} would show an empty history; not refreshing it")
        names = names or [str(p) for p in sorted(HERE.glob("0*.ipynb")) if p.name != CHANGES_NOTEBOOK]
    paths = [Path(n) for n in names] or sorted(HERE.glob("0*.ipynb"))
    for path in paths:
        refresh(path.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

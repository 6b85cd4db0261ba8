"""Re-run the notebooks against the bundled sample and save their outputs, as committed.

    python notebooks/refresh_outputs.py [NOTEBOOK.ipynb ...]

The committed outputs are what a reader sees without running anything, and
what nbval compares the ``# NBVAL_CHECK_OUTPUT`` cells with, so they come
from the deterministic sample, never from live data. Widget state is dropped
(it would embed a second copy of every chart); the widgets' text stands in.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent


def refresh(path: Path) -> None:
    book = nbformat.read(path, as_version=4)
    NotebookClient(book, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
    book.metadata.pop("widgets", None)
    nbformat.write(book, path)
    (HERE / "cost_per_image.csv").unlink(missing_ok=True)
    print(f"refreshed {path.name} ({path.stat().st_size // 1024} KiB)")


def main(names: list[str]) -> int:
    os.environ["VISION_MODELS_SOURCE"] = "sample"
    os.environ["VISION_MODELS_CACHE"] = str(Path(tempfile.mkdtemp()) / "http_cache.sqlite")
    os.environ.pop("OPENROUTER_API_KEY", None)
    paths = [Path(n) for n in names] or sorted(HERE.glob("0*.ipynb"))
    for path in paths:
        refresh(path.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

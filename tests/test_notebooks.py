"""The catalog-changes notebook on a machine with no history yet: it says how to build one."""

from __future__ import annotations


import nbformat
from nbclient import NotebookClient

from factories import REPO


def test_changes_notebook_without_history_explains_instead_of_failing(tmp_path, monkeypatch):
    monkeypatch.setenv("VISION_MODELS_HISTORY", str(tmp_path / "no-history-yet.sqlite"))
    monkeypatch.setenv("VISION_MODELS_SOURCE", "sample")
    book = nbformat.read(REPO / "notebooks" / "04_catalog_changes.ipynb", as_version=4)
    for cell in book.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    NotebookClient(book, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    printed = "".join(
        output.get("text", "") for cell in book.cells if cell.cell_type == "code" for output in cell.outputs
    )
    assert "no history yet" in printed
    assert "vision-models history import" in printed
    errors = [o for c in book.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    assert not (tmp_path / "no-history-yet.sqlite").exists()  # reading never creates the file

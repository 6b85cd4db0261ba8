"""Ground truth per page: from a folder of ``<page>.txt`` files, or from a dict, matched to the pages' names."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .pages import Page

#: A truth file larger than this is refused (bytes): ground truth for a page is a few KB.
MAX_TRUTH_BYTES = 10_000_000


# --- ground truth ----------------------------------------------------------------------------


def _truth_from_folder(folder: Path, pages: Sequence[Page]) -> dict[str, str]:
    if not folder.is_dir():
        raise ValueError(f"truth folder not found (truth is a folder of <page>.txt files or a dict): {str(folder)!r}")
    out: dict[str, str] = {}
    for page in pages:
        file = folder / f"{page.truth_stem()}.txt"
        try:
            if not file.is_file():
                continue
            if file.stat().st_size > MAX_TRUTH_BYTES:
                raise ValueError(f"truth file too large (over {MAX_TRUTH_BYTES:,} bytes): {str(file)!r}")
            out[page.name] = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"truth file is not UTF-8 text: {str(file)!r}") from None
        except OSError as exc:
            raise ValueError(f"cannot read the truth file {str(file)!r}: {exc.strerror or exc}") from None
    return out


def _truth_from_mapping(truth: Mapping[Any, str], pages: Sequence[Page]) -> dict[str, str]:
    by_key: dict[str, list[Page]] = {}
    for page in pages:
        for key in {page.name, page.truth_stem()}:
            by_key.setdefault(key, []).append(page)
    by_path: dict[Path, list[Page]] = {}
    for page in pages:
        by_path.setdefault(Path(page.path).resolve(), []).append(page)
    out: dict[str, str] = {}
    for key, text in truth.items():
        if not isinstance(key, (str, os.PathLike)):
            raise ValueError(f"truth keys are page names or paths, not {type(key).__name__}: {key!r:.80}")
        if not isinstance(text, str):
            raise ValueError(f"truth for {key!r:.80} must be text, not {type(text).__name__}")
        matched = by_key.get(key) if isinstance(key, str) else None
        if not matched:
            from_path = by_path.get(Path(key).resolve(), [])
            if len(from_path) > 1:
                raise ValueError(
                    f"truth key {str(key)!r} names a file of {len(from_path)} pages: key each page by name, "
                    f"e.g. {from_path[0].name!r}"
                )
            matched = from_path
        if not matched:
            some = ", ".join(p.name for p in pages[:5]) + (", ..." if len(pages) > 5 else "")
            raise ValueError(f"truth key {str(key)!r} names no page (pages: {some})")
        for page in matched:
            out[page.name] = text
    return out
